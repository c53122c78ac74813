"""`psa relay` stops cleanly on SIGTERM/SIGINT: in-flight work drained, exit status 0."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from tests.integration.relay.relay_support import notification, sign, start_relay_process


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("workers", [1, 2])
def test_relay_exits_zero_after_a_graceful_stop(tmp_path, signum, workers) -> None:
    relay = start_relay_process(tmp_path / "relay.sqlite3", workers=workers)
    try:
        body = json.dumps(notification()).encode()
        answer = httpx.post(
            f"{relay.url}/hooks/pulseway",
            content=body,
            headers={"content-type": "application/json", "x-hmac-signature": sign(body)},
        )
        assert answer.status_code == 202
        relay.process.send_signal(signum)
        _out, err = relay.process.communicate(timeout=60)
    finally:
        if relay.process.poll() is None:
            relay.process.kill()
            relay.process.wait()
    assert relay.process.returncode == 0, err
    assert "Traceback" not in err
