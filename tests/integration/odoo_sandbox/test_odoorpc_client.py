"""Unmodified odoorpc 0.10.1 against the sandbox, as it would talk to Odoo 19."""

from __future__ import annotations

import odoorpc
import pytest
from odoorpc.error import RPCError


def connect(odoo) -> odoorpc.ODOO:
    return odoorpc.ODOO(odoo.host, port=odoo.port, timeout=30)


def test_version_and_database_list(odoo) -> None:
    client = connect(odoo)
    assert client.version == "19.0"
    assert client.db.list() == ["psa"]


def test_login_sets_user_and_context(odoo) -> None:
    client = connect(odoo)
    client.login("psa", "admin", "admin")
    assert client.env.uid == 2
    assert client.env.user.login == "admin"
    assert set(client.env.context) >= {"lang", "tz", "uid"}


def test_wrong_password_is_refused(odoo) -> None:
    client = connect(odoo)
    with pytest.raises(RPCError, match="Wrong login ID or password"):
        client.login("psa", "admin", "not-the-password")


def test_search_read_browse_write_create_unlink_roundtrip(odoo) -> None:
    client = connect(odoo)
    client.login("psa", "admin", "admin")
    Partner = client.env["res.partner"]
    companies = Partner.search_read([["is_company", "=", True]], ["name"], limit=5)
    assert companies and all(set(row) == {"id", "name"} for row in companies)

    new_id = Partner.create({"name": "Contoso Ltd", "is_company": True})
    assert isinstance(new_id, int)
    record = Partner.browse(new_id)
    assert record.name == "Contoso Ltd"
    assert record.company_type == "company"

    record.name = "Contoso Limited"
    assert Partner.read([new_id], ["name"])[0]["name"] == "Contoso Limited"

    contact_id = Partner.create({"name": "Jane Roe", "parent_id": new_id})
    contact = Partner.browse(contact_id)
    assert contact.parent_id.id == new_id
    assert contact.display_name == "Contoso Limited, Jane Roe"

    Partner.unlink([contact_id])
    assert Partner.search([["id", "=", contact_id]]) == []


def test_execute_kw_passes_kwargs(odoo) -> None:
    client = connect(odoo)
    client.login("psa", "admin", "admin")
    rows = client.execute_kw(
        "res.partner",
        "search_read",
        [[["is_company", "=", True]]],
        {"fields": ["name"], "limit": 2, "order": "name asc"},
    )
    assert len(rows) == 2
    assert rows[0]["name"] <= rows[1]["name"]


def test_unknown_field_is_a_value_error(odoo) -> None:
    client = connect(odoo)
    client.login("psa", "admin", "admin")
    with pytest.raises(RPCError) as raised:
        client.env["res.partner"].search([["no_such_field", "=", 1]])
    assert "Invalid field res.partner.no_such_field" in str(raised.value)
    assert raised.value.info["data"]["name"] == "builtins.ValueError"


def test_env_ref_resolves_xmlids(odoo) -> None:
    client = connect(odoo)
    client.login("psa", "admin", "admin")
    team = client.env.ref("helpdesk.support_team")
    assert team._name == "helpdesk.team"
    assert team.name


def test_custom_model_created_over_rpc_is_usable_at_once(odoo) -> None:
    client = connect(odoo)
    client.login("psa", "admin", "admin")
    model_id = client.env["ir.model"].create(
        {"name": "Gadget", "model": "x_gadget", "state": "manual"}
    )
    client.env["ir.model.fields"].create(
        {
            "model_id": model_id,
            "name": "x_serial",
            "field_description": "Serial",
            "ttype": "char",
            "index": True,
        }
    )
    group_user = client.env.ref("base.group_user").id
    client.env["ir.model.access"].create(
        {
            "name": "access_x_gadget",
            "model_id": model_id,
            "group_id": group_user,
            "perm_read": True,
            "perm_write": True,
            "perm_create": True,
            "perm_unlink": True,
        }
    )
    assert "x_gadget" in client.env
    Gadget = client.env["x_gadget"]
    gadget_id = Gadget.create({"x_name": "gizmo", "x_serial": "SN-1"})
    assert Gadget.search_read([["x_serial", "=", "SN-1"]], ["x_name"]) == [
        {"id": gadget_id, "x_name": "gizmo"}
    ]


def test_custom_field_without_x_prefix_is_refused(odoo) -> None:
    client = connect(odoo)
    client.login("psa", "admin", "admin")
    partner_model = client.env["ir.model"].search([["model", "=", "res.partner"]])[0]
    with pytest.raises(RPCError, match="x_"):
        client.env["ir.model.fields"].create(
            {
                "model_id": partner_model,
                "name": "serial",
                "field_description": "Serial",
                "ttype": "char",
            }
        )
