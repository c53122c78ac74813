"""The relay's rules worker: seed T010/T011 and RocketCyber incidents, applied to Odoo.

It reads the relay's event log in ``seq`` order from a cursor kept in the store (so a restart
resumes at the right event) and, with the relay's Odoo service account:

* ``device.registered`` / ``device.changed`` (Pulseway poller) → upsert ``x_client_asset`` by
  ``x_pulseway_id`` (T010). Pulseway is master for the device facts, so Odoo-side edits of
  hostname, OS, serial and group are overwritten; the partner link is only set when the asset
  is created (or revived) — a link a person set is never touched. The partner comes from
  :func:`console.domain.rules.resolve_partner` (group map, org id, exact name); without one no
  asset is created and the device waits in the unmatched queue with the reason.
* ``device.removed`` → ``x_status = 'decommissioned'`` (never a delete).
* ``alert`` (Pulseway webhook) on a device with an asset → "Alert: {Title}" ticket (T011), one
  open ticket per alert key: a repeat raises ``x_alert_count`` and posts a chatter line. On a
  device without asset → unmatched queue (its group's row, or "devices never seen").
* ``incident.opened`` (RocketCyber) → "Security: {title}" on the client found through affected
  hostnames, the account's agents, a group-map row or the account name; else unmatched.
  ``incident.resolved`` → chatter note, and the ticket is closed only if nobody touched it.

Idempotency: every ticket carries ``x_alert_key`` and ``x_relay_seq`` = the seq of the latest
event applied to it. Events of one key are applied in seq order, so an event whose key already
has a ticket with ``x_relay_seq >= seq`` was applied before: a replay of the whole log (or of
the batch a crash interrupted) creates, bumps and posts nothing. Asset upserts compare before
writing.

Batching: events are taken up to ``batch_size`` at a time and applied in runs of one kind:
one ``search_read`` finds the assets of every device of a run, one the tickets of every alert
key, one ``create`` makes every new ticket (or asset); only bumps (write + chatter) and changed
assets cost a call each. Partner, SA and group-map lookups are cached for ``cache_seconds``.

Attribution: a ticketed alert gets a ``link`` state change by the service account carrying the
asset, partner, ticket and the client's SAs, so technicians of those SAs see it live.

Odoo down (or the store): the batch is retried with exponential backoff, never skipped. An
event Odoo refuses on its own (validation, access) is recorded in the unmatched queue's
``failed`` list with the reason, and the worker moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any, Final

from console.domain.alerts import alert_dedupe_key, incident_dedupe_key
from console.domain.matching import PartnerCandidate, PulsewayGroupRef
from console.domain.names import (
    AssetStatus,
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    SaClient,
)
from console.domain.rules import (
    Alert,
    DeviceFacts,
    GroupMapEntry,
    Incident,
    LinkedAsset,
    OpenTicket,
    PartnerResolution,
    ResolutionSource,
    TicketAction,
    asset_values,
    choose_ticket_sa,
    decide_alert_ticket,
    decide_incident_ticket,
    decommission_values,
    new_asset_values,
    odoo_datetime,
    parse_pulseway_time,
    resolve_partner,
)
from console.odoo import errors
from console.odoo.gateway import OdooGateway
from console.relay.config import OdooServiceAccount, RelayConfig, RulesSettings
from console.relay.store import (
    STATE_KIND,
    EncodedEvent,
    EventStore,
    StateChange,
    StateChangeRejected,
    StoredEvent,
    StoreUnavailable,
    UnknownEvent,
)
from console.relay.unmatched import (
    UNKNOWN_DEVICES_KEY,
    FailedEvent,
    UnmatchedGroup,
    UnmatchedQueue,
    WaitingAlert,
    WaitingDevice,
    device_key,
    group_from_json,
    group_key,
    group_to_json,
)

_log = logging.getLogger(__name__)

CURSOR_SEQ: Final = "rules.seq"
CURSOR_QUEUE: Final = "rules.queue"
CURSOR_RESOLUTIONS: Final = "rules.resolutions"
CURSOR_RESOLUTION_PREFIX: Final = "rules.resolution."

DEVICE_KINDS: Final = frozenset({"device.registered", "device.changed", "device.removed"})
ALERT_KIND: Final = "alert"
INCIDENT_KINDS: Final = frozenset({"incident.opened", "incident.resolved"})

_ASSET_FIELDS: Final = [
    ClientAsset.NAME,
    ClientAsset.PULSEWAY_ID,
    ClientAsset.PARTNER,
    ClientAsset.STATUS,
    ClientAsset.OS_INFO,
    ClientAsset.SERIAL_NUMBER,
    ClientAsset.PULSEWAY_GROUP,
    ClientAsset.PULSEWAY_ORG_ID,
    ClientAsset.LAST_SEEN,
]
#: Facts Pulseway owns: a difference here is written back (Odoo-side edits are overwritten).
_MASTER_FACTS: Final = (
    ClientAsset.NAME,
    ClientAsset.OS_INFO,
    ClientAsset.SERIAL_NUMBER,
    ClientAsset.PULSEWAY_GROUP,
    ClientAsset.PULSEWAY_ORG_ID,
)
_TICKET_FIELDS: Final = [
    HelpdeskTicket.ALERT_KEY,
    HelpdeskTicket.ALERT_COUNT,
    HelpdeskTicket.RELAY_SEQ,
    HelpdeskTicket.STAGE,
]
#: x_last_seen moves on every poll; it is written only when it moved by more than this.
_LAST_SEEN_SLACK_SECONDS: Final = 15 * 60


class UnmatchedRequestError(Exception):
    """A resolve/undo request that cannot be done; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Transient(Exception):
    """Odoo or the store cannot be used right now: retry the whole batch later."""


def _m2o(value: object) -> int | None:
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) and value else None


def _m2o_name(value: object) -> str | None:
    if isinstance(value, list | tuple) and len(value) > 1 and isinstance(value[1], str):
        return value[1]
    return None


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _odoo_time(value: object) -> float | None:
    """An Odoo datetime string as epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


@dataclass(slots=True)
class AssetRow:
    """What the worker knows of one ``x_client_asset``."""

    id: int
    name: str | None
    partner_id: int | None
    partner_name: str | None
    active: bool
    values: dict[str, Any]

    @classmethod
    def from_odoo(cls, row: Mapping[str, Any]) -> AssetRow:
        return cls(
            id=int(row["id"]),
            name=_text(row.get(ClientAsset.NAME)),
            partner_id=_m2o(row.get(ClientAsset.PARTNER)),
            partner_name=_m2o_name(row.get(ClientAsset.PARTNER)),
            active=row.get(ClientAsset.STATUS) != AssetStatus.DECOMMISSIONED.value,
            values=dict(row),
        )


@dataclass(slots=True)
class _AlertItem:
    """An alert occurrence to apply: from the log, or one that waited in the queue."""

    seq: int  # the occurrence (x_relay_seq)
    head: int  # the alert's head row (state changes target it)
    key: str
    source: str
    title: str
    message: str | None
    priority: str | None
    device_id: str | None
    count: int = 1
    last_seen: str = ""

    def alert(self) -> Alert:
        return Alert(
            title=self.title,
            message=self.message,
            priority=self.priority,
            device_id=self.device_id,
            seq=self.seq,
            source=self.source,
        )

    def waiting(self) -> WaitingAlert:
        return WaitingAlert(
            key=self.key,
            seq=self.head,
            last_seq=self.seq,
            source=self.source,
            kind=ALERT_KIND,
            title=self.title,
            priority=self.priority,
            device_id=self.device_id,
            message=self.message,
            count=self.count,
            last_seen=self.last_seen,
        )

    @classmethod
    def from_waiting(cls, alert: WaitingAlert) -> _AlertItem:
        return cls(
            seq=alert.last_seq,
            head=alert.seq,
            key=alert.key,
            source=alert.source,
            title=alert.title,
            message=alert.message,
            priority=alert.priority,
            device_id=alert.device_id,
            count=alert.count,
            last_seen=alert.last_seen,
        )


@dataclass(slots=True)
class _TicketState:
    """Per alert key while a run is planned: what exists and what is about to change."""

    applied_seq: int = 0
    open_id: int | None = None
    open_count: int = 0
    create_index: int | None = None
    bump_lines: list[str] = field(default_factory=list)
    bump_seq: int = 0


@dataclass(slots=True)
class AlertOutcome:
    """What applying a run of alerts did."""

    created: list[int] = field(default_factory=list)
    bumped: list[int] = field(default_factory=list)
    waiting: int = 0
    attached: int = 0


@dataclass(slots=True)
class RulesMetrics:
    """Counters for ``GET /metrics`` (``psa_relay_rules_*``)."""

    events_applied: int = 0
    tickets_created: int = 0
    tickets_bumped: int = 0
    tickets_closed: int = 0
    assets_created: int = 0
    assets_updated: int = 0
    assets_decommissioned: int = 0
    events_failed: int = 0
    retries: int = 0


class RulesWorker:
    """Applies the rules to the log; also serves the unmatched queue's resolve and undo.

    ``connect`` returns a logged-in gateway (default: :meth:`OdooGateway.connect` with the
    service account); ``incident_hosts(account_id)`` the hostnames of a RocketCyber account's
    agents (None: not configured).
    """

    def __init__(
        self,
        store: EventStore,
        account: OdooServiceAccount,
        settings: RulesSettings | None = None,
        *,
        connect: Callable[[], Awaitable[OdooGateway]] | None = None,
        incident_hosts: Callable[[int], Awaitable[list[str]]] | None = None,
        batch_size: int = 200,
        cache_seconds: float = 60.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        linger_seconds: float = 0.05,
        max_linger_seconds: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.account = account
        self.settings = settings or RulesSettings()
        self._connect = connect or (
            lambda: OdooGateway.connect(account.url, account.db, account.user, account.password)
        )
        self._incident_hosts = incident_hosts
        self.batch_size = batch_size
        self.cache_seconds = cache_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        #: after waking from idle, wait this long so that a burst is applied in large batches
        self.linger_seconds = linger_seconds
        #: a burst (the first inventory poll) is gathered for at most this long per batch
        self.max_linger_seconds = max_linger_seconds
        self.clock = clock
        self.metrics = RulesMetrics()
        self.queue = UnmatchedQueue()
        #: last seq applied (all rows up to it are done)
        self.cursor = 0
        self.last_error: str | None = None
        self.running = False
        self._odoo: OdooGateway | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._loaded = False
        self._listening = False
        self._rng = random.Random()
        # Odoo facts read once per connection
        self._team_id: int | None = None
        self._folded_stages: set[int] = set()
        self._first_stage: int | None = None
        self._solved_stage: int | None = None
        self._cancelled_stage: int | None = None
        self._service_partner: int | None = None
        # caches
        self._assets: dict[str, tuple[AssetRow | None, float]] = {}
        self._partner_sas: dict[int, tuple[tuple[int, ...], float]] = {}
        self._directory_at = 0.0
        self._group_maps: list[tuple[int, GroupMapEntry]] = []
        self._partners: list[PartnerCandidate] = []
        self._partner_names: dict[int, str] = {}
        self._hosts_cache: dict[int, tuple[list[str], float]] = {}
        self._linked: dict[int, tuple[tuple[int, ...], int | None, int | None, int | None]] = {}
        #: group key -> partner ids whose mapping was undone (ignored until mapped again)
        self._suppressed: dict[str, set[int]] = {}
        self._suppressed_maps: dict[int, int] = {}
        self._next_resolution = 1
        self._resolution_ids: list[int] = []
        self._rpc_base = 0

    # ------------------------------------------------------------------ commit listener
    @property
    def wants_rows(self) -> bool:
        """The worker reads rows itself; it only needs to know that some were committed."""
        return False

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """New rows: wake the worker."""
        self._wake.set()

    def publish_frames(self, events: Sequence[EncodedEvent]) -> None:
        """New rows (tailing store): wake the worker."""
        self._wake.set()

    def advance(self, last_seq: int) -> None:
        """New rows (tailing store): wake the worker."""
        self._wake.set()

    # ------------------------------------------------------------------ status
    @property
    def rpc_count(self) -> int:
        """Odoo RPCs made by this worker so far."""
        odoo = self._odoo
        return self._rpc_base + (odoo.stats.total() if odoo is not None else 0)

    def status(self) -> dict[str, Any]:
        """For ``GET /api/unmatched`` and ``/healthz``-like displays."""
        return {
            "running": self.running,
            "odoo_connected": self._odoo is not None,
            "cursor": self.cursor,
            "last_error": self.last_error,
        }

    def metrics_lines(self, last_seq: int) -> list[str]:
        """Prometheus lines of the ``psa_relay_rules_*`` family."""
        m = self.metrics
        counters = (
            ("events_applied", m.events_applied, "Log events the rules worker applied."),
            ("tickets_created", m.tickets_created, "Helpdesk tickets created from alerts."),
            ("tickets_bumped", m.tickets_bumped, "Repeats posted on an open ticket."),
            ("tickets_closed", m.tickets_closed, "Untouched tickets closed (resolved, undo)."),
            ("assets_created", m.assets_created, "Client assets created from devices."),
            ("assets_updated", m.assets_updated, "Client assets whose facts were rewritten."),
            ("assets_decommissioned", m.assets_decommissioned, "Assets decommissioned."),
            ("events_failed", m.events_failed, "Events Odoo refused (see /api/unmatched)."),
            ("retries", m.retries, "Batches retried after Odoo or the store failed."),
            ("rpcs", self.rpc_count, "Odoo RPCs made by the rules worker."),
        )
        lines: list[str] = []
        for name, value, text in counters:
            lines += [
                f"# HELP psa_relay_rules_{name}_total {text}",
                f"# TYPE psa_relay_rules_{name}_total counter",
                f"psa_relay_rules_{name}_total {value}",
            ]
        gauges = (
            ("lag_events", max(0, last_seq - self.cursor), "Log rows not yet applied."),
            ("unmatched_groups", len(self.queue.groups), "Groups waiting for a partner."),
            ("waiting_alerts", self.queue.waiting_alert_count(), "Alerts waiting, unmatched."),
            ("odoo_connected", int(self._odoo is not None), "1 while Odoo answers the worker."),
        )
        for name, value, text in gauges:
            lines += [
                f"# HELP psa_relay_rules_{name} {text}",
                f"# TYPE psa_relay_rules_{name} gauge",
                f"psa_relay_rules_{name} {value}",
            ]
        return lines

    # ------------------------------------------------------------------ main loop
    async def run(self) -> None:
        """Apply the log until cancelled; never dies of an Odoo or store failure.

        Runs again after a cancel (a relay on a shared store that leads again): the state is
        read anew from the store, since another relay may have moved the log on meanwhile."""
        if not self._listening:
            self.store.add_commit_listener(self)
            self._listening = True
        self._loaded = False
        self.running = True
        failures = 0
        try:
            while True:
                try:
                    async with self._lock:
                        await self._ensure_ready()
                        progressed = await self._step()
                    failures = 0
                    self.last_error = None
                except _Transient as exc:
                    failures += 1
                    self.metrics.retries += 1
                    delay = self._delay(failures)
                    self.last_error = str(exc)
                    log = _log.warning if failures < 4 else _log.error
                    log("rules worker: %s; retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    continue
                if not progressed:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.cache_seconds)
        finally:
            self.running = False
            if self._odoo is not None:
                self._rpc_base += self._odoo.stats.total()
                self._odoo.close()
                self._odoo = None

    def _delay(self, failures: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(failures - 1, 20))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    async def _ensure_ready(self) -> None:
        if not self._loaded:
            await self._load_state()
        if self._odoo is None:
            try:
                odoo = await self._connect()
            except errors.OdooGatewayError as exc:
                raise _Transient(f"cannot sign in to Odoo as {self.account.user}: {exc}") from exc
            self._odoo = odoo
            try:
                await self._read_setup()
            except errors.OdooGatewayError as exc:
                self._drop_connection()
                raise _Transient(f"cannot read the helpdesk setup from Odoo: {exc}") from exc
            _log.info(
                "rules worker: signed in to Odoo as %s; resuming after event %d",
                self.account.user,
                self.cursor,
            )

    def _drop_connection(self) -> None:
        if self._odoo is not None:
            self._rpc_base += self._odoo.stats.total()
            self._odoo.close()
            self._odoo = None

    @property
    def odoo(self) -> OdooGateway:
        if self._odoo is None:
            raise _Transient("not connected to Odoo")
        return self._odoo

    async def _read_setup(self) -> None:
        odoo = self.odoo
        assert odoo.user is not None
        self._service_partner = odoo.user.partner_id
        self._team_id = await odoo.ref(self.settings.team_xmlid)
        if self._team_id is None:
            _log.warning(
                "rules worker: team %s not found in Odoo; tickets get Odoo's default team",
                self.settings.team_xmlid,
            )
        stages = await odoo.search_read(
            "helpdesk.stage", [], ["name", "fold", "sequence"], order="sequence, id"
        )
        self._folded_stages = {int(s["id"]) for s in stages if s.get("fold")}
        open_stages = [int(s["id"]) for s in stages if not s.get("fold")]
        folded = [s for s in stages if s.get("fold")]
        self._first_stage = open_stages[0] if open_stages else None

        def named(word: str) -> int | None:
            for stage in folded:
                if word in str(stage.get("name") or "").lower():
                    return int(stage["id"])
            return int(folded[0]["id"]) if folded else None

        self._solved_stage = named("solved")
        self._cancelled_stage = named("cancel")

    async def _load_state(self) -> None:
        try:
            seq_text = await self.store.get_cursor(CURSOR_SEQ)
            queue_text = await self.store.get_cursor(CURSOR_QUEUE)
            index_text = await self.store.get_cursor(CURSOR_RESOLUTIONS)
        except StoreUnavailable as exc:
            raise _Transient(f"event store unavailable: {exc}") from exc
        self.cursor = int(seq_text) if seq_text and seq_text.isdigit() else 0
        if queue_text:
            try:
                self.queue = UnmatchedQueue.from_json(queue_text)
            except ValueError as exc:
                _log.error("rules worker: unmatched queue unreadable (%s); starting empty", exc)
        if index_text:
            try:
                index = json.loads(index_text)
                self._next_resolution = int(index["next"])
                self._resolution_ids = [int(i) for i in index.get("ids", [])]
                self._suppressed = {
                    str(k): {int(p) for p in v} for k, v in index.get("suppressed", {}).items()
                }
                self._suppressed_maps = {
                    int(k): int(v) for k, v in index.get("suppressed_maps", {}).items()
                }
            except (ValueError, KeyError, TypeError) as exc:
                _log.error("rules worker: resolution index unreadable (%s)", exc)
        self._loaded = True

    async def _checkpoint(self, seq: int | None = None) -> None:
        """Save the queue (if it changed), then the cursor: a crash in between replays."""
        try:
            if self.queue.dirty:
                await self.store.set_cursor(CURSOR_QUEUE, self.queue.to_json())
                self.queue.dirty = False
            if seq is not None and seq > self.cursor:
                await self.store.set_cursor(CURSOR_SEQ, str(seq))
                self.cursor = seq
        except StoreUnavailable as exc:
            raise _Transient(f"event store unavailable: {exc}") from exc

    async def _save_index(self) -> None:
        index = {
            "next": self._next_resolution,
            "ids": self._resolution_ids,
            "suppressed": {k: sorted(v) for k, v in self._suppressed.items()},
            "suppressed_maps": {str(k): v for k, v in self._suppressed_maps.items()},
        }
        try:
            await self.store.set_cursor(CURSOR_RESOLUTIONS, json.dumps(index))
        except StoreUnavailable as exc:
            raise _Transient(f"event store unavailable: {exc}") from exc

    async def _step(self) -> bool:
        """Apply the next batch; False when there was nothing to do."""
        try:
            rows = await self.store.read_after(self.cursor, self.batch_size)
        except StoreUnavailable as exc:
            raise _Transient(f"event store unavailable: {exc}") from exc
        if not rows:
            return False
        rows = await self._gather_burst(rows)
        try:
            await self._apply_batch(rows)
        except _Transient:
            raise
        except errors.OdooGatewayError as exc:
            if _is_global(exc):
                if isinstance(exc, errors.SessionExpired | errors.ServerUnreachable):
                    self._drop_connection()
                raise _Transient(f"Odoo: {exc}") from exc
            # One of the events is refused on its own: apply them one by one to find it.
            await self._apply_isolated(rows)
        except StoreUnavailable as exc:
            raise _Transient(f"event store unavailable: {exc}") from exc
        await self._checkpoint(rows[-1].seq)
        return True

    async def _gather_burst(self, rows: list[StoredEvent]) -> list[StoredEvent]:
        """While events keep arriving (a poller appending a whole inventory), wait for more so
        that they are applied in few large batches rather than many small ones."""
        started = time.monotonic()
        while len(rows) < self.batch_size and time.monotonic() - started < self.max_linger_seconds:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.linger_seconds)
            except TimeoutError:
                break  # quiet: apply what there is
            try:
                more = await self.store.read_after(rows[-1].seq, self.batch_size - len(rows))
            except StoreUnavailable as exc:
                raise _Transient(f"event store unavailable: {exc}") from exc
            rows.extend(more)
        return rows

    async def _apply_isolated(self, rows: Sequence[StoredEvent]) -> None:
        for row in rows:
            try:
                await self._apply_batch([row])
            except errors.OdooGatewayError as exc:
                if _is_global(exc):
                    if isinstance(exc, errors.SessionExpired | errors.ServerUnreachable):
                        self._drop_connection()
                    raise _Transient(f"Odoo: {exc}") from exc
                self.metrics.events_failed += 1
                _log.warning("rules worker: Odoo refused event %d (%s): %s", row.seq, row.kind, exc)
                self.queue.record_failure(FailedEvent(row.seq, row.kind, row.title, str(exc)))
            except StoreUnavailable as exc:
                raise _Transient(f"event store unavailable: {exc}") from exc
            await self._checkpoint(row.seq)

    async def _apply_batch(self, rows: Sequence[StoredEvent]) -> None:
        """Apply ``rows`` in runs of the same kind, in seq order."""
        run: list[StoredEvent] = []
        run_kind = ""
        for row in rows:
            kind = _run_kind(row)
            if kind != run_kind and run:
                await self._apply_run(run_kind, run)
                run = []
            run_kind = kind
            run.append(row)
        if run:
            await self._apply_run(run_kind, run)

    async def _apply_run(self, kind: str, rows: list[StoredEvent]) -> None:
        if kind == "device":
            await self._apply_devices(rows)
        elif kind == "alert":
            items = [_alert_item(row) for row in rows]
            await self._apply_alerts(items)
        elif kind == "incident":
            for row in rows:
                await self._apply_incident(row)
        else:
            return
        self.metrics.events_applied += len(rows)

    # ------------------------------------------------------------------ Odoo lookups
    async def _assets_for(
        self, device_ids: Iterable[str], *, fresh: bool = False
    ) -> dict[str, AssetRow | None]:
        """The asset of each device (active first), one search_read for the unknown ones."""
        now = self.clock()
        wanted: dict[str, str] = {}
        found: dict[str, AssetRow | None] = {}
        for device_id in device_ids:
            key = device_key(device_id)
            cached = self._assets.get(key)
            if not fresh and cached is not None and now - cached[1] < self.cache_seconds:
                found[key] = cached[0]
            else:
                wanted[key] = device_id
        if wanted:
            ids = sorted({*wanted.values(), *wanted.keys()})
            rows = await self.odoo.search_read(
                ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "in", ids]], _ASSET_FIELDS
            )
            best: dict[str, AssetRow] = {}
            for row in rows:
                key = device_key(str(row.get(ClientAsset.PULSEWAY_ID) or ""))
                asset = AssetRow.from_odoo(row)
                current = best.get(key)
                if (
                    current is None
                    or (asset.active and not current.active)
                    or (asset.active == current.active and asset.id > current.id)
                ):
                    best[key] = asset
            for key in wanted:
                found[key] = best.get(key)
                self._assets[key] = (found[key], now)
        return found

    def _remember_asset(self, device_id: str, asset: AssetRow | None) -> None:
        self._assets[device_key(device_id)] = (asset, self.clock())

    async def _sas_for(self, partner_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
        """SA ids of each partner's assignment edges (cached)."""
        now = self.clock()
        result: dict[int, tuple[int, ...]] = {}
        missing: list[int] = []
        for partner in set(partner_ids):
            cached = self._partner_sas.get(partner)
            if cached is not None and now - cached[1] < self.cache_seconds:
                result[partner] = cached[0]
            else:
                missing.append(partner)
        if missing:
            rows = await self.odoo.search_read(
                SaClient.MODEL,
                [[SaClient.PARTNER, "in", sorted(missing)]],
                [SaClient.SA, SaClient.PARTNER],
            )
            edges: dict[int, set[int]] = {p: set() for p in missing}
            for row in rows:
                edge_partner, sa = _m2o(row.get(SaClient.PARTNER)), _m2o(row.get(SaClient.SA))
                if edge_partner is not None and sa is not None:
                    edges.setdefault(edge_partner, set()).add(sa)
            for partner_id, sas in edges.items():
                result[partner_id] = tuple(sorted(sas))
                self._partner_sas[partner_id] = (result[partner_id], now)
        return result

    async def _directory(self, *, fresh: bool = False) -> None:
        """Group maps and company partners, for partner resolution (cached)."""
        now = self.clock()
        if not fresh and self._directory_at and now - self._directory_at < self.cache_seconds:
            return
        maps = await self.odoo.search_read(
            PulsewayGroupMap.MODEL,
            [],
            [PulsewayGroupMap.NAME, PulsewayGroupMap.PULSEWAY_ORG_ID, PulsewayGroupMap.PARTNER],
        )
        partners = await self.odoo.search_read(
            Partner.MODEL,
            [[Partner.IS_COMPANY, "=", True]],
            [Partner.NAME, Partner.PULSEWAY_ORG_ID],
        )
        self._group_maps = []
        for row in maps:
            partner = _m2o(row.get(PulsewayGroupMap.PARTNER))
            if partner is not None and self._suppressed_maps.get(int(row["id"])) == partner:
                partner = None  # undone in the relay; the console clears it in Odoo
            self._group_maps.append(
                (
                    int(row["id"]),
                    GroupMapEntry(
                        name=str(row.get(PulsewayGroupMap.NAME) or ""),
                        org_id=_int_or_none(row.get(PulsewayGroupMap.PULSEWAY_ORG_ID)),
                        partner_id=partner,
                    ),
                )
            )
        linked: dict[int, set[int]] = {}
        for _map_id, entry in self._group_maps:
            if entry.partner_id is not None and entry.org_id is not None:
                linked.setdefault(entry.partner_id, set()).add(entry.org_id)
        self._partners = []
        self._partner_names = {}
        for row in partners:
            partner_id = int(row["id"])
            org = _int_or_none(row.get(Partner.PULSEWAY_ORG_ID))
            orgs = set(linked.get(partner_id, set()))
            if org is not None:
                orgs.add(org)
            name = str(row.get(Partner.NAME) or "")
            self._partner_names[partner_id] = name
            self._partners.append(PartnerCandidate(partner_id, name, frozenset(orgs)))
        self._directory_at = now

    def _resolve(self, ref: PulsewayGroupRef, key: str) -> PartnerResolution:
        resolution = resolve_partner(ref, [e for _i, e in self._group_maps], self._partners)
        if resolution.partner_id is not None and resolution.partner_id in self._suppressed.get(
            key, set()
        ):
            return PartnerResolution(
                None,
                ResolutionSource.UNMATCHED,
                f"the mapping of this group to partner {resolution.partner_id} was undone; "
                "map it again from the Unmatched pane",
            )
        return resolution

    async def _tickets_for(
        self, keys: Iterable[str], min_seq: int
    ) -> dict[str, list[dict[str, Any]]]:
        """Tickets carrying each alert key that are open or were touched since ``min_seq``."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await self.odoo.search_read(
            HelpdeskTicket.MODEL,
            [
                [HelpdeskTicket.ALERT_KEY, "in", wanted],
                "|",
                [f"{HelpdeskTicket.STAGE}.fold", "=", False],
                [HelpdeskTicket.RELAY_SEQ, ">=", min_seq],
            ],
            _TICKET_FIELDS,
            order="id",
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            found.setdefault(str(row.get(HelpdeskTicket.ALERT_KEY)), []).append(row)
        return found

    def _is_open(self, ticket: Mapping[str, Any]) -> bool:
        stage = _m2o(ticket.get(HelpdeskTicket.STAGE))
        return stage is None or stage not in self._folded_stages

    async def _post(self, model: str, record_id: int, html: str) -> None:
        await self.odoo.call(model, "message_post", [record_id], body=html, body_is_html=True)

    # ------------------------------------------------------------------ T010: devices
    async def _apply_devices(self, rows: list[StoredEvent]) -> None:
        latest: dict[str, StoredEvent] = {}
        for row in rows:
            if row.device_id:
                latest[device_key(row.device_id)] = row
        if not latest:
            return
        assets = await self._assets_for([r.device_id or "" for r in latest.values()], fresh=True)
        now = datetime.fromtimestamp(self.clock(), UTC)
        audit = odoo_datetime(now)
        touch_only: list[int] = []
        writes: list[tuple[int, dict[str, Any]]] = []
        creates: list[tuple[str, dict[str, Any]]] = []
        decommission: list[int] = []
        revived: list[str] = []
        if any(
            row.kind != "device.removed" and not _is_active(assets.get(key))
            for key, row in latest.items()
        ):
            await self._directory()
        for key, row in latest.items():
            asset = assets.get(key)
            if row.kind == "device.removed":
                if asset is not None and asset.active:
                    decommission.append(asset.id)
                self.queue.remove_device(key)
                continue
            facts = _device_facts(row)
            if asset is not None and asset.active:
                values = _changed_facts(asset, asset_values(facts, audited_at=now))
                if values:
                    writes.append((asset.id, values | {ClientAsset.LAST_AUDIT: audit}))
                else:
                    touch_only.append(asset.id)
                revived.append(key)
                continue
            ref = facts.group
            gkey = group_key(ref.org_id, ref.org_name, ref.group_name)
            resolution = self._resolve(ref, gkey)
            if resolution.partner_id is None:
                self._queue_device(row, facts, gkey, resolution.reason)
                continue
            if asset is not None:  # decommissioned asset of a device that is back: revive it
                values = asset_values(facts, audited_at=now)
                values[ClientAsset.STATUS] = AssetStatus.ACTIVE.value
                if asset.partner_id is None:
                    values[ClientAsset.PARTNER] = resolution.partner_id
                writes.append((asset.id, values))
                revived.append(key)
                continue
            try:
                creates.append(
                    (key, new_asset_values(facts, resolution.partner_id, audited_at=now))
                )
            except ValueError as exc:
                self._queue_device(row, facts, gkey, str(exc))
        if touch_only:
            await self.odoo.call(
                ClientAsset.MODEL, "write", touch_only, {ClientAsset.LAST_AUDIT: audit}
            )
        for asset_id, values in writes:
            await self.odoo.call(ClientAsset.MODEL, "write", [asset_id], values)
            self.metrics.assets_updated += 1
        if creates:
            ids = await self.odoo.call(ClientAsset.MODEL, "create", [v for _k, v in creates])
            new_ids = ids if isinstance(ids, list) else [ids]
            self.metrics.assets_created += len(new_ids)
            for (key, values), asset_id in zip(creates, new_ids, strict=True):
                partner = int(values[ClientAsset.PARTNER])
                self._remember_asset(
                    key,
                    AssetRow(
                        int(asset_id),
                        _text(values.get(ClientAsset.NAME)),
                        partner,
                        self._partner_names.get(partner),
                        True,
                        values,
                    ),
                )
                revived.append(key)
        if decommission:
            await self.odoo.call(ClientAsset.MODEL, "write", decommission, decommission_values())
            self.metrics.assets_decommissioned += len(decommission)
        for asset_id in decommission:
            self._forget_asset_id(asset_id)
        for asset_id, _values in writes:
            self._forget_asset_id(asset_id)
        # Alerts that waited for these devices can become tickets now.
        waiting: list[_AlertItem] = []
        for key in revived:
            waiting.extend(_AlertItem.from_waiting(a) for a in self.queue.forget_device(key))
        if waiting:
            waiting.sort(key=lambda item: item.seq)
            await self._apply_alerts(waiting)

    def _forget_asset_id(self, asset_id: int) -> None:
        for key, (asset, _at) in list(self._assets.items()):
            if asset is not None and asset.id == asset_id:
                del self._assets[key]

    def _queue_device(self, row: StoredEvent, facts: DeviceFacts, gkey: str, reason: str) -> None:
        payload = row.payload
        group = self.queue.group(
            gkey,
            source="pulseway",
            org_id=facts.org_id,
            org_name=facts.org_name,
            group_name=facts.group_name,
            site_name=facts.site_name,
            reason=reason,
        )
        self.queue.add_device(
            group,
            WaitingDevice(
                device_id=facts.identifier,
                hostname=facts.name,
                serial=facts.serial_number,
                os=facts.os_info,
                last_seen=_text(payload.get("last_seen_online")),
                seq=row.seq,
                facts={k: v for k, v in payload.items() if k not in ("changed_fields", "previous")},
            ),
        )

    # ------------------------------------------------------------------ T011: alerts
    async def _apply_alerts(self, items: list[_AlertItem]) -> AlertOutcome:
        """Tickets for alerts on linked devices; the rest wait in the queue."""
        outcome = AlertOutcome()
        if not items:
            return outcome
        assets = await self._assets_for({i.device_id for i in items if i.device_id})
        ready: list[tuple[_AlertItem, AssetRow]] = []
        for item in items:
            asset = assets.get(device_key(item.device_id)) if item.device_id else None
            if asset is None or not asset.active or asset.partner_id is None:
                self._queue_alert(item, asset)
                outcome.waiting += 1
            else:
                ready.append((item, asset))
        if not ready:
            return outcome
        sas = await self._sas_for({a.partner_id for _i, a in ready if a.partner_id is not None})
        tickets = await self._tickets_for({i.key for i, _a in ready}, min(i.seq for i, _a in ready))
        states: dict[str, _TicketState] = {}
        for key, rows in tickets.items():
            state = _TicketState()
            for ticket in rows:
                state.applied_seq = max(
                    state.applied_seq, int(ticket.get(HelpdeskTicket.RELAY_SEQ) or 0)
                )
                if self._is_open(ticket) and (
                    state.open_id is None or ticket["id"] > state.open_id
                ):
                    state.open_id = int(ticket["id"])
                    state.open_count = int(ticket.get(HelpdeskTicket.ALERT_COUNT) or 0)
            states[key] = state
        creates: list[dict[str, Any]] = []
        create_owner: list[str] = []
        links: list[tuple[_AlertItem, AssetRow]] = []
        for item, asset in ready:
            state = states.setdefault(item.key, _TicketState())
            if item.seq <= state.applied_seq:
                links.append((item, asset))
                continue  # applied before (replay)
            partner_sas = sas.get(asset.partner_id or 0, ())
            if state.open_id is not None:
                decision = decide_alert_ticket(
                    item.alert(),
                    LinkedAsset(asset.id, asset.partner_id),
                    OpenTicket(state.open_id, state.open_count),
                    team_id=self._team_id,
                    sa_id=choose_ticket_sa(partner_sas),
                    priority_map=self.settings.priority_map,
                )
                state.open_count = _as_int(decision.values[HelpdeskTicket.ALERT_COUNT])
                state.bump_lines.append(decision.chatter or "")
                state.bump_seq = item.seq
                state.applied_seq = item.seq
                links.append((item, asset))
                continue
            if state.create_index is not None:
                values = creates[state.create_index]
                values[HelpdeskTicket.ALERT_COUNT] = _as_int(values[HelpdeskTicket.ALERT_COUNT]) + 1
                values[HelpdeskTicket.RELAY_SEQ] = item.seq
                state.applied_seq = item.seq
                links.append((item, asset))
                continue
            decision = decide_alert_ticket(
                item.alert(),
                LinkedAsset(asset.id, asset.partner_id),
                None,
                team_id=self._team_id,
                sa_id=choose_ticket_sa(partner_sas),
                priority_map=self.settings.priority_map,
            )
            if decision.action is not TicketAction.CREATE:  # pragma: no cover - asset checked
                self._queue_alert(item, asset)
                continue
            values = dict(decision.values)
            values[HelpdeskTicket.ALERT_COUNT] = max(1, item.count)
            state.create_index = len(creates)
            state.applied_seq = item.seq
            creates.append(values)
            create_owner.append(item.key)
            links.append((item, asset))
        # writes
        created_ids: list[int] = []
        if creates:
            answer = await self.odoo.call(HelpdeskTicket.MODEL, "create", creates)
            created_ids = [int(i) for i in (answer if isinstance(answer, list) else [answer])]
            for key, ticket_id in zip(create_owner, created_ids, strict=True):
                states[key].open_id = ticket_id
            outcome.created.extend(created_ids)
            self.metrics.tickets_created += len(created_ids)
        for state in states.values():
            if not state.bump_lines or state.open_id is None or state.open_id in created_ids:
                continue
            await self.odoo.call(
                HelpdeskTicket.MODEL,
                "write",
                [state.open_id],
                {
                    HelpdeskTicket.ALERT_COUNT: state.open_count,
                    HelpdeskTicket.RELAY_SEQ: state.bump_seq,
                },
            )
            body = "<br>".join(escape(line) for line in state.bump_lines)
            await self._post(HelpdeskTicket.MODEL, state.open_id, f"<p>{body}</p>")
            outcome.bumped.append(state.open_id)
            outcome.attached += len(state.bump_lines)
            self.metrics.tickets_bumped += len(state.bump_lines)
        # attribution: link each alert to its asset, client, ticket and SAs
        for start in range(0, len(links), 100):  # concurrently: the store commits in groups
            await asyncio.gather(
                *(
                    self._link(
                        item.head,
                        asset,
                        states[item.key].open_id,
                        sas.get(asset.partner_id or 0, ()),
                    )
                    for item, asset in links[start : start + 100]
                )
            )
        return outcome

    def _queue_alert(self, item: _AlertItem, asset: AssetRow | None) -> None:
        waiting = item.waiting()
        if asset is not None:
            waiting.extra["reason"] = (
                f"asset {asset.id} is decommissioned"
                if not asset.active
                else f"asset {asset.id} has no client partner"
            )
        group = self.queue.group_of_device(item.device_id) if item.device_id else None
        self.queue.add_alert(group, waiting)

    async def _link(
        self,
        head: int,
        asset: AssetRow | None,
        ticket_id: int | None,
        sa_ids: Sequence[int],
        *,
        partner_id: int | None = None,
        partner_name: str | None = None,
    ) -> None:
        """Record the service account's ``link`` on the alert (skipped when unchanged)."""
        wanted_sas = tuple(sorted(set(sa_ids)))
        partner = asset.partner_id if asset is not None else partner_id
        asset_id = asset.id if asset is not None else None
        signature = (wanted_sas, asset_id, partner, ticket_id)
        if self._linked.get(head) == signature:
            return
        try:
            current = await self.store.get(head)
        except UnknownEvent:
            return
        if current.asset_id is not None and current.asset_id != asset_id:
            return  # a person linked this alert elsewhere: theirs stands
        if (current.sa_ids, current.asset_id, current.partner_id) == (
            wanted_sas,
            asset_id,
            partner,
        ):
            self._linked[head] = signature
            return
        args: dict[str, Any] = {
            "asset_id": asset.id if asset is not None else None,
            "partner_id": partner,
            "sa_ids": list(wanted_sas),
            "ticket_id": ticket_id,
        }
        if asset is not None and asset.name:
            args["asset_name"] = asset.name[:200]
        name = (asset.partner_name if asset is not None else None) or partner_name
        if name is None and partner is not None:
            name = self._partner_names.get(partner)
        if name:
            args["partner_name"] = name[:200]
        sa = wanted_sas[0] if len(wanted_sas) == 1 else None
        try:
            await self.store.change_state(
                head, StateChange("link", actor=self.account.user, sa=sa, args=args)
            )
        except (StateChangeRejected, UnknownEvent) as exc:
            _log.warning("rules worker: could not link event %d: %s", head, exc)
            return
        self._linked[head] = signature
        if len(self._linked) > 100_000:
            for stale in list(self._linked)[:50_000]:
                del self._linked[stale]

    async def _unlink(self, head: int) -> None:
        """Send an alert back to the unmatched audience (undo)."""
        self._linked.pop(head, None)
        with contextlib.suppress(StateChangeRejected, UnknownEvent):
            await self.store.change_state(
                head,
                StateChange(
                    "link",
                    actor=self.account.user,
                    args={"asset_id": None, "partner_id": None, "sa_ids": [], "ticket_id": None},
                ),
            )

    # ------------------------------------------------------------------ RocketCyber incidents
    async def _apply_incident(self, row: StoredEvent) -> None:
        payload = row.payload
        incident_id = _int_or_none(payload.get("incident_id"))
        if incident_id is None:
            self.queue.record_failure(
                FailedEvent(row.seq, row.kind, row.title, "incident without incident_id")
            )
            return
        account_id = _int_or_none(payload.get("account_id"))
        key = incident_dedupe_key(account_id, incident_id)
        tickets = (await self._tickets_for([key], row.seq)).get(key, [])
        if any(int(t.get(HelpdeskTicket.RELAY_SEQ) or 0) >= row.seq for t in tickets):
            return  # applied before
        open_tickets = [t for t in tickets if self._is_open(t)]
        if row.kind == "incident.resolved":
            await self._incident_resolved(row, key, open_tickets)
            return
        if open_tickets:
            return  # one ticket per incident; RocketCyber does not repeat incidents
        partner_id, asset, reason = await self._incident_partner(payload, account_id)
        incident = Incident(
            incident_id=incident_id,
            title=str(payload.get("title") or row.title),
            description=_text(payload.get("description")),
            remediation=_text(payload.get("remediation")),
            account_id=account_id,
            seq=row.seq,
        )
        await self._incident_ticket(row.alert_seq, incident, key, partner_id, asset, reason, row)

    async def _incident_ticket(
        self,
        head: int,
        incident: Incident,
        key: str,
        partner_id: int | None,
        asset: AssetRow | None,
        reason: str,
        row: StoredEvent | None = None,
        waiting: WaitingAlert | None = None,
    ) -> int | None:
        sas = await self._sas_for([partner_id]) if partner_id is not None else {}
        partner_sas = sas.get(partner_id or 0, ())
        decision = decide_incident_ticket(
            incident,
            partner_id,
            None,
            team_id=self._team_id,
            sa_id=choose_ticket_sa(partner_sas),
            priority=(row.priority if row is not None else None) or "Critical",
            priority_map=self.settings.priority_map,
        )
        if decision.action is TicketAction.WAIT:
            account = incident.account_id
            payload = row.payload if row is not None else {}
            gkey = group_key(None, None, None, source="rocketcyber", account_id=account)
            name = _text(payload.get("account_name")) or f"RocketCyber account {account}"
            group = self.queue.group(
                gkey,
                source="rocketcyber",
                org_id=None,
                org_name=name,
                group_name=None,
                site_name=None,
                reason=reason or decision.reason,
            )
            self.queue.add_alert(
                group,
                waiting
                or WaitingAlert(
                    key=key,
                    seq=head,
                    last_seq=incident.seq,
                    source="rocketcyber",
                    kind="incident.opened",
                    title=incident.title,
                    priority=row.priority if row is not None else None,
                    device_id=None,
                    message=incident.description,
                    count=1,
                    last_seen=row.received_at if row is not None else "",
                    extra={
                        "incident_id": incident.incident_id,
                        "account_id": account,
                        "remediation": incident.remediation,
                    },
                ),
            )
            return None
        values = dict(decision.values)
        if asset is not None:
            values[HelpdeskTicket.ASSET] = asset.id
        answer = await self.odoo.call(HelpdeskTicket.MODEL, "create", [values])
        ticket_id = int(answer[0] if isinstance(answer, list) else answer)
        self.metrics.tickets_created += 1
        await self._link(
            head,
            asset,
            ticket_id,
            partner_sas,
            partner_id=partner_id,
            partner_name=self._partner_names.get(partner_id or 0),
        )
        return ticket_id

    async def _incident_partner(
        self, payload: Mapping[str, Any], account_id: int | None
    ) -> tuple[int | None, AssetRow | None, str]:
        """The incident's client: affected hostnames, else the account's agents, else a
        group-map row or partner named like the account."""
        hosts = _affected_hostnames(payload.get("raw"))
        source = "affected device"
        if not hosts and account_id is not None and self._incident_hosts is not None:
            hosts = await self._agent_hosts(account_id)
            source = "the account's agents"
        if hosts:
            rows = await self.odoo.search_read(
                ClientAsset.MODEL,
                [
                    [ClientAsset.NAME, "in", sorted(hosts)],
                    [ClientAsset.STATUS, "=", AssetStatus.ACTIVE.value],
                ],
                _ASSET_FIELDS,
            )
            assets = [AssetRow.from_odoo(r) for r in rows]
            partners = {a.partner_id for a in assets if a.partner_id is not None}
            if len(partners) == 1:
                asset = assets[0] if len(assets) == 1 else None
                return partners.pop(), asset, f"matched through {source}"
        await self._directory()
        name = _text(payload.get("account_name"))
        gkey = group_key(None, None, None, source="rocketcyber", account_id=account_id)
        if name:
            resolution = self._resolve(PulsewayGroupRef(org_id=None, org_name=name), gkey)
            if resolution.partner_id is not None:
                return resolution.partner_id, None, resolution.reason
        return (
            None,
            None,
            f"no asset matches the incident's devices and no partner or group map is named "
            f"like RocketCyber account {name or account_id}",
        )

    async def _agent_hosts(self, account_id: int) -> list[str]:
        now = self.clock()
        cached = self._hosts_cache.get(account_id)
        if cached is not None and now - cached[1] < 3600:
            return cached[0]
        assert self._incident_hosts is not None
        try:
            hosts = await self._incident_hosts(account_id)
        except Exception as exc:  # a convenience: never fail the incident on it
            _log.info("rules worker: no RocketCyber agents for %s: %s", account_id, exc)
            hosts = []
        self._hosts_cache[account_id] = (hosts, now)
        return hosts

    async def _incident_resolved(
        self, row: StoredEvent, key: str, open_tickets: list[dict[str, Any]]
    ) -> None:
        if not open_tickets:
            waiting = self.queue.remove_alert(key)
            if waiting is not None:
                _log.info("rules worker: incident %s resolved while unmatched", key)
            return
        ticket_id = int(open_tickets[-1]["id"])
        touched_by = await self._touched_by(ticket_id)
        if touched_by is None and self._solved_stage is not None:
            await self.odoo.call(
                HelpdeskTicket.MODEL,
                "write",
                [ticket_id],
                {HelpdeskTicket.STAGE: self._solved_stage, HelpdeskTicket.RELAY_SEQ: row.seq},
            )
            note = "RocketCyber marked the incident resolved; closed, as nobody had worked on it."
            self.metrics.tickets_closed += 1
        else:
            await self.odoo.call(
                HelpdeskTicket.MODEL, "write", [ticket_id], {HelpdeskTicket.RELAY_SEQ: row.seq}
            )
            note = (
                f"RocketCyber marked the incident resolved; left open because {touched_by} "
                "worked on this ticket."
            )
        await self._post(HelpdeskTicket.MODEL, ticket_id, f"<p>{escape(note)}</p>")

    async def _touched_by(self, ticket_id: int) -> str | None:
        """Who worked on a ticket the worker created, or None if nobody did.

        Touched: assigned, moved out of the first stage, last written by someone else, or
        commented on by anyone but the service account.
        """
        rows = await self.odoo.call(
            HelpdeskTicket.MODEL,
            "read",
            [ticket_id],
            ["user_id", "write_uid", HelpdeskTicket.STAGE],
        )
        if not rows:
            return "someone (the ticket is gone)"
        ticket = rows[0]
        odoo_user = self.odoo.user
        service_uid = odoo_user.uid if odoo_user is not None else None
        if _m2o(ticket.get("user_id")) is not None:
            return _m2o_name(ticket.get("user_id")) or "its assignee"
        if _m2o(ticket.get("write_uid")) not in (None, service_uid):
            return _m2o_name(ticket.get("write_uid")) or "someone"
        stage = _m2o(ticket.get(HelpdeskTicket.STAGE))
        if self._first_stage is not None and stage not in (None, self._first_stage):
            return "someone (it changed stage)"
        comments = await self.odoo.search_count(
            "mail.message",
            [
                ["model", "=", HelpdeskTicket.MODEL],
                ["res_id", "=", ticket_id],
                ["message_type", "=", "comment"],
                ["author_id", "!=", self._service_partner or 0],
            ],
        )
        return "someone (it has comments)" if comments else None

    # ------------------------------------------------------------------ the unmatched API
    async def unmatched(self) -> dict[str, Any]:
        """``GET /api/unmatched`` body."""
        if not self._loaded:
            with contextlib.suppress(_Transient):
                async with self._lock:
                    await self._load_state()
        body = self.queue.to_api()
        body["worker"] = self.status()
        return body

    async def resolve(self, key: str, map_id: int, actor: str) -> dict[str, Any]:
        """Apply a group-map row a dispatcher just saved to the waiting group ``key``."""
        async with self._lock:
            try:
                await self._ensure_ready()
                return await self._resolve_group(key, map_id, actor)
            except _Transient as exc:
                raise UnmatchedRequestError(503, f"{exc}; try again shortly") from exc
            except errors.OdooGatewayError as exc:
                if _is_global(exc):
                    self._drop_connection()
                    raise UnmatchedRequestError(503, f"Odoo: {exc}; try again shortly") from exc
                raise UnmatchedRequestError(
                    409, f"Odoo refused part of the resolution: {exc}"
                ) from exc
            except StoreUnavailable as exc:
                raise UnmatchedRequestError(503, f"event store unavailable: {exc}") from exc

    async def _resolve_group(self, key: str, map_id: int, actor: str) -> dict[str, Any]:
        if key == UNKNOWN_DEVICES_KEY:
            raise UnmatchedRequestError(
                409,
                "alerts on devices never seen cannot be mapped as a group; link them one by "
                "one from the Alerts pane (L)",
            )
        group = self.queue.groups.get(key)
        if group is None:
            raise UnmatchedRequestError(
                404, f"no unmatched group {key!r} (already resolved? reload the queue)"
            )
        rows = await self.odoo.call(
            PulsewayGroupMap.MODEL,
            "read",
            [map_id],
            [PulsewayGroupMap.NAME, PulsewayGroupMap.PULSEWAY_ORG_ID, PulsewayGroupMap.PARTNER],
        )
        if not rows:
            raise UnmatchedRequestError(404, f"group map row {map_id} does not exist in Odoo")
        row = rows[0]
        partner_id = _m2o(row.get(PulsewayGroupMap.PARTNER))
        partner_name = _m2o_name(row.get(PulsewayGroupMap.PARTNER))
        if partner_id is None:
            raise UnmatchedRequestError(
                409, f"group map row {map_id} has no partner yet; choose the client first"
            )
        map_org = _int_or_none(row.get(PulsewayGroupMap.PULSEWAY_ORG_ID))
        map_name = " ".join(str(row.get(PulsewayGroupMap.NAME) or "").split()).casefold()
        names = {" ".join(n.split()).casefold() for n in (group.org_name, group.group_name) if n}
        matches = (group.org_id is not None and map_org == group.org_id) or map_name in names
        if not matches:
            raise UnmatchedRequestError(
                409,
                f"group map row {map_id} ({row.get(PulsewayGroupMap.NAME)!r}) is not for "
                f"{group.name!r}; save a map row with that name or organization id",
            )
        self._suppressed.get(key, set()).discard(partner_id)
        self._suppressed_maps.pop(map_id, None)
        self._directory_at = 0.0  # re-read maps and partners on the next device
        self.queue.take_group(key)
        resolution_id = self._next_resolution
        self._next_resolution += 1
        record: dict[str, Any] = {
            "id": resolution_id,
            "key": key,
            "map_id": map_id,
            "partner_id": partner_id,
            "partner_name": partner_name,
            "actor": actor,
            "at": odoo_datetime(datetime.fromtimestamp(self.clock(), UTC)),
            "group": group_to_json(group),
            "assets_created": [],
            "assets_updated": [],
            "tickets_created": [],
            "alerts": [],
            "undone": False,
        }
        # Save the record first: if anything below fails half-way, undo still knows the group.
        await self._save_resolution(record)
        try:
            await self._resolve_assets(group, partner_id, partner_name, record)
            outcome = AlertOutcome()
            pulseway = [a for a in group.alerts.values() if a.kind == ALERT_KIND]
            incidents = [a for a in group.alerts.values() if a.kind != ALERT_KIND]
            if pulseway:
                items = sorted((_AlertItem.from_waiting(a) for a in pulseway), key=lambda i: i.seq)
                outcome = await self._apply_alerts(items)
            for waiting in incidents:
                ticket = await self._incident_ticket(
                    waiting.seq,
                    Incident(
                        incident_id=int(waiting.extra.get("incident_id") or 0),
                        title=waiting.title,
                        description=waiting.message,
                        remediation=_text(waiting.extra.get("remediation")),
                        account_id=_int_or_none(waiting.extra.get("account_id")),
                        seq=waiting.last_seq,
                    ),
                    waiting.key,
                    partner_id,
                    None,
                    "",
                    waiting=waiting,
                )
                if ticket is not None:
                    outcome.created.append(ticket)
            record["tickets_created"] = outcome.created
            record["alerts"] = sorted(a.seq for a in group.alerts.values())
            record["tickets_attached"] = outcome.attached
        except BaseException:
            # Half done: the group goes back in the queue so the dispatcher can retry; what was
            # created is found again by Pulseway id and alert key, never made twice.
            self.queue.restore_group(group)
            record["failed"] = True
            raise
        finally:
            await self._save_resolution(record)
            await self._checkpoint()
        _log.info(
            "rules worker: %s mapped %s to partner %s: %d assets created, %d updated, "
            "%d tickets created",
            actor,
            group.name,
            partner_id,
            len(record["assets_created"]),
            len(record["assets_updated"]),
            len(record["tickets_created"]),
        )
        return {
            "resolution_id": resolution_id,
            "key": key,
            "partner_id": partner_id,
            "partner_name": partner_name,
            "assets_created": len(record["assets_created"]),
            "assets_updated": len(record["assets_updated"]),
            "tickets_created": len(record["tickets_created"]),
            "alerts_attached": record.get("tickets_attached", 0),
            "alerts_waiting": self.queue.waiting_alert_count(),
        }

    async def _resolve_assets(
        self,
        group: UnmatchedGroup,
        partner_id: int,
        partner_name: str | None,
        record: dict[str, Any],
    ) -> None:
        if not group.devices:
            return
        devices = list(group.devices.values())
        assets = await self._assets_for([d.device_id for d in devices], fresh=True)
        now = datetime.fromtimestamp(self.clock(), UTC)
        creates: list[tuple[str, dict[str, Any]]] = []
        for device in devices:
            key = device_key(device.device_id)
            facts = _facts_from_payload(device.facts, device.device_id)
            asset = assets.get(key)
            if asset is not None and asset.active and asset.partner_id is not None:
                continue  # linked meanwhile (by a person): leave it
            if asset is not None:
                values = asset_values(facts, audited_at=now)
                values[ClientAsset.STATUS] = AssetStatus.ACTIVE.value
                values[ClientAsset.PARTNER] = partner_id
                await self.odoo.call(ClientAsset.MODEL, "write", [asset.id], values)
                self.metrics.assets_updated += 1
                record["assets_updated"].append(
                    {
                        "id": asset.id,
                        "partner_id": asset.partner_id,
                        "status": AssetStatus.ACTIVE.value
                        if asset.active
                        else AssetStatus.DECOMMISSIONED.value,
                    }
                )
                self._remember_asset(
                    key, AssetRow(asset.id, asset.name, partner_id, partner_name, True, values)
                )
                continue
            try:
                creates.append((key, new_asset_values(facts, partner_id, audited_at=now)))
            except ValueError as exc:
                self.queue.record_failure(
                    FailedEvent(device.seq, "device", device.device_id, str(exc))
                )
        if creates:
            answer = await self.odoo.call(ClientAsset.MODEL, "create", [v for _k, v in creates])
            ids = [int(i) for i in (answer if isinstance(answer, list) else [answer])]
            self.metrics.assets_created += len(ids)
            record["assets_created"] = ids
            for (key, values), asset_id in zip(creates, ids, strict=True):
                self._remember_asset(
                    key,
                    AssetRow(
                        asset_id,
                        _text(values.get(ClientAsset.NAME)),
                        partner_id,
                        partner_name,
                        True,
                        values,
                    ),
                )

    async def _save_resolution(self, record: Mapping[str, Any]) -> None:
        resolution_id = int(record["id"])
        try:
            await self.store.set_cursor(
                f"{CURSOR_RESOLUTION_PREFIX}{resolution_id}", json.dumps(record)
            )
        except StoreUnavailable as exc:
            raise _Transient(f"event store unavailable: {exc}") from exc
        if resolution_id not in self._resolution_ids:
            self._resolution_ids.append(resolution_id)
        await self._save_index()

    async def undo(self, resolution_id: int, actor: str) -> dict[str, Any]:
        """Retire what resolution ``resolution_id`` created and queue its group again."""
        async with self._lock:
            try:
                await self._ensure_ready()
                return await self._undo(resolution_id, actor)
            except _Transient as exc:
                raise UnmatchedRequestError(503, f"{exc}; try again shortly") from exc
            except errors.OdooGatewayError as exc:
                if _is_global(exc):
                    self._drop_connection()
                    raise UnmatchedRequestError(503, f"Odoo: {exc}; try again shortly") from exc
                raise UnmatchedRequestError(409, f"Odoo refused part of the undo: {exc}") from exc
            except StoreUnavailable as exc:
                raise UnmatchedRequestError(503, f"event store unavailable: {exc}") from exc

    async def _undo(self, resolution_id: int, actor: str) -> dict[str, Any]:
        try:
            text = await self.store.get_cursor(f"{CURSOR_RESOLUTION_PREFIX}{resolution_id}")
        except StoreUnavailable as exc:
            raise _Transient(f"event store unavailable: {exc}") from exc
        if not text:
            raise UnmatchedRequestError(404, f"no resolution {resolution_id}")
        record = json.loads(text)
        if record.get("undone"):
            raise UnmatchedRequestError(409, f"resolution {resolution_id} was undone already")
        group = group_from_json(record["group"])
        note = (
            f"The mapping of Pulseway {group.name!r} to this client was undone by {actor} "
            f"(resolution {resolution_id})."
        )
        retired = [int(i) for i in record.get("assets_created", [])]
        if retired:
            await self.odoo.call(ClientAsset.MODEL, "write", retired, decommission_values())
            for asset_id in retired:
                await self._post(
                    ClientAsset.MODEL, asset_id, f"<p>{escape(note)} Asset retired.</p>"
                )
            self.metrics.assets_decommissioned += len(retired)
        restored = 0
        for previous in record.get("assets_updated", []):
            values: dict[str, Any] = {
                ClientAsset.STATUS: previous.get("status") or AssetStatus.ACTIVE.value,
                ClientAsset.PARTNER: previous.get("partner_id") or False,
            }
            await self.odoo.call(ClientAsset.MODEL, "write", [int(previous["id"])], values)
            restored += 1
        for asset_id in [*retired, *(int(p["id"]) for p in record.get("assets_updated", []))]:
            self._forget_asset_id(asset_id)
        closed = kept = 0
        for ticket_id in [int(i) for i in record.get("tickets_created", [])]:
            touched_by = await self._touched_by(ticket_id)
            if touched_by is None and self._cancelled_stage is not None:
                await self.odoo.call(
                    HelpdeskTicket.MODEL,
                    "write",
                    [ticket_id],
                    {HelpdeskTicket.STAGE: self._cancelled_stage},
                )
                await self._post(
                    HelpdeskTicket.MODEL, ticket_id, f"<p>{escape(note)} Ticket cancelled.</p>"
                )
                closed += 1
                self.metrics.tickets_closed += 1
            else:
                await self._post(
                    HelpdeskTicket.MODEL,
                    ticket_id,
                    f"<p>{escape(note)} Left open because {escape(touched_by or 'someone')} "
                    "worked on it.</p>",
                )
                kept += 1
        for device in group.devices:
            self._assets.pop(device, None)
        self.queue.restore_group(group)
        for seq in record.get("alerts", []):
            await self._unlink(int(seq))
        partner_id = int(record["partner_id"])
        self._suppressed.setdefault(group.key, set()).add(partner_id)
        self._suppressed_maps[int(record["map_id"])] = partner_id
        self._directory_at = 0.0
        record["undone"] = True
        record["undone_by"] = actor
        await self._save_resolution(record)
        await self._checkpoint()
        _log.info("rules worker: %s undid resolution %d (%s)", actor, resolution_id, group.name)
        return {
            "resolution_id": resolution_id,
            "key": group.key,
            "map_id": record["map_id"],
            "assets_retired": len(retired),
            "assets_restored": restored,
            "tickets_closed": closed,
            "tickets_kept_open": kept,
            "alerts_unmatched": len(record.get("alerts", [])),
        }


# ---------------------------------------------------------------------- helpers


def _is_global(exc: errors.OdooGatewayError) -> bool:
    """Failures of Odoo as a whole (retry the batch) rather than of one event."""
    return exc.retryable or isinstance(
        exc, errors.WrongCredentials | errors.DatabaseNotFound | errors.SchemaMismatch
    )


def _run_kind(row: StoredEvent) -> str:
    if row.kind == STATE_KIND:
        return "skip"
    if row.kind in DEVICE_KINDS:
        return "device"
    if row.kind == ALERT_KIND:
        return "alert"
    if row.kind in INCIDENT_KINDS:
        return "incident"
    return "skip"


def _alert_item(row: StoredEvent) -> _AlertItem:
    payload = row.payload
    return _AlertItem(
        seq=row.seq,
        head=row.alert_seq,
        key=alert_dedupe_key(row.source, row.device_id, row.title),
        source=row.source,
        title=row.title,
        message=_text(payload.get("Message")),
        priority=row.priority,
        device_id=row.device_id,
        count=1,
        last_seen=row.received_at,
    )


def _device_facts(row: StoredEvent) -> DeviceFacts:
    return _facts_from_payload(row.payload, row.device_id or "")


def _facts_from_payload(payload: Mapping[str, Any], device_id: str) -> DeviceFacts:
    """The poller's device payload as the domain's :class:`DeviceFacts`."""
    return DeviceFacts(
        identifier=_text(payload.get("device_id")) or device_id,
        name=_text(payload.get("hostname")),
        os_info=_text(payload.get("os")),
        serial_number=_text(payload.get("serial")),
        group_name=_text(payload.get("group_name")),
        site_name=_text(payload.get("site_name")),
        org_id=_int_or_none(payload.get("organization_id")),
        org_name=_text(payload.get("organization_name")),
        last_seen=parse_pulseway_time(payload.get("last_seen_online")),
    )


def _changed_facts(asset: AssetRow, values: Mapping[str, Any]) -> dict[str, Any]:
    """The facts that differ from what Odoo holds (Pulseway wins)."""
    changed: dict[str, Any] = {}
    for name in _MASTER_FACTS:
        if name not in values:
            continue
        new, old = values[name], asset.values.get(name)
        if name == ClientAsset.PULSEWAY_ORG_ID:
            if _int_or_none(old) != _int_or_none(new):
                changed[name] = new
        elif (_text(old) or None) != (_text(new) or None):
            changed[name] = new
    seen = values.get(ClientAsset.LAST_SEEN)
    if seen is not None:
        before, after = _odoo_time(asset.values.get(ClientAsset.LAST_SEEN)), _odoo_time(seen)
        if after is not None and (before is None or after - before > _LAST_SEEN_SLACK_SECONDS):
            changed[ClientAsset.LAST_SEEN] = seen
    return changed


def _affected_hostnames(raw: object) -> list[str]:
    """Hostnames in an incident's (unverified) ``affectedDevices``, when present."""
    if not isinstance(raw, Mapping):
        return []
    devices = raw.get("affectedDevices")
    if not isinstance(devices, list):
        return []
    hosts: list[str] = []
    for device in devices:
        if isinstance(device, str) and device.strip():
            hosts.append(device.strip())
        elif isinstance(device, Mapping):
            name = _text(device.get("hostname") or device.get("deviceName") or device.get("name"))
            if name:
                hosts.append(name)
    return hosts


def _is_active(asset: AssetRow | None) -> bool:
    return asset is not None and asset.active


def _as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else int(str(value))


def build_rules_worker(config: RelayConfig, store: EventStore) -> RulesWorker:
    """The worker for a relay config with an Odoo service account; with RocketCyber polling
    configured, incidents without affected devices are placed through the account's agents."""
    if config.odoo is None:
        raise ValueError("the rules worker needs the relay's Odoo service account")
    incident_hosts: Callable[[int], Awaitable[list[str]]] | None = None
    rocketcyber = config.rocketcyber
    if rocketcyber is not None:

        async def agent_hostnames(account_id: int) -> list[str]:
            from console.rocketcyber import RocketCyberClient

            async with RocketCyberClient(rocketcyber.url, rocketcyber.api_key) as client:
                agents = await client.agents(account_ids=[account_id])
            return [agent.hostname for agent in agents if agent.hostname]

        incident_hosts = agent_hostnames
    return RulesWorker(store, config.odoo, config.rules, incident_hosts=incident_hosts)
