"""L — link an alert to an asset or a client: ranked suggestions with their reasons, and search.

Suggestions load as soon as the dialog opens (same Pulseway device, BIOS serial, hostname,
organization id already mapped, group name ≈ client name); typing searches assets (hostname,
serial) and clients (name) in the user's Serviced Accounts instead. Everything is read from
Odoo as the user, off the GUI thread. Choosing a row re-checks it with Odoo, then hands it to
``record`` (the relay ``link``, so every console sees it); a refusal is shown in the dialog and
the dialog stays open.

Keyboard: type to search, ↓ into the list, Enter links, Esc cancels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.odoo.triage import AlertTriage, DeviceHints, LinkTarget
from console.ui.dialogs import AsyncDialog

#: after the last keystroke, wait this long before searching (one query per pause, not per key)
SEARCH_DELAY_MS = 250
_TARGET_ROLE = int(Qt.ItemDataRole.UserRole)


def _hint_text(alert: Mapping[str, Any], hints: DeviceHints) -> str:
    parts = [f"<b>{alert.get('title') or ''}</b>"]
    device = hints.hostname or hints.device_id
    if device:
        parts.append(f"device {device}")
    if hints.serial_number:
        parts.append(f"serial {hints.serial_number}")
    group = hints.org_name or hints.group_name
    if group or hints.org_id:
        org = f" ({hints.org_id})" if hints.org_id else ""
        parts.append(f"Pulseway organization {group or ''}{org}".replace("  ", " "))
    return " · ".join(parts)


class _SearchBox(QLineEdit):
    """Down arrow moves into the result list."""

    down = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.down.emit()
            return
        super().keyPressEvent(event)


class LinkAlertDialog(AsyncDialog):
    """Pick what an alert belongs to (see the module docstring). ``linked`` carries the
    confirmed :class:`LinkTarget` after ``record`` succeeded."""

    linked = Signal(object)

    def __init__(
        self,
        triage: AlertTriage,
        alert: Mapping[str, Any],
        hints: DeviceHints,
        record: Callable[[LinkTarget], Awaitable[None]] | None = None,
        parent: QWidget | None = None,
        *,
        purpose: str = "Link alert",
        count: int = 1,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("linkAlertDialog")
        self.setWindowTitle(purpose if count == 1 else f"{purpose} ({count} alerts)")
        self.triage = triage
        self.alert = alert
        self.hints = hints
        self._record = record
        self.chosen: LinkTarget | None = None
        self._suggestions: list[LinkTarget] = []
        self.suggestions_loaded = False

        header = QLabel(_hint_text(alert, hints), self)
        header.setWordWrap(True)
        self.search = _SearchBox(self)
        self.search.setObjectName("linkSearch")
        self.search.setPlaceholderText("Search assets (hostname, serial) and clients…")
        self.search.setClearButtonEnabled(True)
        self.list = QTreeWidget(self)
        self.list.setObjectName("linkTargets")
        self.list.setColumnCount(4)
        self.list.setHeaderLabels(["Kind", "Asset / client", "Serviced Account", "Why"])
        self.list.setRootIsDecorated(False)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setColumnWidth(0, 60)
        self.list.setColumnWidth(1, 230)
        self.list.setColumnWidth(2, 120)
        self.list.itemActivated.connect(lambda _item, _column: self.choose())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("linkPlaceholder")
        self.placeholder.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Link" if record is not None else "Choose")
        self.buttons.accepted.connect(self.choose)
        self.buttons.rejected.connect(self.reject)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._start_search)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self._on_search_enter)
        self.search.down.connect(self._focus_list)

        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.search)
        layout.addWidget(self.busy)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(720, 420)
        self._update_buttons()
        self._search_task: asyncio.Task[Any] | None = None
        self._items: list[QTreeWidgetItem] = []
        self.run(self._load_suggestions())

    # ------------------------------------------------------------------ loading
    async def _load_suggestions(self) -> None:
        self._suggestions = await self.triage.suggestions(self.hints)
        self.suggestions_loaded = True
        if not self.search.text().strip():
            self._show_targets(
                self._suggestions,
                "No suggestions for this device: search for an asset or a client above.",
            )

    def _start_search(self) -> None:
        text = self.search.text().strip()
        if self._search_task is not None and not self._search_task.done():
            self._search_task.cancel()
        if not text:
            if self.suggestions_loaded:
                self._show_targets(self._suggestions, "No suggestions for this device.")
            return
        self._search_task = self.run(self._search(text))

    async def _search(self, text: str) -> None:
        found = await self.triage.search(text)
        if self.search.text().strip() == text:
            self._show_targets(found, f"Nothing in your Serviced Accounts matches “{text}”.")

    def _on_search_enter(self) -> None:
        if self._search_timer.isActive():
            self._search_timer.stop()
            self._start_search()
        else:
            self._focus_list()

    def _focus_list(self) -> None:
        self.list.setFocus()
        if self.list.currentItem() is None and self._items:
            self.list.setCurrentItem(self._items[0])

    def _show_targets(self, targets: Sequence[LinkTarget], empty: str) -> None:
        self.list.clear()
        self._items = []
        for target in targets:
            item = QTreeWidgetItem(
                [
                    target.kind,
                    target.label,
                    self.triage.context.sa_names(target.sa_ids) or "—",
                    target.reason,
                ]
            )
            item.setData(0, _TARGET_ROLE, target)
            item.setToolTip(3, target.reason)
            self.list.addTopLevelItem(item)
            self._items.append(item)
        if self._items:
            self.list.setCurrentItem(self._items[0])
        self.placeholder.setText(empty)
        self.placeholder.setVisible(not targets)
        self._update_buttons()

    def targets(self) -> list[LinkTarget]:
        """The rows shown, top to bottom."""
        return [item.data(0, _TARGET_ROLE) for item in self._items]

    def reasons(self) -> list[str]:
        return [item.text(3) for item in self._items]

    def _update_buttons(self) -> None:
        self.ok.setEnabled(self.list.currentItem() is not None)

    # ------------------------------------------------------------------ choosing
    def select(self, target: LinkTarget) -> None:
        """Make ``target`` the current row (tests; programmatic use)."""
        for item in self._items:
            if item.data(0, _TARGET_ROLE) == target:
                self.list.setCurrentItem(item)
                return
        item = QTreeWidgetItem([target.kind, target.label, "", target.reason])
        item.setData(0, _TARGET_ROLE, target)
        self.list.addTopLevelItem(item)
        self._items.append(item)
        self.list.setCurrentItem(item)

    def choose(self) -> None:
        item = self.list.currentItem()
        if item is None or self.is_busy():
            return
        target = item.data(0, _TARGET_ROLE)
        self.show_message("")
        self.ok.setEnabled(False)
        task = self.run(self._choose(target))
        task.add_done_callback(lambda _t: self._update_buttons())

    async def _choose(self, target: LinkTarget) -> None:
        confirmed = await self.triage.confirm(target)
        if self._record is not None:
            await self._record(confirmed)
        self.chosen = confirmed
        self.linked.emit(confirmed)
        self.accept()
