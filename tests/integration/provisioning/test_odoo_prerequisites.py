"""Stock Odoo 19 features provisioning and the record rules rely on, checked on the sandbox.

If one of these fails, the sandbox differs from Odoo 19 where the product depends on it; the
provisioning and access tests then fail too, for that reason.
"""

from __future__ import annotations

from typing import Any

import odoorpc


def admin_client(odoo: Any) -> odoorpc.ODOO:
    client = odoorpc.ODOO(odoo.host, port=odoo.port, timeout=30)
    client.login(odoo.db_name, "admin", "admin")
    return client


def test_ir_default_holds_field_defaults(fresh_odoo: Any) -> None:
    client = admin_client(fresh_odoo)
    [field] = client.env["ir.model.fields"].search(
        [("model", "=", "res.partner"), ("name", "=", "comment")]
    )

    default_id = client.env["ir.default"].create({"field_id": field, "json_value": '"hello"'})

    assert client.execute_kw("ir.default", "read", [[default_id], ["json_value"]]) == [
        {"id": default_id, "json_value": '"hello"'}
    ]


def test_a_global_default_applies_to_new_records(fresh_odoo: Any) -> None:
    client = admin_client(fresh_odoo)
    [field] = client.env["ir.model.fields"].search(
        [("model", "=", "res.partner"), ("name", "=", "comment")]
    )
    client.env["ir.default"].create({"field_id": field, "json_value": '"<p>hello</p>"'})

    partner = client.env["res.partner"].create({"name": "Defaulted"})

    [row] = client.execute_kw("res.partner", "read", [[partner], ["comment"]])
    assert row["comment"] == "<p>hello</p>"


def test_partner_share_is_false_for_internal_users_partners_only(fresh_odoo: Any) -> None:
    client = admin_client(fresh_odoo)
    customer = client.env["res.partner"].create({"name": "A customer"})
    admin_partner = client.env.user.partner_id.id

    rows = client.execute_kw("res.partner", "read", [[customer, admin_partner], ["partner_share"]])
    internal = client.env["res.partner"].search([("partner_share", "=", False)])

    assert {row["id"]: row["partner_share"] for row in rows} == {
        customer: True,
        admin_partner: False,
    }
    assert admin_partner in internal and customer not in internal
