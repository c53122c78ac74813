"""The Unmatched pane: Pulseway groups (and RocketCyber accounts) that map to no client.

One row per group the relay's rules worker could not place, with its device count, waiting
alerts and the reason; the detail panel previews both. A dispatcher resolves a row once:

* **Map to partner… (M / Enter)** — a searchable list of the clients they can see, with ranked
  suggestions and the reason for each;
* **Create company… (N)** — a new client company, assigned to the SA in force and linked to
  the Pulseway organization.

The choice is saved in ``x_pulseway_group_map`` *as the user* (Odoo's rules decide who may);
then the relay creates the assets of every device of the group and turns its waiting alerts
into tickets, and the pane shows what it did in a message strip with **Undo**. Undo asks the
relay to retire what that resolution created, then clears the map row, again as the user.

Dispatchers and managers only: the main window adds the pane when the relay session says the
user sees unmatched events. The list refreshes when relay events arrive (debounced) and on F5.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.matching import PartnerCandidate, PulsewayGroupRef, rank_partners_for_group
from console.domain.names import Partner, PulsewayGroupMap, SaClient
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership
from console.relay.client import RelayClient, RelayError
from console.ui.dialogs.map_partner import CreateCompanyDialog, MapPartnerDialog
from console.ui.models.records import Column, Row
from console.ui.panes.pane import TablePane, html_table

log = logging.getLogger(__name__)

#: the relay's pseudo-group of alerts on devices never seen (cannot be mapped as a group)
UNKNOWN_DEVICES_KEY = "unknown-devices"
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def group_name(row: Mapping[str, Any]) -> str:
    """What a dispatcher recognises: the organization, else the group, else the key."""
    return str(row.get("organization_name") or row.get("group_name") or row.get("key") or "")


def _where(row: Mapping[str, Any]) -> str:
    if row.get("key") == UNKNOWN_DEVICES_KEY:
        return "devices never seen"
    if row.get("source") == "rocketcyber":
        return "RocketCyber account"
    org = row.get("organization_id")
    return f"Pulseway organization {org}" if org else "Pulseway group"


COLUMNS = [
    Column("name", "Group / organization", 240, display=group_name),
    Column("where", "Seen in", 190, display=_where),
    Column(
        "device_count",
        "Devices",
        80,
        display=lambda r: str(r.get("device_count") or 0),
        sort_value=lambda r: int(r.get("device_count") or 0),
        alignment=_RIGHT,
    ),
    Column(
        "waiting_alerts",
        "Waiting alerts",
        120,
        display=lambda r: str(r.get("waiting_alerts") or 0),
        sort_value=lambda r: int(r.get("waiting_alerts") or 0),
        alignment=_RIGHT,
    ),
    Column("reason", "Why it is unmatched", 420),
]


def rows_from(body: Mapping[str, Any]) -> list[Row]:
    """Pane rows from ``GET /api/unmatched`` (the unknown-devices row when it holds alerts)."""
    rows = [dict(group) for group in body.get("groups", [])]
    unknown = body.get("unknown_devices") or {}
    if unknown.get("waiting_alerts"):
        rows.append(dict(unknown))
    return rows


def group_ref(row: Mapping[str, Any]) -> PulsewayGroupRef:
    """The row as the domain's matching input."""
    org = row.get("organization_id")
    return PulsewayGroupRef(
        org_id=int(org) if isinstance(org, int) and org > 0 else None,
        org_name=row.get("organization_name"),
        group_name=row.get("group_name"),
        site_name=row.get("site_name"),
    )


def render_detail(row: Mapping[str, Any]) -> str:
    """Detail panel HTML: facts, then the device and alert previews."""
    facts = html_table(
        {
            "Seen in": _where(row),
            "Organization id": row.get("organization_id"),
            "Group": row.get("group_name"),
            "Why": row.get("reason"),
        }
    )
    device_rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(d.get(k) or ''))}</td>"
            for k in ("hostname", "serial", "os", "last_seen", "device_id")
        )
        + "</tr>"
        for d in row.get("devices", [])
    )
    alert_rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(a.get(k) or ''))}</td>"
            for k in ("priority", "title", "count", "last_seen", "device_id")
        )
        + "</tr>"
        for a in row.get("alerts", [])
    )
    more_devices = int(row.get("device_count") or 0) - len(row.get("devices", []))
    more_alerts = int(row.get("waiting_alerts") or 0) - len(row.get("alerts", []))
    return (
        f"<h3>{escape(group_name(row))}</h3>{facts}"
        f"<h4>Devices ({int(row.get('device_count') or 0)})</h4>"
        "<table cellspacing='4'><tr><th>Hostname</th><th>Serial</th><th>OS</th>"
        f"<th>Last seen</th><th>Device id</th></tr>{device_rows}</table>"
        + (f"<p>… and {more_devices} more</p>" if more_devices > 0 else "")
        + f"<h4>Waiting alerts ({int(row.get('waiting_alerts') or 0)})</h4>"
        "<table cellspacing='4'><tr><th>Priority</th><th>Title</th><th>Count</th>"
        f"<th>Last seen</th><th>Device</th></tr>{alert_rows}</table>"
        + (f"<p>… and {more_alerts} more</p>" if more_alerts > 0 else "")
    )


# --------------------------------------------------------------------------------------------
# Odoo, as the user


async def load_partner_choices(
    gateway: OdooGateway, row: Mapping[str, Any]
) -> tuple[list[PartnerCandidate], list[Any]]:
    """The client companies the user can see and the ranked suggestions for ``row``."""
    with gateway.operation("unmatched.partners"):
        partners = await gateway.search_read(
            Partner.MODEL,
            [[Partner.IS_COMPANY, "=", True], [Partner.PARTNER_SHARE, "=", True]],
            [Partner.NAME, Partner.PULSEWAY_ORG_ID],
            order="name",
        )
        maps = await gateway.search_read(
            PulsewayGroupMap.MODEL,
            [[PulsewayGroupMap.PARTNER, "!=", False]],
            [PulsewayGroupMap.PULSEWAY_ORG_ID, PulsewayGroupMap.PARTNER],
        )
    linked: dict[int, set[int]] = {}
    for entry in maps:
        partner = entry.get(PulsewayGroupMap.PARTNER)
        org = entry.get(PulsewayGroupMap.PULSEWAY_ORG_ID)
        if isinstance(partner, list) and partner and isinstance(org, int) and org > 0:
            linked.setdefault(int(partner[0]), set()).add(org)
    candidates = []
    for partner in partners:
        orgs = set(linked.get(int(partner["id"]), set()))
        org = partner.get(Partner.PULSEWAY_ORG_ID)
        if isinstance(org, int) and org > 0:
            orgs.add(org)
        candidates.append(
            PartnerCandidate(int(partner["id"]), str(partner[Partner.NAME]), frozenset(orgs))
        )
    return candidates, rank_partners_for_group(group_ref(row), candidates)


async def save_group_map(gateway: OdooGateway, row: Mapping[str, Any], partner_id: int) -> int:
    """Point the group's ``x_pulseway_group_map`` row at ``partner_id`` (create it if there is
    none the user can see); returns its id. Odoo's rules decide whether the user may."""
    assert gateway.user is not None
    org = row.get("organization_id")
    name = group_name(row)
    domain: list[Any] = (
        [[PulsewayGroupMap.PULSEWAY_ORG_ID, "=", org]]
        if isinstance(org, int) and org > 0
        else [[PulsewayGroupMap.NAME, "=ilike", name]]
    )
    values: dict[str, Any] = {
        PulsewayGroupMap.PARTNER: partner_id,
        PulsewayGroupMap.RESOLVED_BY: gateway.user.uid,
        PulsewayGroupMap.RESOLVED_AT: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    with gateway.operation("unmatched.map"):
        existing = await gateway.search_read(
            PulsewayGroupMap.MODEL, domain, [PulsewayGroupMap.PARTNER], order="id"
        )
        if existing:
            unmatched_first = sorted(existing, key=lambda r: bool(r[PulsewayGroupMap.PARTNER]))
            map_id = int(unmatched_first[0]["id"])
            await gateway.call(PulsewayGroupMap.MODEL, "write", [map_id], values)
            return map_id
        values[PulsewayGroupMap.NAME] = name
        values[PulsewayGroupMap.PULSEWAY_ORG_ID] = org if isinstance(org, int) else 0
        created = await gateway.call(PulsewayGroupMap.MODEL, "create", values)
        return int(created[0] if isinstance(created, list) else created)


async def clear_group_map(gateway: OdooGateway, map_id: int) -> None:
    """Undo: the map row goes back to unmatched (the row stays, for the record)."""
    with gateway.operation("unmatched.unmap"):
        await gateway.call(
            PulsewayGroupMap.MODEL,
            "write",
            [map_id],
            {PulsewayGroupMap.PARTNER: False, PulsewayGroupMap.RESOLVED_BY: False},
        )


async def create_company(
    gateway: OdooGateway, name: str, row: Mapping[str, Any], membership: Membership
) -> int:
    """A new client company assigned to ``membership``'s SA, linked to the Pulseway
    organization when the row has one (so no push approval is needed for it)."""
    assert gateway.user is not None
    org = row.get("organization_id")
    values: dict[str, Any] = {Partner.NAME: name, Partner.IS_COMPANY: True}
    if isinstance(org, int) and org > 0:
        values[Partner.PULSEWAY_ORG_ID] = org
        values[Partner.PULSEWAY_SYNC_STATE] = "synced"
    with gateway.operation("unmatched.create_company"):
        created = await gateway.call(Partner.MODEL, "create", values)
        partner_id = int(created[0] if isinstance(created, list) else created)
        await gateway.call(
            SaClient.MODEL,
            "create",
            {
                SaClient.SA: membership.sa_id,
                SaClient.PARTNER: partner_id,
                SaClient.USER: gateway.user.uid,
            },
        )
    return partner_id


def summary_text(summary: Mapping[str, Any], what: str) -> str:
    """The message strip's text after a resolution."""
    parts = [
        f"{summary.get('assets_created', 0)} assets created",
        f"{summary.get('tickets_created', 0)} tickets created",
    ]
    if summary.get("assets_updated"):
        parts.insert(1, f"{summary['assets_updated']} assets updated")
    if summary.get("alerts_attached"):
        parts.append(f"{summary['alerts_attached']} alerts added to open tickets")
    return f"{what}: " + ", ".join(parts) + "."


def undo_text(summary: Mapping[str, Any], what: str) -> str:
    """The message strip's text after an undo."""
    kept = summary.get("tickets_kept_open", 0)
    text = (
        f"Undone {what}: {summary.get('assets_retired', 0)} assets decommissioned, "
        f"{summary.get('tickets_closed', 0)} tickets cancelled, "
        f"{summary.get('alerts_unmatched', 0)} alerts back in the queue."
    )
    if kept:
        text += f" {kept} tickets stay open because someone worked on them."
    return text


# --------------------------------------------------------------------------------------------
# The pane


class MessageStrip(QFrame):
    """A non-modal strip above the table: what the last action did, with Undo."""

    undoRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unmatchedMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setObjectName("unmatchedMessageText")
        self.label.setWordWrap(True)
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setObjectName("unmatchedUndo")
        self.undo_button.setToolTip("Retire what this resolution created (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undoRequested)
        self.close_button = QPushButton("Dismiss", self)
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.undo_button)
        layout.addWidget(self.close_button)
        self.hide()

    def show_message(self, text: str, *, error: bool = False, undo: bool = False) -> None:
        colour = "#d64545" if error else "#1f9d7a"
        self.label.setText(f"<span style='color:{colour}'>{escape(text)}</span>")
        self.undo_button.setVisible(undo)
        self.show()


class UnmatchedPane(TablePane):
    """The queue as a :class:`TablePane` with Map/Create actions and the message strip."""

    #: a group was resolved: the relay's summary (plus ``map_id`` and ``name``)
    resolved = Signal(object)
    #: a resolution was undone: the relay's summary
    undone = Signal(object)
    #: an action failed: the message shown
    actionFailed = Signal(str)
    #: a dialog was opened (tests, screenshots)
    dialogOpened = Signal(object)

    def __init__(
        self, gateway: OdooGateway, relay: RelayClient, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "unmatched",
            "Unmatched",
            COLUMNS,
            key="key",
            placeholder="Filter unmatched groups (Ctrl+F)",
            parent=parent,
        )
        self.gateway = gateway
        self.relay = relay
        self.membership: Membership | None = None
        self.last_resolution: dict[str, Any] | None = None
        self._action: asyncio.Task[None] | None = None
        self._dialog_task: asyncio.Task[None] | None = None
        self.set_detail_renderer(render_detail)
        self._build_actions()
        self.recordActivated.connect(lambda _row: self.open_map_dialog())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self._update_actions()

    # ------------------------------------------------------------------ widgets
    def _build_actions(self) -> None:
        bar = QWidget(self)
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(0, 0, 0, 0)
        self.map_button = QPushButton("Map to partner… (M)", bar)
        self.map_button.setObjectName("unmatchedMap")
        self.map_button.setToolTip(
            "Map the selected group to a client: its devices become assets and its alerts "
            "tickets (M or Enter)"
        )
        self.create_button = QPushButton("Create company… (N)", bar)
        self.create_button.setObjectName("unmatchedCreate")
        self.create_button.setToolTip(
            "Create the client company in the SA in force and map the group to it (N)"
        )
        self.busy_label = QLabel(bar)
        self.busy_label.setObjectName("unmatchedBusy")
        layout.addWidget(self.map_button)
        layout.addWidget(self.create_button)
        layout.addWidget(self.busy_label, 1)
        self.map_button.clicked.connect(self.open_map_dialog)
        self.create_button.clicked.connect(self.open_create_dialog)
        self.strip = MessageStrip(self)
        self.strip.undoRequested.connect(self.undo_last)
        outer = self.layout()
        assert isinstance(outer, QVBoxLayout)
        outer.insertWidget(1, bar)
        outer.insertWidget(2, self.strip)
        self.action_bar = bar
        self.set_row_keys(
            {Qt.Key.Key_M: self.open_map_dialog, Qt.Key.Key_N: self.open_create_dialog}
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if (
                event.key() == Qt.Key.Key_Z
                and event.modifiers() == Qt.KeyboardModifier.ControlModifier
                and not self.strip.undo_button.isHidden()
                and not self.strip.isHidden()
            ):
                self.undo_last()
                return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ state
    def is_busy(self) -> bool:
        return self._action is not None and not self._action.done()

    def _mappable(self) -> Row | None:
        row = self.current_record()
        if row is None or row.get("key") == UNKNOWN_DEVICES_KEY:
            return None
        return row

    def _update_actions(self) -> None:
        row = self.current_record()
        usable = self.membership is not None and not self.is_busy()
        mappable = row is not None and row.get("key") != UNKNOWN_DEVICES_KEY
        self.map_button.setEnabled(usable and mappable)
        self.create_button.setEnabled(usable and mappable)
        if row is not None and not mappable:
            self.busy_label.setText(
                "Alerts on devices never seen are linked one by one from the Alerts pane (L)."
            )
        elif not self.is_busy():
            self.busy_label.setText("")

    def set_membership(self, membership: Membership) -> None:
        """The SA in force (new companies are assigned to it)."""
        self.membership = membership
        self._update_actions()

    # ------------------------------------------------------------------ loading
    def loader(self) -> Callable[[Callable[[int, int], None]], AsyncIterator[list[Row]]]:
        relay = self.relay

        async def load(progress: Callable[[int, int], None]) -> AsyncIterator[list[Row]]:
            body = await relay.unmatched()
            rows = rows_from(body)
            progress(len(rows), len(rows))
            yield rows

        return load

    def reload(self, *, keep_rows: bool = True) -> None:
        """Read the queue from the relay again (F5, after an action, on relay events)."""
        self.start_load(self.loader(), keep_rows=keep_rows)

    def refresh(self) -> None:
        """Relay events settled (:meth:`schedule_refresh`): read the queue again."""
        self.reload(keep_rows=True)

    # ------------------------------------------------------------------ actions
    def _run(self, work: Awaitable[None], busy_text: str) -> None:
        self._action = asyncio.ensure_future(work)
        self.busy_label.setText(busy_text)
        self._update_actions()
        self._action.add_done_callback(lambda _task: self._update_actions())

    def _fail(self, message: str) -> None:
        log.warning("unmatched pane: %s", message)
        self.strip.show_message(message, error=True)
        self.actionFailed.emit(message)

    def open_map_dialog(self) -> MapPartnerDialog | None:
        """Choose a client for the selected group (suggestions first)."""
        row = self._mappable()
        if row is None or self.is_busy() or self.membership is None:
            return None
        dialog = MapPartnerDialog(group_name(row), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.partnerChosen.connect(
            lambda partner_id, name: self._run(
                self._map(row, partner_id, name), f"Mapping {group_name(row)} to {name}…"
            )
        )

        async def fill() -> None:
            try:
                partners, suggestions = await load_partner_choices(self.gateway, row)
            except Exception as exc:
                dialog.set_error(f"Could not read the clients from Odoo: {exc}")
                return
            dialog.set_partners(partners, suggestions)

        if self._dialog_task is not None:
            self._dialog_task.cancel()
        self._dialog_task = asyncio.ensure_future(fill())
        dialog.finished.connect(lambda _code: self._dialog_task and self._dialog_task.cancel())
        dialog.open()
        self.dialogOpened.emit(dialog)
        return dialog

    def open_create_dialog(self) -> CreateCompanyDialog | None:
        """Create the company for the selected group, in the SA in force, and map to it."""
        row = self._mappable()
        if row is None or self.is_busy() or self.membership is None:
            return None
        membership = self.membership
        dialog = CreateCompanyDialog(group_name(row), membership.sa_name, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.nameChosen.connect(
            lambda name: self._run(self._create_and_map(row, name, membership), f"Creating {name}…")
        )
        dialog.open()
        self.dialogOpened.emit(dialog)
        return dialog

    async def _create_and_map(self, row: Row, name: str, membership: Membership) -> None:
        try:
            partner_id = await create_company(self.gateway, name, row, membership)
        except Exception as exc:
            self._fail(f"Could not create {name} in Odoo: {exc}. Nothing was changed.")
            return
        await self._map(row, partner_id, name)

    async def _map(self, row: Row, partner_id: int, partner_name: str) -> None:
        what = f"{group_name(row)} → {partner_name}"
        try:
            map_id = await save_group_map(self.gateway, row, partner_id)
        except Exception as exc:
            self._fail(f"Odoo refused to save the mapping {what}: {exc}")
            return
        try:
            summary = await self.relay.resolve_unmatched(str(row["key"]), map_id)
        except RelayError as exc:
            self._fail(
                f"The mapping {what} is saved in Odoo, but the relay could not apply it yet: "
                f"{exc}. New devices of the group follow the mapping; press F5 and try again "
                "to create the waiting assets and tickets now."
            )
            return
        summary = {**summary, "map_id": map_id, "name": what}
        self.last_resolution = summary
        self.strip.show_message(summary_text(summary, what), undo=True)
        self.resolved.emit(summary)
        self.reload(keep_rows=True)

    def undo_last(self) -> None:
        """Undo the resolution shown in the strip."""
        if self.last_resolution is None or self.is_busy():
            return
        self._run(self._undo(self.last_resolution), "Undoing…")

    async def _undo(self, resolution: Mapping[str, Any]) -> None:
        what = str(resolution.get("name") or "")
        try:
            summary = await self.relay.undo_unmatched(int(resolution["resolution_id"]))
        except RelayError as exc:
            self._fail(f"Could not undo {what}: {exc}")
            return
        self.last_resolution = None
        text = undo_text(summary, what)
        try:
            await clear_group_map(self.gateway, int(resolution["map_id"]))
        except Exception as exc:
            text += (
                f" The mapping row in Odoo could not be cleared ({exc}); the relay ignores it, "
                "but ask a manager to delete it."
            )
        self.strip.show_message(text)
        self.undone.emit(summary)
        self.reload(keep_rows=True)


def make_pane(gateway: OdooGateway, relay: RelayClient) -> UnmatchedPane:
    """The Unmatched pane for the main window."""
    return UnmatchedPane(gateway, relay)
