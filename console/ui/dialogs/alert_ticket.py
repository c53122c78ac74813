"""T — a helpdesk ticket from an alert: create one, or attach the alert to an open ticket.

*Create* makes "Alert: {title}" as the logged-in user: the alert's message as description,
client and asset from the link, the SA in force, the alert key and relay seq, the priority from
the domain's map. *Attach* lists the open tickets of the client (and any carrying this alert's
key, first), searchable; attaching posts a chatter line and raises ``x_alert_count``.

Then the result is recorded on the alert through the relay (``link`` with ``ticket_id``), so
every console shows the ticket. Each step runs once: after a failure the dialog says what was
done and what was not, and **Retry** continues from the failed step (a ticket is never created
twice, a count never bumped twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import ticket_priority
from console.odoo.triage import AlertTriage, AttachProgress, LinkTarget, TicketRef
from console.ui.dialogs import AsyncDialog, describe_failure
from console.ui.formatting import TICKET_PRIORITIES

_TICKET_ROLE = int(Qt.ItemDataRole.UserRole)
SEARCH_DELAY_MS = 250


class AlertTicketDialog(AsyncDialog):
    """Create or attach (see the module docstring); ``ticketDone`` carries the
    :class:`TicketRef` once Odoo and the relay both have it."""

    ticketDone = Signal(object)

    def __init__(
        self,
        triage: AlertTriage,
        alert: Mapping[str, Any],
        target: LinkTarget,
        record: Callable[[TicketRef], Awaitable[None]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("alertTicketDialog")
        self.setWindowTitle("Ticket from alert")
        self.triage = triage
        self.alert = alert
        self.target = target
        self._record = record
        self.created: TicketRef | None = None
        self.result_ticket: TicketRef | None = None
        self._attach_progress: dict[int, AttachProgress] = {}
        self._recorded: set[int] = set()
        self.tickets_loaded = False
        self._submit_task: asyncio.Task[Any] | None = None
        self._ticket_items: list[QTreeWidgetItem] = []

        sa = triage.ticket_sa(target)
        priority = ticket_priority(alert.get("priority"))
        summary = QLabel(
            f"<b>{alert.get('title') or ''}</b><br>Client: {target.partner_name or '—'}"
            f" · Asset: {target.asset_name or '—'}"
            f" · Serviced Account: {triage.context.sa_names([sa])}",
            self,
        )
        summary.setWordWrap(True)

        self.create_mode = QRadioButton("Create a new ticket", self)
        self.attach_mode = QRadioButton("Attach to an open ticket", self)
        modes = QButtonGroup(self)
        modes.addButton(self.create_mode)
        modes.addButton(self.attach_mode)
        self.create_mode.setChecked(True)

        self.create_box = QGroupBox(self)
        form = QFormLayout(self.create_box)
        self.title = QLineEdit(f"Alert: {alert.get('title') or ''}", self.create_box)
        self.title.setObjectName("ticketTitle")
        form.addRow("Title", self.title)
        form.addRow(
            "Priority",
            QLabel(
                TICKET_PRIORITIES.get(priority, priority)
                + f"  ({alert.get('priority') or 'normal'} alert)"
            ),
        )
        self.assign_to_me = QCheckBox("Assign to me", self.create_box)
        self.assign_to_me.setChecked(True)
        form.addRow("", self.assign_to_me)

        self.attach_box = QGroupBox(self)
        attach_layout = QVBoxLayout(self.attach_box)
        self.search = QLineEdit(self.attach_box)
        self.search.setObjectName("ticketSearch")
        self.search.setPlaceholderText("Search open tickets by title or #number…")
        self.search.setClearButtonEnabled(True)
        self.tickets = QTreeWidget(self.attach_box)
        self.tickets.setObjectName("openTickets")
        self.tickets.setHeaderLabels(["#", "Title", "Asset", "Stage", "Alerts", "Why"])
        self.tickets.setRootIsDecorated(False)
        self.tickets.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tickets.setColumnWidth(0, 50)
        self.tickets.setColumnWidth(1, 240)
        self.tickets.itemActivated.connect(lambda *_: self.submit())
        self.tickets.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.tickets_note = QLabel(self.attach_box)
        self.tickets_note.setWordWrap(True)
        attach_layout.addWidget(self.search)
        attach_layout.addWidget(self.tickets, 1)
        attach_layout.addWidget(self.tickets_note)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.create_mode.toggled.connect(lambda _on: self._update_buttons())

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._load_tickets)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.create_mode)
        layout.addWidget(self.create_box)
        layout.addWidget(self.attach_mode)
        layout.addWidget(self.attach_box, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(680, 520)
        self._update_buttons()
        self._load_tickets()

    # ------------------------------------------------------------------ open tickets
    def _load_tickets(self) -> None:
        self.run(self._fetch_tickets(self.search.text()))

    async def _fetch_tickets(self, text: str) -> None:
        found = await self.triage.open_tickets(self.target, self.alert, text)
        if self.search.text() != text:
            return  # a newer search is on its way
        first_load = not self.tickets_loaded
        self.tickets_loaded = True
        self._show_tickets(found)
        if first_load and found and found[0].same_alert:
            # the rules worker or a colleague opened one already: joining it is the default
            self.attach_mode.setChecked(True)
            self.tickets_note.setText(
                f"Ticket #{found[0].id} is already open for this alert; attaching is suggested."
            )

    def _show_tickets(self, tickets: Sequence[TicketRef]) -> None:
        self.tickets.clear()
        self._ticket_items = []
        for ticket in tickets:
            item = QTreeWidgetItem(
                [
                    f"#{ticket.id}",
                    ticket.name,
                    ticket.asset_name or "",
                    ticket.stage or "",
                    str(ticket.alert_count),
                    ticket.reason,
                ]
            )
            item.setData(0, _TICKET_ROLE, ticket)
            self.tickets.addTopLevelItem(item)
            self._ticket_items.append(item)
        if self._ticket_items:
            self.tickets.setCurrentItem(self._ticket_items[0])
        self.tickets_note.setText(
            "" if tickets else "No open ticket of this client in your Serviced Accounts."
        )
        self._update_buttons()

    def open_ticket_choices(self) -> list[TicketRef]:
        return [item.data(0, _TICKET_ROLE) for item in self._ticket_items]

    def select_ticket(self, ticket_id: int) -> None:
        for item in self._ticket_items:
            if item.data(0, _TICKET_ROLE).id == ticket_id:
                self.tickets.setCurrentItem(item)
                self.attach_mode.setChecked(True)
                return
        raise LookupError(f"ticket {ticket_id} is not offered")

    def _update_buttons(self) -> None:
        creating = self.create_mode.isChecked()
        self.create_box.setEnabled(creating and self.created is None)
        self.attach_box.setEnabled(not creating)
        retry = not self.message.isHidden() and bool(self.message.property("error"))
        if creating:
            self.ok.setText("Retry" if retry else "Create ticket")
            self.ok.setEnabled(True)
        else:
            self.ok.setText("Retry" if retry else "Attach")
            self.ok.setEnabled(self.tickets.currentItem() is not None)

    # ------------------------------------------------------------------ submitting
    def submit(self) -> None:
        if self._submit_task is not None and not self._submit_task.done():
            return
        if self.created is not None:
            self.create_mode.setChecked(True)  # the ticket exists: finish recording it
        if self.create_mode.isChecked():
            work = self._create()
        else:
            item = self.tickets.currentItem()
            if item is None:
                return
            work = self._attach(item.data(0, _TICKET_ROLE))
        self.show_message("")
        self.ok.setEnabled(False)
        self._submit_task = self.run(work, on_error=self._failed)
        self._submit_task.add_done_callback(lambda _t: self._update_buttons())

    async def _create(self) -> None:
        if self.created is None:
            self.created = await self.triage.create_ticket(
                self.alert,
                self.target,
                title=self.title.text(),
                assign_to_me=self.assign_to_me.isChecked(),
            )
        await self._finish(self.created)

    async def _attach(self, ticket: TicketRef) -> None:
        progress = self._attach_progress.setdefault(ticket.id, AttachProgress())
        attached = await self.triage.attach(ticket, self.alert, progress)
        await self._finish(attached)

    async def _finish(self, ticket: TicketRef) -> None:
        if ticket.id not in self._recorded:
            await self._record(ticket)
            self._recorded.add(ticket.id)
        self.result_ticket = ticket
        self.ticketDone.emit(ticket)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        text = describe_failure(exc)
        attached = [t for t, p in self._attach_progress.items() if p.count_written is not None]
        done_id = self.created.id if self.created is not None else next(iter(attached), None)
        if done_id is not None:
            text = (
                f"Ticket #{done_id} is done in Odoo, but recording it on the alert failed: "
                f"{text} Press Retry to record it."
            )
        else:
            text += " Nothing was lost: press Retry."
        self.show_message(text, error=True)
        self._update_buttons()
