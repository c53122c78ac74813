"""Seat lines are money: Odoo itself refuses a seat-line write by anyone but a manager of the
order's SA (or of an SA above it), whatever the client sends over the wire."""

from __future__ import annotations

import odoorpc
import pytest
from billing_support import BillingWorld


def _order_and_line(world: BillingWorld, sa: str) -> tuple[int, int]:
    orders = world.su(
        "sale.order", "search", [["state", "=", "sale"], ["x_sa_id", "=", world.sa_id(sa)]]
    )
    assert orders, f"the demo world has no subscription in {sa}"
    lines = world.su("sale.order.line", "search", [["order_id", "in", orders]])
    assert lines
    [line] = world.su("sale.order.line", "read", lines[:1], ["order_id"])
    return line["order_id"][0], line["id"]


def test_a_manager_writes_seat_lines_of_her_sa(billing_world: BillingWorld) -> None:
    _order, line = _order_and_line(billing_world, "East")
    maria = billing_world.client("maria")
    maria.execute_kw("sale.order.line", "write", [[line], {"product_uom_qty": 7}])
    [after] = billing_world.su("sale.order.line", "read", [line], ["product_uom_qty"])
    assert after["product_uom_qty"] == 7


def test_a_manager_cannot_write_seat_lines_of_another_sa(billing_world: BillingWorld) -> None:
    _order, line = _order_and_line(billing_world, "West")
    [before] = billing_world.su("sale.order.line", "read", [line], ["product_uom_qty"])
    maria = billing_world.client("maria")  # manager of East only
    with pytest.raises(odoorpc.error.RPCError):
        maria.execute_kw("sale.order.line", "write", [[line], {"product_uom_qty": 7}])
    [after] = billing_world.su("sale.order.line", "read", [line], ["product_uom_qty"])
    assert after["product_uom_qty"] == before["product_uom_qty"]


def test_the_root_manager_reaches_every_region(billing_world: BillingWorld) -> None:
    _order, line = _order_and_line(billing_world, "West")
    billing_world.client("admin").execute_kw(
        "sale.order.line", "write", [[line], {"product_uom_qty": 3}]
    )
    [after] = billing_world.su("sale.order.line", "read", [line], ["product_uom_qty"])
    assert after["product_uom_qty"] == 3
