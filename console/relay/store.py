"""The relay's event log as an interface: what the HTTP layer and the stream need from a store.

Two implementations keep the same contract: :mod:`console.relay.sqlite_store` (embedded default,
one process) and :mod:`console.relay.postgres_store` (several relay instances behind a load
balancer). Nothing outside this package knows which one is running.

The log is append-only and ``seq`` is strictly increasing *in commit order*, so a consumer that
has seen ``seq = N`` has seen everything up to ``N`` and resumes with ``after = N``. Three kinds of
rows share it:

* producer events (webhook notifications, poller events) — one row per occurrence, raw payload
  kept. A repeat of an *open* alert (same dedupe key) is still its own row, but it points at the
  alert it repeats through ``alert_seq`` and raises that alert's ``count``/``last_seen``;
* ``kind = "state"`` rows, one per state change (claim, ack, snooze, resolve, link), carrying
  ``{actor, sa}``, the action and a snapshot of the alert after the change;
* nothing else: quarantined bodies and cursors live in their own tables.

Consumers that apply rows in ``seq`` order end with each alert's current state.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Protocol, TypeAlias

from console.relay.events import AppendResult, CursorStore, EventSink, IncomingEvent

#: Lifecycle states of an event. ``open`` is where every event starts.
OPEN: Final = "open"
CLAIMED: Final = "claimed"
ACKED: Final = "acked"
SNOOZED: Final = "snoozed"
RESOLVED: Final = "resolved"

#: The kind of the log rows that record state changes.
STATE_KIND: Final = "state"
#: The source of rows the relay writes itself (state changes).
RELAY_SOURCE: Final = "relay"

#: Actions accepted by :meth:`EventStore.change_state`, and what each needs in ``args``.
STATE_ACTIONS: Final = frozenset({"claim", "ack", "snooze", "resolve", "link"})
#: Display names a ``link`` may carry beside its ids (what the linking console showed), so
#: every console can show the link without reading Odoo; stored in the state row's ``args``.
LINK_LABELS: Final = frozenset({"asset_name", "partner_name", "ticket_name"})
MAX_LABEL_LENGTH: Final = 200


class StoreUnavailable(Exception):
    """The store cannot commit or read right now (disk full or read-only, database down).

    The HTTP layer answers 503 with ``Retry-After``; nothing was acknowledged.
    """


class UnknownEvent(LookupError):
    """No event with that ``seq``."""


class StateChangeRejected(ValueError):
    """A state change the store refused; the message is meant for the technician."""


class StateChangeInvalid(StateChangeRejected):
    """The request itself is wrong: unknown action, missing or malformed arguments (HTTP 400)."""


class StateChangeConflict(StateChangeRejected):
    """The request does not apply to the event as it is now, e.g. ack after resolve (HTTP 409)."""


_second_prefix: tuple[int, str] = (-1, "")


def utc_timestamp(epoch_seconds: float) -> str:
    """ISO-8601 UTC with milliseconds (``2025-06-03T16:15:02.123Z``), the log's one format.

    On the ingest path, so the second's prefix is cached: ~1 µs instead of datetime's ~4 µs.
    """
    global _second_prefix
    second = int(epoch_seconds)
    cached_second, prefix = _second_prefix
    if cached_second != second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_prefix = (second, prefix)
    millis = min(int((epoch_seconds - second) * 1000), 999)
    return f"{prefix}.{millis:03d}Z"


#: A committed row ready for the stream: seq, the SAs that may see it, its SSE frame.
EncodedEvent: TypeAlias = tuple[int, tuple[int, ...], bytes]


@dataclass(slots=True)
class StoredEvent:
    """One row of the log as consumers see it. Treat it as immutable (``dataclasses.replace``).

    Not ``frozen``: a frozen dataclass costs ~5 µs per construction instead of ~1 µs, and
    the writer builds one per ingested event.

    ``alert_seq`` is the seq of the alert this row belongs to: its own seq for an event that
    opened an alert, the opening row's seq for a repeat, and the target's seq for a state row.
    ``count``/``last_seen`` on a repeat row are the alert's values right after that repeat.
    """

    seq: int
    source: str
    kind: str
    received_at: str
    external_id: str
    title: str
    device_id: str | None
    priority: str | None
    dedupe_key: str | None
    sa_ids: tuple[int, ...]
    state: str
    count: int
    last_seen: str
    alert_seq: int
    claimed_by: str | None = None
    snoozed_until: str | None = None
    asset_id: int | None = None
    partner_id: int | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    #: ``payload`` as the JSON text stored in the log, when at hand: the stream splices it into
    #: its frames instead of encoding ``payload`` again (not part of the row's value).
    payload_text: str | None = field(default=None, compare=False, repr=False)

    @property
    def is_repeat(self) -> bool:
        """True for a row that repeats an alert opened earlier."""
        return self.kind != STATE_KIND and self.alert_seq != self.seq

    def to_json(self) -> dict[str, Any]:
        """The JSON object sent on the stream and by ``GET /api/events``."""
        return {
            "seq": self.seq,
            "source": self.source,
            "kind": self.kind,
            "received_at": self.received_at,
            "external_id": self.external_id,
            "title": self.title,
            "device_id": self.device_id,
            "priority": self.priority,
            "dedupe_key": self.dedupe_key,
            "sa_ids": list(self.sa_ids),
            "state": self.state,
            "count": self.count,
            "last_seen": self.last_seen,
            "alert_seq": self.alert_seq,
            "repeat": self.is_repeat,
            "claimed_by": self.claimed_by,
            "snoozed_until": self.snoozed_until,
            "asset_id": self.asset_id,
            "partner_id": self.partner_id,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class StateChange:
    """A request to change an event's state, stamped with who acts and under which SA.

    ``args``: ``snooze`` needs ``until`` (ISO-8601 instant); ``link`` takes any of ``asset_id``,
    ``partner_id``, ``ticket_id`` (ints or null) and ``sa_ids`` (list of ints), plus optional
    display names (:data:`LINK_LABELS`). Other actions take none.
    """

    action: str
    actor: str
    sa: int | None = None
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded state change of an alert (the console's detail panel lists these)."""

    seq: int
    target_seq: int
    at: str
    actor: str
    sa: int | None
    action: str
    args: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``GET /api/events/{seq}``."""
        return {
            "seq": self.seq,
            "target_seq": self.target_seq,
            "at": self.at,
            "actor": self.actor,
            "sa": self.sa,
            "action": self.action,
            "args": dict(self.args),
        }


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A body the relay refused as malformed, kept byte for byte with the reason."""

    id: int
    received_at: str
    source: str
    reason: str
    headers: Mapping[str, str]
    body: bytes

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``GET /api/quarantine``; the body as text with undecodable bytes escaped."""
        return {
            "id": self.id,
            "received_at": self.received_at,
            "source": self.source,
            "reason": self.reason,
            "headers": dict(self.headers),
            "body": self.body.decode("utf-8", errors="backslashreplace"),
        }


class CommitListener(Protocol):
    """Receives committed rows on the event loop, in seq order, each exactly once."""

    @property
    def wants_rows(self) -> bool:
        """False while nobody needs the rows themselves (no stream consumers): a store that
        must read them back (tailing) then only reports the new last seq via :meth:`advance`."""
        ...

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """A committed batch."""
        ...

    def publish_frames(self, events: Sequence[EncodedEvent]) -> None:
        """Committed rows as stream frames, from a store that tails the log (sent instead of
        :meth:`publish`; a listener that needs only the news treats it as :meth:`advance`)."""
        ...

    def advance(self, last_seq: int) -> None:
        """Rows up to ``last_seq`` were committed (sent instead of :meth:`publish`)."""
        ...


#: Kinds of the rows the pollers write about devices (their latest row per device is part of a
#: :class:`Snapshot`).
DEVICE_KINDS: Final = ("device.registered", "device.changed", "device.removed")
#: ``DEVICE_KINDS`` as an SQL list (the stores' partial index and the snapshot's query must
#: spell it the same for the index to serve the query)
DEVICE_KINDS_SQL: Final = ", ".join(f"'{kind}'" for kind in DEVICE_KINDS)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Where a consumer that starts empty begins, instead of replaying the whole log.

    ``last_seq`` was read first: everything committed after it reaches the consumer again on
    the stream (``after = last_seq``), so rows read later and already newer than it converge
    once applied in seq order. ``alerts``: the head row (current state) of every alert that is
    open, or was opened or changed since ``since``. ``links``: the ``link`` state rows of those
    alerts in seq order, each carrying the alert's *current* state as its snapshot, so applying
    ``links`` then ``alerts`` gives each alert its state and its link names. ``devices``: the
    latest device row of each device.
    """

    last_seq: int
    alerts: list[StoredEvent]
    links: list[StoredEvent]
    devices: list[StoredEvent]


#: ids per ``IN (...)`` list: old SQLite builds allow 999 parameters per statement
_ID_BATCH: Final = 500


class SqlLogReads:
    """The reads the SQL stores share, written once. A store names its tables by a prefix
    (``events``, ``event_history``, ``quarantine``, ``cursors``, ``sessions`` after it), its
    parameter placeholder, the event columns it selects and how such a row becomes a
    :class:`StoredEvent`; ``_read`` runs a query off the event loop."""

    _table_prefix: ClassVar[str]
    _placeholder: ClassVar[str]
    _event_columns: ClassVar[str]

    @staticmethod
    def _row_event(row: Any) -> StoredEvent:
        """A row of ``_event_columns`` as a :class:`StoredEvent`."""
        raise NotImplementedError

    async def _read(self, query: str, params: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        """``query`` with ``{t}`` the table prefix, ``{p}`` the placeholder, ``{columns}``."""
        return query.format(t=self._table_prefix, p=self._placeholder, columns=self._event_columns)

    async def read_after(self, after: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` rows with ``seq > after``, in seq order."""
        rows = await self._read(
            self._sql("SELECT {columns} FROM {t}events WHERE seq > {p} ORDER BY seq LIMIT {p}"),
            (after, limit),
        )
        return [self._row_event(row) for row in rows]

    async def get(self, seq: int) -> StoredEvent:
        """The row ``seq``; raises :class:`UnknownEvent`."""
        rows = await self._read(
            self._sql("SELECT {columns} FROM {t}events WHERE seq = {p}"), (seq,)
        )
        if not rows:
            raise UnknownEvent(f"no event with seq {seq}")
        return self._row_event(rows[0])

    async def history(self, seq: int) -> list[HistoryEntry]:
        """State changes of the alert that ``seq`` belongs to, oldest first."""
        event = await self.get(seq)
        rows = await self._read(
            self._sql(
                "SELECT seq, target_seq, at, actor, sa, action, args FROM {t}event_history"
                " WHERE target_seq = {p} ORDER BY seq"
            ),
            (event.alert_seq,),
        )
        return [
            HistoryEntry(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]))
            for r in rows
        ]

    async def last_seq(self) -> int:
        """The highest committed seq (0 for an empty log)."""
        raise NotImplementedError

    async def snapshot(self, since: str) -> Snapshot:
        """What a consumer starting empty needs (see :class:`Snapshot`); ``since`` is a UTC
        timestamp as :func:`utc_timestamp` writes them. Every query is served by an index or
        reads only the rows received since ``since``, so the cost does not grow with the log."""
        last = await self.last_seq()
        before = await self._read(
            self._sql(
                "SELECT seq FROM {t}events WHERE received_at < {p} ORDER BY seq DESC LIMIT 1"
            ),
            (since,),
        )
        window = int(before[0][0]) if before else 0
        # the alerts: open ones (open_key is set while open), heads received in the window,
        # and alerts whose state changed in the window (a history row's seq is its state row's)
        heads = (
            "SELECT seq FROM {t}events WHERE open_key IS NOT NULL"
            " UNION SELECT seq FROM {t}events"
            " WHERE seq > {p} AND alert_seq IS NULL AND dedupe_key IS NOT NULL"
            " UNION SELECT target_seq FROM {t}event_history WHERE seq > {p}"
        )
        alert_rows = await self._read(
            self._sql(f"SELECT {{columns}} FROM {{t}}events WHERE seq IN ({heads}) ORDER BY seq"),
            (window, window),
        )
        alerts = [self._row_event(row) for row in alert_rows]
        current = {alert.seq: alert for alert in alerts}
        link_rows = await self._read(
            self._sql(
                "SELECT {columns} FROM {t}events WHERE seq IN (SELECT seq FROM {t}event_history"
                f" WHERE action = 'link' AND target_seq IN ({heads})) ORDER BY seq"
            ),
            (window, window),
        )
        links: list[StoredEvent] = []
        for row in link_rows:
            link = self._row_event(row)
            alert = current.get(link.alert_seq)
            if alert is None:  # an alert that appeared between the two reads: on the stream
                continue
            payload = {**link.payload, "alert": alert.to_json()}
            links.append(replace(link, payload=payload, payload_text=None))
        device_rows = await self._read(
            self._sql(
                "SELECT {columns} FROM {t}events WHERE seq IN (SELECT MAX(seq) FROM {t}events"
                f" WHERE kind IN ({DEVICE_KINDS_SQL}) GROUP BY device_id) ORDER BY seq"
            ),
            (),
        )
        devices = [self._row_event(row) for row in device_rows]
        return Snapshot(last, alerts, links, devices)

    async def quarantined(self, limit: int) -> list[QuarantineEntry]:
        """The most recent quarantined bodies, newest first."""
        rows = await self._read(
            self._sql(
                "SELECT id, received_at, source, reason, headers, body FROM {t}quarantine"
                " ORDER BY id DESC LIMIT {p}"
            ),
            (limit,),
        )
        return [
            QuarantineEntry(int(r[0]), r[1], r[2], r[3], json.loads(r[4]), bytes(r[5]))
            for r in rows
        ]

    async def known_external_ids(self, source: str, external_ids: Collection[str]) -> set[str]:
        """Which of ``external_ids`` the log already holds for ``source``.

        A producer that would pay a request per occurrence (the Pulseway backstop's detail
        call) asks first. Served by the ``UNIQUE (source, external_id)`` index, in batches
        that stay under every SQLite build's limit on parameters.
        """
        wanted = list(dict.fromkeys(external_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), _ID_BATCH):
            batch = wanted[start : start + _ID_BATCH]
            marks = ", ".join([self._placeholder] * len(batch))
            rows = await self._read(
                self._sql(
                    "SELECT external_id FROM {t}events"
                    f" WHERE source = {{p}} AND external_id IN ({marks})"
                ),
                (source, *batch),
            )
            found.update(str(row[0]) for row in rows)
        return found

    async def get_cursor(self, name: str) -> str | None:
        """A poller cursor, or None if never set."""
        rows = await self._read(self._sql("SELECT value FROM {t}cursors WHERE name = {p}"), (name,))
        return str(rows[0][0]) if rows else None

    async def load_session(self, token_hash: str) -> tuple[dict[str, Any], float] | None:
        """A saved session's principal (JSON object) and expiry, or None."""
        rows = await self._read(
            self._sql("SELECT principal, expires_at FROM {t}sessions WHERE token_hash = {p}"),
            (token_hash,),
        )
        if not rows:
            return None
        principal: dict[str, Any] = json.loads(rows[0][0])
        return principal, float(rows[0][1])


class EventStore(EventSink, CursorStore, Protocol):
    """The relay's durable log. Every write returns only after it is committed."""

    async def start(self) -> None:
        """Open the store. A store that cannot open yet still starts and reports unavailable."""
        ...

    async def close(self) -> None:
        """Finish queued writes and close."""
        ...

    def add_commit_listener(self, listener: CommitListener) -> None:
        """Deliver every committed row to ``listener`` (on the loop, in seq order)."""
        ...

    @property
    def unavailable_reason(self) -> str | None:
        """Why the last write or open failed, or None while the store works."""
        ...

    async def quarantine(
        self, source: str, body: bytes, reason: str, headers: Mapping[str, str], received: float
    ) -> int:
        """Durably keep a refused body; returns its quarantine id."""
        ...

    async def append_at(
        self, event: IncomingEvent, received: float, payload_text: str | None = None
    ) -> AppendResult:
        """:meth:`append` with the instant it was received (epoch seconds) and, optionally,
        the payload as received (JSON text) to store instead of re-encoding ``event.payload``.
        """
        ...

    def submit_append(
        self, event: IncomingEvent, received: float, payload_text: str | None = None
    ) -> asyncio.Future[AppendResult]:
        """:meth:`append_at` without a coroutine: the write is queued now and the future
        completes once it is committed (the webhook fast path answers from its callback)."""
        ...

    async def change_state(self, seq: int, change: StateChange) -> StoredEvent:
        """Apply ``change`` to the alert ``seq`` belongs to; returns the new ``state`` row.

        Raises :class:`UnknownEvent` or :class:`StateChangeRejected`.
        """
        ...

    async def read_after(self, after: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` rows with ``seq > after`` in seq order (current state of alerts)."""
        ...

    async def get(self, seq: int) -> StoredEvent:
        """One row; raises :class:`UnknownEvent`."""
        ...

    async def history(self, seq: int) -> list[HistoryEntry]:
        """State changes of the alert ``seq`` belongs to, oldest first."""
        ...

    async def quarantined(self, limit: int) -> list[QuarantineEntry]:
        """The most recent quarantined bodies, newest first."""
        ...

    async def known_external_ids(self, source: str, external_ids: Collection[str]) -> set[str]:
        """Which of ``external_ids`` the log already holds for ``source``."""
        ...

    async def last_seq(self) -> int:
        """The highest committed seq (0 for an empty log)."""
        ...

    async def snapshot(self, since: str) -> Snapshot:
        """Open alerts, alerts active since ``since``, their links and the latest row of each
        device: where a consumer that starts empty begins (see :class:`Snapshot`)."""
        ...

    async def save_session(
        self, token_hash: str, principal: Mapping[str, Any], expires_at: float
    ) -> None:
        """Keep a console session (by its token's hash) until ``expires_at``."""
        ...

    async def load_session(self, token_hash: str) -> tuple[dict[str, Any], float] | None:
        """A saved session's principal (JSON object) and expiry, or None."""
        ...

    async def delete_session(self, token_hash: str) -> None:
        """Forget a session (logout)."""
        ...


def dump_json(value: Any) -> str:
    """Compact JSON as stored in the log's text columns."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant (``Z`` or offset); naive times are taken as UTC."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """The new column values an action gives an alert (the same rules for every store)."""

    state: str
    claimed_by: str | None
    snoozed_until: str | None
    asset_id: int | None
    partner_id: int | None
    sa_ids: tuple[int, ...]
    args: dict[str, Any]


def plan_state_change(current: StoredEvent, change: StateChange, now: float) -> PlannedChange:
    """Decide what ``change`` does to ``current`` (the alert's head row), or refuse it.

    Kept free of I/O so both stores apply exactly the same rules. Raises
    :class:`StateChangeInvalid` or :class:`StateChangeConflict`.
    """
    action = change.action
    if action not in STATE_ACTIONS:
        raise StateChangeInvalid(
            f"unknown action {action!r}; expected one of {', '.join(sorted(STATE_ACTIONS))}"
        )
    state = current.state
    claimed_by = current.claimed_by
    snoozed_until = current.snoozed_until
    asset_id, partner_id, sa_ids = current.asset_id, current.partner_id, current.sa_ids
    args: dict[str, Any] = {}
    if action != "link" and state == RESOLVED:
        raise StateChangeConflict(f"event {current.seq} is already resolved")
    if action == "claim":
        state, claimed_by = CLAIMED, change.actor
    elif action == "ack":
        state = ACKED
    elif action == "resolve":
        state, snoozed_until = RESOLVED, None
    elif action == "snooze":
        until_text = change.args.get("until")
        if not isinstance(until_text, str):
            raise StateChangeInvalid("snooze needs 'until', an ISO-8601 date and time")
        try:
            until = parse_instant(until_text)
        except ValueError:
            raise StateChangeInvalid(
                f"snooze 'until' is not an ISO-8601 time: {until_text!r}"
            ) from None
        if until.timestamp() <= now:
            raise StateChangeInvalid(f"snooze 'until' is in the past: {until_text}")
        state, snoozed_until = SNOOZED, utc_timestamp(until.timestamp())
        args["until"] = snoozed_until
    else:  # link
        known = {"asset_id", "partner_id", "sa_ids", "ticket_id"}
        if not known & change.args.keys():
            raise StateChangeInvalid(
                "link needs at least one of asset_id, partner_id, sa_ids, ticket_id"
            )
        if "asset_id" in change.args:
            asset_id = _optional_id(change.args["asset_id"], "asset_id")
            args["asset_id"] = asset_id
        if "partner_id" in change.args:
            partner_id = _optional_id(change.args["partner_id"], "partner_id")
            args["partner_id"] = partner_id
        if "ticket_id" in change.args:
            # the helpdesk ticket opened or joined for this alert: kept in the state row's
            # args (history and stream), so every console shows it
            args["ticket_id"] = _optional_id(change.args["ticket_id"], "ticket_id")
        for label in LINK_LABELS & change.args.keys():
            args[label] = _optional_label(change.args[label], label)
        if "sa_ids" in change.args:
            raw = change.args["sa_ids"]
            if not isinstance(raw, list) or not all(_is_id(v) for v in raw):
                raise StateChangeInvalid("link 'sa_ids' must be a list of positive integers")
            sa_ids = tuple(sorted(set(raw)))
            args["sa_ids"] = list(sa_ids)
    return PlannedChange(state, claimed_by, snoozed_until, asset_id, partner_id, sa_ids, args)


def _optional_label(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_LABEL_LENGTH:
        raise StateChangeInvalid(
            f"link {name!r} must be text of at most {MAX_LABEL_LENGTH} characters or null"
        )
    return value


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _optional_id(value: object, name: str) -> int | None:
    if value is None:
        return None
    if not _is_id(value):
        raise StateChangeInvalid(f"link {name!r} must be a positive integer or null")
    assert isinstance(value, int)
    return value
