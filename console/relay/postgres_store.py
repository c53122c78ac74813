"""The event store on PostgreSQL, for several relay instances behind a load balancer.

Same contract as :mod:`console.relay.sqlite_store`, with these choices:

* **seq is assigned under a row lock.** ``relay_meta.last_seq`` is read ``FOR UPDATE`` at the
  start of each batch transaction and written back at its end. The lock is held until
  COMMIT, so batches of all instances commit one after the other and ``seq`` order *is*
  commit order — a consumer that saw seq N has seen everything below N. (A plain sequence
  would hand out numbers that commit out of order, and a reader could skip one for good.)
* **Group commit**: one writer task per instance drains its queue into one transaction.
* **Fan-out through LISTEN/NOTIFY**: each batch ends with ``pg_notify('relay_events', seq)``
  (delivered at commit); every instance listens and reads the new rows in seq order, its
  own included, so each stream sees one order whichever instance wrote. A slow poll covers
  lost notifications (reconnects).
* **Unavailable → 503**: any connection or server error fails the batch with
  :class:`StoreUnavailable`; the next batch reconnects.
* **One leader** (:meth:`PostgresEventStore.lead`): the jobs that must run once for all
  instances (pollers, the rules worker) run only in the instance holding a session-level
  advisory lock; when its connection drops (the instance died, or lost PostgreSQL) the lock
  is released and another instance takes over within ``lead_retry`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Final

import psycopg

from console.relay.events import AppendResult, IncomingEvent
from console.relay.store import (
    DEVICE_KINDS_SQL,
    OPEN,
    RELAY_SOURCE,
    RESOLVED,
    STATE_KIND,
    CommitListener,
    SqlLogReads,
    StateChange,
    StateChangeRejected,
    StoredEvent,
    StoreUnavailable,
    UnknownEvent,
    dump_json,
    plan_state_change,
    utc_timestamp,
)

_log = logging.getLogger(__name__)

CHANNEL: Final = "relay_events"
#: advisory lock keys: first start (schema), and the lead of the pollers and rules worker
_SCHEMA_LOCK: Final = 4242001
LEAD_LOCK: Final = 4242002
PAGE_ROWS: Final = 1000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS relay_meta (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq  BIGINT NOT NULL
);
INSERT INTO relay_meta (id, last_seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS relay_events (
    seq           BIGINT PRIMARY KEY,
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
    alert_seq     BIGINT,
    open_key      TEXT,
    claimed_by    TEXT,
    snoozed_until TEXT,
    asset_id      BIGINT,
    partner_id    BIGINT,
    payload       TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS relay_events_open_key ON relay_events (open_key)
    WHERE open_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS relay_events_alert_seq ON relay_events (alert_seq)
    WHERE alert_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS relay_events_device ON relay_events (device_id, seq)
    WHERE kind IN ({device_kinds});
CREATE TABLE IF NOT EXISTS relay_event_history (
    seq         BIGINT PRIMARY KEY,
    target_seq  BIGINT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    sa          BIGINT,
    action      TEXT NOT NULL,
    args        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS relay_event_history_target ON relay_event_history (target_seq, seq);
CREATE TABLE IF NOT EXISTS relay_quarantine (
    id          BIGSERIAL PRIMARY KEY,
    received_at TEXT NOT NULL,
    source      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    headers     TEXT NOT NULL,
    body        BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_sessions (
    token_hash  TEXT PRIMARY KEY,
    principal   TEXT NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_cursors (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
""".replace("{device_kinds}", DEVICE_KINDS_SQL)

_COLUMNS: Final = (
    "seq, source, kind, received_at, external_id, title, device_id, priority, dedupe_key, "
    "sa_ids, state, count, last_seen, alert_seq, claimed_by, snoozed_until, asset_id, "
    "partner_id, payload"
)
_INSERT: Final = (
    "INSERT INTO relay_events (seq, source, kind, received_at, external_id, dedupe_key,"
    " device_id, title, priority, sa_ids, state, count, last_seen, alert_seq, open_key,"
    " claimed_by, snoozed_until, asset_id, partner_id, payload)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
)


def _event(row: Any) -> StoredEvent:
    seq = int(row[0])
    return StoredEvent(
        seq=seq, source=row[1], kind=row[2], received_at=row[3], external_id=row[4],
        title=row[5], device_id=row[6], priority=row[7], dedupe_key=row[8],
        sa_ids=tuple(json.loads(row[9])), state=row[10], count=int(row[11]),
        last_seen=row[12], alert_seq=seq if row[13] is None else int(row[13]),
        claimed_by=row[14], snoozed_until=row[15], asset_id=row[16], partner_id=row[17],
        payload=json.loads(row[18]),
    )  # fmt: skip


class _Batch:
    """The writes of one transaction; ``next_seq`` hands out seqs under the meta row lock."""

    def __init__(self, cursor: psycopg.AsyncCursor[Any], last_seq: int) -> None:
        self.cursor = cursor
        self.last_seq = last_seq
        self.committed: list[StoredEvent] = []

    def next_seq(self) -> int:
        self.last_seq += 1
        return self.last_seq

    async def append(
        self, event: IncomingEvent, received: float, payload_text: str | None
    ) -> AppendResult:
        cur = self.cursor
        await cur.execute(
            "SELECT (SELECT seq FROM relay_events WHERE source = %s AND external_id = %s),"
            " (SELECT seq FROM relay_events WHERE open_key = %s)",
            (event.source, event.external_id, event.dedupe_key),
        )
        duplicate_seq, head_seq = await cur.fetchone() or (None, None)
        if duplicate_seq is not None:
            return AppendResult(int(duplicate_seq), True)
        at = utc_timestamp(received)
        payload = payload_text if payload_text is not None else dump_json(event.payload)
        seq = self.next_seq()
        if head_seq is None:
            sa_ids = tuple(sorted(set(event.sa_ids)))
            alert_seq, count, state, open_key, alert_ref = seq, 1, OPEN, event.dedupe_key, None
        else:
            await cur.execute(
                "SELECT count, sa_ids, state FROM relay_events WHERE seq = %s", (head_seq,)
            )
            head = await cur.fetchone()
            assert head is not None
            alert_seq, count, state = int(head_seq), int(head[0]) + 1, str(head[2])
            sa_ids = tuple(sorted(set(json.loads(head[1])) | set(event.sa_ids)))
            open_key, alert_ref = None, alert_seq
            await cur.execute(
                "UPDATE relay_events SET count = %s, last_seen = %s, sa_ids = %s WHERE seq = %s",
                (count, at, dump_json(list(sa_ids)), alert_seq),
            )
        await cur.execute(
            _INSERT,
            (
                seq, event.source, event.kind, at, event.external_id, event.dedupe_key,
                event.device_id, event.title, event.priority, dump_json(list(sa_ids)), state,
                count, at, alert_ref, open_key, None, None, None, None, payload,
            ),
        )  # fmt: skip
        return AppendResult(seq, False)

    async def load(self, seq: int) -> StoredEvent:
        await self.cursor.execute(f"SELECT {_COLUMNS} FROM relay_events WHERE seq = %s", (seq,))
        row = await self.cursor.fetchone()
        if row is None:
            raise UnknownEvent(f"no event with seq {seq}")
        return _event(row)

    async def change_state(self, seq: int, change: StateChange, now: float) -> StoredEvent:
        target = await self.load(seq)
        if target.alert_seq != target.seq:
            target = await self.load(target.alert_seq)
        plan = plan_state_change(target, change, now)
        at = utc_timestamp(now)
        cur = self.cursor
        await cur.execute(
            "UPDATE relay_events SET state = %s, claimed_by = %s, snoozed_until = %s,"
            " asset_id = %s, partner_id = %s, sa_ids = %s,"
            " open_key = CASE WHEN %s THEN NULL ELSE open_key END WHERE seq = %s",
            (
                plan.state, plan.claimed_by, plan.snoozed_until, plan.asset_id, plan.partner_id,
                dump_json(list(plan.sa_ids)), plan.state == RESOLVED, target.seq,
            ),
        )  # fmt: skip
        after = replace(
            target, state=plan.state, claimed_by=plan.claimed_by,
            snoozed_until=plan.snoozed_until, asset_id=plan.asset_id,
            partner_id=plan.partner_id, sa_ids=plan.sa_ids,
        )  # fmt: skip
        visible_to = tuple(sorted(set(target.sa_ids) | set(plan.sa_ids)))
        payload = {
            "target": target.seq, "action": change.action, "args": plan.args,
            "actor": change.actor, "sa": change.sa, "at": at, "alert": after.to_json(),
        }  # fmt: skip
        seq_state = self.next_seq()
        await cur.execute(
            _INSERT,
            (
                seq_state, RELAY_SOURCE, STATE_KIND, at, uuid.uuid4().hex, None,
                target.device_id, change.action, target.priority, dump_json(list(visible_to)),
                plan.state, target.count, target.last_seen, target.seq, None, plan.claimed_by,
                plan.snoozed_until, plan.asset_id, plan.partner_id, dump_json(payload),
            ),
        )  # fmt: skip
        await cur.execute(
            "INSERT INTO relay_event_history (seq, target_seq, at, actor, sa, action, args)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s)",
            (seq_state, target.seq, at, change.actor, change.sa, change.action,
             dump_json(plan.args)),
        )  # fmt: skip
        return StoredEvent(
            seq=seq_state, source=RELAY_SOURCE, kind=STATE_KIND, received_at=at,
            external_id="", title=change.action, device_id=target.device_id,
            priority=target.priority, dedupe_key=None, sa_ids=visible_to, state=plan.state,
            count=target.count, last_seen=target.last_seen, alert_seq=target.seq,
            claimed_by=plan.claimed_by, snoozed_until=plan.snoozed_until,
            asset_id=plan.asset_id, partner_id=plan.partner_id, payload=payload,
        )  # fmt: skip


class _Write:
    __slots__ = ("args", "future", "kind")

    def __init__(self, future: asyncio.Future[Any], kind: str, *args: Any) -> None:
        self.future, self.kind, self.args = future, kind, args


class PostgresEventStore(SqlLogReads):
    """:class:`~console.relay.store.EventStore` on PostgreSQL (see the module docstring)."""

    _table_prefix = "relay_"
    _placeholder = "%s"
    _event_columns = _COLUMNS
    _row_event = staticmethod(_event)

    def __init__(
        self,
        dsn: str,
        *,
        max_batch: int = 1024,
        poll_interval: float = 1.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self.max_batch = max_batch
        self.poll_interval = poll_interval
        self.connect_timeout = connect_timeout
        self._queue: asyncio.Queue[_Write | None] = asyncio.Queue()
        self._listeners: list[CommitListener] = []
        self._writer_conn: psycopg.AsyncConnection[Any] | None = None
        self._reader_conn: psycopg.AsyncConnection[Any] | None = None
        self._reader_lock = asyncio.Lock()
        self._unavailable: str | None = None
        self._closed = False
        self._published = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._new_commits = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    async def _connect(self, *, autocommit: bool) -> psycopg.AsyncConnection[Any]:
        try:
            return await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=autocommit, connect_timeout=int(self.connect_timeout)
            )
        except psycopg.Error as exc:
            self._mark_unavailable(f"cannot connect to PostgreSQL: {exc}")
            raise StoreUnavailable(self._unavailable or str(exc)) from exc

    async def start(self) -> None:
        """Create the tables if needed and start the writer and the listener."""
        try:
            conn = await self._connect(autocommit=True)
            async with conn:
                # Serialize concurrent first starts of several instances.
                await conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
                await conn.execute(_SCHEMA)
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
            self._published = await self.last_seq()
        except StoreUnavailable:
            pass  # degraded: writes answer 503 until PostgreSQL is back
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="relay-pg-writer"),
            asyncio.create_task(self._listen_loop(), name="relay-pg-listener"),
            asyncio.create_task(self._tail_loop(), name="relay-pg-tail"),
        ]

    async def close(self) -> None:
        """Commit what is queued, then close every connection."""
        if self._closed:
            return
        self._closed = True
        await self._queue.put(None)
        await self._tasks[0]
        for task in self._tasks[1:]:
            task.cancel()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        for conn in (self._writer_conn, self._reader_conn):
            if conn is not None:
                await conn.close()

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Deliver every committed row (of any instance) to ``listener``, in seq order."""
        self._listeners.append(listener)

    @property
    def unavailable_reason(self) -> str | None:
        """Why the store cannot write right now, or None."""
        return self._unavailable

    def _mark_unavailable(self, reason: str) -> None:
        if self._unavailable != reason:
            _log.error("%s", reason)
        self._unavailable = reason

    # -- writes ------------------------------------------------------------------------------

    async def _submit(self, kind: str, *args: Any) -> Any:
        return await self._enqueue(kind, *args)

    def _enqueue(self, kind: str, *args: Any) -> asyncio.Future[Any]:
        if self._closed:
            raise StoreUnavailable("the event store is shutting down")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Write(future, kind, *args))
        return future

    async def append(self, event: IncomingEvent) -> AppendResult:
        """Durably append ``event`` (received now)."""
        return await self.append_at(event, time.time())

    async def append_at(
        self, event: IncomingEvent, received: float, payload_text: str | None = None
    ) -> AppendResult:
        """Durably append ``event``; ``payload_text`` is stored as the raw payload if given."""
        result: AppendResult = await self._submit("append", event, received, payload_text)
        return result

    def submit_append(
        self, event: IncomingEvent, received: float, payload_text: str | None = None
    ) -> asyncio.Future[AppendResult]:
        """Queue the append now; the future completes once it is committed."""
        return self._enqueue("append", event, received, payload_text)

    async def quarantine(
        self, source: str, body: bytes, reason: str, headers: Mapping[str, str], received: float
    ) -> int:
        """Durably keep a refused body with its reason."""
        quarantine_id: int = await self._submit(
            "quarantine", source, body, reason, dict(headers), received
        )
        return quarantine_id

    async def change_state(self, seq: int, change: StateChange) -> StoredEvent:
        """Apply ``change`` to the alert ``seq`` belongs to; returns the state row."""
        row: StoredEvent = await self._submit("state", seq, change, time.time())
        return row

    async def set_cursor(self, name: str, value: str) -> None:
        """Durably remember a poller cursor."""
        await self._submit("cursor", name, value)

    async def save_session(
        self, token_hash: str, principal: Mapping[str, Any], expires_at: float
    ) -> None:
        """Keep a session by its token's hash; drops expired ones."""
        await self._submit("session", token_hash, dump_json(dict(principal)), expires_at)

    async def delete_session(self, token_hash: str) -> None:
        """Forget a session."""
        await self._submit("session", token_hash, None, 0.0)

    async def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._run_batch(batch)

    async def _run_batch(self, batch: list[_Write]) -> None:
        outcomes: list[Any] = []
        try:
            if self._writer_conn is None or self._writer_conn.closed:
                self._writer_conn = await self._connect(autocommit=False)
            conn = self._writer_conn
            async with conn.transaction(), conn.cursor() as cur:
                await cur.execute("SELECT last_seq FROM relay_meta WHERE id = 1 FOR UPDATE")
                meta = await cur.fetchone()
                if meta is None:
                    raise StoreUnavailable("relay_meta is empty; the schema was not created")
                tx = _Batch(cur, int(meta[0]))
                for write in batch:
                    outcomes.append(await self._apply(tx, write))
                if tx.last_seq != int(meta[0]):
                    await cur.execute(
                        "UPDATE relay_meta SET last_seq = %s WHERE id = 1", (tx.last_seq,)
                    )
                    await cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(tx.last_seq)))
        except (psycopg.Error, StoreUnavailable) as exc:
            if isinstance(exc, psycopg.Error):
                self._mark_unavailable(f"cannot write to PostgreSQL: {exc}")
                if self._writer_conn is not None:
                    await self._writer_conn.close()
                    self._writer_conn = None
            failure = StoreUnavailable(self._unavailable or str(exc))
            for write in batch:
                if not write.future.done():
                    write.future.set_exception(failure)
            return
        if self._unavailable is not None:
            _log.warning("PostgreSQL event store is writable again")
            self._unavailable = None
        for write, outcome in zip(batch, outcomes, strict=True):
            if write.future.done():
                continue
            if isinstance(outcome, BaseException):
                write.future.set_exception(outcome)
            else:
                write.future.set_result(outcome)
        self._new_commits.set()

    async def _apply(self, tx: _Batch, write: _Write) -> Any:
        cur = tx.cursor
        if write.kind == "append":
            return await tx.append(*write.args)
        if write.kind == "state":
            # A refusal must not abort the batch: run it in a savepoint.
            try:
                async with cur.connection.transaction():
                    return await tx.change_state(*write.args)
            except (UnknownEvent, StateChangeRejected) as refused:
                return refused
        if write.kind == "quarantine":
            source, body, reason, headers, received = write.args
            await cur.execute(
                "INSERT INTO relay_quarantine (received_at, source, reason, headers, body)"
                " VALUES (%s,%s,%s,%s,%s) RETURNING id",
                (utc_timestamp(received), source, reason, dump_json(headers), body),
            )
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])
        if write.kind == "cursor":
            name, value = write.args
            await cur.execute(
                "INSERT INTO relay_cursors (name, value, updated_at) VALUES (%s,%s,%s)"
                " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value,"
                " updated_at = EXCLUDED.updated_at",
                (name, value, utc_timestamp(time.time())),
            )
            return None
        token_hash, principal_text, expires_at = write.args
        if principal_text is None:
            await cur.execute("DELETE FROM relay_sessions WHERE token_hash = %s", (token_hash,))
            return None
        await cur.execute("DELETE FROM relay_sessions WHERE expires_at <= %s", (time.time(),))
        await cur.execute(
            "INSERT INTO relay_sessions (token_hash, principal, expires_at) VALUES (%s,%s,%s)"
            " ON CONFLICT (token_hash) DO UPDATE SET principal = EXCLUDED.principal,"
            " expires_at = EXCLUDED.expires_at",
            (token_hash, principal_text, expires_at),
        )
        return None

    # -- fan-out -----------------------------------------------------------------------------

    async def lead(self, run: Callable[[], Awaitable[None]], *, lead_retry: float = 5.0) -> None:
        """Run ``run`` whenever this instance leads, until it returns or this is cancelled.

        Leading means holding the session-level advisory lock :data:`LEAD_LOCK` on a
        connection of its own. The other instances try again every ``lead_retry`` seconds. The
        leader checks its connection as often; if it fails, ``run`` is cancelled — PostgreSQL
        releases the lock of a dropped session, so another instance takes over. (Until
        PostgreSQL notices a silently dead connection two instances may both run it briefly:
        the jobs are idempotent.)
        """
        waiting_said = False
        while True:
            leading = False
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=int(self.connect_timeout)
                )
                async with conn:
                    while True:
                        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LEAD_LOCK,))
                        row = await cursor.fetchone()
                        if row is not None and row[0]:
                            break
                        if not waiting_said:
                            _log.info(
                                "another relay leads: pollers and the rules worker run there; "
                                "this one takes over if it goes away"
                            )
                            waiting_said = True
                        await asyncio.sleep(lead_retry)
                    _log.info("this relay leads: pollers and the rules worker run here")
                    leading, waiting_said = True, False
                    await self._while_connected(conn, run, lead_retry)
                    return  # the jobs ended by themselves: the lock goes with the connection
            except psycopg.Error as exc:
                if leading:
                    _log.warning("lost the lead (PostgreSQL: %s); pollers and rules stopped", exc)
                else:
                    _log.warning("cannot reach PostgreSQL to take the lead: %s", exc)
                await asyncio.sleep(lead_retry)

    @staticmethod
    async def _while_connected(
        conn: psycopg.AsyncConnection[Any], run: Callable[[], Awaitable[None]], check: float
    ) -> None:
        task = asyncio.ensure_future(run())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=check)
                if done:
                    await task  # a job that ended by itself: its error (if any) is raised
                    return
                await conn.execute("SELECT 1")  # raises once the session is gone
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _listen_loop(self) -> None:
        """Wake the tailer on every NOTIFY from any instance; reconnect when needed."""
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=int(self.connect_timeout)
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._new_commits.set()  # catch up on what happened while disconnected
                    async for _ in conn.notifies():
                        self._new_commits.set()
            except psycopg.Error as exc:
                _log.warning("PostgreSQL listener disconnected: %s", exc)
                await asyncio.sleep(self.poll_interval)

    async def _tail_loop(self) -> None:
        """Publish new rows in seq order (after a NOTIFY, or every ``poll_interval``)."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._new_commits.wait()
            self._new_commits.clear()
            try:
                while True:
                    if any(listener.wants_rows for listener in self._listeners):
                        rows = await self.read_after(self._published, PAGE_ROWS)
                        if not rows:
                            break
                        self._published = rows[-1].seq
                        for listener in self._listeners:
                            listener.publish(rows)
                        if len(rows) < PAGE_ROWS:
                            break
                    else:
                        last = await self.last_seq()
                        if last > self._published:
                            self._published = last
                            for listener in self._listeners:
                                listener.advance(last)
                        break
            except StoreUnavailable:
                continue
            except Exception:
                _log.exception("publishing committed events failed")

    # -- reads -------------------------------------------------------------------------------

    async def _read(self, query: str, params: tuple[Any, ...]) -> list[Any]:
        if self._closed:
            raise StoreUnavailable("the event store is shutting down")
        async with self._reader_lock:
            try:
                if self._reader_conn is None or self._reader_conn.closed:
                    self._reader_conn = await self._connect(autocommit=True)
                cursor = await self._reader_conn.execute(query, params)
                return await cursor.fetchall()
            except psycopg.Error as exc:
                if self._reader_conn is not None:
                    await self._reader_conn.close()
                    self._reader_conn = None
                raise StoreUnavailable(f"cannot read from PostgreSQL: {exc}") from exc

    async def last_seq(self) -> int:
        """The highest committed seq (0 for an empty log)."""
        rows = await self._read("SELECT last_seq FROM relay_meta WHERE id = 1", ())
        return int(rows[0][0]) if rows else 0
