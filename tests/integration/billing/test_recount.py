"""The managed-seat recount (seed T015/T016) against the served sandbox Odoo, over real HTTP
through unmodified odoorpc: preview, apply, idempotence, failures and the RPC budget."""

from __future__ import annotations

import re
from typing import Any

import odoorpc
import pytest
from billing_support import SEAT_XMLID, BillingWorld, independent_recount, run

from console.domain.billing import SeatAction
from console.odoo import errors
from console.odoo.billing import (
    BillingScope,
    SeatProductMissing,
    apply,
    preview,
)


def text_of(html: str) -> str:
    """The plain text of a chatter body (Odoo stores what was posted as HTML)."""
    return re.sub(r"<[^>]+>", "", html)


def by_order(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["order_id"]: row for row in rows}


def partner_of(world: BillingWorld, order_id: int) -> int:
    [order] = world.su("sale.order", "read", [order_id], ["partner_id"])
    return int(order["partner_id"][0])


def seat_line(world: BillingWorld, order_id: int) -> dict[str, Any] | None:
    rows = world.su(
        "sale.order.line",
        "search_read",
        [["order_id", "=", order_id], ["product_id", "=", world.ref(SEAT_XMLID)]],
        ["product_uom_qty", "product_id"],
    )
    return rows[0] if rows else None


def active_assets(world: BillingWorld, partner_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = world.su(
        "x_client_asset",
        "search_read",
        [["x_partner_id", "=", partner_id], ["x_status", "=", "active"]],
        ["x_name", "x_subscription_active"],
        order="x_name",
    )
    return rows


def test_preview_equals_an_independent_count(billing_world: BillingWorld) -> None:
    async def scenario() -> list[dict[str, Any]]:
        gateway = await billing_world.gateway("admin")
        try:
            return (await preview(gateway)).rows()
        finally:
            gateway.close()

    rows = run(scenario)
    expected = independent_recount(billing_world.client("admin"), billing_world.ref(SEAT_XMLID))

    assert rows, "the small world has subscriptions"
    assert {
        r["order_id"]: {k: r[k] for k in ("partner_id", "current_qty", "active_assets")}
        for r in rows
    } == expected
    for row in rows:
        current = row["current_qty"] or 0
        assert row["delta"] == (row["active_assets"] - current if row["action"] != "nothing" else 0)
    assert any(r["delta"] for r in rows), "the world has a stale subscription"


def test_preview_names_the_assets_added_and_decommissioned_since_the_last_recount(
    billing_world: BillingWorld,
) -> None:
    order_id = min(billing_world.su("sale.order", "search", [["state", "=", "sale"]]))
    partner = partner_of(billing_world, order_id)
    assets = active_assets(billing_world, partner)
    gone = next(a for a in assets if a["x_subscription_active"])
    billing_world.su("x_client_asset", "write", [gone["id"]], {"x_status": "decommissioned"})
    new = billing_world.su(
        "x_client_asset", "create", {"x_name": "NEW-LAPTOP-01", "x_partner_id": partner}
    )

    async def scenario() -> Any:
        gateway = await billing_world.gateway("admin")
        try:
            return await preview(gateway)
        finally:
            gateway.close()

    row = by_order(run(scenario).rows())[order_id]

    assert {a["id"] for a in row["added"]} >= {new}
    assert {a["id"] for a in row["decommissioned"]} == {gone["id"]}
    assert row["active_assets"] == len(assets)  # one out, one in


def test_decommissioned_assets_are_not_billed(billing_world: BillingWorld) -> None:
    order_id = min(billing_world.su("sale.order", "search", [["state", "=", "sale"]]))
    partner = partner_of(billing_world, order_id)
    assets = active_assets(billing_world, partner)
    retired = [a["id"] for a in assets[:3]]
    billing_world.su("x_client_asset", "write", retired, {"x_status": "decommissioned"})

    async def scenario() -> Any:
        gateway = await billing_world.gateway("admin")
        try:
            billing = await preview(gateway)
            return by_order(billing.rows())[order_id], await apply(gateway, billing)
        finally:
            gateway.close()

    row, result = run(scenario)

    assert row["active_assets"] == len(assets) - 3
    assert result.ok
    line = seat_line(billing_world, order_id)
    assert line is not None and line["product_uom_qty"] == len(assets) - 3
    flags = billing_world.su("x_client_asset", "read", retired, ["x_subscription_active"])
    assert not any(f["x_subscription_active"] for f in flags)


def test_apply_writes_changed_lines_posts_the_seed_message_and_nothing_else(
    billing_world: BillingWorld,
) -> None:
    before = independent_recount(billing_world.client("admin"), billing_world.ref(SEAT_XMLID))
    stale = {o for o, r in before.items() if r["current_qty"] != r["active_assets"]}
    assert stale

    async def scenario() -> Any:
        gateway = await billing_world.gateway("admin")
        try:
            return await apply(gateway, await preview(gateway))
        finally:
            gateway.close()

    result = run(scenario)

    assert result.ok
    assert {d.order_id for d in result.applied} == stale
    after = independent_recount(billing_world.client("admin"), billing_world.ref(SEAT_XMLID))
    assert all(r["current_qty"] == r["active_assets"] for r in after.values())
    messages = billing_world.seat_messages()
    assert sorted(m["res_id"] for m in messages) == sorted(stale)
    for message in messages:
        assert text_of(message["body"]) == (
            f"Auto-updated Asset count to {after[message['res_id']]['active_assets']}"
        )


def test_apply_is_idempotent_second_run_writes_and_posts_nothing(
    billing_world: BillingWorld,
) -> None:
    async def scenario() -> Any:
        gateway = await billing_world.gateway("admin")
        try:
            first_preview = await preview(gateway)
            first = await apply(gateway, first_preview)
            second_preview = await preview(gateway)
            gateway.stats.counts.clear()
            again = await apply(gateway, second_preview)
            stale_again = await apply(gateway, first_preview)  # an old preview, applied twice
            return first, second_preview, again, stale_again, dict(gateway.stats.counts)
        finally:
            gateway.close()

    messages_before = len(billing_world.seat_messages())
    first, second_preview, again, stale_again, counts = run(scenario)

    assert first.applied
    assert second_preview.changes == ()
    assert second_preview.plan.mark_counted == () and second_preview.plan.mark_uncounted == ()
    assert again.applied == () and again.rpc_count == 0
    assert stale_again.applied == () and stale_again.failures == ()
    assert {d.order_id for d in stale_again.already_done} == {d.order_id for d in first.applied}
    # the stale preview cost one re-read of the lines and the (harmless) flag writes
    assert counts.get("billing.apply", 0) <= 3
    assert len(billing_world.seat_messages()) == messages_before + len(first.applied)


def test_a_missing_line_is_created_when_the_client_has_active_assets(
    billing_world: BillingWorld,
) -> None:
    order_id = min(billing_world.su("sale.order", "search", [["state", "=", "sale"]]))
    line = seat_line(billing_world, order_id)
    assert line is not None
    billing_world.su("sale.order.line", "unlink", [line["id"]])
    partner = partner_of(billing_world, order_id)
    expected = len(active_assets(billing_world, partner))

    async def scenario() -> Any:
        gateway = await billing_world.gateway("admin")
        try:
            billing = await preview(gateway)
            return by_order(billing.rows())[order_id], await apply(gateway, billing)
        finally:
            gateway.close()

    row, result = run(scenario)

    assert (row["action"], row["current_qty"], row["delta"]) == ("create_line", None, expected)
    assert result.ok and [d.order_id for d in result.applied if d.order_id == order_id]
    created = seat_line(billing_world, order_id)
    assert created is not None
    assert created["product_uom_qty"] == expected
    assert created["product_id"][0] == billing_world.ref(SEAT_XMLID)
    assert [text_of(m["body"]) for m in billing_world.seat_messages(order_id)] == [
        f"Auto-updated Asset count to {expected}"
    ]


def test_no_line_is_created_for_a_client_without_active_assets(
    billing_world: BillingWorld,
) -> None:
    order_id = min(billing_world.su("sale.order", "search", [["state", "=", "sale"]]))
    line = seat_line(billing_world, order_id)
    assert line is not None
    billing_world.su("sale.order.line", "unlink", [line["id"]])
    partner = partner_of(billing_world, order_id)
    ids = [a["id"] for a in active_assets(billing_world, partner)]
    billing_world.su("x_client_asset", "write", ids, {"x_status": "decommissioned"})

    async def scenario() -> Any:
        gateway = await billing_world.gateway("admin")
        try:
            billing = await preview(gateway)
            return billing.diffs, await apply(gateway, billing)
        finally:
            gateway.close()

    diffs, result = run(scenario)

    diff = next(d for d in diffs if d.order_id == order_id)
    assert diff.action is SeatAction.NOTHING and diff.active_assets == 0
    assert order_id not in {d.order_id for d in result.applied}
    assert seat_line(billing_world, order_id) is None
    assert billing_world.seat_messages(order_id) == []


def test_preview_of_every_subscription_stays_within_the_rpc_budget(
    billing_world: BillingWorld,
) -> None:
    async def scenario() -> tuple[int, int]:
        gateway = await billing_world.gateway("admin")
        try:
            billing = await preview(gateway)
            scoped = await preview(
                gateway,
                BillingScope(billing_world.sa_id("East"), "East"),
                actor=gateway.user.uid if gateway.user else 0,
            )
            assert scoped.diffs
            return gateway.stats.counts["billing.preview"], billing.rpc_count
        finally:
            gateway.close()

    counted, reported = run(scenario)

    assert reported <= 5
    assert counted <= 10  # two previews, five each at most


def test_a_scoped_preview_covers_only_that_sas_subscriptions(
    billing_world: BillingWorld,
) -> None:
    east = billing_world.sa_id("East")

    async def scenario() -> list[int]:
        gateway = await billing_world.gateway("maria")  # manager of East
        try:
            assert gateway.user is not None
            billing = await preview(gateway, BillingScope(east, "East"), actor=gateway.user.uid)
            return [d.order_id for d in billing.diffs]
        finally:
            gateway.close()

    orders = run(scenario)
    stamped = billing_world.su(
        "sale.order", "search", [["x_sa_id", "=", east], ["state", "=", "sale"]]
    )
    assert orders and sorted(orders) == sorted(stamped)


def test_a_technician_cannot_apply_odoo_refuses_every_write(
    billing_world: BillingWorld,
) -> None:
    async def scenario() -> Any:
        gateway = await billing_world.gateway("alice")  # technician in East
        try:
            assert gateway.user is not None
            billing = await preview(
                gateway, BillingScope(billing_world.sa_id("East"), "East"), actor=gateway.user.uid
            )
            stale = billing.changes
            return billing, await apply(gateway, billing) if stale else None
        finally:
            gateway.close()

    # The demo world also gives every user the stock "Sales / Own Documents Only" group, whose
    # ACLs let a salesperson edit the lines of their own orders whatever the console says; a
    # technician holding only the console's groups is refused by Odoo itself.
    billing_world.su(
        "res.users",
        "write",
        [billing_world.uid("alice")],
        {"group_ids": [[3, billing_world.ref("sales_team.group_sale_salesman")]]},
    )
    # make sure alice has something to apply: an order she can read goes stale
    alice = billing_world.client("alice")
    visible = alice.execute_kw("sale.order", "search", [[["state", "=", "sale"]]])
    assert visible
    line = seat_line(billing_world, visible[0])
    assert line is not None
    billing_world.su("sale.order.line", "write", [line["id"]], {"product_uom_qty": 999})
    messages_before = billing_world.seat_messages()

    billing, result = run(scenario)

    assert billing.changes and result is not None
    assert not result.applied
    assert {f.order_id for f in result.failures} >= {d.order_id for d in billing.changes}
    assert all("not updated" in f.message for f in result.failures if f.order_id)
    assert seat_line(billing_world, visible[0])["product_uom_qty"] == 999  # type: ignore[index]
    assert billing_world.seat_messages() == messages_before
    # and over the raw wire: Odoo's access rights refuse the write and the chatter note
    with pytest.raises(odoorpc.error.RPCError, match=r"not allowed|AccessError|access"):
        alice.execute_kw("sale.order.line", "write", [[line["id"]], {"product_uom_qty": 1}])
    with pytest.raises(odoorpc.error.RPCError):
        alice.execute_kw("sale.order", "message_post", [[visible[0]]], {"body": "x"})


def test_partial_failure_is_listed_and_a_rerun_finishes_without_doubling(
    billing_world: BillingWorld,
) -> None:
    orders = sorted(billing_world.su("sale.order", "search", [["state", "=", "sale"]]))
    for order_id in orders:  # every order stale
        line = seat_line(billing_world, order_id)
        assert line is not None
        billing_world.su("sale.order.line", "write", [line["id"]], {"product_uom_qty": 500})
    blocked = orders[1]
    # Odoo refuses writes on one order's lines (as a locked order would): a global record rule
    model_id = billing_world.su("ir.model", "search", [["model", "=", "sale.order.line"]])[0]
    rule = billing_world.su(
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

    async def attempt() -> Any:
        gateway = await billing_world.gateway("admin")
        try:
            return await apply(gateway, await preview(gateway))
        finally:
            gateway.close()

    first = run(attempt)

    assert [f.order_id for f in first.failures] == [blocked]
    assert "seats not updated" in first.failures[0].message
    assert {d.order_id for d in first.applied} == set(orders) - {blocked}
    assert billing_world.seat_messages(blocked) == []

    billing_world.su("ir.rule", "unlink", [rule])
    second = run(attempt)

    assert second.ok
    assert [d.order_id for d in second.applied] == [blocked]
    for order_id in orders:
        assert len(billing_world.seat_messages(order_id)) == 1


def test_an_unknown_seat_product_xmlid_is_a_clear_error(billing_world: BillingWorld) -> None:
    async def scenario() -> None:
        gateway = await billing_world.gateway("admin")
        try:
            await preview(gateway, xmlid="psa.no_such_product")
        finally:
            gateway.close()

    with pytest.raises(SeatProductMissing, match=r"'psa.no_such_product' does not exist"):
        run(scenario)


def test_an_xmlid_of_another_model_is_refused(billing_world: BillingWorld) -> None:
    async def scenario() -> None:
        gateway = await billing_world.gateway("admin")
        try:
            await preview(gateway, xmlid="product.managed_seat_product_template")
        finally:
            gateway.close()

    with pytest.raises(SeatProductMissing, match="not a product variant"):
        run(scenario)


def test_a_malformed_xmlid_is_refused_before_any_rpc() -> None:
    from console.odoo.billing import BillingConfigError, check_xmlid

    with pytest.raises(BillingConfigError, match=r"module\.name"):
        check_xmlid("managed seat")
    assert issubclass(SeatProductMissing, errors.OdooGatewayError)
