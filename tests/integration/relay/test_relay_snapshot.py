"""GET /api/snapshot: where a console or wall that starts empty begins, instead of replaying
the whole log — open alerts, alerts active in the window, their links with the current state,
the latest row of each device; the same on the SQLite and the PostgreSQL store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relay_support import RunningRelay, SseReader, incoming_alert, notification

from console.relay.events import IncomingEvent
from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import EventStore, StateChange, utc_timestamp


def _device(kind: str, device: str, stamp: int, hostname: str) -> IncomingEvent:
    return IncomingEvent(
        source="pulseway",
        kind=kind,
        external_id=f"{device}:{stamp}",
        title=hostname,
        device_id=device,
        payload={"hostname": hostname},
    )


async def _snapshot_scenario(store: EventStore) -> None:
    await store.start()
    try:
        await store.append(_device("device.registered", "dev-1", 1, "SRV-1"))
        await store.append(_device("device.registered", "dev-2", 1, "SRV-2"))
        await store.append(_device("device.changed", "dev-1", 2, "SRV-1B"))
        open_seq = (await store.append(incoming_alert("1", "Low disk", "dev-1"))).seq
        await store.append(incoming_alert("2", "Low disk", "dev-1"))  # a repeat: count 2
        resolved_seq = (await store.append(incoming_alert("3", "CPU high", "dev-2"))).seq
        await store.change_state(resolved_seq, StateChange("resolve", actor="tech1"))
        linked_seq = (await store.append(incoming_alert("4", "Ping lost", "dev-2"))).seq
        link_args = {"asset_id": 5, "asset_name": "SRV-2"}
        await store.change_state(linked_seq, StateChange("link", actor="tech1", args=link_args))
        await store.change_state(linked_seq, StateChange("claim", actor="tech1"))
        last = await store.last_seq()

        day = await store.snapshot(utc_timestamp(time.time() - 86400))

        assert day.last_seq == last
        assert [a.seq for a in day.alerts] == [open_seq, resolved_seq, linked_seq]
        assert [(a.state, a.count) for a in day.alerts] == [
            ("open", 2), ("resolved", 1), ("claimed", 1),
        ]  # fmt: skip
        [link] = day.links
        assert (link.alert_seq, link.title) == (linked_seq, "link")
        assert link.payload["args"]["asset_name"] == "SRV-2"
        # the link row carries the alert as it is now (claimed after the link)
        assert link.payload["alert"]["state"] == "claimed"
        assert link.payload["alert"]["claimed_by"] == "tech1"
        assert {d.device_id: d.payload["hostname"] for d in day.devices} == {
            "dev-1": "SRV-1B",
            "dev-2": "SRV-2",
        }
        assert all(d.kind.startswith("device.") for d in day.devices)

        # a window that starts now: only what is still open
        now = await store.snapshot(utc_timestamp(time.time() + 1))
        assert [a.seq for a in now.alerts] == [open_seq, linked_seq]
        assert [link.alert_seq for link in now.links] == [linked_seq]
        assert len(now.devices) == 2
    finally:
        await store.close()


def test_snapshot_on_sqlite(tmp_path: Path) -> None:
    asyncio.run(_snapshot_scenario(SqliteEventStore(tmp_path / "relay.sqlite3")))


def test_snapshot_on_postgres(dsn: str) -> None:
    from console.relay.postgres_store import PostgresEventStore

    asyncio.run(_snapshot_scenario(PostgresEventStore(dsn)))


def test_an_empty_log_has_an_empty_snapshot(relay: RunningRelay) -> None:
    response = relay.http.get("/api/snapshot", headers=relay.admin())

    assert response.status_code == 200
    body = response.json()
    assert (body["last_seq"], body["alerts"], body["links"], body["devices"]) == (0, [], [], [])


def _in_sa(relay: RunningRelay, sa: int | None, title: str) -> int:
    seq: int = relay.post_hook(notification(title=title)).json()["seq"]
    if sa is not None:
        linked = relay.change(seq, relay.admin(), action="link", sa_ids=[sa], asset_id=sa)
        assert linked.status_code == 200
    return seq


def test_snapshot_is_filtered_to_the_callers_scope(relay: RunningRelay) -> None:
    sa1 = _in_sa(relay, 1, "Low disk")
    sa2 = _in_sa(relay, 2, "CPU high")
    unmatched = _in_sa(relay, None, "Ping lost")

    def seen(headers: dict[str, str]) -> tuple[list[int], list[int]]:
        response = relay.http.get("/api/snapshot", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return [a["seq"] for a in body["alerts"]], [link["alert_seq"] for link in body["links"]]

    assert seen(relay.admin()) == ([sa1, sa2, unmatched], [sa1, sa2])
    assert seen(relay.login("tech1")) == ([sa1], [sa1])
    assert seen(relay.login("tech2")) == ([sa2], [sa2])
    assert seen(relay.login("disp1")) == ([sa1, unmatched], [sa1])


def test_hours_bound_the_resolved_alerts_and_bad_values_are_400(relay: RunningRelay) -> None:
    kept = relay.post_hook(notification(title="Low disk")).json()["seq"]
    done = relay.post_hook(notification(title="CPU high")).json()["seq"]
    relay.change(done, relay.admin(), action="resolve")

    def alerts(**params: Any) -> list[int]:
        response = relay.http.get("/api/snapshot", params=params, headers=relay.admin())
        assert response.status_code == 200, response.text
        return [a["seq"] for a in response.json()["alerts"]]

    assert alerts() == [kept, done]
    assert alerts(hours=0) == [kept]
    for bad in ("-1", "soon", str(24 * 31 + 1)):
        response = relay.http.get("/api/snapshot", params={"hours": bad}, headers=relay.admin())
        assert response.status_code == 400, bad
        assert "hours" in response.json()["error"]
    assert relay.http.get("/api/snapshot").status_code == 401


def test_snapshot_then_stream_from_its_last_seq_misses_nothing(
    relay: RunningRelay, sse: Callable[..., SseReader]
) -> None:
    first = relay.post_hook(notification(title="Low disk")).json()["seq"]
    body = relay.http.get("/api/snapshot", headers=relay.admin()).json()
    later = relay.post_hook(notification(title="Low disk")).json()["seq"]  # a repeat
    claimed = relay.change(first, relay.admin(), action="claim").json()["event"]["seq"]

    stream = sse(f"{relay.url}/events", relay.admin(), after=body["last_seq"])
    messages = stream.until("ready")

    assert [a["seq"] for a in body["alerts"]] == [first]
    assert [int(m[0]) for m in messages if m[0] is not None] == [later, claimed]
