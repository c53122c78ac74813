"""The SQLite store on real files: several processes' stores share one file (``--workers``);
stream frames built by SQLite from stored rows say what the rows say."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from console.relay.events import IncomingEvent
from console.relay.hub import sse_frame
from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import EncodedEvent, StateChange, StoredEvent

pytestmark = pytest.mark.anyio


def alert(number: int) -> IncomingEvent:
    return IncomingEvent(
        source="pulseway", kind="alert", external_id=str(number), title=f"Disk low {number}",
        device_id=f"dev-{number}", priority="Normal",
        dedupe_key=f"pulseway|dev-{number}|Disk low {number}", payload={"Id": number},
    )  # fmt: skip


class Rows:
    """A commit listener that keeps the seqs it is given, as rows or as frames (tailing)."""

    def __init__(self, expect: int = 0) -> None:
        self.seqs: list[int] = []
        self.expect = expect
        self.complete = asyncio.Event()

    @property
    def wants_rows(self) -> bool:
        return True

    def publish(self, events: Sequence[StoredEvent]) -> None:
        self._got([event.seq for event in events])

    def publish_frames(self, frames: Sequence[EncodedEvent]) -> None:
        self._got([seq for seq, _, _ in frames])

    def _got(self, seqs: list[int]) -> None:
        self.seqs.extend(seqs)
        if self.expect and len(self.seqs) >= self.expect:
            self.complete.set()

    def advance(self, last_seq: int) -> None:
        raise AssertionError("a listener that wants rows gets rows")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteEventStore]:
    store = SqliteEventStore(tmp_path / "relay.sqlite3")
    await store.start()
    try:
        yield store
    finally:
        await store.close()


async def test_stores_sharing_one_file_number_every_write_once_and_publish_all_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "relay.sqlite3"
    stores = [SqliteEventStore(path, shared=True, tail_interval=0.005) for _ in range(2)]
    listeners = [Rows(expect=400), Rows(expect=400)]
    for store, listener in zip(stores, listeners, strict=True):
        await store.start()
        store.add_commit_listener(listener)
    try:
        results = await asyncio.gather(*(stores[n % 2].append(alert(n)) for n in range(400)))
        async with asyncio.timeout(30):
            for listener in listeners:
                await listener.complete.wait()
    finally:
        for store in stores:
            await store.close()

    assert sorted(r.seq for r in results) == list(range(1, 401))
    assert not any(r.duplicate for r in results)
    for listener in listeners:
        assert listener.seqs == list(range(1, 401))


async def test_frames_built_by_sqlite_match_the_frames_of_the_stored_rows(
    store: SqliteEventStore,
) -> None:
    await store.append(alert(1))
    await store.append_at(alert(2), 1_790_000_000.25, '{\n  "Id": 2,\n  "Text": "é \\n ✓"\n}')
    repeat = IncomingEvent(
        source="pulseway", kind="alert", external_id="3", title="Disk low 1", device_id="dev-1",
        priority="Normal", dedupe_key="pulseway|dev-1|Disk low 1", sa_ids=(4, 2),
        payload={"Id": 3},
    )  # fmt: skip
    await store.append(repeat)
    await store.append(
        IncomingEvent(source="pulseway", kind="device.registered", external_id="d-9", title="SRV")
    )
    await store.change_state(1, StateChange("claim", "maria", 2))
    await store.change_state(2, StateChange("link", "maria", 2, {"asset_id": 7, "sa_ids": [2]}))

    rows = await store.read_after(0, 100)
    frames = await store.read_frames_after(0, 100)

    assert [seq for seq, _, _ in frames] == [row.seq for row in rows] == list(range(1, 7))
    assert [sa_ids for _, sa_ids, _ in frames] == [row.sa_ids for row in rows]
    for row, (_, _, frame) in zip(rows, frames, strict=True):
        expected = sse_frame(row).decode().split("\n")
        built = frame.decode().split("\n")
        assert built[:2] == expected[:2]
        assert json.loads(built[2].removeprefix("data: ")) == json.loads(
            expected[2].removeprefix("data: ")
        ), row
    assert await store.read_frames_after(6, 10) == []


async def test_wal_starts_over_during_sustained_writes(tmp_path: Path) -> None:
    """Back-to-back commits never leave a PASSIVE checkpoint a quiet moment, so without the
    committer's catch-up the WAL would only grow (7 MB here; ~90 MB in 10 s of the bench)."""
    path = tmp_path / "relay.sqlite3"
    store = SqliteEventStore(path, checkpoint_interval=0.01, wal_restart_frames=32)
    await store.start()
    wal = tmp_path / "relay.sqlite3-wal"
    numbers = iter(range(1_000_000))

    def restarts() -> int:
        # the WAL header's checkpoint sequence number grows each time the WAL starts over
        return int.from_bytes(wal.read_bytes()[12:16], "big")

    async def writer() -> None:
        for _ in range(250):
            await store.append(alert(next(numbers)))

    try:
        before = restarts()
        await asyncio.gather(*(writer() for _ in range(8)))
        assert restarts() > before
        assert wal.stat().st_size < 2_000_000
        assert await store.last_seq() == 2000
    finally:
        await store.close()


async def test_wal_gives_its_space_back_once_the_store_is_idle(tmp_path: Path) -> None:
    path = tmp_path / "relay.sqlite3"
    store = SqliteEventStore(
        path, checkpoint_interval=0.02, wal_size_limit=100_000, idle_seconds=0.1
    )
    await store.start()
    wal = tmp_path / "relay.sqlite3-wal"
    try:
        await asyncio.gather(*(store.append(alert(n)) for n in range(2000)))
        grown = wal.stat().st_size
        assert grown > 100_000
        async with asyncio.timeout(10):
            # the checkpointer's own schedule; nothing to wait on but the file itself
            while wal.stat().st_size > 100_000:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert await store.last_seq() == 2000  # nothing lost to the truncation
        await store.append(alert(2000))
        assert await store.last_seq() == 2001
    finally:
        await store.close()
