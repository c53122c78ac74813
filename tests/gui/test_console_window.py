"""The console against a provisioned sandbox Odoo: login, SA switching, panes, layout."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from console.odoo.gateway import OdooGateway
from console.odoo.memberships import load_memberships
from console.sandbox.sa_fixture import build_sa_world
from console.ui.login import LoginDialog
from console.ui.main_window import MainWindow, wait_loaded


@pytest.fixture(scope="module")
def world_odoo():
    from tests.conftest import _start_odoo

    running, background = _start_odoo(small_dataset=False)
    ids = build_sa_world(running.database)
    yield running, ids
    background.stop()
    running.database.close()


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)


def login(run_async, odoo, user: str) -> OdooGateway:
    return run_async(OdooGateway.connect(odoo.url, odoo.db_name, user, user))


def test_login_dialog_signs_in_and_remembers_the_connection(
    qtbot, run_async, world_odoo, settings
) -> None:
    odoo, _ids = world_odoo
    dialog = LoginDialog(settings)
    qtbot.addWidget(dialog)
    dialog.url.setText(odoo.url)
    run_async(dialog.refresh_databases())
    assert dialog.database.currentText() == "psa"
    dialog.login.setText("alice")
    dialog.password.setText("alice")
    with qtbot.waitSignal(dialog.loggedIn, timeout=10_000) as signed_in:
        dialog.submit()
    gateway = signed_in.args[0]
    assert gateway.user.login == "alice"
    assert settings.value("login/login") == "alice"
    gateway.close()


def test_login_dialog_says_why_a_login_failed(qtbot, run_async, world_odoo, settings) -> None:
    odoo, _ids = world_odoo
    dialog = LoginDialog(settings)
    qtbot.addWidget(dialog)
    dialog.url.setText(odoo.url)
    dialog.database.setCurrentText("psa")
    dialog.login.setText("alice")
    dialog.password.setText("wrong")
    dialog.submit()
    qtbot.waitUntil(
        lambda: "refused the login or password" in dialog.message.text(), timeout=10_000
    )
    assert dialog.gateway is None
    assert dialog.buttons.isEnabled()


def test_login_dialog_asks_for_missing_fields(qtbot, settings) -> None:
    dialog = LoginDialog(settings)
    qtbot.addWidget(dialog)
    dialog.login.setText("")
    dialog.submit()
    assert "Please fill in" in dialog.message.text()


def make_window(qtbot, run_async, odoo, user: str, settings: QSettings) -> MainWindow:
    gateway = login(run_async, odoo, user)
    memberships = run_async(load_memberships(gateway))
    window = MainWindow(gateway, memberships, settings=settings)
    qtbot.addWidget(window)
    return window


def test_technician_sees_their_sa_tickets_only(qtbot, run_async, world_odoo, settings) -> None:
    odoo, ids = world_odoo
    window = make_window(qtbot, run_async, odoo, "alice", settings)
    assert [m.sa_name for m in window.memberships] == ["East"]
    window.start()
    run_async(wait_loaded(window))
    ticket_ids = {
        window.tickets_pane.model.record(r)["id"]
        for r in range(window.tickets_pane.model.rowCount())
    }
    assert ids["tickets"]["east_alice"] in ticket_ids
    assert ids["tickets"]["west_bob"] not in ticket_ids
    assert "East" in window.windowTitle()
    window.gateway.close()


def test_switching_sa_reloads_every_pane_and_is_remembered(
    qtbot, run_async, world_odoo, settings
) -> None:
    odoo, _ids = world_odoo
    window = make_window(qtbot, run_async, odoo, "dispatch", settings)
    names = [m.sa_name for m in window.memberships]
    assert {"East", "West"} <= set(names)
    window.start()
    run_async(wait_loaded(window))
    west = next(m for m in window.memberships if m.sa_name == "West")
    window.switch_to(west)
    assert window.tickets_pane.is_loading() or window.tickets_pane.model.rowCount() == 0
    run_async(wait_loaded(window))
    clients = {
        window.assets_pane.model.record(r)["x_partner_id"][1]
        for r in range(window.assets_pane.model.rowCount())
    }
    assert clients and all("East" not in c for c in clients)
    assert settings.value("scope/sa_id") == west.sa_id or str(settings.value("scope/sa_id")) == str(
        west.sa_id
    )
    window.gateway.close()


def test_a_switch_cancels_the_loads_of_the_previous_sa(
    qtbot, run_async, world_odoo, settings
) -> None:
    odoo, _ids = world_odoo
    window = make_window(qtbot, run_async, odoo, "dispatch", settings)
    east = next(m for m in window.memberships if m.sa_name == "East")
    west = next(m for m in window.memberships if m.sa_name == "West")
    window.switch_to(east)
    first = window.assets_pane._load_task
    window.switch_to(west)
    run_async(wait_loaded(window))
    assert first is not None and first.cancelled()
    window.gateway.close()


def test_layout_survives_a_restart(qtbot, run_async, world_odoo, tmp_path) -> None:
    odoo, _ids = world_odoo
    path = str(tmp_path / "layout.ini")
    first = make_window(
        qtbot, run_async, odoo, "alice", QSettings(path, QSettings.Format.IniFormat)
    )
    first.assets_pane.view.setColumnWidth(0, 251)
    first.assets_pane.filter_box.setText("acme")
    first.close()
    second = make_window(
        qtbot, run_async, odoo, "alice", QSettings(path, QSettings.Format.IniFormat)
    )
    assert second.assets_pane.view.columnWidth(0) == 251
    assert second.assets_pane.filter_box.text() == "acme"
    first.gateway.close()
    second.gateway.close()


def test_odoo_down_shows_the_banner_and_keeps_the_rows(qtbot, run_async, settings) -> None:
    from tests.conftest import _start_odoo

    running, background = _start_odoo(small_dataset=False)
    build_sa_world(running.database)
    window = make_window(qtbot, run_async, running, "alice", settings)
    window.start()
    run_async(wait_loaded(window))
    rows_before = window.tickets_pane.model.rowCount()
    assert rows_before > 0
    background.stop()  # Odoo goes away
    window.reload()
    run_async(wait_loaded(window))
    assert "Odoo" in window.banner.problems()
    assert "Cannot reach Odoo" in window.tickets_pane.status_label.text()
    assert window.tickets_pane.model.rowCount() == rows_before  # read-only from what it has
    assert window.status_odoo.text() == "Odoo: unavailable"
    window.gateway.close()
    running.database.close()


def test_shortcuts_overlay_lists_the_keys(qtbot, run_async, world_odoo, settings) -> None:
    from PySide6.QtWidgets import QTextBrowser

    odoo, _ids = world_odoo
    window = make_window(qtbot, run_async, odoo, "alice", settings)
    overlay = window.show_shortcuts()
    qtbot.addWidget(overlay)
    text = overlay.findChild(QTextBrowser).toPlainText()
    assert "Ctrl+F" in text and "Ctrl+K" in text
    window.gateway.close()
