"""The Alerts pane fed by a real relay over loopback: live rows, repeats, shared state, outages."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
import shiboken6

from console.relay.app import create_app
from console.relay.client import RelayClient
from console.relay.config import RelayConfig
from console.relay.serving import BackgroundRelay
from console.ui.panes import alerts
from tests.integration.relay.relay_support import ADMIN_TOKEN, SECRET, notification, sign


def start_relay(db: Path, port: int = 0) -> BackgroundRelay:
    config = RelayConfig(db=db, hook_secret=SECRET, admin_token=ADMIN_TOKEN)
    return BackgroundRelay(create_app(config), port=port).start()


def post(url: str, body: dict) -> int:
    raw = json.dumps(body).encode()
    response = httpx.post(
        f"{url}/hooks/pulseway",
        content=raw,
        headers={"content-type": "application/json", "x-hmac-signature": sign(raw)},
    )
    assert response.status_code in (200, 202), response.text
    return int(response.json()["seq"])


@pytest.fixture
def relay(tmp_path):
    running = start_relay(tmp_path / "relay.sqlite3")
    yield running
    running.stop()


@pytest.fixture
def feed(qtbot, qasync_loop, relay):
    pane = alerts.make_pane()
    qtbot.addWidget(pane)
    client = RelayClient(relay.url, token=ADMIN_TOKEN)
    feed = alerts.AlertFeed(pane, client, None)
    with qtbot.waitSignal(feed.relayStateChanged, timeout=10_000):
        feed.start()
    yield feed
    feed.stop()


def rows(feed) -> list[dict]:
    model = feed.pane.model
    return [model.record(r) for r in range(model.rowCount())]


def test_a_webhook_alert_appears_live(qtbot, relay, feed) -> None:
    seq = post(relay.url, notification(title="Backup failed", priority="Critical"))
    qtbot.waitUntil(lambda: any(r["seq"] == seq for r in rows(feed)), timeout=5000)
    [row] = [r for r in rows(feed) if r["seq"] == seq]
    assert row["title"] == "Backup failed"
    assert row["count"] == 1
    assert feed.pane.model.data(feed.pane.model.index(0, 0)).endswith("Critical")


def test_a_repeat_raises_the_count_instead_of_a_new_row(qtbot, relay, feed) -> None:
    first = post(relay.url, notification(title="CPU high", device="aa-1"))
    post(relay.url, notification(title="CPU high", device="AA-1"))  # same alert, new Id
    qtbot.waitUntil(lambda: any(r.get("count") == 2 for r in rows(feed)), timeout=5000)
    assert [r["seq"] for r in rows(feed)] == [first]


def test_an_ack_from_another_console_shows_here(qtbot, run_async, relay, feed) -> None:
    seq = post(relay.url, notification(title="Disk failing"))
    qtbot.waitUntil(lambda: any(r["seq"] == seq for r in rows(feed)), timeout=5000)
    other = RelayClient(relay.url, token=ADMIN_TOKEN)
    run_async(other.change_state(seq, "ack"))
    run_async(other.aclose())
    qtbot.waitUntil(
        lambda: any(r["seq"] == seq and r["state"] == "acked" for r in rows(feed)), timeout=5000
    )


def test_relay_outage_is_reported_then_resumed_without_gaps(qtbot, tmp_path, qasync_loop) -> None:
    db = tmp_path / "relay.sqlite3"
    relay = start_relay(db)
    port = relay.port
    pane = alerts.make_pane()
    qtbot.addWidget(pane)
    feed = alerts.AlertFeed(pane, RelayClient(relay.url, token=ADMIN_TOKEN), None)
    states: list[bool] = []
    feed.relayStateChanged.connect(lambda ok, _detail: states.append(ok))
    feed.start()
    qtbot.waitUntil(lambda: states == [True], timeout=10_000)
    before = post(relay.url, notification(title="Before the outage"))
    qtbot.waitUntil(lambda: pane.model.row_of(before) is not None, timeout=5000)

    relay.stop()
    qtbot.waitUntil(lambda: False in states, timeout=10_000)
    relay = start_relay(db, port=port)  # same store, same address: the relay restarted
    during = post(relay.url, notification(title="Sent while the console was away"))
    qtbot.waitUntil(lambda: pane.model.row_of(during) is not None, timeout=15_000)
    assert states[-1] is True
    assert pane.model.rowCount() == 2
    feed.stop()
    relay.stop()


def test_a_console_starts_from_the_snapshot_not_the_whole_history(
    qtbot, run_async, tmp_path, qasync_loop
) -> None:
    db = tmp_path / "relay.sqlite3"
    relay = start_relay(db)
    admin = RelayClient(relay.url, token=ADMIN_TOKEN)
    try:
        # last week: an outage that was dealt with (resolved)
        old = post(relay.url, notification(title="Old outage", device="old-1"))
        resolved = run_async(admin.change_state(old, "resolve"))["seq"]
        # today: an alert still open, repeated, linked to an asset, then claimed
        current = post(relay.url, notification(title="Disk failing", device="dev-1"))
        post(relay.url, notification(title="Disk failing", device="dev-1"))
        run_async(admin.change_state(current, "link", asset_id=3, asset_name="SRV-9"))
        run_async(admin.change_state(current, "claim"))
        last = run_async(admin.events(after=0, limit=1)).last_seq
        with sqlite3.connect(db) as conn:  # age last week's rows
            conn.execute(
                "UPDATE events SET received_at = ?, last_seen = ? WHERE seq <= ?",
                ("2026-01-05T09:00:00.000Z", "2026-01-05T09:00:00.000Z", resolved),
            )
            conn.execute("UPDATE event_history SET at = ? WHERE seq <= ?", ("2026-01-05", resolved))

        pane = alerts.make_pane()
        qtbot.addWidget(pane)
        feed = alerts.AlertFeed(pane, RelayClient(relay.url, token=ADMIN_TOKEN), None)
        feed.start()
        qtbot.waitUntil(feed.is_live, timeout=10_000)
        pane.model.flush()

        # the open alert with its current state, count and link; not last week's
        [row] = rows(feed)
        assert (row["seq"], row["state"], row["count"]) == (current, "claimed", 2)
        assert row["asset_name"] == "SRV-9"
        assert feed.last_seq == last  # the stream went on from the snapshot's last seq
        later = post(relay.url, notification(title="After the start", device="dev-2"))
        qtbot.waitUntil(lambda: pane.model.row_of(later) is not None, timeout=5000)
        assert pane.model.row_of(old) is None
        feed.stop()
    finally:
        run_async(admin.aclose())
        relay.stop()


def test_a_feed_whose_pane_is_destroyed_first_stops_quietly(qtbot, relay, qasync_loop) -> None:
    pane = alerts.make_pane()
    feed = alerts.AlertFeed(pane, RelayClient(relay.url, token=ADMIN_TOKEN), None, parent=pane)
    with qtbot.waitSignal(feed.relayStateChanged, timeout=10_000):
        feed.start()
    task = feed._task
    assert task is not None

    shiboken6.delete(pane)  # the window went away without stopping the feed (the feed with it)

    qtbot.waitUntil(task.done, timeout=5000)  # the stream stopped: nothing touches the model
    assert task.cancelled()
    feed.stop()  # and a late stop() is harmless
