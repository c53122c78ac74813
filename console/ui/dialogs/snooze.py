"""The snooze picker: 15 minutes, 1 hour, 4 hours, tomorrow 08:00, or a chosen date and time.

Keyboard: the digits 1–5 pick a row, Enter snoozes, Esc cancels.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

CUSTOM = "custom"
#: the hour "tomorrow morning" means, in the technician's local time
MORNING_HOUR = 8


def snooze_choices(now: datetime) -> list[tuple[str, datetime]]:
    """The preset snooze ends for ``now`` (aware), as (label, aware UTC instant)."""
    local = now.astimezone()
    tomorrow = (local + timedelta(days=1)).replace(
        hour=MORNING_HOUR, minute=0, second=0, microsecond=0
    )
    return [
        ("15 minutes", now + timedelta(minutes=15)),
        ("1 hour", now + timedelta(hours=1)),
        ("4 hours", now + timedelta(hours=4)),
        (f"Tomorrow {MORNING_HOUR:02d}:00 ({tomorrow:%a %d %b})", tomorrow),
    ]


class SnoozeDialog(QDialog):
    """Pick until when to snooze; :meth:`until` is the choice (aware UTC) once accepted."""

    def __init__(
        self, count: int = 1, parent: QWidget | None = None, *, now: datetime | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("snoozeDialog")
        self.setWindowTitle("Snooze alert" if count == 1 else f"Snooze {count} alerts")
        self._now = now or datetime.now(UTC)
        self.choices = QListWidget(self)
        self.choices.setObjectName("snoozeChoices")
        for number, (label, until) in enumerate(snooze_choices(self._now), start=1):
            item = QListWidgetItem(f"{number}  {label}", self.choices)
            item.setData(Qt.ItemDataRole.UserRole, until)
        custom = QListWidgetItem("5  Custom date and time…", self.choices)
        custom.setData(Qt.ItemDataRole.UserRole, CUSTOM)
        self.choices.setCurrentRow(1)  # 1 hour, the old default
        self.custom = QDateTimeEdit(self)
        self.custom.setObjectName("snoozeCustom")
        self.custom.setCalendarPopup(True)
        self.custom.setDisplayFormat("yyyy-MM-dd HH:mm")
        start = QDateTime.fromSecsSinceEpoch(int((self._now + timedelta(hours=2)).timestamp()))
        self.custom.setDateTime(start)
        self.custom.setMinimumDateTime(QDateTime.fromSecsSinceEpoch(int(self._now.timestamp())))
        self.custom.setEnabled(False)
        self.error = QLabel(self)
        self.error.setObjectName("snoozeError")
        self.error.setStyleSheet("color: #d64545;")
        self.error.hide()
        self.choices.currentRowChanged.connect(self._on_row)
        self.choices.itemActivated.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Snooze")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Snooze until:", self))
        layout.addWidget(self.choices)
        layout.addWidget(self.custom)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._until: datetime | None = None
        self.choices.setFocus()

    def _on_row(self, row: int) -> None:
        item = self.choices.item(row)
        self.custom.setEnabled(item is not None and item.data(Qt.ItemDataRole.UserRole) == CUSTOM)
        self.error.hide()

    def choose(self, row: int) -> None:
        self.choices.setCurrentRow(row)

    def selected_until(self) -> datetime | None:
        """The end the current choice means (None when the custom time is not in the future)."""
        item = self.choices.currentItem()
        if item is None:
            return None
        value = item.data(Qt.ItemDataRole.UserRole)
        if value == CUSTOM:
            chosen = datetime.fromtimestamp(self.custom.dateTime().toSecsSinceEpoch(), tz=UTC)
            return chosen if chosen > datetime.now(UTC) else None
        # presets count from the moment of the choice, not from when the dialog opened
        _label, until = snooze_choices(datetime.now(UTC))[self.choices.currentRow()]
        return until.astimezone(UTC)

    def until(self) -> datetime | None:
        """The accepted choice."""
        return self._until

    def accept(self) -> None:
        until = self.selected_until()
        if until is None:
            self.error.setText("Choose a date and time in the future.")
            self.error.show()
            return
        self._until = until
        super().accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if text.isdigit() and 1 <= int(text) <= self.choices.count():
            self.choose(int(text) - 1)
            if self.choices.currentItem().data(Qt.ItemDataRole.UserRole) == CUSTOM:
                self.custom.setFocus()
            return
        super().keyPressEvent(event)
