"""Ending streams and processes cleanly: graceful stops exit 0; stalled consumers are cut off."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from tests.integration.relay.relay_support import (
    ADMIN_TOKEN,
    RunningRelay,
    notification,
    sign,
    start_relay_process,
)


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


def test_a_consumer_that_stops_reading_is_disconnected_and_ingest_goes_on(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    relay = relay_factory(stream_write_timeout_seconds=0.5, consumer_queue_limit=100_000)
    host, port = relay.url.removeprefix("http://").split(":")
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills fast, never read
    stalled.connect((host, int(port)))
    stalled.sendall(
        f"GET /events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode()
    )
    big = "x" * 60_000  # large frames fill the socket buffers in a few events
    statuses = [relay.post_hook(notification(Message=big)).status_code for _ in range(200)]
    assert set(statuses) == {202}

    deadline = time.monotonic() + 30
    while "psa_relay_consumers 0" not in relay.http.get("/metrics").text:
        assert time.monotonic() < deadline, "the stalled consumer was never disconnected"
        time.sleep(0.05)
    # the relay closed its end: draining the socket ends in EOF, not in a hang
    stalled.settimeout(10)
    while stalled.recv(1 << 20):
        pass
    stalled.close()
    assert relay.post_hook(notification()).status_code == 202
