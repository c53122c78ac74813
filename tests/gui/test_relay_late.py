"""A console started while its relay is down still gets live alerts once the relay is up."""

from __future__ import annotations

import json
import socket

import httpx

from console.relay.app import create_app
from console.relay.config import RelayConfig
from console.relay.serving import BackgroundRelay
from console.relay.sessions import Principal
from console.ui.app import connect_relay
from console.ui.panes import alerts
from tests.integration.relay.relay_support import SECRET, StaticAuthority, notification, sign


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_alert_feed_signs_in_when_the_relay_comes_up(qtbot, qasync_loop, run_async, tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    client, problem = run_async(connect_relay(url, "dispatch", "secret"))
    assert client is not None and client.token is None
    assert "unreachable" in problem.lower()

    pane = alerts.make_pane()
    qtbot.addWidget(pane)
    feed = alerts.AlertFeed(pane, client, None)
    states: list[bool] = []
    feed.relayStateChanged.connect(lambda ok, _detail: states.append(ok))
    feed.start()
    qtbot.waitUntil(lambda: False in states, timeout=10_000)  # down: the banner's state

    dispatcher = Principal(
        login="dispatch",
        uid=7,
        name="Dispatch",
        sa_ids=(1,),
        roles=("dispatcher",),
        sees_unmatched=True,
    )
    authority = StaticAuthority({"dispatch": ("secret", dispatcher)})
    config = RelayConfig(db=tmp_path / "relay.sqlite3", hook_secret=SECRET)
    relay = BackgroundRelay(create_app(config, authority=authority), port=port).start()
    try:
        qtbot.waitUntil(feed.is_live, timeout=30_000)  # backoff, then sign in, then stream
        assert client.token  # the feed opened the session itself
        raw = json.dumps(notification(title="Came up")).encode()
        answer = httpx.post(
            f"{url}/hooks/pulseway",
            content=raw,
            headers={"content-type": "application/json", "x-hmac-signature": sign(raw)},
        )
        assert answer.status_code == 202
        qtbot.waitUntil(
            lambda: any(
                pane.model.record(r).get("title") == "Came up" for r in range(pane.model.rowCount())
            ),
            timeout=10_000,
        )
    finally:
        feed.stop()
        run_async(client.aclose())
        relay.stop()
