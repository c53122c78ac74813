"""The Alerts pane: live from the relay's event stream, keyboard-first triage.

Rows are alerts keyed by the seq of the event that opened them (``alert_seq``). A repeat of an
open alert raises that row's count; a state row (claim, ack, snooze, resolve, link) replaces the
row's state with the snapshot it carries. Applying rows in seq order is idempotent, so a resume
after a disconnect (which may replay a few rows) never double-counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any, TypeVar

import httpx
import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QDialog

from console.domain.names import ClientAsset
from console.odoo.errors import OdooGatewayError
from console.odoo.gateway import OdooGateway
from console.odoo.triage import AlertTriage, LinkTarget, TicketRef, TriageRefused, device_hints
from console.relay.client import RelayAuthError, RelayClient, RelayError, StreamMessage
from console.ui.dialogs import describe_failure
from console.ui.dialogs.alert_ticket import AlertTicketDialog
from console.ui.dialogs.link_alert import LinkAlertDialog
from console.ui.dialogs.snooze import SnoozeDialog
from console.ui.formatting import age_of, parse_odoo_datetime
from console.ui.models.records import Column, Row
from console.ui.panes.pane import TablePane, html_table

log = logging.getLogger(__name__)

ALERT_KINDS = frozenset({"alert", "incident.opened"})
STATE_KIND = "state"
#: a company partner awaiting a partner → Pulseway decision (console.relay.partner_watch)
PARTNER_PENDING_KIND = "partner.pending"
SEVERITY_ORDER = {"critical": 0, "elevated": 1, "normal": 2, "low": 3}
SEVERITY_COLOURS = {
    "critical": "#d64545",
    "elevated": "#e8833a",
    "normal": "#3c8fb5",
    "low": "#8a8f98",
}
SEVERITY_ICONS = {"critical": "⬤", "elevated": "▲", "normal": "●", "low": "○"}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_SNOOZE = timedelta(hours=1)
DialogT = TypeVar("DialogT", bound=QDialog)


def severity(row: Mapping[str, Any]) -> str:
    return str(row.get("priority") or "normal").strip().lower()


def _severity_colour(row: Mapping[str, Any]) -> Any:
    colour = SEVERITY_COLOURS.get(severity(row))
    return QColor(colour) if colour else None


def _device(row: Mapping[str, Any]) -> str:
    payload = row.get("payload") or {}
    return str(
        row.get("device_name")
        or payload.get("hostname")
        or payload.get("Name")
        or row.get("asset_name")
        or (row.get("device_id") or "")[:13]
    )


def _client(row: Mapping[str, Any]) -> str:
    """The client a person linked the alert to wins over the one found from the device."""
    return str(row.get("partner_name") or row.get("client_name") or "")


def _ticket(row: Mapping[str, Any]) -> str:
    ticket_id = row.get("ticket_id")
    return f"#{ticket_id} {row.get('ticket_name') or ''}".strip() if ticket_id else ""


COLUMNS = [
    Column(
        "priority",
        "Severity",
        95,
        display=lambda r: f"{SEVERITY_ICONS.get(severity(r), '●')} {severity(r).capitalize()}",
        sort_value=lambda r: SEVERITY_ORDER.get(severity(r), 9),
        roles={int(Qt.ItemDataRole.ForegroundRole): _severity_colour},
    ),
    Column("device_name", "Device", 150, display=_device),
    Column("client_name", "Client", 170, display=_client),
    Column("title", "Title", 280),
    Column(
        "last_seen",
        "Age",
        70,
        display=lambda r: age_of(r.get("received_at")),
        sort_value=lambda r: -(parse_odoo_datetime(r.get("received_at")) or _EPOCH).timestamp(),
        alignment=_RIGHT,
        filterable=False,
    ),
    Column("count", "Count", 60, sort_value=lambda r: r.get("count") or 0, alignment=_RIGHT),
    Column("state", "State", 90, display=lambda r: str(r.get("state") or "").capitalize()),
    Column("claimed_by", "Claimed by", 110),
    # appended (not inserted) so saved header layouts keep their column positions
    Column("asset_name", "Linked asset", 130, display=lambda r: str(r.get("asset_name") or "")),
    Column(
        "ticket_id",
        "Ticket",
        160,
        display=_ticket,
        sort_value=lambda r: int(r.get("ticket_id") or 0),
    ),
]

#: link arguments (relay ``link`` args) an alert row shows: what it is linked to, by name
LINK_FIELDS = ("asset_name", "partner_name", "ticket_id", "ticket_name")


def make_pane() -> TablePane:
    return TablePane("alerts", "Alerts", COLUMNS, key="seq", placeholder="Filter alerts (Ctrl+F)")


def alert_rows(message: StreamMessage) -> list[Row]:
    """What a stream message changes in the Alerts model (rows to upsert, keyed by ``seq``)."""
    data = message.data if isinstance(message.data, dict) else None
    if data is None:
        return []
    kind = data.get("kind")
    if kind == STATE_KIND:
        payload = data.get("payload") or {}
        snapshot = payload.get("alert")
        if not isinstance(snapshot, dict):
            return []
        row = dict(snapshot)
        if payload.get("action") == "link":
            args = payload.get("args") or {}
            row.update((name, args[name]) for name in LINK_FIELDS if name in args)
            if "asset_id" in args and "asset_name" not in args:
                row["asset_name"] = None  # linked to another asset (or none): old name is stale
        return [row]
    if kind not in ALERT_KINDS:
        return []
    if data.get("repeat"):
        return [
            {
                "seq": data["alert_seq"],
                "count": data.get("count"),
                "last_seen": data.get("last_seen") or data.get("received_at"),
            }
        ]
    return [dict(data)]


class AlertFeed(QObject):
    """Feeds the Alerts pane from the relay: a snapshot (open alerts, the last day's, their
    links, the latest facts of each device) then live, resuming after disconnects. A relay
    that has no snapshot is replayed from its first event.

    Also resolves device ids to asset hostnames and clients (one Odoo RPC per batch) and raises
    a tray notification for new Critical alerts unless muted.
    """

    #: relay reachable (True) or not (False, with the reason)
    relayStateChanged = Signal(bool, str)
    #: a new Critical alert arrived (the row)
    criticalAlert = Signal(object)
    #: a company partner became pending (partner → Pulseway approval), seen live
    partnerPending = Signal()

    def __init__(
        self,
        pane: TablePane,
        client: RelayClient,
        gateway: OdooGateway | None,
        *,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.pane = pane
        self.client = client
        self.gateway = gateway
        self.last_seq = 0
        self.last_event_at: datetime | None = None
        #: the snapshot was applied (or the relay has none): the stream goes on from last_seq
        self._started = False
        self._task: asyncio.Task[None] | None = None
        self._device_names: dict[str, tuple[str, str]] = {}
        self._unresolved: set[str] = set()
        self._resolve_timer = QTimer(self)
        self._resolve_timer.setSingleShot(True)
        self._resolve_timer.setInterval(200)
        self._resolve_timer.timeout.connect(self._resolve_devices)
        self._live = False
        self._lookups: set[asyncio.Future[None]] = set()
        #: latest ``device.*`` event payload per device id (lower case): hostname, serial and
        #: Pulseway organization/group, which the link dialog's suggestions start from
        self._device_events: dict[str, Mapping[str, Any]] = {}
        # a pane closed without stop(): nothing may touch its model afterwards
        pane.destroyed.connect(lambda *_: self._cancel_tasks())

    def device_facts(self, device_id: str | None) -> Mapping[str, Any] | None:
        """What the last Pulseway device event said about ``device_id`` (None if none seen)."""
        return self._device_events.get((device_id or "").lower())

    def is_live(self) -> bool:
        """The stream caught up with history and is following live events."""
        return self._live

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        self._cancel_tasks()
        if shiboken6.isValid(self._resolve_timer):  # not when the pane was destroyed first
            self._resolve_timer.stop()

    def _cancel_tasks(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for lookup in list(self._lookups):
            lookup.cancel()

    async def _run(self) -> None:
        """Follow the stream; after any disconnect say so (banner), wait a jittered backoff and
        resume from the last seq seen, so nothing is missed and nothing is applied twice."""
        while True:
            try:
                if not self._started:
                    await self._load_snapshot()
                async for message in self.client.stream(self.last_seq, reconnect=False):
                    self._apply(message)
                reason = "the relay closed the stream"
            except asyncio.CancelledError:
                raise
            except RelayAuthError as exc:
                self.relayStateChanged.emit(False, f"the relay refused this session: {exc}")
                log.warning("alert stream refused: %s", exc)
                return
            except (RelayError, httpx.HTTPError, OSError) as exc:
                reason = str(exc) or type(exc).__name__
            self._live = False
            self.relayStateChanged.emit(False, f"Relay unreachable ({reason}); reconnecting…")
            await asyncio.sleep(self.client.backoff.next_delay())

    async def _load_snapshot(self) -> None:
        """Start from the relay's snapshot instead of its whole history (months of events
        on a busy relay); what happens meanwhile comes on the stream after its last seq."""
        snapshot = await self.client.snapshot()
        self._started = True
        if snapshot is None:
            return  # an older relay: the stream replays everything from seq 0
        for row in snapshot.rows():
            self._apply(StreamMessage(None, str(row.get("kind") or ""), row))
        self.last_seq = snapshot.last_seq  # rows newer than it come again on the stream

    def _apply(self, message: StreamMessage) -> None:
        if message.kind == "ready":
            self._live = True
            self.relayStateChanged.emit(True, self.client.base_url)
            return
        if message.seq is not None:
            self.last_seq = max(self.last_seq, message.seq)
            self.last_event_at = datetime.now(UTC)
        data = message.data if isinstance(message.data, dict) else None
        if data is not None and self._live and data.get("kind") == PARTNER_PENDING_KIND:
            self.partnerPending.emit()
        if data is not None and str(data.get("kind") or "").startswith("device."):
            device_id = str(data.get("device_id") or "").lower()
            if device_id and isinstance(data.get("payload"), dict):
                self._device_events[device_id] = data["payload"]
        for row in alert_rows(message):
            self._upsert(row)

    def _upsert(self, row: Row) -> None:
        model = self.pane.model
        current = model.peek(row["seq"])  # includes rows still waiting for the next batch
        if current is None and "title" not in row:
            return  # a repeat of an alert outside what this console holds
        if current is not None and row.get("count") is not None:
            row["count"] = max(int(row["count"]), int(current.get("count") or 0))
        device_id = row.get("device_id") or (current or {}).get("device_id")
        if device_id:
            names = self._device_names.get(device_id.lower())
            if names:
                row["device_name"], row["client_name"] = names
            elif self.gateway is not None:
                self._unresolved.add(device_id.lower())
                if not self._resolve_timer.isActive():
                    self._resolve_timer.start()
        model.queue_upsert(row)
        if current is None and self._live and severity(row) == "critical":
            self.criticalAlert.emit(row)

    def _resolve_devices(self) -> None:
        pending, self._unresolved = self._unresolved, set()
        if pending and self.gateway is not None:
            self._lookups.add(task := asyncio.ensure_future(self._lookup(sorted(pending))))
            task.add_done_callback(self._lookups.discard)

    async def _lookup(self, device_ids: list[str]) -> None:
        assert self.gateway is not None
        try:
            with self.gateway.operation("alerts.devices"):
                assets = await self.gateway.search_read(
                    ClientAsset.MODEL,
                    [[ClientAsset.PULSEWAY_ID, "in", device_ids]],
                    [ClientAsset.PULSEWAY_ID, ClientAsset.NAME, ClientAsset.PARTNER],
                )
        except Exception as exc:  # names are a nicety; the alert shows without them
            log.info("could not resolve device names: %s", exc)
            return
        model = self.pane.model
        if not shiboken6.isValid(model):
            return  # the pane closed while Odoo answered
        for asset in assets:
            client = asset[ClientAsset.PARTNER][1] if asset.get(ClientAsset.PARTNER) else ""
            names = (str(asset[ClientAsset.NAME]), str(client))
            self._device_names[str(asset[ClientAsset.PULSEWAY_ID]).lower()] = names
        for row_number, row in enumerate(model.records()):
            found = self._device_names.get(str(row.get("device_id") or "").lower())
            if found and row.get("device_name") != found[0]:
                model.queue_upsert(
                    {
                        "seq": model.record(row_number)["seq"],
                        "device_name": found[0],
                        "client_name": found[1],
                    }
                )


class AlertActions(QObject):
    """Every action on the selected alerts: L link, T ticket, C claim, A ack, S snooze, R resolve
    (keys, the row context menu and the methods below), Enter opens the detail.

    State changes go through the relay's state API; the result comes back on the stream, so
    every console (this one included) shows it the same way, stamped ``{actor, sa}`` by the
    relay. A refusal (409 conflict, 403 scope, relay down) is shown in the pane and nothing is
    changed locally. Link and ticket read and write Odoo as the user (``triage``) in dialogs
    that show their own progress and errors.
    """

    #: a ticket was created or an alert attached to one (the Tickets pane reloads)
    ticketsChanged = Signal()
    #: a dialog opened (tests and the main window may want it)
    dialogOpened = Signal(object)

    def __init__(
        self,
        pane: TablePane,
        client: RelayClient,
        current_sa: Callable[[], int | None],
        parent: QObject | None = None,
        *,
        triage: Callable[[], AlertTriage | None] | None = None,
        device_facts: Callable[[str | None], Mapping[str, Any] | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.pane = pane
        self.client = client
        self.current_sa = current_sa
        self._triage = triage or (lambda: None)
        self._device_facts = device_facts or (lambda _device: None)
        self.dialog: QDialog | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.actions: dict[str, QAction] = {}
        for key, name, label, handler in (
            ("L", "link", "Link to asset or client…", self.link),
            ("T", "ticket", "Ticket…", self.ticket),
            ("C", "claim", "Claim", lambda: self.apply("claim")),
            ("A", "ack", "Acknowledge", lambda: self.apply("ack")),
            ("S", "snooze", "Snooze…", self.pick_snooze),
            ("R", "resolve", "Resolve", lambda: self.apply("resolve")),
        ):
            qaction = QAction(label, pane.view)
            qaction.setShortcut(QKeySequence(key))
            qaction.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            qaction.triggered.connect(lambda _checked=False, h=handler: h())
            pane.view.addAction(qaction)
            self.actions[name] = qaction
        # the view's actions (Open, then these) are its context menu
        pane.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        pane.recordActivated.connect(self.open_detail)

    # ------------------------------------------------------------------ state changes
    def apply(self, action: str) -> asyncio.Task[None] | None:
        """Claim, ack or resolve the selected alerts ("snooze" snoozes for the default hour)."""
        records = self.pane.selected_records()
        if not records:
            return None
        args: dict[str, Any] = {}
        if action == "snooze":
            args["until"] = (datetime.now(UTC) + DEFAULT_SNOOZE).isoformat()
        return self._spawn(self._send(action, [int(r["seq"]) for r in records], **args))

    def snooze(self, until: datetime) -> asyncio.Task[None] | None:
        """Snooze the selected alerts until ``until`` (aware)."""
        records = self.pane.selected_records()
        if not records:
            return None
        seqs = [int(r["seq"]) for r in records]
        return self._spawn(self._send("snooze", seqs, until=until.astimezone(UTC).isoformat()))

    def pick_snooze(self) -> SnoozeDialog | None:
        """S: the snooze picker for the selected alerts."""
        records = self.pane.selected_records()
        if not records:
            return None
        dialog = SnoozeDialog(len(records), self.pane)
        dialog.accepted.connect(lambda: self._snooze_chosen(dialog))
        return self._open(dialog)

    def _snooze_chosen(self, dialog: SnoozeDialog) -> None:
        until = dialog.until()
        if until is not None:
            self.snooze(until)

    async def _send(self, action: str, seqs: list[int], **args: Any) -> None:
        failures = []
        for seq in seqs:
            try:
                await self.client.change_state(seq, action, sa=self.current_sa(), **args)
            except RelayError as exc:
                failures.append(f"#{seq}: {describe_failure(exc)}")
        if failures:
            self.pane.show_status(
                f"Could not {action} {len(failures)} alert(s): " + "; ".join(failures[:3]),
                error=True,
            )
        else:
            self.pane.show_status("")

    # ------------------------------------------------------------------ detail
    def open_detail(self, _record: Row | None = None) -> None:
        """Enter: show the selected alert's detail (payload and history) and move focus there."""
        splitter = self.pane.splitter
        sizes = splitter.sizes()
        if len(sizes) == 2 and sizes[1] < 160:
            total = sum(sizes)
            splitter.setSizes([max(total - 260, 120), 260])
        if not self.pane.detail.toPlainText():  # selection renders it; only fill a blank panel
            self.pane.refresh_detail()
        self.pane.detail.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ------------------------------------------------------------------ link and ticket
    def _ready_triage(self) -> AlertTriage | None:
        triage = self._triage()
        if triage is None:
            self.pane.show_status(
                "Linking and tickets need an Odoo connection and a Serviced Account.", error=True
            )
        return triage

    def link(self) -> LinkAlertDialog | None:
        """L: link the selected alerts to an asset or client chosen in the link dialog."""
        record = self.pane.current_record()
        triage = self._ready_triage() if record is not None else None
        if record is None or triage is None:
            return None
        seqs = [int(r["seq"]) for r in self.pane.selected_records()] or [int(record["seq"])]

        async def record_link(target: LinkTarget) -> None:
            for seq in seqs:
                await self.client.change_state(
                    seq, "link", sa=self.current_sa(), **target.link_args()
                )
            self.pane.show_status("")

        hints = device_hints(record, self._device_facts(record.get("device_id")))
        dialog = LinkAlertDialog(triage, record, hints, record_link, self.pane, count=len(seqs))
        return self._open(dialog)

    def ticket(self) -> asyncio.Task[None] | None:
        """T: open a ticket for the current alert (linking it first if it is not linked)."""
        record = self.pane.current_record()
        triage = self._ready_triage() if record is not None else None
        if record is None or triage is None:
            return None
        return self._spawn(self._ticket_flow(record, triage))

    async def _ticket_flow(self, record: Row, triage: AlertTriage) -> None:
        self.pane.show_status("Looking up what this alert is linked to…")
        try:
            target = await triage.target_for_alert(record)
        except (TriageRefused, OdooGatewayError) as exc:
            self.pane.show_status(f"Cannot open a ticket: {describe_failure(exc)}", error=True)
            return
        self.pane.show_status("")
        if target is not None:
            self._open_ticket_dialog(triage, record, target)
            return
        hints = device_hints(record, self._device_facts(record.get("device_id")))
        picker = LinkAlertDialog(
            triage, record, hints, None, self.pane, purpose="Choose the ticket's client or asset"
        )
        picker.linked.connect(lambda chosen: self._open_ticket_dialog(triage, record, chosen))
        self._open(picker)

    def _open_ticket_dialog(
        self, triage: AlertTriage, record: Row, target: LinkTarget
    ) -> AlertTicketDialog:
        seq = int(record["seq"])

        async def record_ticket(ticket: TicketRef) -> None:
            await self.client.change_state(
                seq,
                "link",
                sa=self.current_sa(),
                ticket_id=ticket.id,
                ticket_name=ticket.name,
                **target.link_args(),
            )

        dialog = AlertTicketDialog(triage, record, target, record_ticket, self.pane)
        dialog.ticketDone.connect(lambda _ticket: self.ticketsChanged.emit())
        return self._open(dialog)

    # ------------------------------------------------------------------ plumbing
    def _open(self, dialog: DialogT) -> DialogT:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.reject()  # one action dialog at a time
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._closed(dialog))
        dialog.open()
        self.dialogOpened.emit(dialog)
        return dialog

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        self.pane.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _spawn(self, work: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def sa_row_filter(sa_ids: set[int], sees_unmatched: bool) -> Callable[[Row], bool]:
    """Alerts of the SAs in force (the switcher narrows; the relay already bounds to the user's
    scope). Alerts with no SA yet are the unmatched queue: dispatchers and managers only."""

    def accepts(row: Row) -> bool:
        stamped = set(row.get("sa_ids") or ())
        if not stamped:
            return sees_unmatched
        return bool(stamped & sa_ids)

    return accepts


def detail_renderer(client: RelayClient) -> Callable[[Row], Any]:
    async def render(row: Row) -> str:
        detail = await client.event(int(row["seq"]))
        history = detail.get("history") or []
        items = "".join(
            f"<li>{escape(str(h.get('at', '')))} — <b>{escape(str(h.get('actor', '')))}</b> "
            f"{escape(str(h.get('action', '')))}</li>"
            for h in history
        )
        facts = html_table(
            {
                "Severity": severity(row).capitalize(),
                "Device": _device(row),
                "Client": _client(row),
                "Linked asset": row.get("asset_name"),
                "Ticket": _ticket(row),
                "Received": row.get("received_at"),
                "Last seen": row.get("last_seen"),
                "Repeats": row.get("count"),
                "State": row.get("state"),
                "Claimed by": row.get("claimed_by"),
                "Source": row.get("source"),
            }
        )
        payload = json.dumps(row.get("payload") or {}, indent=2, sort_keys=True)
        return (
            f"<h3>{escape(str(row.get('title') or ''))}</h3>{facts}"
            f"<h4>History</h4><ul>{items or '<li>no changes yet</li>'}</ul>"
            f"<h4>Raw payload</h4><pre>{escape(payload)}</pre>"
        )

    return render
