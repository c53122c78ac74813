"""The login dialog: Odoo URL, database (fetched from the server), login, password.

The password is stored in the OS keyring only when the user ticks "Remember password"; the
URL, database and login are remembered in QSettings. Logging in runs on the qasync loop, so
the dialog stays responsive and can be cancelled.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.odoo import errors
from console.odoo.gateway import OdooGateway, list_databases

log = logging.getLogger(__name__)
KEYRING_SERVICE = "psa-console"


def keyring_key(url: str, db: str, login: str) -> str:
    return f"{login}@{db}@{url}"


def load_password(url: str, db: str, login: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_key(url, db, login))
    except Exception as exc:  # no keyring backend on this machine: just ask
        log.info("keyring unavailable: %s", exc)
        return None


def store_password(url: str, db: str, login: str, password: str | None) -> str | None:
    """Save (or with None, forget) a password; returns an error message or None."""
    try:
        import keyring

        key = keyring_key(url, db, login)
        if password is None:
            try:
                keyring.delete_password(KEYRING_SERVICE, key)
            except keyring.errors.PasswordDeleteError:
                pass
        else:
            keyring.set_password(KEYRING_SERVICE, key, password)
    except Exception as exc:
        return f"The password could not be saved in the system keyring ({exc})."
    return None


class LoginDialog(QDialog):
    """Asks for the connection and logs in; ``gateway`` is set when accepted."""

    loggedIn = Signal(object)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loginDialog")
        self.setWindowTitle("Sign in to Odoo — PSA Technician Console")
        self.settings = settings
        self.gateway: OdooGateway | None = None
        #: (login, password) of the accepted sign-in, for the relay session; never persisted
        self.credentials: tuple[str, str] | None = None
        self._task: asyncio.Task[None] | None = None

        self.url = QLineEdit(str(settings.value("login/url", "http://127.0.0.1:8069")), self)
        self.url.setObjectName("loginUrl")
        self.database = QComboBox(self)
        self.database.setObjectName("loginDatabase")
        self.database.setEditable(True)
        remembered_db = str(settings.value("login/db", "") or "")
        if remembered_db:
            self.database.addItem(remembered_db)
        self.login = QLineEdit(str(settings.value("login/login", "") or ""), self)
        self.login.setObjectName("loginLogin")
        self.password = QLineEdit(self)
        self.password.setObjectName("loginPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember password in the system keyring", self)
        self.remember.setChecked(bool(settings.value("login/remember", False, type=bool)))
        self.message = QLabel(self)
        self.message.setObjectName("loginMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("Odoo address", self.url)
        form.addRow("Database", self.database)
        form.addRow("Login", self.login)
        form.addRow("Password", self.password)
        form.addRow("", self.remember)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self._db_timer = QTimer(self)
        self._db_timer.setSingleShot(True)
        self._db_timer.setInterval(400)
        self._db_timer.timeout.connect(self._refresh_after_typing)
        self.url.textChanged.connect(lambda _t: self._db_timer.start())
        self.login.editingFinished.connect(self._fill_remembered_password)
        self.setMinimumWidth(440)
        if self.login.text():
            self.password.setFocus()
            self._fill_remembered_password()

    # ------------------------------------------------------------------ databases
    def done(self, result: int) -> None:
        self._db_timer.stop()  # no database refresh after the dialog closed
        super().done(result)

    def _refresh_after_typing(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the application is shutting down: nothing to refresh for
            return
        self.refresh_databases()

    def refresh_databases(self) -> asyncio.Task[None]:
        return asyncio.ensure_future(self._refresh_databases())

    async def _refresh_databases(self) -> None:
        url = self.url.text().strip()
        try:
            names = await list_databases(url)
        except errors.OdooGatewayError as exc:
            self.show_message(str(exc), error=True)
            return
        if self.url.text().strip() != url:
            return  # the user typed on meanwhile
        current = self.database.currentText()
        self.database.clear()
        self.database.addItems(names)
        if current in names:
            self.database.setCurrentText(current)
        elif names:
            self.database.setCurrentIndex(0)
        self.show_message(
            "" if names else "This server does not list its databases: type the name."
        )

    def _fill_remembered_password(self) -> None:
        if self.password.text():
            return
        stored = load_password(
            self.url.text().strip(), self.database.currentText(), self.login.text()
        )
        if stored:
            self.password.setText(stored)
            self.remember.setChecked(True)

    # ------------------------------------------------------------------ sign in
    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setProperty("error", error)
        self.message.setText(text)

    def submit(self) -> None:
        if self._task is not None and not self._task.done():
            return
        missing = [
            name
            for name, value in (
                ("address", self.url.text()),
                ("database", self.database.currentText()),
                ("login", self.login.text()),
                ("password", self.password.text()),
            )
            if not value.strip()
        ]
        if missing:
            self.show_message(f"Please fill in the {', '.join(missing)}.", error=True)
            return
        self.show_message("Signing in…")
        self.buttons.setEnabled(False)
        self._task = asyncio.ensure_future(self._sign_in())

    async def _sign_in(self) -> None:
        url, db = self.url.text().strip(), self.database.currentText().strip()
        login, password = self.login.text().strip(), self.password.text()
        try:
            gateway = await OdooGateway.connect(url, db, login, password)
        except errors.OdooGatewayError as exc:
            self.show_message(str(exc), error=True)
            self.buttons.setEnabled(True)
            self.password.setFocus()
            self.password.selectAll()
            return
        self.settings.setValue("login/url", url)
        self.settings.setValue("login/db", db)
        self.settings.setValue("login/login", login)
        self.settings.setValue("login/remember", self.remember.isChecked())
        problem = store_password(url, db, login, password if self.remember.isChecked() else None)
        if problem:
            log.warning(problem)
        self.gateway = gateway
        self.credentials = (login, password)
        self.buttons.setEnabled(True)
        self.loggedIn.emit(gateway)
        self.accept()

    def reject(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().reject()
