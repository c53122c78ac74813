"""The Billing pane against a served sandbox Odoo with the small demo world: managers preview and
apply the managed-seat recount; everyone else is told it is not theirs."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership, load_memberships
from console.ui.main_window import SHORTCUTS, MainWindow
from console.ui.panes.billing import BillingPane

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "billing"))
from billing_support import SEAT_XMLID, BillingWorld, start_billing_world


@pytest.fixture
def world() -> Iterator[BillingWorld]:
    running, stop = start_billing_world()
    try:
        yield running
    finally:
        stop()


def connect(run_async: Any, world: BillingWorld, login: str) -> OdooGateway:
    return run_async(OdooGateway.connect(world.url, world.db_name, login, login))


def seat_qty(world: BillingWorld, order_name: str) -> float:
    [order] = world.su("sale.order", "search", [["name", "=", order_name]])
    [line] = world.su(
        "sale.order.line",
        "search_read",
        [["order_id", "=", order], ["product_id", "=", world.ref(SEAT_XMLID)]],
        ["product_uom_qty"],
    )
    return float(line["product_uom_qty"])


def make_stale(world: BillingWorld, order_name: str, qty: float) -> int:
    [order] = world.su("sale.order", "search", [["name", "=", order_name]])
    [line] = world.su(
        "sale.order.line",
        "search",
        [["order_id", "=", order], ["product_id", "=", world.ref(SEAT_XMLID)]],
    )
    world.su("sale.order.line", "write", [line], {"product_uom_qty": qty})
    return int(order)


def east_orders(world: BillingWorld) -> list[str]:
    rows = world.su("sale.order", "search_read", [["x_sa_id", "=", world.sa_id("East")]], ["name"])
    return sorted(r["name"] for r in rows)


def make_pane(qtbot: Any, run_async: Any, world: BillingWorld, login: str) -> BillingPane:
    gateway = connect(run_async, world, login)
    pane = BillingPane(gateway)
    qtbot.addWidget(pane)
    pane.resize(900, 600)
    pane.show()
    return pane


def membership(run_async: Any, pane: BillingPane, sa_name: str) -> Membership:
    memberships = run_async(load_memberships(pane.gateway))
    return next(m for m in memberships if m.sa_name == sa_name)


def shown_rows(pane: BillingPane) -> dict[str, dict[str, Any]]:
    return {
        pane.model.record(r)["order_name"]: pane.model.record(r)
        for r in range(pane.model.rowCount())
    }


def preview_now(qtbot: Any, pane: BillingPane) -> None:
    with qtbot.waitSignal(pane.previewFinished, timeout=15_000) as blocker:
        qtbot.mouseClick(pane.preview_button, Qt.MouseButton.LeftButton)
    assert blocker.args[1] == "", blocker.args[1]
    qtbot.waitUntil(lambda: not pane.is_loading())


def test_a_manager_previews_sees_the_stale_row_highlighted_and_applies_it(
    qtbot: Any, run_async: Any, world: BillingWorld
) -> None:
    make_stale(world, "SUB00001", 10)
    pane = make_pane(qtbot, run_async, world, "maria")
    pane.set_membership(membership(run_async, pane, "East"))
    assert pane.model.rowCount() == 0
    assert "not previewed yet" in pane.state_label.text()
    assert not pane.apply_button.isEnabled()

    preview_now(qtbot, pane)

    rows = shown_rows(pane)
    assert sorted(rows) == east_orders(world)
    stale = rows["SUB00001"]
    assert (stale["current_qty"], stale["delta"]) == (10.0, stale["active_assets"] - 10)
    row_of = {name: pane.model.row_of(rec["order_id"]) for name, rec in rows.items()}
    background = int(Qt.ItemDataRole.BackgroundRole)
    for name, row in row_of.items():
        highlighted = pane.model.data(pane.model.index(row, 0), background) is not None
        assert highlighted == (name == "SUB00001"), name
    assert pane.apply_button.isEnabled() and pane.apply_button.text() == "Apply 1 change…"
    assert "1 to change" in pane.state_label.text()

    dialog = pane.confirm_apply()
    assert dialog is not None and "SUB00001" in dialog.listing.toPlainText()
    with qtbot.waitSignal(pane.applyFinished, timeout=15_000) as applied:
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)

    result = applied.args[0]
    assert result.ok and [d.order_name for d in result.applied] == ["SUB00001"]
    assert seat_qty(world, "SUB00001") == stale["active_assets"]
    assert len(world.seat_messages()) == 1
    assert "Applied 1 change" in pane.apply_label.text()
    # the pane shows Odoo's state again: nothing left to change
    qtbot.waitUntil(lambda: pane.result is not None and not pane.is_loading(), timeout=15_000)
    assert pane.result is not None and pane.result.changes == ()
    assert not pane.apply_button.isEnabled()
    pane.gateway.close()


def test_cancelling_the_confirmation_writes_nothing(
    qtbot: Any, run_async: Any, world: BillingWorld
) -> None:
    make_stale(world, "SUB00001", 10)
    pane = make_pane(qtbot, run_async, world, "maria")
    pane.set_membership(membership(run_async, pane, "East"))
    preview_now(qtbot, pane)

    dialog = pane.confirm_apply()
    assert dialog is not None
    with qtbot.waitSignal(dialog.finished, timeout=5_000):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    assert not pane.is_applying()
    assert seat_qty(world, "SUB00001") == 10
    assert world.seat_messages() == []
    pane.gateway.close()


def test_the_detail_panel_names_the_assets_added_since_the_last_recount(
    qtbot: Any, run_async: Any, world: BillingWorld
) -> None:
    pane = make_pane(qtbot, run_async, world, "admin")
    pane.set_membership(membership(run_async, pane, "West"))
    preview_now(qtbot, pane)

    row = pane.proxy.mapFromSource(
        pane.model.index(pane.model.row_of(shown_rows(pane)["SUB00004"]["order_id"]) or 0, 0)
    ).row()
    pane.view.selectRow(row)

    qtbot.waitUntil(lambda: "DRILO-WKS-009" in pane.detail.toPlainText())
    text = pane.detail.toPlainText()
    assert "Added since the last recount" in text and "DRILO-WKS-008" in text
    pane.gateway.close()


def test_failures_are_listed_and_retry_finishes_them(
    qtbot: Any, run_async: Any, world: BillingWorld
) -> None:
    first = make_stale(world, "SUB00001", 10)
    blocked = make_stale(world, "SUB00003", 10)
    model_id = world.su("ir.model", "search", [["model", "=", "sale.order.line"]])[0]
    rule = world.su(
        "ir.rule",
        "create",
        {
            "name": "test: order locked",
            "model_id": model_id,
            "domain_force": f"[('order_id', '!=', {blocked})]",
            "perm_read": False,
            "perm_write": True,
            "perm_create": False,
            "perm_unlink": False,
        },
    )
    pane = make_pane(qtbot, run_async, world, "maria")
    pane.set_membership(membership(run_async, pane, "East"))
    preview_now(qtbot, pane)
    with qtbot.waitSignal(pane.applyFinished, timeout=15_000) as applied:
        pane.start_apply()

    assert [f.order_id for f in applied.args[0].failures] == [blocked]
    assert pane.retry_button.isVisibleTo(pane)
    assert re.search(r"SUB00003: seats not updated", pane.apply_label.text())
    assert len(world.seat_messages(first)) == 1

    world.su("ir.rule", "unlink", [rule])
    qtbot.waitUntil(lambda: not pane.is_loading(), timeout=15_000)
    with qtbot.waitSignal(pane.applyFinished, timeout=15_000) as retried:
        qtbot.mouseClick(pane.retry_button, Qt.MouseButton.LeftButton)

    assert retried.args[0].ok
    assert [d.order_id for d in retried.args[0].applied] == [blocked]
    assert len(world.seat_messages(first)) == 1 and len(world.seat_messages(blocked)) == 1
    pane.gateway.close()


def test_in_an_sa_the_user_does_not_manage_the_pane_says_so(
    qtbot: Any, run_async: Any, world: BillingWorld
) -> None:
    # alice: technician in East, and (for this test) manager of West
    world.su(
        "x_sa_membership",
        "create",
        {"x_user_id": world.uid("alice"), "x_sa_id": world.sa_id("West"), "x_role": "manager"},
    )
    pane = make_pane(qtbot, run_async, world, "alice")

    pane.set_membership(membership(run_async, pane, "East"))

    assert pane.not_manager.isVisibleTo(pane)
    assert "technician in East" in pane.not_manager.text()
    assert not pane.action_bar.isVisibleTo(pane) and not pane.view.isVisibleTo(pane)
    assert pane.start_preview() is None and pane.confirm_apply() is None

    pane.set_membership(membership(run_async, pane, "West"))

    assert not pane.not_manager.isVisibleTo(pane) and pane.action_bar.isVisibleTo(pane)
    pane.gateway.close()


def test_switching_sa_clears_the_preview_and_does_not_run_a_new_one(
    qtbot: Any, run_async: Any, world: BillingWorld
) -> None:
    pane = make_pane(qtbot, run_async, world, "admin")
    pane.set_membership(membership(run_async, pane, "East"))
    preview_now(qtbot, pane)
    pane.gateway.stats.counts.clear()

    pane.set_membership(membership(run_async, pane, "West"))

    assert pane.model.rowCount() == 0 and pane.result is None
    assert not pane.is_loading()
    assert pane.gateway.stats.counts["billing.preview"] == 0
    assert "West: not previewed yet" in pane.state_label.text()
    pane.gateway.close()


def test_the_main_window_has_the_pane_for_managers_only(
    qtbot: Any, run_async: Any, world: BillingWorld, tmp_path: Path
) -> None:
    assert any(keys == "Ctrl+6" for keys, _what in SHORTCUTS)
    windows = {}
    for login in ("maria", "alice"):
        gateway = connect(run_async, world, login)
        memberships = run_async(load_memberships(gateway))
        settings = QSettings(str(tmp_path / f"{login}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(gateway, memberships, settings=settings)
        qtbot.addWidget(window)
        windows[login] = window

    manager, technician = windows["maria"], windows["alice"]
    assert manager.billing_pane is not None and "billing" in manager.docks
    assert technician.billing_pane is None and "billing" not in technician.docks
    manager.start()
    assert manager.billing_pane.membership is not None
    assert manager.billing_pane.membership.sa_name == "East"
    manager.show()
    manager.raise_pane("billing")
    qtbot.waitUntil(lambda: manager.billing_pane is not None and manager.billing_pane.isVisible())
    for window in windows.values():
        for pane in window.panes.values():
            pane.cancel_load()
        window.gateway.close()
