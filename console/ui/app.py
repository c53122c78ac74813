"""``psa console``: the Qt application on a qasync loop (one asyncio loop on Qt's loop).

Started the way qasync documents for Python 3.11+: create the QApplication, then
``qasync.run(main())``; ``main`` awaits until the last window closes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from console.domain.names import Role
from console.odoo import errors
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import load_memberships
from console.relay.client import RelayAuthError, RelayClient, RelayError
from console.ui import theme
from console.ui.gui_gc import GuiThreadGarbageCollector
from console.ui.login import LoginDialog
from console.ui.main_window import MainWindow, wait_loaded

log = logging.getLogger(__name__)
SCREENSHOT_TIMEOUT_S = 60.0


class ConsoleFailure(Exception):
    """A failure that ends ``psa console`` with a message (no traceback)."""


def relay_url(args: argparse.Namespace) -> str | None:
    """Where the relay is: ``PSA_RELAY_URL``, else ``relay_url`` in the ``[console]`` section of
    the config file (``--config`` or ``console.toml`` in the platform config dir)."""
    url = os.environ.get("PSA_RELAY_URL")
    if url:
        return url.strip()
    path = Path(args.config) if args.config else None
    if path is None:
        from platformdirs import user_config_dir

        path = Path(user_config_dir("psa")) / "console.toml"
    if not path.exists():
        if args.config:
            raise ConsoleFailure(f"config file {path} does not exist")
        return None
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConsoleFailure(f"cannot read {path}: {exc}") from exc
    value = (document.get("console") or {}).get("relay_url")
    if value is not None and not isinstance(value, str):
        raise ConsoleFailure(f"{path}: [console] relay_url must be a string")
    return value


def relay_client(url: str, login: str, password: str) -> RelayClient:
    """A relay client for the console user that opens (and re-opens) its session itself."""

    async def reauthenticate() -> str:
        session = await client.open_session(login, password)
        return session.token

    client = RelayClient(url, reauthenticate=reauthenticate)
    return client


async def open_relay(url: str, login: str, password: str) -> RelayClient:
    """A relay client with a session for the console user (re-opened when it expires)."""
    client = relay_client(url, login, password)
    try:
        await client.open_session(login, password)
    except BaseException:
        await client.aclose()
        raise
    return client


async def connect_relay(url: str, login: str, password: str) -> tuple[RelayClient | None, str]:
    """The console's relay client and, if it could not sign in now, why.

    A relay that refuses the login gives no client (the banner says why). A relay that is
    down or not reachable yet still gives a client: the Alerts pane is built, and its feed
    keeps retrying with backoff and signs in as soon as the relay answers."""
    try:
        return await open_relay(url, login, password), ""
    except RelayAuthError as exc:
        return None, f"the relay refused this login: {exc} — no live alerts"
    except (RelayError, httpx.HTTPError, OSError) as exc:
        detail = str(exc) or type(exc).__name__
        return relay_client(url, login, password), f"Relay unreachable ({detail}); reconnecting…"


async def _login_interactively(
    settings: QSettings, login: str | None = None
) -> tuple[OdooGateway | None, tuple[str, str] | None]:
    dialog = LoginDialog(settings)
    if login:
        dialog.login.setText(login)
    finished = asyncio.Event()
    dialog.finished.connect(lambda _code: finished.set())
    dialog.show()
    dialog.refresh_databases()
    await finished.wait()
    return dialog.gateway, dialog.credentials


async def _open_window(
    gateway: OdooGateway,
    settings: QSettings,
    args: argparse.Namespace,
    relay: RelayClient | None = None,
) -> MainWindow:
    try:
        memberships = await load_memberships(gateway)
    except errors.SchemaMismatch as exc:
        raise ConsoleFailure(
            f"{exc}\nThis Odoo database is not set up for the console yet: run "
            "`psa provision --url URL --db DB --user ADMIN` once."
        ) from exc
    if args.sa:
        wanted = args.sa.casefold()
        chosen = [m for m in memberships if m.sa_name.casefold() == wanted]
        if not chosen:
            names = ", ".join(m.sa_name for m in memberships) or "none"
            raise ConsoleFailure(
                f"You are not a member of an SA named {args.sa!r} (yours: {names})."
            )
        settings.setValue("scope/sa_id", chosen[0].sa_id)
    sees_unmatched = any(m.role is not Role.TECHNICIAN for m in memberships)
    window = MainWindow(
        gateway, memberships, settings=settings, relay=relay, sees_unmatched=sees_unmatched
    )
    window.show()
    window.start()
    return window


async def _screenshot(window: MainWindow, path: Path) -> None:
    try:
        await asyncio.wait_for(wait_loaded(window), SCREENSHOT_TIMEOUT_S)
    except TimeoutError:
        raise ConsoleFailure(
            f"the panes did not finish loading within {SCREENSHOT_TIMEOUT_S:.0f} s; no screenshot"
        ) from None
    # let the coalesced model updates and the layout land (never processEvents() inside a
    # coroutine: it would re-enter the qasync loop)
    await asyncio.sleep(0.3)
    pixmap = window.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(path)):
        raise ConsoleFailure(f"could not write the screenshot to {path}")
    print(f"screenshot written to {path}", file=sys.stderr)


async def main(args: argparse.Namespace, app: QApplication) -> int:
    settings = QSettings()
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    gateway: OdooGateway | None = None
    demo: Any = None
    relay: RelayClient | None = None
    relay_problem = ""
    try:
        if getattr(args, "wall", False):
            from console.ui.wall import run_wall  # the NOC wall: its own sign-in, read-only

            return await run_wall(args, settings, closed)
        if args.demo:
            from console.ui.demo import start_demo  # only --demo imports the sandboxes

            print("psa console: starting the demo services…", file=sys.stderr)
            try:
                demo = await start_demo(getattr(args, "login", None) or "dispatch")
            except ValueError as exc:
                raise ConsoleFailure(str(exc)) from None
            gateway, relay = demo.gateway, demo.relay_client
            settings = QSettings(str(demo_settings_path()), QSettings.Format.IniFormat)
        else:
            url = relay_url(args)
            gateway, credentials = await _login_interactively(
                settings, getattr(args, "login", None)
            )
            if gateway is None or credentials is None:
                return 1
            relay_problem = "" if url else "not configured (set PSA_RELAY_URL): no live alerts"
            if url:
                relay, relay_problem = await connect_relay(url, *credentials)
        window = await _open_window(gateway, settings, args, relay)
        if relay_problem:
            window.set_service_state("Relay", False, relay_problem)
        if args.screenshot:
            await _screenshot(window, Path(args.screenshot))
            window.close()
            return 0
        await closed.wait()
        return 0
    finally:
        if demo is not None:
            await demo.close()
        else:
            if gateway is not None:
                gateway.close()
            if relay is not None:
                await relay.aclose()


def demo_settings_path() -> Path:
    """The demo keeps its own window state, apart from a real login's."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("psa")) / "console-demo.ini"


def run(args: argparse.Namespace) -> int:
    """Entry point of ``psa console``."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName("psa")
    app.setApplicationName("console")
    app.setApplicationDisplayName("PSA Technician Console")
    # main() ends the app when the last window closes, after its own clean-up; Qt quitting the
    # loop by itself would stop asyncio under main's feet
    app.setQuitOnLastWindowClosed(False)
    theme.apply(app, getattr(args, "theme", None))
    collector = GuiThreadGarbageCollector(parent=app)  # see console/ui/gui_gc.py
    import qasync

    try:
        return int(qasync.run(main(args, app)))
    except ConsoleFailure as exc:
        print(f"psa console: {exc}", file=sys.stderr)
        if not args.screenshot and QApplication.instance() is not None:
            QMessageBox.critical(None, "PSA Technician Console", str(exc))
        return 1
    except errors.OdooGatewayError as exc:
        print(f"psa console: {exc}", file=sys.stderr)
        return 1
    finally:
        collector.stop()
