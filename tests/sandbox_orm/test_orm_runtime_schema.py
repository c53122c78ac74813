"""Custom models and fields created over RPC, as Studio does (reference §6), and their life
across transactions and reopened database files."""

from __future__ import annotations

import re

import pytest
from orm_support import ADMIN, Call, make_model, ref

from console.sandbox.odoo.exceptions import AccessError, UnknownModel, UserError, ValidationError
from console.sandbox.odoo.orm import Database


def create_model(call: Call, model: str = "x_client_asset", **vals: object) -> int:
    return int(call("ir.model", "create", {"name": "Client Asset", "model": model, **vals}))


def add_field(call: Call, model_id: int, **vals: object) -> int:
    return int(call("ir.model.fields", "create", {"model_id": model_id, **vals}))


def grant(db: Database, call: Call, model_id: int) -> None:
    call(
        "ir.model.access",
        "create",
        {
            "name": "access",
            "model_id": model_id,
            "group_id": ref(db, "base.group_user"),
            "perm_read": True,
            "perm_write": True,
            "perm_create": True,
            "perm_unlink": True,
        },
    )


# ---------------------------------------------------------------------- models
def test_a_created_model_is_usable_at_once_with_x_name(db: Database, call: Call) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    record = call("x_client_asset", "create", {"x_name": "PC-1"})
    assert call("x_client_asset", "read", [record], ["x_name", "display_name"]) == [
        {"id": record, "x_name": "PC-1", "display_name": "PC-1"}
    ]
    [row] = call("ir.model", "read", [model_id], ["state", "model", "order"])
    assert row == {"id": model_id, "state": "manual", "model": "x_client_asset", "order": "id"}


def test_a_model_name_must_start_with_x(call: Call) -> None:
    with pytest.raises(ValidationError, match=r"^The model name must start with 'x_'\.$"):
        create_model(call, "client_asset")


def test_a_model_name_uses_lowercase_letters_digits_underscores_and_dots(call: Call) -> None:
    with pytest.raises(ValidationError, match="can only contain lowercase"):
        create_model(call, "x_Client-Asset")


def test_a_model_name_is_unique(call: Call) -> None:
    create_model(call)
    with pytest.raises(ValidationError, match="unique"):
        create_model(call)


def test_field_id_replaces_the_default_x_name(call: Call) -> None:
    create_model(
        call, field_id=[(0, 0, {"name": "x_label", "ttype": "char", "field_description": "Label"})]
    )
    fields = call("x_client_asset", "fields_get", attributes=["type"])
    assert "x_label" in fields and "x_name" not in fields


def test_there_is_no_access_to_a_new_model_until_an_acl_grants_it(call: Call) -> None:
    create_model(call)
    with pytest.raises(AccessError) as raised:
        call("x_client_asset", "search", [])
    assert str(raised.value) == (
        "You are not allowed to access 'Client Asset' (x_client_asset) records.\n\n"
        "No group currently allows this operation.\n\n"
        "Contact your administrator to request access if necessary."
    )


def test_model_and_state_cannot_change(call: Call) -> None:
    model_id = create_model(call)
    with pytest.raises(UserError, match=re.escape('Field "Model" cannot be modified on models.')):
        call("ir.model", "write", [model_id], {"model": "x_other"})
    with pytest.raises(UserError, match=re.escape('Field "Type" cannot be modified on models.')):
        call("ir.model", "write", [model_id], {"state": "base"})


def test_the_description_and_order_of_a_model_can_change(db: Database, call: Call) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    call("ir.model", "write", [model_id], {"name": "Asset", "order": "x_name desc"})
    for name in ("a", "c", "b"):
        call("x_client_asset", "create", {"x_name": name})
    assert [r["x_name"] for r in call("x_client_asset", "search_read", [], ["x_name"])] == [
        "c",
        "b",
        "a",
    ]
    with pytest.raises(ValidationError, match="Unable to order by nope"):
        call("ir.model", "write", [model_id], {"order": "nope"})


def test_unlinking_a_custom_model_drops_it(call: Call) -> None:
    model_id = create_model(call)
    call("ir.model", "unlink", [model_id])
    with pytest.raises(UnknownModel):
        call("x_client_asset", "search", [])
    assert call("ir.model.fields", "search", [("model", "=", "x_client_asset")]) == []


def test_a_standard_model_cannot_be_unlinked(call: Call) -> None:
    [partner_model] = call("ir.model", "search", [("model", "=", "res.partner")])
    with pytest.raises(UserError, match="contains module data and cannot be removed"):
        call("ir.model", "unlink", [partner_model])


def test_every_standard_model_and_field_has_its_metadata_row(call: Call) -> None:
    [row] = call(
        "ir.model",
        "search_read",
        [("model", "=", "helpdesk.ticket")],
        ["state", "name", "field_id", "transient", "abstract"],
    )
    assert row["state"] == "base" and row["name"] == "Helpdesk Ticket"
    assert row["transient"] is False and row["abstract"] is False
    fields = {
        r["name"]: r
        for r in call(
            "ir.model.fields",
            "search_read",
            [("model", "=", "helpdesk.ticket")],
            ["name", "ttype", "relation", "state", "required"],
        )
    }
    assert fields["stage_id"]["ttype"] == "many2one"
    assert fields["stage_id"]["relation"] == "helpdesk.stage"
    assert fields["name"]["required"] is True and fields["name"]["state"] == "base"
    assert set(fields) >= {"id", "display_name", "create_date", "write_uid", "priority"}


def test_custom_models_can_be_mail_threads(db: Database, call: Call) -> None:
    model_id = create_model(call, is_mail_thread=True)
    grant(db, call, model_id)
    record = call("x_client_asset", "create", {"x_name": "PC"})
    [message] = call("x_client_asset", "message_post", [record], body="hello")
    assert call("mail.message", "read", [message], ["model", "res_id"])[0] == {
        "id": message,
        "model": "x_client_asset",
        "res_id": record,
    }


# ---------------------------------------------------------------------- fields
def test_a_created_field_shows_in_fields_get_and_is_writable(db: Database, call: Call) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    add_field(
        call,
        model_id,
        name="x_pulseway_id",
        field_description="Pulseway ID",
        ttype="char",
        index=True,
        required=False,
        copied=True,
    )
    assert call("x_client_asset", "fields_get", ["x_pulseway_id"], ["type", "string"]) == {
        "x_pulseway_id": {"type": "char", "string": "Pulseway ID"}
    }
    record = call("x_client_asset", "create", {"x_pulseway_id": "pw-1"})
    assert call("x_client_asset", "search", [("x_pulseway_id", "=", "pw-1")]) == [record]


def test_custom_fields_can_be_added_to_standard_models(call: Call) -> None:
    [ticket_model] = call("ir.model", "search", [("model", "=", "helpdesk.ticket")])
    add_field(
        call, ticket_model, name="x_alert_count", ttype="integer", field_description="Alert count"
    )
    ticket = call("helpdesk.ticket", "create", {"name": "T", "x_alert_count": 3})
    assert call("helpdesk.ticket", "read", [ticket], ["x_alert_count"])[0]["x_alert_count"] == 3


def test_fields_added_to_partners_reach_users_through_delegation(call: Call) -> None:
    [partner_model] = call("ir.model", "search", [("model", "=", "res.partner")])
    add_field(call, partner_model, name="x_sync_state", ttype="char", field_description="Sync")
    assert "x_sync_state" in call("res.users", "fields_get", attributes=["type"])
    call("res.users", "write", [2], {"x_sync_state": "synced"})
    assert call("res.users", "read", [2], ["x_sync_state"])[0]["x_sync_state"] == "synced"


def test_a_field_name_must_start_with_x(call: Call) -> None:
    model_id = create_model(call)
    with pytest.raises(
        ValidationError, match=r"^Custom fields must have a name that starts with 'x_'!$"
    ):
        add_field(call, model_id, name="pulseway_id", ttype="char", field_description="P")


def test_field_names_are_unique_per_model(call: Call) -> None:
    model_id = create_model(call)
    with pytest.raises(ValidationError, match=re.escape("Field names must be unique per model.")):
        add_field(call, model_id, name="x_name", ttype="char", field_description="Again")


def test_selection_options_from_selection_ids_or_the_deprecated_string(
    db: Database, call: Call
) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    add_field(
        call,
        model_id,
        name="x_status",
        ttype="selection",
        field_description="Status",
        selection_ids=[
            (0, 0, {"value": "active", "name": "Active", "sequence": 1}),
            (0, 0, {"value": "gone", "name": "Decommissioned", "sequence": 2}),
        ],
    )
    add_field(
        call,
        model_id,
        name="x_level",
        ttype="selection",
        field_description="Level",
        selection="[('low', 'Low'), ('high', 'High')]",
    )
    fields = call("x_client_asset", "fields_get", ["x_status", "x_level"], ["selection"])
    assert fields["x_status"]["selection"] == [["active", "Active"], ["gone", "Decommissioned"]]
    assert fields["x_level"]["selection"] == [["low", "Low"], ["high", "High"]]
    with pytest.raises(
        ValueError, match=re.escape("Wrong value for x_client_asset.x_status: 'bogus'")
    ):
        call("x_client_asset", "create", {"x_status": "bogus"})


def test_a_malformed_selection_string_is_refused(call: Call) -> None:
    model_id = create_model(call)
    with pytest.raises(ValidationError, match="not a valid Pythonic expression"):
        add_field(
            call, model_id, name="x_s", ttype="selection", field_description="S", selection="[('a'"
        )


def test_a_many2one_needs_an_existing_relation(call: Call) -> None:
    model_id = create_model(call)
    with pytest.raises(UserError, match="Model x_nope does not exist!"):
        add_field(
            call, model_id, name="x_o", ttype="many2one", relation="x_nope", field_description="O"
        )


def test_a_required_many2one_cannot_set_null_on_delete(call: Call) -> None:
    model_id = create_model(call)
    with pytest.raises(ValidationError, match="Only 'restrict' and 'cascade' make sense"):
        add_field(
            call,
            model_id,
            name="x_partner_id",
            ttype="many2one",
            relation="res.partner",
            required=True,
            field_description="Client",
        )


def test_a_one2many_needs_its_many2one_first(call: Call) -> None:
    model_id = create_model(call)
    create_model(call, "x_client_asset_line")
    with pytest.raises(UserError) as raised:
        add_field(
            call,
            model_id,
            name="x_line_ids",
            ttype="one2many",
            relation="x_client_asset_line",
            relation_field="x_asset_id",
            field_description="Lines",
        )
    assert str(raised.value) == "Many2one x_asset_id on model x_client_asset_line does not exist!"


def test_custom_relational_fields_work_together(db: Database, call: Call) -> None:
    asset_model = create_model(call)
    line_model = create_model(call, "x_client_asset_line")
    grant(db, call, asset_model)
    grant(db, call, line_model)
    add_field(
        call,
        line_model,
        name="x_asset_id",
        ttype="many2one",
        relation="x_client_asset",
        on_delete="cascade",
        field_description="Asset",
    )
    add_field(
        call,
        asset_model,
        name="x_line_ids",
        ttype="one2many",
        relation="x_client_asset_line",
        relation_field="x_asset_id",
        field_description="Lines",
    )
    add_field(
        call,
        asset_model,
        name="x_tag_ids",
        ttype="many2many",
        relation="res.partner.category",
        field_description="Tags",
    )
    [tags_field] = call(
        "ir.model.fields",
        "search_read",
        [("model", "=", "x_client_asset"), ("name", "=", "x_tag_ids")],
        ["relation_table", "column1", "column2"],
    )
    assert (tags_field["relation_table"], tags_field["column1"], tags_field["column2"]) == (
        "x_res_partner_category_x_client_asset_rel",
        "x_client_asset_id",
        "res_partner_category_id",
    )
    tag = call("res.partner.category", "create", {"name": "T"})
    asset = call(
        "x_client_asset",
        "create",
        {"x_name": "A", "x_tag_ids": [(4, tag)], "x_line_ids": [(0, 0, {"x_name": "L"})]},
    )
    [values] = call("x_client_asset", "read", [asset], ["x_line_ids", "x_tag_ids"])
    assert len(values["x_line_ids"]) == 1 and values["x_tag_ids"] == [tag]
    call("x_client_asset", "unlink", [asset])
    assert call("x_client_asset_line", "search", []) == []


def test_field_properties_can_change_but_not_the_type(db: Database, call: Call) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    field_id = add_field(call, model_id, name="x_serial", ttype="char", field_description="S")
    call("ir.model.fields", "write", [field_id], {"field_description": "Serial", "required": True})
    assert call("x_client_asset", "fields_get", ["x_serial"], ["string", "required"]) == {
        "x_serial": {"string": "Serial", "required": True}
    }
    with pytest.raises(UserError, match="Changing the type of a field is not yet supported"):
        call("ir.model.fields", "write", [field_id], {"ttype": "integer"})


def test_renaming_a_custom_field_keeps_its_values(db: Database, call: Call) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    field_id = add_field(call, model_id, name="x_serial", ttype="char", field_description="S")
    record = call("x_client_asset", "create", {"x_serial": "SN1"})
    call("ir.model.fields", "write", [field_id], {"name": "x_serial_number"})
    assert (
        call("x_client_asset", "read", [record], ["x_serial_number"])[0]["x_serial_number"] == "SN1"
    )


def test_base_fields_cannot_be_altered_or_removed(call: Call) -> None:
    [name_field] = call(
        "ir.model.fields", "search", [("model", "=", "res.partner"), ("name", "=", "name")]
    )
    with pytest.raises(UserError, match="Properties of base fields cannot be altered"):
        call("ir.model.fields", "write", [name_field], {"field_description": "Nom"})
    with pytest.raises(UserError, match="This column contains module data"):
        call("ir.model.fields", "unlink", [name_field])


def test_unlinking_a_custom_field_removes_it(db: Database, call: Call) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    field_id = add_field(call, model_id, name="x_serial", ttype="char", field_description="S")
    call("x_client_asset", "create", {"x_serial": "SN1"})
    call("ir.model.fields", "unlink", [field_id])
    assert "x_serial" not in call("x_client_asset", "fields_get", attributes=["type"])
    with pytest.raises(ValueError, match="Invalid field 'x_serial'"):
        call("x_client_asset", "search_read", [], ["x_serial"])


def test_a_many2one_used_by_a_one2many_cannot_be_removed(call: Call) -> None:
    asset_model = create_model(call)
    line_model = create_model(call, "x_client_asset_line")
    m2o = add_field(
        call,
        line_model,
        name="x_asset_id",
        ttype="many2one",
        relation="x_client_asset",
        field_description="Asset",
    )
    add_field(
        call,
        asset_model,
        name="x_line_ids",
        ttype="one2many",
        relation="x_client_asset_line",
        relation_field="x_asset_id",
        field_description="Lines",
    )
    with pytest.raises(UserError, match="depends on it"):
        call("ir.model.fields", "unlink", [m2o])


def test_removing_a_selection_option_clears_the_records_holding_it(
    db: Database, call: Call
) -> None:
    model_id = create_model(call)
    grant(db, call, model_id)
    field_id = add_field(
        call,
        model_id,
        name="x_status",
        ttype="selection",
        field_description="S",
        selection="[('a', 'A'), ('b', 'B')]",
    )
    record = call("x_client_asset", "create", {"x_status": "b"})
    [option] = call(
        "ir.model.fields.selection", "search", [("field_id", "=", field_id), ("value", "=", "b")]
    )
    call("ir.model.fields.selection", "unlink", [option])
    assert call("x_client_asset", "read", [record], ["x_status"])[0]["x_status"] is False
    assert call("x_client_asset", "fields_get", ["x_status"], ["selection"]) == {
        "x_status": {"selection": [["a", "A"]]}
    }


# ---------------------------------------------------------------------- transactions and files
def test_a_failed_call_leaves_no_half_created_model(call: Call) -> None:
    with pytest.raises(ValidationError):
        create_model(
            call,
            field_id=[
                (0, 0, {"name": "x_ok", "ttype": "char", "field_description": "OK"}),
                (0, 0, {"name": "bad", "ttype": "char", "field_description": "Bad"}),
            ],
        )
    with pytest.raises(UnknownModel):
        call("x_client_asset", "search", [])
    assert call("ir.model", "search", [("model", "=", "x_client_asset")]) == []
    create_model(call)  # the name is free again


def test_reopening_a_database_file_keeps_custom_models_fields_and_data(db_file: str) -> None:
    db = Database("file-test", db_file)
    model_id = make_model(
        db,
        "x_client_asset",
        [
            {"name": "x_partner_id", "ttype": "many2one", "relation": "res.partner"},
            {"name": "x_status", "ttype": "selection", "selection": "[('active', 'Active')]"},
        ],
        is_mail_thread=True,
    )
    [partner_model] = db.call_kw(ADMIN, "ir.model", "search", [[("model", "=", "res.partner")]], {})
    db.call_kw(
        ADMIN,
        "ir.model.fields",
        "create",
        [
            {
                "model_id": partner_model,
                "name": "x_pulseway_org_id",
                "ttype": "char",
                "field_description": "Org",
            }
        ],
        {},
    )
    record = db.call_kw(
        ADMIN,
        "x_client_asset",
        "create",
        [{"x_name": "PC", "x_partner_id": 1, "x_status": "active"}],
        {},
    )
    db.close()

    reopened = Database("file-test", db_file)
    try:
        assert reopened.call_kw(
            ADMIN, "x_client_asset", "read", [[record], ["x_name", "x_partner_id", "x_status"]], {}
        ) == [
            {"id": record, "x_name": "PC", "x_partner_id": [1, "YourCompany"], "x_status": "active"}
        ]
        assert "x_pulseway_org_id" in reopened.call_kw(
            ADMIN, "res.users", "fields_get", [], {"attributes": ["type"]}
        )
        assert reopened.call_kw(
            ADMIN, "x_client_asset", "message_post", [[record]], {"body": "still a thread"}
        )
        assert reopened.authenticate("admin", "admin") == ADMIN
        assert model_id in reopened.call_kw(
            ADMIN, "ir.model", "search", [[("state", "=", "manual")]], {}
        )
    finally:
        reopened.close()
