"""Dialogs of the console's alert actions (link, ticket, snooze) and what they share.

:class:`AsyncDialog` runs the dialog's network work as asyncio tasks on the qasync loop (the
GUI thread never waits), shows a busy bar while one runs, and turns a failure into a message in
the dialog — never a traceback, never a silent loss: the dialog stays open so the user can
retry or choose differently. Tasks still running when the dialog closes are cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QWidget

from console.odoo.errors import OdooGatewayError
from console.odoo.triage import TriageRefused
from console.relay.client import RelayError, RelayUnavailable

log = logging.getLogger(__name__)


def describe_failure(exc: BaseException) -> str:
    """What a user reads when an alert action fails: the service's own words, plus what to do."""
    if isinstance(exc, TriageRefused):
        return str(exc)
    if isinstance(exc, RelayUnavailable):
        return f"The relay is unreachable ({exc}). Nothing was recorded; retry when it is back."
    if isinstance(exc, RelayError):
        if exc.status == 409:
            return f"Someone changed this alert first: {exc}."
        if exc.status == 403:
            return f"The relay refused: {exc}."
        return f"The relay refused the change ({exc.status}): {exc}."
    if isinstance(exc, OdooGatewayError):
        return f"Odoo: {exc}"
    return f"Unexpected error: {exc!r}"


class AsyncDialog(QDialog):
    """A dialog whose work runs as cancellable asyncio tasks (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.busy = QProgressBar(self)
        self.busy.setObjectName("dialogBusy")
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = QLabel(self)
        self.message.setObjectName("dialogMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.finished.connect(lambda _result: self.cancel_tasks())

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.setStyleSheet("color: #d64545;" if error else "")
        self.message.setVisible(bool(text))

    def is_busy(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def run(
        self,
        work: Awaitable[Any],
        *,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task[Any]:
        """Run ``work`` with the busy bar shown; a failure goes to ``on_error`` or the message."""

        async def wrapped() -> Any:
            self.busy.show()
            try:
                return await work
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not isinstance(exc, TriageRefused | RelayError | OdooGatewayError):
                    log.exception("alert action failed")
                if on_error is not None:
                    on_error(exc)
                else:
                    self.show_message(describe_failure(exc), error=True)
                return None
            finally:
                if sum(not t.done() for t in self._tasks) <= 1:
                    self.busy.hide()

        task = asyncio.ensure_future(wrapped())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
