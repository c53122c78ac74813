"""The Unmatched pane against a served SA world and a relay running the rules worker."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from console.domain.names import ClientAsset, Partner, PulsewayGroupMap, SaClient
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership, load_memberships
from console.relay.client import RelayClient
from console.ui.dialogs.map_partner import CreateCompanyDialog, MapPartnerDialog
from console.ui.main_window import SHORTCUTS, MainWindow
from console.ui.panes.unmatched import UnmatchedPane

# the rules worker's integration helpers: served SA world, relay with the worker
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "rules"))
from rules_support import (
    RulesWorld,
    device_event,
    device_guid,
    serve_sa_world,
    start_rules_relay,
)

ORG = 199  # "Dunder Mifflin Scranton", unmatched in the SA world


@pytest.fixture(autouse=True)
def collect_widgets_on_the_gui_thread() -> Iterator[None]:
    """Collect the test's widgets on the GUI thread (see tests/gui/test_alert_actions.py):
    left to the cyclic GC they could die on an RPC worker thread, and Qt warns."""
    yield
    gc.collect()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[RulesWorld]:
    database, ids, url, stop = serve_sa_world()
    world = start_rules_relay(database, ids, url, tmp_path / "relay.sqlite3")
    try:
        for number in (1, 2):
            device = device_guid()
            world.append(
                device_event(
                    "device.registered",
                    device,
                    hostname=f"DMS-WS0{number}",
                    org_id=ORG,
                    org_name="Dunder Mifflin Scranton",
                )
            )
            world.post_alert(device, f"Backup failed {number}")
        world.settle()
        yield world
    finally:
        world.close()
        world.background.stop()
        stop()


def connect(run_async: Any, world: RulesWorld, login: str) -> tuple[OdooGateway, RelayClient]:
    gateway = run_async(OdooGateway.connect(world.odoo_url, "psa", login, login))
    relay = RelayClient(world.background.url)
    run_async(relay.open_session(login, login))
    return gateway, relay


def membership(run_async: Any, gateway: OdooGateway, sa_name: str) -> Membership:
    memberships = run_async(load_memberships(gateway))
    return next(m for m in memberships if m.sa_name == sa_name)


@pytest.fixture
def pane(qtbot: Any, run_async: Any, served: RulesWorld) -> Iterator[UnmatchedPane]:
    gateway, relay = connect(run_async, served, "dispatch")
    widget = UnmatchedPane(gateway, relay)
    qtbot.addWidget(widget)
    widget.set_membership(membership(run_async, gateway, "East"))
    with qtbot.waitSignal(widget.loadFinished, timeout=20_000):
        widget.reload(keep_rows=False)
    yield widget
    widget.cancel_load()
    run_async(relay.aclose())
    gateway.close()


def select_group(pane: UnmatchedPane, key: str) -> None:
    for row in range(pane.proxy.rowCount()):
        if pane.proxy.record_at(row)["key"] == key:
            pane.view.selectRow(row)
            return
    raise AssertionError(f"no row {key}")


def test_one_row_per_unmatched_group_with_a_preview_of_devices_and_alerts(
    pane: UnmatchedPane,
) -> None:
    rows = [pane.proxy.record_at(r) for r in range(pane.proxy.rowCount())]
    [row] = [r for r in rows if r["key"] == f"org:{ORG}"]
    assert row["device_count"] == 2
    assert row["waiting_alerts"] == 2
    select_group(pane, f"org:{ORG}")
    html = pane.detail.toPlainText()
    assert "DMS-WS01" in html and "Backup failed 1" in html


def test_mapping_a_group_shows_the_summary_and_undo_retires_it(
    qtbot: Any, pane: UnmatchedPane, served: RulesWorld
) -> None:
    select_group(pane, f"org:{ORG}")
    with qtbot.waitSignal(pane.dialogOpened, timeout=5000) as opened:
        pane.open_map_dialog()
    dialog: MapPartnerDialog = opened.args[0]
    qtbot.waitUntil(lambda: dialog.list.count() > 0, timeout=10_000)
    dialog.search.setText("Globex")
    assert dialog.chosen() is not None and dialog.chosen()[1] == "Globex"  # type: ignore[index]
    with qtbot.waitSignal(pane.resolved, timeout=20_000) as resolved:
        dialog.buttons.accepted.emit()
    summary = resolved.args[0]
    assert summary["assets_created"] == 2 and summary["tickets_created"] == 2
    assert not pane.strip.isHidden()
    assert "2 assets created" in pane.strip.label.text()
    assert not pane.strip.undo_button.isHidden()
    qtbot.waitUntil(lambda: pane.proxy.rowCount() == 0, timeout=10_000)

    with qtbot.waitSignal(pane.undone, timeout=20_000):
        pane.strip.undo_button.click()
    assert "Undone" in pane.strip.label.text()
    [map_row] = served.read(
        PulsewayGroupMap.MODEL,
        [[PulsewayGroupMap.PULSEWAY_ORG_ID, "=", ORG]],
        [PulsewayGroupMap.PARTNER],
    )
    assert map_row[PulsewayGroupMap.PARTNER] is False
    qtbot.waitUntil(lambda: pane.proxy.rowCount() == 1, timeout=10_000)


def test_create_company_assigns_it_to_the_sa_and_maps_the_group(
    qtbot: Any, pane: UnmatchedPane, served: RulesWorld
) -> None:
    select_group(pane, f"org:{ORG}")
    with qtbot.waitSignal(pane.dialogOpened, timeout=5000) as opened:
        pane.open_create_dialog()
    dialog: CreateCompanyDialog = opened.args[0]
    assert dialog.name.text() == "Dunder Mifflin Scranton"
    with qtbot.waitSignal(pane.resolved, timeout=20_000):
        dialog.buttons.accepted.emit()
    [company] = served.read(
        Partner.MODEL,
        [[Partner.NAME, "=", "Dunder Mifflin Scranton"]],
        [Partner.PULSEWAY_ORG_ID, Partner.IS_COMPANY],
    )
    assert company[Partner.PULSEWAY_ORG_ID] == ORG
    [edge] = served.read(SaClient.MODEL, [[SaClient.PARTNER, "=", company["id"]]], [SaClient.SA])
    assert edge[SaClient.SA][0] == served.ids["sa"]["east"]
    assets = served.read(
        ClientAsset.MODEL, [[ClientAsset.PARTNER, "=", company["id"]]], [ClientAsset.NAME]
    )
    assert sorted(a[ClientAsset.NAME] for a in assets) == ["DMS-WS01", "DMS-WS02"]


def test_keyboard_m_opens_the_map_dialog(qtbot: Any, pane: UnmatchedPane) -> None:
    select_group(pane, f"org:{ORG}")
    pane.view.setFocus()
    with qtbot.waitSignal(pane.dialogOpened, timeout=5000) as opened:
        qtbot.keyClick(pane.view, Qt.Key.Key_M)
    assert isinstance(opened.args[0], MapPartnerDialog)
    opened.args[0].reject()


def test_a_technician_has_no_unmatched_pane_and_the_relay_refuses_them(
    qtbot: Any, run_async: Any, served: RulesWorld, tmp_path: Path
) -> None:
    gateway, relay = connect(run_async, served, "alice")
    settings = QSettings(str(tmp_path / "alice.ini"), QSettings.Format.IniFormat)
    memberships = run_async(load_memberships(gateway))
    window = MainWindow(gateway, memberships, settings=settings, relay=relay, sees_unmatched=False)
    qtbot.addWidget(window)
    assert window.unmatched_pane is None
    assert "unmatched" not in window.docks
    # even a hand-made pane gets the relay's refusal, shown in the pane
    stray = UnmatchedPane(gateway, relay)
    qtbot.addWidget(stray)
    with qtbot.waitSignal(stray.loadFinished, timeout=10_000) as finished:
        stray.reload(keep_rows=False)
    assert "dispatchers and managers" in finished.args[1]
    window.close()
    run_async(relay.aclose())
    gateway.close()


def test_a_dispatcher_gets_the_pane_under_ctrl_4(
    qtbot: Any, run_async: Any, served: RulesWorld, tmp_path: Path
) -> None:
    gateway, relay = connect(run_async, served, "dispatch")
    settings = QSettings(str(tmp_path / "dispatch.ini"), QSettings.Format.IniFormat)
    memberships = run_async(load_memberships(gateway))
    window = MainWindow(gateway, memberships, settings=settings, relay=relay, sees_unmatched=True)
    qtbot.addWidget(window)
    assert window.unmatched_pane is not None
    assert any(keys.startswith("Ctrl+4") for keys, _what in SHORTCUTS)
    window.close()
    run_async(relay.aclose())
    gateway.close()
