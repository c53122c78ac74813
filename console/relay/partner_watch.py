"""New company partners → ``pending`` Pulseway pushes, exactly once (DESIGN §7.4, seed T012).

The seed pushed every new company to Pulseway from an Odoo automated action; here a new company
lands as ``pending`` for a manager to approve. Odoo gives new partners ``pending`` through the
field's default (``psa provision`` sets it), but partners created with the state explicitly
empty, by imports or before provisioning have none. This relay job, running as the relay's
Odoo service account, polls ``res.partner`` for companies and

* sets ``x_pulseway_sync_state = 'pending'`` on every company whose state is unset (re-checked
  in the write's own domain, so a decision a manager made meanwhile is never overwritten);
* appends one ``odoo`` / ``partner.pending`` event per company that is pending, with
  ``external_id = "partner:{id}:pending"`` — the event log refuses a second event with the same
  id, so a company "becomes pending" once however often it is seen (restarts, overlaps), and
  consoles are told through the stream (``sa_ids`` = the SAs it is assigned to; none: managers
  and dispatchers only).

**Cursor.** Kept in the relay's store (``odoo.partners``) as the newest ``create_date`` seen. A
pass reads companies created at or after that instant *minus an overlap* (5 minutes by
default): partners created in the same second as the cursor, and transactions that commit a
little after a later one, are read again rather than missed; the event log's dedupe makes the
re-read harmless. The cursor is saved only after the writes and events of the pass, so a crash
repeats a pass instead of skipping one.

**First run** (no cursor): every company is read once. Companies whose state is unset become
``synced`` when they already carry a Pulseway organization id (they were linked before this
workflow existed) and ``pending`` otherwise (``first_run_state``; pass ``"skipped"`` to start
with an empty queue instead) — documented in docs/notes/approvals.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from console.domain.names import Partner, PulsewaySyncState, SaClient
from console.odoo.errors import OdooGatewayError
from console.odoo.gateway import OdooGateway
from console.relay.events import CursorStore, EventSink, IncomingEvent
from console.relay.pollers import PollBackoff

log = logging.getLogger(__name__)

ODOO_SOURCE: Final = "odoo"
PENDING_KIND: Final = "partner.pending"
CURSOR_NAME: Final = "odoo.partners"
_ODOO_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


async def own_company_partners(gateway: OdooGateway) -> list[int]:
    """The partners of the MSP's own companies (``res.company.partner_id``): never clients.

    Odoo already gives them ``partner_share = False``; reading them explicitly keeps them out
    where a server computes that differently.
    """
    rows = await gateway.search_read("res.company", [], ["partner_id"])
    return sorted({int(r["partner_id"][0]) for r in rows if r.get("partner_id")})


def pending_external_id(partner_id: int) -> str:
    """The event-log identity of "partner ``partner_id`` became pending" (one per partner)."""
    return f"partner:{int(partner_id)}:pending"


@dataclass(frozen=True, slots=True)
class WatchSummary:
    """What one pass did."""

    companies: int
    marked_pending: int
    marked_synced: int
    announced: int
    first_run: bool


def _parse_odoo_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.strptime(value[:19], _ODOO_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


class PartnerWatcher:
    """Polls Odoo for new company partners and queues them for approval (see module doc)."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[OdooGateway]],
        sink: EventSink,
        cursors: CursorStore,
        *,
        interval: float = 60.0,
        overlap: timedelta = timedelta(minutes=5),
        cursor_name: str = CURSOR_NAME,
        first_run_state: str = PulsewaySyncState.PENDING.value,
        backoff: PollBackoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if first_run_state not in (PulsewaySyncState.PENDING, PulsewaySyncState.SKIPPED):
            raise ValueError("first_run_state must be 'pending' or 'skipped'")
        self._connect = connect
        self._gateway: OdooGateway | None = None
        self.sink = sink
        self.cursors = cursors
        self.interval = interval
        self.overlap = overlap
        self.cursor_name = cursor_name
        self.first_run_state = first_run_state
        self.backoff = backoff or PollBackoff(base=10.0, maximum=600.0)
        self.rng = rng or random.Random()

    async def _odoo(self) -> OdooGateway:
        if self._gateway is None:
            self._gateway = await self._connect()
        return self._gateway

    def close(self) -> None:
        """Release the Odoo connection."""
        if self._gateway is not None:
            self._gateway.close()
            self._gateway = None

    async def _load_cursor(self) -> datetime | None:
        text = await self.cursors.get_cursor(self.cursor_name)
        if not text:
            return None
        try:
            data = json.loads(text)
            since = _parse_odoo_datetime(data["since"]) if isinstance(data, dict) else None
        except (ValueError, KeyError, TypeError):
            since = None
        if since is None:
            log.warning("partner watch: unreadable cursor %r; reading every company", text)
        return since

    async def _set_state(
        self, gateway: OdooGateway, ids: list[int], state: PulsewaySyncState
    ) -> list[int]:
        """Write ``state`` on those of ``ids`` whose state is still unset; the ids written."""
        if not ids:
            return []
        still_unset: list[int] = await gateway.call(
            Partner.MODEL,
            "search",
            [["id", "in", ids], [Partner.PULSEWAY_SYNC_STATE, "=", False]],
        )
        if still_unset:
            await gateway.call(
                Partner.MODEL,
                "write",
                sorted(still_unset),
                {Partner.PULSEWAY_SYNC_STATE: state.value},
            )
        return sorted(still_unset)

    async def _sa_ids(self, gateway: OdooGateway, partner_ids: list[int]) -> dict[int, list[int]]:
        if not partner_ids:
            return {}
        edges = await gateway.search_read(
            SaClient.MODEL, [[SaClient.PARTNER, "in", partner_ids]], [SaClient.PARTNER, SaClient.SA]
        )
        result: dict[int, list[int]] = {}
        for edge in edges:
            partner, sa = edge.get(SaClient.PARTNER), edge.get(SaClient.SA)
            if partner and sa:
                result.setdefault(int(partner[0]), []).append(int(sa[0]))
        return result

    async def poll_once(self) -> WatchSummary:
        """One pass: read companies since the cursor, mark, announce, then save the cursor."""
        gateway = await self._odoo()
        since = await self._load_cursor()
        first_run = since is None
        # partner_share False: the MSP's own company and users' partners, never clients
        domain: list[Any] = [[Partner.IS_COMPANY, "=", True], [Partner.PARTNER_SHARE, "=", True]]
        if since is not None:
            domain.append(["create_date", ">=", (since - self.overlap).strftime(_ODOO_FORMAT)])
        rows: list[dict[str, Any]] = []
        with gateway.operation("partner_watch"):
            own = await own_company_partners(gateway)
            if own:
                domain.append(["id", "not in", own])
            async for page in gateway.search_read_pages(
                Partner.MODEL,
                domain,
                [
                    Partner.NAME,
                    Partner.PULSEWAY_SYNC_STATE,
                    Partner.PULSEWAY_ORG_ID,
                    "create_date",
                ],
                order="create_date asc, id asc",
            ):
                rows.extend(page)
            unset = [r for r in rows if not r.get(Partner.PULSEWAY_SYNC_STATE)]
            linked = [int(r["id"]) for r in unset if first_run and r.get(Partner.PULSEWAY_ORG_ID)]
            synced = await self._set_state(gateway, linked, PulsewaySyncState.SYNCED)
            to_queue = [int(r["id"]) for r in unset if int(r["id"]) not in set(linked)]
            queue_state = (
                PulsewaySyncState(self.first_run_state) if first_run else PulsewaySyncState.PENDING
            )
            marked = await self._set_state(gateway, to_queue, queue_state)
            states = {int(r["id"]): r.get(Partner.PULSEWAY_SYNC_STATE) for r in rows}
            for partner_id in marked:
                states[partner_id] = queue_state.value
            pending = [pid for pid, state in states.items() if state == PulsewaySyncState.PENDING]
            sa_ids = await self._sa_ids(gateway, pending)
        names = {int(r["id"]): str(r.get(Partner.NAME) or "") for r in rows}
        created = {int(r["id"]): r.get("create_date") for r in rows}
        announced = 0
        for partner_id in pending:
            result = await self.sink.append(
                IncomingEvent(
                    source=ODOO_SOURCE,
                    kind=PENDING_KIND,
                    external_id=pending_external_id(partner_id),
                    title=names[partner_id],
                    sa_ids=tuple(sorted(set(sa_ids.get(partner_id, [])))),
                    payload={
                        "partner_id": partner_id,
                        "name": names[partner_id],
                        "created_at": created[partner_id],
                        "marked_by_watcher": partner_id in marked,
                    },
                )
            )
            announced += 0 if result.duplicate else 1
        newest = max(
            (d for d in (_parse_odoo_datetime(c) for c in created.values()) if d is not None),
            default=since,
        )
        if newest is not None:
            cursor = {"v": 1, "since": newest.strftime(_ODOO_FORMAT)}
            await self.cursors.set_cursor(self.cursor_name, json.dumps(cursor))
        summary = WatchSummary(len(rows), len(marked), len(synced), announced, first_run)
        if marked or synced or announced:
            log.info(
                "partner watch: %d companies read, %d marked %s, %d marked synced, %d announced",
                summary.companies,
                summary.marked_pending,
                queue_state.value,
                summary.marked_synced,
                summary.announced,
            )
        return summary

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll every ``interval`` seconds until ``stop``; an outage backs off and retries."""
        stop = stop or asyncio.Event()
        failures = 0
        try:
            while not stop.is_set():
                delay = self.interval
                try:
                    await self.poll_once()
                    failures = 0
                except OdooGatewayError as exc:
                    failures += 1
                    delay = self.backoff.delay(failures, self.rng)
                    log.warning("partner watch: pass failed, next try in %.0fs: %s", delay, exc)
                    if not exc.retryable:
                        self.close()  # log in again next time (password changed, db gone…)
                except Exception:
                    failures += 1
                    delay = self.backoff.delay(failures, self.rng)
                    log.exception("partner watch: unexpected failure, next try in %.0fs", delay)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, delay))
                except TimeoutError:
                    pass
        finally:
            self.close()


def partner_watch_job(
    url: str,
    db: str,
    user: str,
    password: str,
    *,
    interval: float = 60.0,
    first_run_state: str = PulsewaySyncState.PENDING.value,
) -> Callable[[EventSink, CursorStore], Awaitable[None]]:
    """A relay background job running :class:`PartnerWatcher` with the service account."""

    async def job(sink: EventSink, cursors: CursorStore) -> None:
        async def connect() -> OdooGateway:
            return await OdooGateway.connect(url, db, user, password, max_workers=1)

        watcher = PartnerWatcher(
            connect, sink, cursors, interval=interval, first_run_state=first_run_state
        )
        await watcher.run()

    return job
