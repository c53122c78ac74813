"""A consumer that starts from the snapshot and then streams after its ``last_seq`` ends with
the same open alerts as one that replayed the whole log — also when rows newer than
``last_seq`` were already in the snapshot (it reads ``last_seq`` first, the alerts after).
Checked with the NOC wall's model over random histories of alerts, repeats, claims, acks,
resolves and links."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relay_support import incoming_alert

from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import StateChange, StateChangeRejected, utc_timestamp
from console.ui.wall_model import ALL_PAGE, WallModel, WallPage

Op = tuple[Any, ...]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("alert"), st.integers(0, 2), st.integers(0, 2)),  # device, title
        st.tuples(st.sampled_from(["claim", "ack", "resolve"]), st.integers(0, 30)),
        st.tuples(st.just("link"), st.integers(0, 30), st.integers(1, 2)),
    ),
    max_size=30,
)


async def _run(store: SqliteEventStore, batch: list[Op], heads: list[int], ids: list[int]) -> None:
    for op in batch:
        if op[0] == "alert":
            ids[0] += 1
            result = await store.append(
                incoming_alert(str(ids[0]), f"title-{op[2]}", f"device-{op[1]}")
            )
            heads.append(result.seq)
            continue
        if not heads:
            continue
        target = heads[op[1] % len(heads)]
        args = {"sa_ids": [op[2]]} if op[0] == "link" else {}
        try:
            await store.change_state(target, StateChange(op[0], actor="tech", args=args))
        except StateChangeRejected:
            pass  # e.g. a claim after the resolve: refused, nothing written


def _open_alerts(model: WallModel) -> dict[int, tuple[Any, ...]]:
    return {
        seq: (alert.state, alert.sa_ids, alert.severity, alert.title)
        for seq, alert in model._alerts.items()
    }


def _model() -> WallModel:
    return WallModel([WallPage(ALL_PAGE, "Total"), WallPage("sa:1", "East", frozenset({1}))])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.data())
def test_snapshot_then_stream_ends_like_a_full_replay(history: list[Op], data: st.DataObject):
    first = data.draw(st.integers(0, len(history)), label="ops before last_seq is read")
    second = data.draw(st.integers(first, len(history)), label="ops before the alerts are read")
    everything = data.draw(st.booleans(), label="window covers the whole log")

    async def scenario(path: Path) -> tuple[dict[int, Any], dict[int, Any], dict[str, int]]:
        store = SqliteEventStore(path)
        await store.start()
        heads: list[int] = []
        ids = [0]
        try:
            await _run(store, history[:first], heads, ids)
            last_seq = await store.last_seq()
            await _run(store, history[first:second], heads, ids)  # meanwhile, on the relay
            since = utc_timestamp(0 if everything else 4_000_000_000)
            snapshot = await store.snapshot(since)
            await _run(store, history[second:], heads, ids)
            replayed = _model()
            replayed.apply_all(row.to_json() for row in await store.read_after(0, 10_000))
            started = _model()
            started.apply_all(
                row.to_json() for row in [*snapshot.devices, *snapshot.links, *snapshot.alerts]
            )
            started.last_seq = last_seq
            started.apply_all(row.to_json() for row in await store.read_after(last_seq, 10_000))
            sizes = {"snapshot": len(snapshot.alerts), "log": await store.last_seq()}
            return _open_alerts(replayed), _open_alerts(started), sizes
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as tmp:
        replayed, started, _sizes = asyncio.run(scenario(Path(tmp) / "relay.sqlite3"))

    assert started == replayed
