"""Map an unmatched Pulseway group to a client: a searchable partner list with suggestions.

The partners are those the user can see in Odoo (their SAs' clients), read as the user; the
suggestions come from :func:`console.domain.matching.rank_partners_for_group`, each with the
reason it was ranked (organization id already mapped, same name, similar name). Enter or a
double-click chooses; the dialog only returns the choice, the pane does the writing.

``CreateCompanyDialog`` asks for the name of a new client company (prefilled with the
organization's name) for "Create company…".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.matching import PartnerCandidate, Suggestion

_PARTNER_ROLE = int(Qt.ItemDataRole.UserRole)


class MapPartnerDialog(QDialog):
    """Choose the client for a Pulseway group. ``partnerChosen(partner_id, name)`` on accept."""

    partnerChosen = Signal(int, str)

    def __init__(self, group_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapPartnerDialog")
        self.setWindowTitle(f"Map “{group_name}” to a client")
        self.setModal(True)
        self.resize(560, 460)
        self._partners: list[PartnerCandidate] = []
        self._suggestions: list[Suggestion[PartnerCandidate]] = []
        self.hint = QLabel(
            f"Every device of <b>{group_name}</b> becomes an asset of the client you choose, "
            "and its waiting alerts become tickets.",
            self,
        )
        self.hint.setWordWrap(True)
        self.search = QLineEdit(self)
        self.search.setObjectName("mapPartnerSearch")
        self.search.setPlaceholderText("Search clients by name")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._refill)
        self.list = QListWidget(self)
        self.list.setObjectName("mapPartnerList")
        self.list.itemActivated.connect(lambda _item: self._accept_current())
        self.list.itemDoubleClicked.connect(lambda _item: self._accept_current())
        self.list.currentItemChanged.connect(lambda *_: self._update_ok())
        self.status = QLabel("Loading clients…", self)
        self.status.setObjectName("mapPartnerStatus")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Map to this client")
        self.buttons.accepted.connect(self._accept_current)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.search.returnPressed.connect(self._accept_current)
        self._update_ok()

    def set_partners(
        self,
        partners: Sequence[PartnerCandidate],
        suggestions: Sequence[Suggestion[PartnerCandidate]],
    ) -> None:
        """Show the clients (suggestions first, with their reason)."""
        self._partners = sorted(partners, key=lambda p: p.name.casefold())
        self._suggestions = list(suggestions)
        self.status.setText(
            f"{len(self._partners)} clients; {len(self._suggestions)} suggested."
            if self._partners
            else "No client is visible to you in this Serviced Account."
        )
        self._refill()

    def set_error(self, message: str) -> None:
        """Loading the clients failed: say why (the user can cancel and retry)."""
        self.status.setText(f"<span style='color:#d64545'>{message}</span>")

    def _refill(self) -> None:
        needle = self.search.text().strip().casefold()
        self.list.clear()
        suggested = {s.candidate.id for s in self._suggestions}
        bold = QFont(self.list.font())
        bold.setBold(True)
        for suggestion in self._suggestions:
            partner = suggestion.candidate
            if needle and needle not in partner.name.casefold():
                continue
            item = QListWidgetItem(f"★ {partner.name} — {suggestion.reason}")
            item.setData(_PARTNER_ROLE, (partner.id, partner.name))
            item.setFont(bold)
            item.setToolTip(suggestion.reason)
            self.list.addItem(item)
        for partner in self._partners:
            if partner.id in suggested or (needle and needle not in partner.name.casefold()):
                continue
            item = QListWidgetItem(partner.name)
            item.setData(_PARTNER_ROLE, (partner.id, partner.name))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self._update_ok()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            self.list.currentItem() is not None
        )

    def chosen(self) -> tuple[int, str] | None:
        """The highlighted client (id, name)."""
        item = self.list.currentItem()
        if item is None:
            return None
        partner_id, name = item.data(_PARTNER_ROLE)
        return int(partner_id), str(name)

    def _accept_current(self) -> None:
        choice = self.chosen()
        if choice is None:
            return
        self.partnerChosen.emit(*choice)
        self.accept()


class CreateCompanyDialog(QDialog):
    """Name the new client company. ``nameChosen(name)`` on accept."""

    nameChosen = Signal(str)

    def __init__(self, proposed: str, sa_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("createCompanyDialog")
        self.setWindowTitle("Create a client company")
        self.setModal(True)
        label = QLabel(
            f"The new company is assigned to <b>{sa_name}</b> and mapped to this Pulseway "
            "group; its devices become its assets.",
            self,
        )
        label.setWordWrap(True)
        self.name = QLineEdit(proposed, self)
        self.name.setObjectName("createCompanyName")
        self.name.selectAll()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create and map")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.name.textChanged.connect(
            lambda text: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
                bool(text.strip())
            )
        )
        self.name.returnPressed.connect(self._accept)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.name)
        layout.addWidget(self.buttons)
        self.resize(460, 150)

    def _accept(self) -> None:
        text = " ".join(self.name.text().split())
        if not text:
            return
        self.nameChosen.emit(text)
        self.accept()
