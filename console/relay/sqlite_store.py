"""The embedded event store: one SQLite file in WAL mode, one writer with group commit.

Why these settings:

* **WAL + ``synchronous=FULL``.** A webhook is answered 2xx only after its row is durable.
  With ``synchronous=NORMAL`` a WAL commit is not fsynced (only checkpoints are), which
  survives ``kill -9`` of the relay but not a power cut or kernel panic — an acknowledged
  event could vanish. ``FULL`` fsyncs the WAL at every commit, so "acked" means "on disk".
* **Group commit.** One fsync costs ~0.4 ms here. Requests queue their writes; the writer
  takes everything queued (up to ``max_batch``) into one transaction and commits once, so
  under load durability costs one fsync per batch of dozens of events.
* **One writer, split in two.** The batch's statements run on the event loop (a few µs
  each, and no GIL hand-over per statement), the COMMIT — the fsync — in one committer
  thread; requests keep arriving meanwhile and form the next batch. Every write of the
  process goes through this one path in order, so ``seq`` order is commit order.
* **Several processes** (``shared=True``, ``psa relay --workers N``): each batch runs whole in
  the committer thread under an exclusive ``flock`` (statements and COMMIT, no trip back to
  the loop while the other workers wait), and the stream is fed by tailing the log, since
  another process may commit seqs in between.
* **Checkpoints off the commit path** (``wal_autocheckpoint = 0`` + a PASSIVE checkpoint
  every ``checkpoint_interval`` from a reader thread): SQLite's automatic checkpoint would
  stall whichever commit crosses 1,000 WAL pages.
* **Degraded, not dead.** If the file cannot be opened or written (disk full, read-only
  filesystem, EFBIG, I/O error) every write fails fast with :class:`StoreUnavailable` (HTTP
  503 + Retry-After) and the writer reopens the file on a later batch; it recovers by itself
  when the disk does.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from operator import methodcaller
from pathlib import Path
from typing import Any, Final

from console.relay.events import AppendResult, IncomingEvent
from console.relay.store import (
    DEVICE_KINDS_SQL,
    OPEN,
    RELAY_SOURCE,
    RESOLVED,
    STATE_KIND,
    CommitListener,
    EncodedEvent,
    SqlLogReads,
    StateChange,
    StoredEvent,
    StoreUnavailable,
    UnknownEvent,
    dump_json,
    plan_state_change,
    utc_timestamp,
)

_log = logging.getLogger(__name__)

#: 2: the index of device rows (the snapshot's latest row per device)
SCHEMA_VERSION: Final = 2
#: Rows per read when catching up or tailing.
PAGE_ROWS: Final = 1000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    seq           INTEGER PRIMARY KEY,  -- rowid: max + 1, and rows are never deleted
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    dedupe_key    TEXT,
    device_id     TEXT,
    title         TEXT NOT NULL,
    priority      TEXT,
    sa_ids        TEXT NOT NULL DEFAULT '[]',
    state         TEXT NOT NULL,
    count         INTEGER NOT NULL DEFAULT 1,
    last_seen     TEXT NOT NULL,
    alert_seq     INTEGER,            -- NULL: this row opened its alert
    open_key      TEXT,               -- dedupe_key while this row is an open alert's head
    claimed_by    TEXT,
    snoozed_until TEXT,
    asset_id      INTEGER,
    partner_id    INTEGER,
    payload       TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_open_key ON events (open_key)
    WHERE open_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_alert_seq ON events (alert_seq) WHERE alert_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_device ON events (device_id, seq)
    WHERE kind IN ({device_kinds});
CREATE TABLE IF NOT EXISTS event_history (
    seq         INTEGER PRIMARY KEY,  -- the state row's seq in events
    target_seq  INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    sa          INTEGER,
    action      TEXT NOT NULL,
    args        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_history_target ON event_history (target_seq, seq);
CREATE TABLE IF NOT EXISTS quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    source      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    headers     TEXT NOT NULL,
    body        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash  TEXT PRIMARY KEY,     -- SHA-256 of the bearer token, never the token
    principal   TEXT NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
""".replace("{device_kinds}", DEVICE_KINDS_SQL)

_EVENT_COLUMNS: Final = (
    "seq, source, kind, received_at, external_id, title, device_id, priority, dedupe_key, "
    "sa_ids, state, count, last_seen, alert_seq, claimed_by, snoozed_until, asset_id, "
    "partner_id, payload"
)

#: The stream's JSON document of a row (StoredEvent.to_json, same keys in the same order),
#: built by SQLite: the tail of a shared store turns rows into frames without parsing them.
_FRAME_COLUMNS: Final = (
    "seq, kind, sa_ids, json_object("
    "'seq', seq, 'source', source, 'kind', kind, 'received_at', received_at,"
    " 'external_id', external_id, 'title', title, 'device_id', device_id,"
    " 'priority', priority, 'dedupe_key', dedupe_key, 'sa_ids', json(sa_ids),"
    " 'state', state, 'count', count, 'last_seen', last_seen,"
    " 'alert_seq', COALESCE(alert_seq, seq),"
    f" 'repeat', json(CASE WHEN kind <> '{STATE_KIND}' AND alert_seq IS NOT NULL"
    " THEN 'true' ELSE 'false' END),"
    " 'claimed_by', claimed_by, 'snoozed_until', snoozed_until, 'asset_id', asset_id,"
    " 'partner_id', partner_id, 'payload', json(payload))"
)

_LOOKUP: Final = (
    "SELECT (SELECT seq FROM events WHERE source = ? AND external_id = ?),"
    " (SELECT seq FROM events WHERE open_key = ?)"
)

_INSERT_EVENT: Final = (
    "INSERT INTO events (source, kind, received_at, external_id, dedupe_key, device_id, title,"
    " priority, sa_ids, state, count, last_seen, alert_seq, open_key, claimed_by, snoozed_until,"
    " asset_id, partner_id, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def event_from_row(row: Sequence[Any]) -> StoredEvent:
    """Build a :class:`StoredEvent` from a row selected with the log's column order."""
    seq = int(row[0])
    return StoredEvent(
        seq=seq,
        source=row[1],
        kind=row[2],
        received_at=row[3],
        external_id=row[4],
        title=row[5],
        device_id=row[6],
        priority=row[7],
        dedupe_key=row[8],
        sa_ids=tuple(json.loads(row[9])),
        state=row[10],
        count=int(row[11]),
        last_seen=row[12],
        alert_seq=seq if row[13] is None else int(row[13]),
        claimed_by=row[14],
        snoozed_until=row[15],
        asset_id=row[16],
        partner_id=row[17],
        payload=json.loads(row[18]),
        payload_text=row[18],
    )


class _Job:
    """One write waiting for the writer; ``apply`` runs inside the batch transaction."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Any]) -> None:
        self.future = future

    def apply(self, tx: _Transaction) -> Any:
        raise NotImplementedError


class _AppendJob(_Job):
    __slots__ = ("event", "payload_text", "received")

    def __init__(
        self,
        future: asyncio.Future[Any],
        event: IncomingEvent,
        received: float,
        payload_text: str | None,
    ) -> None:
        super().__init__(future)
        self.event = event
        self.received = received
        self.payload_text = payload_text

    def apply(self, tx: _Transaction) -> AppendResult:
        return tx.append(self.event, self.received, self.payload_text)


class _QuarantineJob(_Job):
    __slots__ = ("body", "headers", "reason", "received", "source")

    def __init__(
        self,
        future: asyncio.Future[Any],
        source: str,
        body: bytes,
        reason: str,
        headers: Mapping[str, str],
        received: float,
    ) -> None:
        super().__init__(future)
        self.source, self.body, self.reason = source, body, reason
        self.headers, self.received = headers, received

    def apply(self, tx: _Transaction) -> int:
        cursor = tx.conn.execute(
            "INSERT INTO quarantine (received_at, source, reason, headers, body)"
            " VALUES (?,?,?,?,?)",
            (
                utc_timestamp(self.received),
                self.source,
                self.reason,
                dump_json(dict(self.headers)),
                self.body,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


class _StateJob(_Job):
    __slots__ = ("change", "now", "seq")

    def __init__(
        self, future: asyncio.Future[Any], seq: int, change: StateChange, now: float
    ) -> None:
        super().__init__(future)
        self.seq, self.change, self.now = seq, change, now

    def apply(self, tx: _Transaction) -> StoredEvent:
        return tx.change_state(self.seq, self.change, self.now)


class _CursorJob(_Job):
    __slots__ = ("name", "value")

    def __init__(self, future: asyncio.Future[Any], name: str, value: str) -> None:
        super().__init__(future)
        self.name, self.value = name, value

    def apply(self, tx: _Transaction) -> None:
        tx.conn.execute(
            "INSERT INTO cursors (name, value, updated_at) VALUES (?,?,?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (self.name, self.value, utc_timestamp(time.time())),
        )


class _SessionJob(_Job):
    """Save (``principal_text`` set) or delete a session; saving also purges expired ones."""

    __slots__ = ("expires_at", "principal_text", "token_hash")

    def __init__(
        self,
        future: asyncio.Future[Any],
        token_hash: str,
        principal_text: str | None,
        expires_at: float,
    ) -> None:
        super().__init__(future)
        self.token_hash, self.principal_text = token_hash, principal_text
        self.expires_at = expires_at

    def apply(self, tx: _Transaction) -> None:
        if self.principal_text is None:
            tx.conn.execute("DELETE FROM sessions WHERE token_hash = ?", (self.token_hash,))
            return
        tx.conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (time.time(),))
        tx.conn.execute(
            "INSERT OR REPLACE INTO sessions (token_hash, principal, expires_at) VALUES (?,?,?)",
            (self.token_hash, self.principal_text, self.expires_at),
        )


class _Refused(Exception):
    """Wraps a per-job refusal (unknown seq, invalid transition); the rest of the batch commits."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Transaction:
    """The writes of one batch; collects the rows to publish once it commits (only the last
    seq when no listener wants rows: building them costs more than the insert)."""

    conn: sqlite3.Connection
    committed: list[StoredEvent]
    keep_rows: bool = True
    last_seq: int = 0

    def append(
        self, event: IncomingEvent, received: float, payload_text: str | None
    ) -> AppendResult:
        conn = self.conn
        # One statement for both lookups: this runs once per ingested event.
        duplicate_seq, head_seq = conn.execute(_LOOKUP, (
            event.source, event.external_id, event.dedupe_key
        )).fetchone()  # fmt: skip
        if duplicate_seq is not None:
            return AppendResult(int(duplicate_seq), True)
        at = utc_timestamp(received)
        if payload_text is None:
            payload_text = dump_json(event.payload)
        if head_seq is None:
            sa_ids = tuple(sorted(set(event.sa_ids)))
            cursor = conn.execute(
                _INSERT_EVENT,
                (
                    event.source, event.kind, at, event.external_id, event.dedupe_key,
                    event.device_id, event.title, event.priority,
                    dump_json(list(sa_ids)) if sa_ids else "[]", OPEN,
                    1, at, None, event.dedupe_key, None, None, None, None, payload_text,
                ),
            )  # fmt: skip
            assert cursor.lastrowid is not None
            seq = cursor.lastrowid
            alert_seq, count, state = seq, 1, OPEN
        else:
            head = conn.execute(
                "SELECT count, sa_ids, state FROM events WHERE seq = ?", (head_seq,)
            ).fetchone()
            alert_seq, count, state = int(head_seq), int(head[0]) + 1, str(head[2])
            sa_ids = tuple(sorted(set(json.loads(head[1])) | set(event.sa_ids)))
            conn.execute(
                "UPDATE events SET count = ?, last_seen = ?, sa_ids = ? WHERE seq = ?",
                (count, at, dump_json(list(sa_ids)), alert_seq),
            )
            cursor = conn.execute(
                _INSERT_EVENT,
                (
                    event.source, event.kind, at, event.external_id, event.dedupe_key,
                    event.device_id, event.title, event.priority, dump_json(list(sa_ids)), state,
                    count, at, alert_seq, None, None, None, None, None, payload_text,
                ),
            )  # fmt: skip
            assert cursor.lastrowid is not None
            seq = cursor.lastrowid
        self.last_seq = seq
        if not self.keep_rows:
            return AppendResult(seq, False)
        self.committed.append(
            StoredEvent(
                seq=seq, source=event.source, kind=event.kind, received_at=at,
                external_id=event.external_id, title=event.title, device_id=event.device_id,
                priority=event.priority, dedupe_key=event.dedupe_key, sa_ids=sa_ids, state=state,
                count=count, last_seen=at, alert_seq=alert_seq, payload=event.payload,
                payload_text=payload_text,
            )
        )  # fmt: skip
        return AppendResult(seq, False)

    def run(self, batch: Sequence[_Job]) -> list[Any]:
        """Open the write transaction and apply ``batch``; a refused job's outcome is its
        error (the others still commit), any other exception fails the whole batch."""
        self.conn.execute("BEGIN IMMEDIATE")
        outcomes: list[Any] = []
        for job in batch:
            try:
                outcomes.append(job.apply(self))
            except _Refused as refused:
                outcomes.append(refused.error)
        return outcomes

    def load(self, seq: int) -> StoredEvent:
        row = self.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq = ?", (seq,)
        ).fetchone()
        if row is None:
            raise _Refused(UnknownEvent(f"no event with seq {seq}"))
        return event_from_row(row)

    def change_state(self, seq: int, change: StateChange, now: float) -> StoredEvent:
        target = self.load(seq)
        if target.alert_seq != target.seq:
            target = self.load(target.alert_seq)
        try:
            plan = plan_state_change(target, change, now)
        except ValueError as exc:
            raise _Refused(exc) from exc
        at = utc_timestamp(now)
        self.conn.execute(
            "UPDATE events SET state = ?, claimed_by = ?, snoozed_until = ?, asset_id = ?,"
            " partner_id = ?, sa_ids = ?,"
            " open_key = CASE WHEN ? THEN NULL ELSE open_key END WHERE seq = ?",
            (
                plan.state, plan.claimed_by, plan.snoozed_until, plan.asset_id, plan.partner_id,
                dump_json(list(plan.sa_ids)), plan.state == RESOLVED, target.seq,
            ),
        )  # fmt: skip
        after = replace(
            target,
            state=plan.state,
            claimed_by=plan.claimed_by,
            snoozed_until=plan.snoozed_until,
            asset_id=plan.asset_id,
            partner_id=plan.partner_id,
            sa_ids=plan.sa_ids,
        )
        # Whoever could see the alert before or after the change must hear about it
        # (a link can move an alert from one SA to another).
        visible_to = tuple(sorted(set(target.sa_ids) | set(plan.sa_ids)))
        payload: dict[str, Any] = {
            "target": target.seq,
            "action": change.action,
            "args": plan.args,
            "actor": change.actor,
            "sa": change.sa,
            "at": at,
            "alert": after.to_json(),
        }
        cursor = self.conn.execute(
            _INSERT_EVENT,
            (
                RELAY_SOURCE, STATE_KIND, at, uuid.uuid4().hex, None, target.device_id,
                change.action, target.priority, dump_json(list(visible_to)), plan.state,
                target.count, target.last_seen, target.seq, None, plan.claimed_by,
                plan.snoozed_until, plan.asset_id, plan.partner_id, dump_json(payload),
            ),
        )  # fmt: skip
        assert cursor.lastrowid is not None
        state_seq = cursor.lastrowid
        self.conn.execute(
            "INSERT INTO event_history (seq, target_seq, at, actor, sa, action, args)"
            " VALUES (?,?,?,?,?,?,?)",
            (state_seq, target.seq, at, change.actor, change.sa, change.action,
             dump_json(plan.args)),
        )  # fmt: skip
        row = StoredEvent(
            seq=state_seq, source=RELAY_SOURCE, kind=STATE_KIND, received_at=at,
            external_id="", title=change.action, device_id=target.device_id,
            priority=target.priority, dedupe_key=None, sa_ids=visible_to, state=plan.state,
            count=target.count, last_seen=target.last_seen, alert_seq=target.seq,
            claimed_by=plan.claimed_by, snoozed_until=plan.snoozed_until,
            asset_id=plan.asset_id, partner_id=plan.partner_id, payload=payload,
        )  # fmt: skip
        self.last_seq = state_seq
        if self.keep_rows:
            self.committed.append(row)
        return row


def _is_storage_failure(exc: BaseException) -> bool:
    """True when the file or disk failed (full, read-only, I/O, corrupt), not the data."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


class SqliteEventStore(SqlLogReads):
    """:class:`~console.relay.store.EventStore` on one SQLite file (see the module docstring).

    ``shared``: several processes write this file (``psa relay --workers N``). Each batch then
    runs in the committer thread under an exclusive ``flock`` on ``<db>.writer-lock``, and
    committed rows reach the listener by tailing the file every
    ``tail_interval`` seconds, because another process may have committed the seqs between
    this one's. ``max_pages`` caps the database size (SQLite's ``max_page_count``); past it,
    writes fail as on a full disk.
    """

    _table_prefix = ""
    _placeholder = "?"
    _event_columns = _EVENT_COLUMNS
    _row_event = staticmethod(event_from_row)

    def __init__(
        self,
        path: str | Path,
        *,
        shared: bool = False,
        tail_interval: float = 0.01,
        max_batch: int = 1024,
        max_pages: int | None = None,
        reopen_interval: float = 0.5,
        checkpoint_interval: float = 0.5,
        wal_restart_frames: int = 65536,
        wal_size_limit: int = 64 * 1024 * 1024,
        idle_seconds: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.shared = shared
        self.tail_interval = tail_interval
        self.max_batch = max_batch
        self.max_pages = max_pages
        self.reopen_interval = reopen_interval
        #: queued writes: the loop appends, the batch (loop or committer thread) pops
        self._pending: collections.deque[_Job] = collections.deque()
        self._busy = False
        self._isolate = 0  # jobs still to run one per transaction after a data error
        self._idle = asyncio.Event()
        self._idle.set()
        self._listeners: list[CommitListener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-commit")
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._last_open_attempt = 0.0
        self._unavailable: str | None = None
        self._closed = False
        self._published = 0
        self._tailer: asyncio.Task[None] | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self.checkpoint_interval = checkpoint_interval
        #: WAL pages past which the committer makes the WAL start over (see _checkpoints)
        self.wal_restart_frames = wal_restart_frames
        self._restart_wal = False
        self.wal_size_limit = wal_size_limit
        self.idle_seconds = idle_seconds
        self._last_write = 0.0
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="relay-store-read")
        self._reader_local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the file; an unopenable file leaves the store degraded (it retries later)."""
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._try_open)
        if self.shared:
            with contextlib.suppress(StoreUnavailable):
                self._published = await self.last_seq()
            self._tailer = asyncio.create_task(self._tail(), name="relay-store-tail")
        self._checkpointer = asyncio.create_task(self._checkpoints(), name="relay-checkpoint")

    async def _checkpoints(self) -> None:
        """Fold the WAL back into the database off the commit path.

        SQLite's automatic checkpoint runs inside whichever COMMIT crosses 1,000 WAL pages,
        stalling that batch (and, with several workers, everyone waiting for the write lock)
        for tens of milliseconds. A PASSIVE checkpoint from a reader thread does the same work
        without blocking writers; it is skipped if another process is already at it.

        Under sustained writes that checkpoint never catches up with the last commit, so the
        WAL would never start over and would grow for as long as an alert storm lasts (~90 MB
        in 10 s at 7,000 alerts/s). Once it holds more than ``wal_restart_frames`` pages
        (256 MiB by default), the committer copies what was committed since, right after its
        next COMMIT and still holding the write lock (see :meth:`_commit`); the next
        transaction then writes the WAL from its start (the file keeps its size). That
        catch-up stalls one batch for tens of milliseconds, so it is kept for long storms:
        after a burst, the first quiet moment lets the WAL start over anyway.

        Once no process has written for ``idle_seconds`` and the WAL file is larger than
        ``wal_size_limit``, a TRUNCATE checkpoint gives the disk space back. (SQLite's
        ``journal_size_limit`` would do that inside the first COMMIT after a restart: a
        160 ms stall in the bench.)
        """
        published = self._published
        while True:
            await asyncio.sleep(self.checkpoint_interval)
            with contextlib.suppress(StoreUnavailable):
                rows = await self._read("PRAGMA wal_checkpoint(PASSIVE)", ())
                if rows and rows[0][1] is not None and rows[0][1] > self.wal_restart_frames:
                    self._restart_wal = True
                if self._published != published:  # any process's commits (shared: the tail)
                    published = self._published
                    self._last_write = time.monotonic()
                if (
                    not self._busy
                    and time.monotonic() - self._last_write >= self.idle_seconds
                    and self._wal_bytes() > self.wal_size_limit
                ):
                    # Quiet: give back the space a storm took (blocks writers briefly).
                    await self._read("PRAGMA wal_checkpoint(TRUNCATE)", ())

    async def close(self) -> None:
        """Commit what is queued, then close every connection."""
        if self._closed:
            return
        self._closed = True
        await self._idle.wait()
        for task in (self._tailer, self._checkpointer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._committer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Deliver every committed row to ``listener`` on the loop, in seq order."""
        self._listeners.append(listener)

    @property
    def unavailable_reason(self) -> str | None:
        """Why the store cannot write right now, or None."""
        return self._unavailable

    # -- writes ------------------------------------------------------------------------------

    async def append(self, event: IncomingEvent) -> AppendResult:
        """Durably append ``event`` (received now); a known ``(source, external_id)`` is a duplicate."""
        return await self.append_at(event, time.time())

    async def append_at(
        self, event: IncomingEvent, received: float, payload_text: str | None = None
    ) -> AppendResult:
        """Durably append ``event`` received at ``received`` (epoch seconds).

        ``payload_text`` is the payload exactly as received (JSON text), stored instead of
        re-encoding ``event.payload``.
        """
        result: AppendResult = await self.submit_append(event, received, payload_text)
        return result

    def submit_append(
        self, event: IncomingEvent, received: float, payload_text: str | None = None
    ) -> asyncio.Future[AppendResult]:
        """Queue the append now; the future completes once it is committed."""
        future = self._new_future()
        self._submit(_AppendJob(future, event, received, payload_text))
        return future

    async def quarantine(
        self, source: str, body: bytes, reason: str, headers: Mapping[str, str], received: float
    ) -> int:
        """Durably keep a refused body with its reason; returns the quarantine id."""
        future = self._new_future()
        self._submit(_QuarantineJob(future, source, body, reason, headers, received))
        quarantine_id: int = await future
        return quarantine_id

    async def change_state(self, seq: int, change: StateChange) -> StoredEvent:
        """Apply ``change`` to the alert ``seq`` belongs to; returns the committed state row."""
        future = self._new_future()
        self._submit(_StateJob(future, seq, change, time.time()))
        row: StoredEvent = await future
        return row

    async def set_cursor(self, name: str, value: str) -> None:
        """Durably remember a poller cursor."""
        future = self._new_future()
        self._submit(_CursorJob(future, name, value))
        await future

    async def save_session(
        self, token_hash: str, principal: Mapping[str, Any], expires_at: float
    ) -> None:
        """Durably keep a session (by the token's hash) and drop expired ones."""
        future = self._new_future()
        self._submit(_SessionJob(future, token_hash, dump_json(dict(principal)), expires_at))
        await future

    async def delete_session(self, token_hash: str) -> None:
        """Forget a session."""
        future = self._new_future()
        self._submit(_SessionJob(future, token_hash, None, 0.0))
        await future

    def _new_future(self) -> asyncio.Future[Any]:
        if self._loop is None:
            raise RuntimeError("SqliteEventStore.start() was not awaited")
        return self._loop.create_future()

    def _submit(self, job: _Job) -> None:
        if self._closed:
            raise StoreUnavailable("the event store is shutting down")
        self._pending.append(job)
        if not self._busy:
            self._busy = True
            self._idle.clear()
            # call_soon, not now: every request handled in this loop iteration joins the batch.
            assert self._loop is not None
            self._loop.call_soon(self._start_batch)

    # -- the writer (on the loop) and the committer thread -----------------------------------

    def _try_open(self) -> sqlite3.Connection | None:
        self._last_open_attempt = time.monotonic()
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.shared and self._lock_fd is None:
                lock_path = self.path.with_name(self.path.name + ".writer-lock")
                self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            # Under the writer lock: workers starting together would otherwise race to switch
            # the journal mode, and the loser gets "database is locked" (no busy wait there).
            with self._writer_lock():
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(f"cannot switch {self.path} to WAL (got {mode})")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA wal_autocheckpoint = 0")  # see _checkpoints
                if self.max_pages is not None:
                    conn.execute(f"PRAGMA max_page_count = {int(self.max_pages)}")
                self._migrate(conn)
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            self._mark_unavailable(f"cannot open event store {self.path}: {exc}")
            return None
        if self._unavailable is not None:
            _log.warning("event store %s is writable again", self.path)
        self._unavailable = None
        self._conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Create or check the schema (the caller holds the writer lock)."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"{self.path} has schema version {version}; this relay knows {SCHEMA_VERSION}"
            )

    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _mark_unavailable(self, reason: str) -> None:
        if self._unavailable != reason:
            _log.error("%s", reason)
        self._unavailable = reason

    def _start_batch(self) -> None:
        """Start the next batch of queued writes, if any (one batch at a time).

        One process: the statements run here on the loop (CPU work of a few µs each, and no
        GIL hand-over per statement); only the COMMIT (the fsync) goes to the committer
        thread, and requests keep arriving meanwhile to form the next batch.

        Several processes (``shared``): the whole batch runs in the committer thread once it
        holds the file lock (:meth:`_locked_batch`). Bouncing to the loop between taking the
        lock and committing kept the lock held while the loop was busy with requests and
        streams — the other workers waited that long (bench/RESULTS.md, session 4).
        """
        loop = self._loop
        assert loop is not None
        if not self._pending:
            self._busy = False
            self._idle.set()
            return
        conn = self._conn
        if conn is None and (
            time.monotonic() - self._last_open_attempt >= self.reopen_interval
            or self._unavailable is None
        ):
            conn = self._try_open()
        if conn is None:
            self._fail_pending(StoreUnavailable(self._unavailable or "event store is not open"))
            return
        size = 1 if self._isolate else self.max_batch
        if self.shared:
            running = self._committer.submit(self._locked_batch, conn, size)
            running.add_done_callback(
                lambda done: loop.call_soon_threadsafe(self._locked_batch_done, done)
            )
            return
        batch = self._take(size)
        tx = _Transaction(conn, [], any(x.wants_rows for x in self._listeners))
        try:
            outcomes = tx.run(batch)
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._batch_failed(batch, exc)
            loop.call_soon(self._start_batch)
            return
        committing = self._committer.submit(self._commit, conn)
        committing.add_done_callback(
            lambda done: loop.call_soon_threadsafe(self._batch_done, batch, outcomes, tx, done)
        )

    def _take(self, size: int) -> list[_Job]:
        """The next batch: up to ``size`` queued jobs, oldest first."""
        pending = self._pending
        return [pending.popleft() for _ in range(min(size, len(pending)))]

    def _fail_pending(self, failure: Exception) -> None:
        batch = list(self._pending)
        self._pending.clear()
        self._resolve(batch, [failure] * len(batch), [])
        self._busy = False
        self._idle.set()

    def _commit(self, conn: sqlite3.Connection) -> None:
        """Committer thread: the durable part (WAL write + fsync)."""
        try:
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self._after_commit(conn)

    def _after_commit(self, conn: sqlite3.Connection) -> None:
        """The WAL catch-up :meth:`_checkpoints` asked for, while still the only writer."""
        if not self._restart_wal:
            return
        # the batch is durable already; a failed catch-up only leaves the WAL longer
        self._restart_wal = False
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            _log.warning("WAL checkpoint after commit failed: %s", exc)

    def _locked_batch(
        self, conn: sqlite3.Connection, size: int
    ) -> tuple[list[_Job], list[Any], BaseException | None]:
        """Committer thread, shared mode: take the file lock, then run and commit what is
        queued by then (up to ``size`` jobs). Returns the jobs, their outcomes and the error
        that failed the whole batch, if any."""
        assert self._lock_fd is not None
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            batch = self._take(size)  # the loop only appends while this runs
            tx = _Transaction(conn, [], keep_rows=False)  # the tail publishes
            try:
                outcomes = tx.run(batch)
                conn.execute("COMMIT")
            except Exception as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                return batch, [], exc
            self._after_commit(conn)
            return batch, outcomes, None
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _locked_batch_done(
        self,
        done: concurrent.futures.Future[tuple[list[_Job], list[Any], BaseException | None]],
    ) -> None:
        self._last_write = time.monotonic()
        lock_error = done.exception()
        if lock_error is not None:
            self._fail_pending(StoreUnavailable(f"cannot lock {self.path}: {lock_error}"))
            return
        batch, outcomes, error = done.result()
        self._settle(batch, outcomes, error)

    def _batch_done(
        self,
        batch: list[_Job],
        outcomes: list[Any],
        tx: _Transaction,
        done: concurrent.futures.Future[None],
    ) -> None:
        self._last_write = time.monotonic()
        self._settle(batch, outcomes, done.exception(), tx.committed, tx.last_seq)

    def _settle(
        self,
        batch: list[_Job],
        outcomes: list[Any],
        error: BaseException | None,
        committed: list[StoredEvent] | None = None,
        last_seq: int = 0,
    ) -> None:
        """A batch ended (committed, or failed with ``error``): answer it, start the next."""
        if error is not None:
            self._batch_failed(batch, error)
        else:
            if self._isolate:
                self._isolate -= 1
            self._resolve(batch, outcomes, committed or [], last_seq)
        self._start_batch()

    def _batch_failed(self, batch: list[_Job], exc: BaseException) -> None:
        if _is_storage_failure(exc):
            # Drop the connection: after an I/O error SQLite's state for this handle is not
            # worth trusting, and reopening is cheap.
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
            self._conn = None
            self._mark_unavailable(f"cannot write event store {self.path}: {exc}")
            failure = StoreUnavailable(self._unavailable or str(exc))
            self._resolve(batch, [failure] * len(batch), [])
        elif len(batch) > 1:
            # One job's data broke the batch (a bug or an unforeseen value): run these jobs
            # one per transaction, so only the culprit fails.
            self._pending.extendleft(reversed(batch))
            self._isolate = len(batch)
        else:
            _log.error("event store write failed", exc_info=exc)
            if self._isolate:
                self._isolate -= 1
            self._resolve(batch, [exc], [])

    def _resolve(
        self,
        batch: list[_Job],
        outcomes: list[Any],
        committed: list[StoredEvent],
        last_seq: int = 0,
    ) -> None:
        for job, outcome in zip(batch, outcomes, strict=True):
            future = job.future
            if future.done():  # the request went away; the write stands
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if committed:
            self._published = committed[-1].seq
            self._deliver(committed)
        elif last_seq:
            self._published = last_seq
            self._notify(methodcaller("advance", last_seq))

    def _deliver(self, committed: list[StoredEvent]) -> None:
        self._notify(methodcaller("publish", committed))

    def _notify(self, tell: Callable[[CommitListener], object]) -> None:
        """Tell every listener; one that fails is logged and does not stop the others."""
        for listener in self._listeners:
            try:
                tell(listener)
            except Exception:
                _log.exception("commit listener failed")

    async def _tail(self) -> None:
        """Shared mode: publish what any process committed, in seq order."""
        while True:
            await asyncio.sleep(self.tail_interval)
            try:
                if any(listener.wants_rows for listener in self._listeners):
                    frames = await self.read_frames_after(self._published, PAGE_ROWS)
                    if frames:
                        self._published = frames[-1][0]
                        self._notify(methodcaller("publish_frames", frames))
                else:
                    last = await self.last_seq()
                    if last > self._published:
                        self._published = last
                        self._notify(methodcaller("advance", last))
            except StoreUnavailable:
                await asyncio.sleep(self.reopen_interval)

    # -- reads -------------------------------------------------------------------------------

    def _wal_bytes(self) -> int:
        try:
            return self.path.with_name(self.path.name + "-wal").stat().st_size
        except OSError:
            return 0

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._reader_local, "conn", None)
        if conn is None:
            if not self.path.exists():
                raise sqlite3.OperationalError(f"{self.path} does not exist")
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA query_only = ON")
            self._reader_local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        return conn

    async def _read(self, query: str, params: Sequence[Any]) -> list[Any]:
        def run() -> list[Any]:
            try:
                return self._reader().execute(query, params).fetchall()
            except sqlite3.Error as exc:
                self._reader_local.conn = None
                raise StoreUnavailable(f"cannot read event store {self.path}: {exc}") from exc

        if self._closed:
            raise StoreUnavailable("the event store is shutting down")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._readers, run)
        except RuntimeError as exc:  # executor shut down under us
            raise StoreUnavailable("the event store is shutting down") from exc

    async def read_frames_after(self, after: int, limit: int) -> list[EncodedEvent]:
        """Like :meth:`read_after`, as stream frames (the JSON built by SQLite)."""
        rows = await self._read(
            f"SELECT {_FRAME_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [
            (
                seq,
                () if sa_ids == "[]" else tuple(json.loads(sa_ids)),
                f"id: {seq}\nevent: {kind}\ndata: {data}\n\n".encode(),
            )
            for seq, kind, sa_ids, data in rows
        ]

    async def last_seq(self) -> int:
        """The highest committed seq (0 for an empty log)."""
        rows = await self._read("SELECT COALESCE(MAX(seq), 0) FROM events", ())
        return int(rows[0][0])
