"""The Approvals pane against the sandbox Odoo (small world) and the Pulseway stand-in."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from console.domain.names import Role
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership, load_memberships
from console.sandbox.odoo.server import OdooServer
from console.sandbox.pulseway import create_pulseway_app
from console.sandbox.runner import open_odoo_database
from console.sandbox.serving import BackgroundServer
from console.sandbox.world import build_world
from console.ui.main_window import SHORTCUTS, MainWindow
from console.ui.panes.approvals import ApprovalsPane

# the approvals integration tests' helpers: served world, fault injector in front of Pulseway
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "approvals"))
from approvals_support import TOKEN_ID, TOKEN_SECRET, FaultInjector, Served

PENDING_NAME = "Elmstead Optics Group"
NEAR_MISS_ORG = 4805


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Served]:
    world = build_world("small", seed=7)
    database = open_odoo_database("psa", None, world)
    odoo = BackgroundServer(OdooServer({"psa": database}).app).start()
    app = create_pulseway_app(
        world, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, rate_limits=(), allow_org_create=True
    )
    faults = FaultInjector(app)
    pulseway = BackgroundServer(faults).start()
    # the console reads its Pulseway settings like a real one: from the environment
    monkeypatch.setenv("PSA_PULSEWAY_URL", f"{pulseway.url}/v3")
    monkeypatch.setenv("PSA_PULSEWAY_TOKEN_ID", TOKEN_ID)
    monkeypatch.setenv("PSA_PULSEWAY_TOKEN_SECRET", TOKEN_SECRET)
    monkeypatch.delenv("PSA_PULSEWAY_ORG_CREATE_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no console.toml
    try:
        yield Served(world, database, odoo.url, f"{pulseway.url}/v3", faults, app.state.pulseway)
    finally:
        pulseway.stop()
        odoo.stop()
        database.close()


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)


def open_window(qtbot, run_async, served: Served, login: str, settings: QSettings) -> MainWindow:
    gateway = run_async(OdooGateway.connect(served.odoo_url, "psa", login, login))
    memberships = run_async(load_memberships(gateway))
    window = MainWindow(gateway, memberships, settings=settings)
    qtbot.addWidget(window)
    return window


def loaded_pane(qtbot, window: MainWindow) -> ApprovalsPane:
    pane = window.approvals_pane
    assert pane is not None
    with qtbot.waitSignal(pane.loadFinished, timeout=20_000):
        window.start()
    window.raise_pane("approvals")
    return pane


def select_company(qtbot, pane: ApprovalsPane, name: str) -> None:
    for row in range(pane.proxy.rowCount()):
        if pane.proxy.record_at(row)["name"] == name:
            pane.view.selectRow(row)
            pane.view.setFocus()
            return
    raise AssertionError(f"{name} is not in the approvals pane")


def row_of(pane: ApprovalsPane, name: str) -> dict:
    pane.model.flush()
    return next(r for r in pane.model.records() if r["name"] == name)


def test_manager_approves_the_proposed_link_with_the_keyboard(
    qtbot, run_async, served, settings
) -> None:
    window = open_window(qtbot, run_async, served, "maria", settings)
    pane = loaded_pane(qtbot, window)
    assert [r["name"] for r in pane.model.records()] == [PENDING_NAME]
    proposal = pane.model.data(pane.model.index(0, 1))
    assert proposal == f"Link → Elmstead Optics ({NEAR_MISS_ORG})"
    assert "similar" in pane.model.data(pane.model.index(0, 2))
    assert "create organizations: off" in pane.mode_label.text()
    select_company(qtbot, pane, PENDING_NAME)
    with qtbot.waitSignal(pane.batchFinished, timeout=20_000) as finished:
        qtbot.keyClick(pane.view, Qt.Key.Key_A)
    assert finished.args == [1, 0]
    row = row_of(pane, PENDING_NAME)
    assert row["result"].startswith("✓ Synced")
    assert row["x_pulseway_sync_state"] == "synced"
    partner = served.partner(served.partner_id(PENDING_NAME))
    assert partner["x_pulseway_sync_state"] == "synced"
    assert partner["x_pulseway_org_id"] == NEAR_MISS_ORG
    assert served.stamp(NEAR_MISS_ORG) == str(partner["id"])
    window.gateway.close()


def test_a_failure_shows_in_the_row_and_retry_finishes_it_once(
    qtbot, run_async, served, settings
) -> None:
    window = open_window(qtbot, run_async, served, "maria", settings)
    pane = loaded_pane(qtbot, window)
    served.faults.fail("POST", "/assign", status=500, times=10)
    select_company(qtbot, pane, PENDING_NAME)
    with qtbot.waitSignal(pane.batchFinished, timeout=20_000) as finished:
        pane.approve_button.click()
    assert finished.args == [0, 1]
    row = row_of(pane, PENDING_NAME)
    assert "Failed to sync to Pulseway: Pulseway failed" in row["result"]
    assert row["x_pulseway_sync_state"] == "failed"
    assert pane.retry_button.isEnabled()
    served.faults.rules.clear()
    with qtbot.waitSignal(pane.batchFinished, timeout=20_000) as finished:
        pane.retry_button.click()
    assert finished.args == [1, 0]
    assert row_of(pane, PENDING_NAME)["x_pulseway_sync_state"] == "synced"
    assert served.faults.count("POST", "/assign") == 1
    window.gateway.close()


def test_skip_writes_nothing_and_reject_marks_skipped(qtbot, run_async, served, settings) -> None:
    window = open_window(qtbot, run_async, served, "maria", settings)
    pane = loaded_pane(qtbot, window)
    partner_id = served.partner_id(PENDING_NAME)
    select_company(qtbot, pane, PENDING_NAME)
    qtbot.keyClick(pane.view, Qt.Key.Key_S)
    assert row_of(pane, PENDING_NAME)["result"] == "Skipped for now — still pending"
    assert served.partner(partner_id)["x_pulseway_sync_state"] == "pending"
    with qtbot.waitSignal(pane.batchFinished, timeout=20_000):
        qtbot.keyClick(pane.view, Qt.Key.Key_R)
    assert served.partner(partner_id)["x_pulseway_sync_state"] == "skipped"
    assert row_of(pane, PENDING_NAME)["result"] == "Rejected: will not be pushed"
    assert [m for m, _path in served.faults.reached if m != "GET"] == []  # nothing sent
    window.gateway.close()


def test_the_picker_offers_every_match_and_says_create_is_off(
    qtbot, run_async, served, settings
) -> None:
    window = open_window(qtbot, run_async, served, "maria", settings)
    pane = loaded_pane(qtbot, window)
    select_company(qtbot, pane, PENDING_NAME)
    qtbot.waitUntil(lambda: pane.targets.count() >= 2, timeout=5_000)
    texts = [pane.targets.item(i).text() for i in range(pane.targets.count())]
    assert texts[0].startswith(f"Link → Elmstead Optics ({NEAR_MISS_ORG})")
    create = pane.targets.item(pane.targets.count() - 1)
    assert "off: the public Pulseway v3 API cannot create organizations" in create.text()
    assert not (create.flags() & Qt.ItemFlag.ItemIsEnabled)
    pane.org_id_box.setText("4802")
    pane.org_id_button.click()
    target = row_of(pane, PENDING_NAME)["target"]
    assert (target.action, target.org_id) == ("link", 4802)
    pane.org_id_box.setText("not-a-number")
    pane.org_id_button.click()
    assert "is not a Pulseway organization id" in pane.status_label.text()
    window.gateway.close()


def test_a_technician_has_no_approvals_pane(qtbot, run_async, served, settings) -> None:
    window = open_window(qtbot, run_async, served, "alice", settings)
    assert window.approvals_pane is None
    assert "approvals" not in window.panes
    assert any("Approvals" in what for _keys, what in SHORTCUTS)
    window.gateway.close()


def test_the_pane_says_so_where_the_user_is_not_a_manager(qtbot, run_async, served) -> None:
    gateway = run_async(OdooGateway.connect(served.odoo_url, "psa", "maria", "maria"))
    pane = ApprovalsPane(gateway)
    qtbot.addWidget(pane)
    [east] = [m for m in run_async(load_memberships(gateway)) if m.sa_name == "East"]
    pane.reload_for(Membership(east.sa_id, "East", Role.TECHNICIAN, ()))
    assert "not a manager in East" in pane.status_label.text()
    assert not pane.approve_button.isEnabled() and not pane.reject_button.isEnabled()
    assert pane.model.rowCount() == 0
    gateway.close()


def test_without_pulseway_settings_the_pane_says_what_to_set(
    qtbot, run_async, served, monkeypatch
) -> None:
    monkeypatch.delenv("PSA_PULSEWAY_URL")
    gateway = run_async(OdooGateway.connect(served.odoo_url, "psa", "maria", "maria"))
    pane = ApprovalsPane(gateway)
    qtbot.addWidget(pane)
    assert "PSA_PULSEWAY_URL" in pane.mode_label.text()
    assert not pane.approve_button.isEnabled()
    gateway.close()


def test_a_company_that_becomes_pending_shows_up_without_f5(
    qtbot, run_async, served, settings
) -> None:
    window = open_window(qtbot, run_async, served, "maria", settings)
    pane = loaded_pane(qtbot, window)
    served.sudo(
        "res.partner",
        "create",
        {"name": "Harbour Lights Ltd", "is_company": True, "x_pulseway_sync_state": "pending"},
    )
    pane._refresh_timer.setInterval(10)  # the debounce, shortened for the test

    with qtbot.waitSignal(pane.loadFinished, timeout=20_000):
        pane.schedule_refresh()  # what a live partner.pending event from the relay does

    pane.model.flush()
    assert sorted(r["name"] for r in pane.model.records()) == [PENDING_NAME, "Harbour Lights Ltd"]


def test_live_partner_pending_events_ask_for_a_refresh(qtbot, qasync_loop) -> None:
    from console.relay.client import RelayClient, StreamMessage
    from console.relay.partner_watch import PENDING_KIND
    from console.ui.panes import alerts

    assert alerts.PARTNER_PENDING_KIND == PENDING_KIND  # the console mirrors the relay's kind
    pane = alerts.make_pane()
    qtbot.addWidget(pane)
    feed = alerts.AlertFeed(pane, RelayClient("http://127.0.0.1:9"), None)
    pending = StreamMessage(9, PENDING_KIND, {"kind": PENDING_KIND, "title": "Harbour Lights"})
    asked: list[bool] = []
    feed.partnerPending.connect(lambda: asked.append(True))

    feed._apply(pending)  # replayed history before "ready": the pane's own load covers it
    assert asked == []
    feed._apply(StreamMessage(None, "ready", {"seq": 9}))
    feed._apply(StreamMessage(10, PENDING_KIND, {"kind": PENDING_KIND, "title": "Other"}))
    assert asked == [True]
