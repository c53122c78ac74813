"""Pollers for what Pulseway and RocketCyber do not push (DESIGN.md §5 "Pollers").

* :class:`PulsewayDevicePoller` pages ``/v3/devices`` and the paged ``/v3/assets`` list (serial
  and OS without one request per device), diffs against the previous snapshot and emits
  ``device.registered`` / ``device.changed`` / ``device.removed`` — the seed's
  "SystemRegistered", which no Pulseway webhook provides.
* :class:`RocketCyberIncidentPoller` follows the reference's polling plan: incidents created since
  a high-water mark minus an overlap (which absorbs the ``publishedAt`` lag), and every so often
  incidents resolved since a second mark → ``incident.opened`` / ``incident.resolved``.

:mod:`console.relay.backstop` (Pulseway notifications whose webhook never arrived) follows the
same conventions and shares the run loop and helpers below.

Both keep their state in the relay's cursor store as JSON and append events *before* saving
the cursor; event ``external_id`` values are deterministic, so a crash between the two only
replays events the log already refuses as duplicates. Both run as ``await poller.run(stop)``;
``poll_once()`` does one pass (tests, or a manual "sync now"). Rate limits and outages are
absorbed: the clients retry 429/5xx with ``Retry-After`` and backoff, and the run loop backs off
exponentially with jitter when a whole pass fails.

Event shapes (``source`` / ``kind`` / ``external_id`` / ``title`` / ``payload``):

* ``pulseway`` / ``device.registered|changed|removed`` /
  ``"{device id, lower case}:{kind}:{facts digest}:{pass number}"`` / hostname /
  :class:`DeviceFacts` fields (``device_id, hostname, serial, os, os_version, group_id,
  group_name, site_id, site_name, organization_id, organization_name``) plus
  ``last_seen_online`` and ``detected_at`` (ISO 8601 UTC); ``device.changed`` adds
  ``changed_fields`` and ``previous`` (the old values of those fields). ``device_id`` is set,
  ``priority``/``dedupe_key`` are not (inventory changes are not alerts).
* ``rocketcyber`` / ``incident.opened|resolved`` / ``"{incident id}:opened|resolved"`` / the
  incident title / ``incident_id, account_id, account_name, status, title, description,
  remediation, event_count, created_at, published_at, resolved_at, raw``; ``priority`` is the
  poller's configured one and ``dedupe_key`` is shared by an incident's two events.

``sa_ids`` is left empty: mapping an organization or account to an SA is the relay's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from console.domain.alerts import alert_dedupe_key
from console.pulseway import (
    Asset,
    Device,
    PulsewayClient,
    PulsewayError,
    PulsewayForbiddenError,
    PulsewayNotFoundError,
    PulsewayRateLimitedError,
    device_key,
)
from console.relay.events import CursorStore, EventSink, IncomingEvent
from console.rocketcyber import (
    Incident,
    RocketCyberClient,
    RocketCyberError,
    RocketCyberRateLimitedError,
)

log = logging.getLogger(__name__)

PULSEWAY_SOURCE = "pulseway"
ROCKETCYBER_SOURCE = "rocketcyber"


def utc_now() -> datetime:
    """The pollers' default clock (tests pass their own)."""
    return datetime.now(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with ``Z``, as the pollers write times into payloads and cursors."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso_utc(text: object) -> datetime | None:
    """Read back :func:`iso_utc` text (naive means UTC); ``None`` for anything else."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- shared run loop ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollBackoff:
    """How long a poller waits after a failed pass: ``base * 2**(failures-1)``, capped, jittered."""

    base: float = 30.0
    maximum: float = 1800.0
    jitter: float = 0.5

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after ``failures`` consecutive failed passes (≥ 1)."""
        ceiling = min(self.maximum, self.base * (2.0 ** max(0, failures - 1)))
        return ceiling * (1.0 - self.jitter * rng.random())


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``stop``; True if it is set."""
    if stop.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    return stop.is_set()


async def run_poll_loop(
    name: str,
    poll_once: Callable[[], Awaitable[object]],
    interval: float,
    backoff: PollBackoff,
    rng: random.Random,
    stop: asyncio.Event,
) -> None:
    """Call ``poll_once`` every ``interval`` seconds until ``stop``; never dies of an error.

    A failed pass waits ``backoff`` instead of ``interval`` (at least ``Retry-After`` when rate
    limited), so an outage costs a few requests an hour, not one per interval.
    """
    failures = 0
    while not stop.is_set():
        delay = interval
        try:
            await poll_once()
            failures = 0
        except (PulsewayRateLimitedError, RocketCyberRateLimitedError) as exc:
            failures += 1
            delay = max(exc.retry_after or 0.0, backoff.delay(failures, rng))
            log.warning("%s: rate limited, next try in %.0fs: %s", name, delay, exc.user_message)
        except (PulsewayError, RocketCyberError) as exc:
            failures += 1
            delay = backoff.delay(failures, rng)
            log.warning(
                "%s: pass failed, next try in %.0fs: %s (%s)",
                name,
                delay,
                exc.user_message,
                exc.detail,
            )
        except Exception:
            failures += 1
            delay = backoff.delay(failures, rng)
            log.exception("%s: unexpected failure, next try in %.0fs", name, delay)
        if await _stopped_within(stop, delay):
            return


# -- Pulseway devices ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the product tracks about a device; a change in any of these is ``device.changed``."""

    device_id: str
    hostname: str
    serial: str | None
    os: str | None
    os_version: str | None
    group_id: int | None
    group_name: str
    site_id: int | None
    site_name: str
    organization_id: int | None
    organization_name: str

    def digest(self) -> str:
        """Short stable hash of the facts (the device id's case does not count)."""
        facts = asdict(self)
        facts["device_id"] = device_key(self.device_id)
        canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def payload(self) -> dict[str, Any]:
        """The facts as an event payload."""
        return asdict(self)


_FACT_FIELDS = (
    "hostname",
    "serial",
    "os",
    "os_version",
    "group_id",
    "group_name",
    "site_id",
    "site_name",
    "organization_id",
    "organization_name",
)


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    """Facts per device key, plus the pass number (part of each event's ``external_id``)."""

    generation: int
    devices: dict[str, DeviceFacts]

    def to_json(self) -> str:
        """Compact JSON: device rows point into a table of distinct group contexts."""
        contexts: dict[tuple[Any, ...], int] = {}
        rows: dict[str, list[Any]] = {}
        for key, facts in self.devices.items():
            context = (
                facts.group_id,
                facts.group_name,
                facts.site_id,
                facts.site_name,
                facts.organization_id,
                facts.organization_name,
            )
            index = contexts.setdefault(context, len(contexts))
            rows[key] = [
                facts.device_id,
                facts.hostname,
                facts.serial,
                facts.os,
                facts.os_version,
                index,
            ]
        return json.dumps(
            {
                "v": 1,
                "generation": self.generation,
                "contexts": [list(c) for c in contexts],
                "devices": rows,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> DeviceSnapshot:
        """Parse :meth:`to_json` output; raises ``ValueError`` on anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not a version-1 device snapshot")
        contexts = [tuple(c) for c in data["contexts"]]
        devices: dict[str, DeviceFacts] = {}
        for key, (device_id, hostname, serial, os_name, os_version, index) in data[
            "devices"
        ].items():
            group_id, group_name, site_id, site_name, org_id, org_name = contexts[index]
            devices[key] = DeviceFacts(
                device_id=device_id,
                hostname=hostname,
                serial=serial,
                os=os_name,
                os_version=os_version,
                group_id=group_id,
                group_name=group_name,
                site_id=site_id,
                site_name=site_name,
                organization_id=org_id,
                organization_name=org_name,
            )
        return cls(int(data["generation"]), devices)


@dataclass(frozen=True, slots=True)
class DevicePollSummary:
    """What one pass found."""

    devices: int
    registered: int
    changed: int
    removed: int
    held_removals: int = 0

    @property
    def emitted(self) -> int:
        """Events appended in this pass."""
        return self.registered + self.changed + self.removed


class PulsewayDevicePoller:
    """Turns Pulseway's device inventory into device lifecycle events.

    ``emit_baseline`` decides whether the very first pass (no cursor yet) reports every device
    as registered — needed so the rules worker and the unmatched queue see the whole estate —
    or silently records the baseline. A pass that would remove more than
    ``mass_removal_fraction`` of the devices (and at least ``mass_removal_floor``) is held back
    once: an API hiccup that returns a short list must not decommission half the estate; if the
    next pass still misses them, the removals go out.
    """

    def __init__(
        self,
        client: PulsewayClient,
        sink: EventSink,
        cursors: CursorStore,
        *,
        interval: float = 600.0,
        cursor_name: str = "pulseway.devices",
        emit_baseline: bool = True,
        mass_removal_fraction: float = 0.5,
        mass_removal_floor: int = 10,
        backoff: PollBackoff | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.sink = sink
        self.cursors = cursors
        self.interval = interval
        self.cursor_name = cursor_name
        self.emit_baseline = emit_baseline
        self.mass_removal_fraction = mass_removal_fraction
        self.mass_removal_floor = mass_removal_floor
        self.backoff = backoff or PollBackoff()
        self.clock = clock
        self.rng = rng or random.Random()
        self._held_removals: frozenset[str] | None = None
        self._assets_unavailable_logged = False
        # Last-seen times change on every pass, so they ride along in payloads, not in facts.
        self._last_seen: dict[str, str | None] = {}

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set (or the task is cancelled)."""
        await run_poll_loop(
            "pulseway device poller",
            self.poll_once,
            self.interval,
            self.backoff,
            self.rng,
            stop or asyncio.Event(),
        )

    async def _load(self) -> DeviceSnapshot | None:
        text = await self.cursors.get_cursor(self.cursor_name)
        if not text:
            return None
        try:
            return DeviceSnapshot.from_json(text)
        except (ValueError, KeyError, TypeError, IndexError):
            log.warning(
                "pulseway device poller: unreadable cursor %r; starting a new baseline",
                self.cursor_name,
            )
            return None

    async def _fetch_assets(self) -> dict[str, Asset] | None:
        """Every asset by device key, or ``None`` when the token may not list assets."""
        assets: dict[str, Asset] = {}
        try:
            async for page in self.client.iter_assets():
                for asset in page:
                    assets[asset.key] = asset
        except (PulsewayForbiddenError, PulsewayNotFoundError) as exc:
            if not self._assets_unavailable_logged:
                log.warning(
                    "pulseway device poller: cannot list assets (%s); serial and OS "
                    "keep their last known values",
                    exc.user_message,
                )
                self._assets_unavailable_logged = True
            return None
        return assets

    async def _current(self, previous: dict[str, DeviceFacts]) -> dict[str, DeviceFacts]:
        devices: list[Device] = []
        async for page in self.client.iter_devices():
            devices.extend(page)
        assets = await self._fetch_assets()
        current: dict[str, DeviceFacts] = {}
        for device in devices:
            key = device.key
            asset = assets.get(key) if assets is not None else None
            before = previous.get(key)
            if asset is not None:
                serial, os_name, os_version = asset.serial_number, asset.os_name, asset.os_version
                self._last_seen[key] = iso_utc(asset.last_seen_online)
            elif before is not None:
                serial, os_name, os_version = before.serial, before.os, before.os_version
            else:
                serial = os_name = os_version = None
            current[key] = DeviceFacts(
                device_id=device.identifier,
                hostname=device.name,
                serial=serial,
                os=os_name or device.description,
                os_version=os_version,
                group_id=device.group_id,
                group_name=device.group_name,
                site_id=device.site_id,
                site_name=device.site_name,
                organization_id=device.organization_id,
                organization_name=device.organization_name,
            )
        return current

    def _event(
        self,
        kind: str,
        facts: DeviceFacts,
        generation: int,
        detected_at: datetime,
        extra: dict[str, Any] | None = None,
    ) -> IncomingEvent:
        payload = facts.payload()
        payload["last_seen_online"] = self._last_seen.get(device_key(facts.device_id))
        payload["detected_at"] = iso_utc(detected_at)
        payload.update(extra or {})
        return IncomingEvent(
            source=PULSEWAY_SOURCE,
            kind=kind,
            external_id=f"{device_key(facts.device_id)}:{kind}:{facts.digest()}:{generation}",
            title=facts.hostname or facts.device_id,
            device_id=facts.device_id,
            payload=payload,
        )

    async def poll_once(self) -> DevicePollSummary:
        """One pass: fetch, diff, append events, then save the new snapshot."""
        snapshot = await self._load()
        previous = snapshot.devices if snapshot else {}
        generation = (snapshot.generation + 1) if snapshot else 1
        current = await self._current(previous)
        now = self.clock()

        removed_keys = [key for key in previous if key not in current]
        held = 0
        threshold = max(self.mass_removal_floor, self.mass_removal_fraction * len(previous))
        mass_removal = len(removed_keys) > threshold
        if mass_removal and self._held_removals is None:
            log.warning(
                "pulseway device poller: %d of %d devices vanished at once; holding the "
                "removals until the next pass confirms them",
                len(removed_keys),
                len(previous),
            )
            self._held_removals = frozenset(removed_keys)
            for key in removed_keys:
                current[key] = previous[key]
            held, removed_keys = len(removed_keys), []
        else:
            # Either an ordinary pass, or a second pass confirming a mass removal.
            self._held_removals = None

        events: list[IncomingEvent] = []
        baseline = snapshot is None
        registered = changed = 0
        if not baseline or self.emit_baseline:
            for key, facts in current.items():
                before = previous.get(key)
                if before is None:
                    registered += 1
                    events.append(self._event("device.registered", facts, generation, now))
                elif before.digest() != facts.digest():
                    changed_fields = [
                        name
                        for name in _FACT_FIELDS
                        if getattr(before, name) != getattr(facts, name)
                    ]
                    changed += 1
                    events.append(
                        self._event(
                            "device.changed",
                            facts,
                            generation,
                            now,
                            {
                                "changed_fields": changed_fields,
                                "previous": {
                                    name: getattr(before, name) for name in changed_fields
                                },
                            },
                        )
                    )
            events.extend(
                self._event("device.removed", previous[key], generation, now)
                for key in removed_keys
            )

        for event in events:
            await self.sink.append(event)
        if baseline or events or held:
            await self.cursors.set_cursor(
                self.cursor_name, DeviceSnapshot(generation, current).to_json()
            )
        summary = DevicePollSummary(
            len(current) - held, registered, changed, len(removed_keys), held
        )
        if summary.emitted:
            log.info(
                "pulseway device poller: %d registered, %d changed, %d removed (%d devices)",
                registered,
                changed,
                len(removed_keys),
                summary.devices,
            )
        return summary


# -- RocketCyber incidents ----------------------------------------------------------------------


@dataclass(slots=True)
class IncidentCursor:
    """High-water marks and the ids already reported inside the overlap windows."""

    created_hwm: datetime
    resolved_hwm: datetime
    resolved_checked_at: datetime | None
    opened: dict[str, str]  # incident id -> createdAt (ISO), within the opened overlap
    resolved: dict[str, str]  # incident id -> resolvedAt (ISO), within the resolved overlap

    def to_json(self) -> str:
        """Serialise for the cursor store."""
        return json.dumps(
            {
                "v": 1,
                "created_hwm": iso_utc(self.created_hwm),
                "resolved_hwm": iso_utc(self.resolved_hwm),
                "resolved_checked_at": iso_utc(self.resolved_checked_at),
                "opened": self.opened,
                "resolved": self.resolved,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> IncidentCursor:
        """Parse :meth:`to_json` output; raises ``ValueError`` on anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not a version-1 incident cursor")
        created = parse_iso_utc(data.get("created_hwm"))
        resolved = parse_iso_utc(data.get("resolved_hwm"))
        if created is None or resolved is None:
            raise ValueError("incident cursor without high-water marks")
        return cls(
            created,
            resolved,
            parse_iso_utc(data.get("resolved_checked_at")),
            dict(data.get("opened") or {}),
            dict(data.get("resolved") or {}),
        )


@dataclass(frozen=True, slots=True)
class IncidentPollSummary:
    """What one pass found."""

    opened: int
    resolved: int
    resolved_pass: bool

    @property
    def emitted(self) -> int:
        """Events appended in this pass."""
        return self.opened + self.resolved


class RocketCyberIncidentPoller:
    """Turns RocketCyber incidents into ``incident.opened`` / ``incident.resolved`` events.

    Every pass asks for incidents created since ``created_hwm - overlap`` (the overlap catches
    incidents published late with an older ``createdAt``) and advances the mark to the newest
    ``createdAt`` seen. Every ``resolved_interval`` it asks for incidents resolved since
    ``resolved_hwm - resolved_overlap``. The first pass looks back ``initial_lookback``.
    Incidents carry no severity in the corroborated field list, so every one gets ``priority``.
    """

    def __init__(
        self,
        client: RocketCyberClient,
        sink: EventSink,
        cursors: CursorStore,
        *,
        interval: float = 180.0,
        resolved_interval: timedelta = timedelta(minutes=30),
        overlap: timedelta = timedelta(minutes=15),
        resolved_overlap: timedelta = timedelta(hours=1),
        initial_lookback: timedelta = timedelta(days=7),
        account_refresh: timedelta = timedelta(hours=1),
        priority: str = "Critical",
        cursor_name: str = "rocketcyber.incidents",
        backoff: PollBackoff | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.sink = sink
        self.cursors = cursors
        self.interval = interval
        self.resolved_interval = resolved_interval
        self.overlap = overlap
        self.resolved_overlap = resolved_overlap
        self.initial_lookback = initial_lookback
        self.account_refresh = account_refresh
        self.priority = priority
        self.cursor_name = cursor_name
        self.backoff = backoff or PollBackoff()
        self.clock = clock
        self.rng = rng or random.Random()
        self._account_names: dict[int, str] = {}
        self._accounts_loaded_at: datetime | None = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set (or the task is cancelled)."""
        await run_poll_loop(
            "rocketcyber incident poller",
            self.poll_once,
            self.interval,
            self.backoff,
            self.rng,
            stop or asyncio.Event(),
        )

    async def _load(self, now: datetime) -> IncidentCursor:
        text = await self.cursors.get_cursor(self.cursor_name)
        if text:
            try:
                return IncidentCursor.from_json(text)
            except (ValueError, TypeError):
                log.warning(
                    "rocketcyber incident poller: unreadable cursor %r; starting over",
                    self.cursor_name,
                )
        start = now - self.initial_lookback
        return IncidentCursor(start, start, None, {}, {})

    async def _refresh_accounts(self, now: datetime) -> None:
        if (
            self._accounts_loaded_at is not None
            and now - self._accounts_loaded_at < self.account_refresh
        ):
            return
        self._accounts_loaded_at = now
        try:
            provider = await self.client.account(details=True)
        except RocketCyberError as exc:
            # Names are a convenience; the /account shape is unconfirmed, so never fail on it.
            log.info("rocketcyber incident poller: no account names (%s)", exc.user_message)
            return
        self._account_names = {a.id: a.name for a in provider.flatten() if a.name}

    def _event(self, kind: str, incident: Incident) -> IncomingEvent:
        suffix = "opened" if kind == "incident.opened" else "resolved"
        account_name = (
            self._account_names.get(incident.account_id)
            if incident.account_id is not None
            else None
        )
        return IncomingEvent(
            source=ROCKETCYBER_SOURCE,
            kind=kind,
            external_id=f"{incident.id}:{suffix}",
            title=incident.title,
            priority=self.priority,
            dedupe_key=alert_dedupe_key(
                ROCKETCYBER_SOURCE, f"incident:{incident.id}", incident.title
            ),
            payload={
                "incident_id": incident.id,
                "account_id": incident.account_id,
                "account_name": account_name,
                "status": incident.status,
                "title": incident.title,
                "description": incident.description,
                "remediation": incident.remediation,
                "event_count": incident.event_count,
                "created_at": iso_utc(incident.created_at),
                "published_at": iso_utc(incident.published_at),
                "resolved_at": iso_utc(incident.resolved_at),
                "raw": incident.raw,
            },
        )

    async def poll_once(self, *, include_resolved: bool | None = None) -> IncidentPollSummary:
        """One pass. ``include_resolved`` forces (True) or skips (False) the resolved query;
        by default it runs when ``resolved_interval`` has passed since the last one."""
        now = self.clock()
        cursor = await self._load(now)
        await self._refresh_accounts(now)
        events: list[IncomingEvent] = []
        opened = resolved = 0

        newest = cursor.created_hwm
        async for page in self.client.iter_incidents(
            created_after=cursor.created_hwm - self.overlap, sort="createdAt:asc"
        ):
            for incident in page:
                key = str(incident.id)
                if incident.created_at is not None and incident.created_at > newest:
                    newest = incident.created_at
                if key in cursor.opened:
                    continue
                cursor.opened[key] = iso_utc(incident.created_at) or iso_utc(now) or ""
                events.append(self._event("incident.opened", incident))
                opened += 1
                if incident.is_resolved and key not in cursor.resolved:
                    cursor.resolved[key] = iso_utc(incident.resolved_at) or iso_utc(now) or ""
                    events.append(self._event("incident.resolved", incident))
                    resolved += 1
        # Without new incidents the mark would stay put and the window grow; cap it.
        cursor.created_hwm = max(newest, now - self.initial_lookback)
        horizon = cursor.created_hwm - self.overlap
        cursor.opened = {
            k: v for k, v in cursor.opened.items() if (parse_iso_utc(v) or horizon) >= horizon
        }

        due = (
            cursor.resolved_checked_at is None
            or now - cursor.resolved_checked_at >= self.resolved_interval
        )
        run_resolved = due if include_resolved is None else include_resolved
        if run_resolved:
            newest_resolved = cursor.resolved_hwm
            async for page in self.client.iter_incidents(
                status="resolved",
                resolved_after=cursor.resolved_hwm - self.resolved_overlap,
                sort="resolvedAt:asc",
            ):
                for incident in page:
                    key = str(incident.id)
                    if incident.resolved_at is not None and incident.resolved_at > newest_resolved:
                        newest_resolved = incident.resolved_at
                    if key in cursor.resolved:
                        continue
                    cursor.resolved[key] = iso_utc(incident.resolved_at) or iso_utc(now) or ""
                    events.append(self._event("incident.resolved", incident))
                    resolved += 1
            cursor.resolved_hwm = max(newest_resolved, now - self.initial_lookback)
            cursor.resolved_checked_at = now
        resolved_horizon = cursor.resolved_hwm - self.resolved_overlap
        cursor.resolved = {
            k: v
            for k, v in cursor.resolved.items()
            if (parse_iso_utc(v) or resolved_horizon) >= resolved_horizon
        }

        for event in events:
            await self.sink.append(event)
        await self.cursors.set_cursor(self.cursor_name, cursor.to_json())
        if events:
            log.info("rocketcyber incident poller: %d opened, %d resolved", opened, resolved)
        return IncidentPollSummary(opened, resolved, run_resolved)


# -- background jobs for the relay ----------------------------------------------------------------

PollerJob = Callable[[EventSink, CursorStore], Awaitable[None]]


def pulseway_device_job(client: Callable[[], PulsewayClient], **options: Any) -> PollerJob:
    """A relay background job: opens a client, runs a :class:`PulsewayDevicePoller` until
    cancelled, closes the client. ``options`` go to the poller (``interval=``, …)."""

    async def job(sink: EventSink, cursors: CursorStore) -> None:
        async with client() as pulseway:
            await PulsewayDevicePoller(pulseway, sink, cursors, **options).run()

    return job


def rocketcyber_incident_job(client: Callable[[], RocketCyberClient], **options: Any) -> PollerJob:
    """A relay background job: opens a client, runs a :class:`RocketCyberIncidentPoller` until
    cancelled, closes the client. ``options`` go to the poller (``interval=``, …)."""

    async def job(sink: EventSink, cursors: CursorStore) -> None:
        async with client() as rocketcyber:
            await RocketCyberIncidentPoller(rocketcyber, sink, cursors, **options).run()

    return job
