"""Result shapes and value formats of read/create/write/unlink/copy (reference §4), x2many
command tuples, delegation (``_inherits``) and the computed fields of the standard models."""

from __future__ import annotations

import json
import re

import pytest
from orm_support import Call, make_model, ref

from console.sandbox.odoo.exceptions import MissingError, ValidationError
from console.sandbox.odoo.orm import Database

ALL_TYPES = [
    {"name": "x_text", "ttype": "text"},
    {"name": "x_html", "ttype": "html"},
    {"name": "x_int", "ttype": "integer"},
    {"name": "x_float", "ttype": "float"},
    {"name": "x_money", "ttype": "monetary"},
    {"name": "x_flag", "ttype": "boolean"},
    {"name": "x_day", "ttype": "date"},
    {"name": "x_at", "ttype": "datetime"},
    {"name": "x_kind", "ttype": "selection", "selection": "[('a', 'A'), ('b', 'B')]"},
    {"name": "x_partner_id", "ttype": "many2one", "relation": "res.partner"},
    {"name": "x_tag_ids", "ttype": "many2many", "relation": "res.partner.category"},
    {"name": "x_blob", "ttype": "binary"},
    {"name": "x_data", "ttype": "json"},
]


@pytest.fixture
def typed(db: Database) -> str:
    make_model(db, "x_typed", ALL_TYPES)
    return "x_typed"


# ---------------------------------------------------------------------- read formats
def test_unset_values_read_as_odoo_sends_them(call: Call, typed: str) -> None:
    record = call(typed, "create", {})
    [values] = call(typed, "read", [record])
    assert values["id"] == record
    assert values["x_name"] is False and values["x_text"] is False
    assert values["x_int"] == 0 and values["x_float"] == 0.0 and values["x_money"] == 0.0
    assert values["x_flag"] is False
    assert values["x_day"] is False and values["x_at"] is False and values["x_kind"] is False
    assert values["x_partner_id"] is False and values["x_tag_ids"] == []
    assert values["x_blob"] is False and values["x_data"] is False


def test_set_values_read_in_wire_formats(call: Call, typed: str) -> None:
    tag = call("res.partner.category", "create", {"name": "VIP"})
    record = call(
        typed,
        "create",
        {
            "x_name": "n",
            "x_int": 7,
            "x_float": 1.5,
            "x_flag": True,
            "x_day": "2024-02-29",
            "x_at": "2024-02-29 13:14:15",
            "x_kind": "b",
            "x_partner_id": 1,
            "x_tag_ids": [(6, 0, [tag])],
            "x_blob": "aGVsbG8=",
            "x_data": {"a": [1, 2]},
        },
    )
    [values] = call(typed, "read", [record])
    assert values["x_int"] == 7 and values["x_float"] == 1.5 and values["x_flag"] is True
    assert values["x_day"] == "2024-02-29" and values["x_at"] == "2024-02-29 13:14:15"
    assert values["x_kind"] == "b"
    assert values["x_partner_id"] == [1, "YourCompany"]
    assert values["x_tag_ids"] == [tag]
    assert values["x_blob"] == "aGVsbG8=" and values["x_data"] == {"a": [1, 2]}


def test_many2one_reads_as_a_bare_id_with_any_other_load(call: Call, typed: str) -> None:
    record = call(typed, "create", {"x_partner_id": 1})
    assert call(typed, "read", [record], ["x_partner_id"], load="_classic_write") == [
        {"id": record, "x_partner_id": 1}
    ]
    assert call(typed, "read", [record], ["x_partner_id"], load=None)[0]["x_partner_id"] == 1


def test_read_results_are_json_serializable(call: Call, typed: str) -> None:
    call(typed, "create", {"x_at": "2024-02-29 13:14:15", "x_partner_id": 1})
    json.dumps(call(typed, "search_read", []))


def test_search_read_always_includes_id_and_empty_fields_mean_all(call: Call, typed: str) -> None:
    call(typed, "create", {"x_name": "a"})
    [only_name] = call(typed, "search_read", [], ["x_name"])
    assert set(only_name) == {"id", "x_name"}
    [everything] = call(typed, "search_read", [], [])
    assert {"id", "display_name", "create_date", "write_uid", "x_data"} <= set(everything)


def test_read_drops_deleted_ids_and_keeps_the_requested_order(call: Call, typed: str) -> None:
    first = call(typed, "create", {"x_name": "first"})
    second = call(typed, "create", {"x_name": "second"})
    rows = call(typed, "read", [second, 99999, first], ["x_name"])
    assert [r["id"] for r in rows] == [second, first]


def test_read_of_an_unknown_field_is_a_value_error(call: Call) -> None:
    with pytest.raises(
        ValueError, match=re.escape("Invalid field 'mobile' on model 'res.partner'")
    ):
        call("res.partner", "read", [1], ["mobile"])


def test_dates_are_validated_and_normalised(call: Call, typed: str) -> None:
    record = call(typed, "create", {"x_day": "2024-03-05 10:00:00", "x_at": "2024-03-05"})
    [values] = call(typed, "read", [record], ["x_day", "x_at"])
    assert values["x_day"] == "2024-03-05" and values["x_at"] == "2024-03-05 00:00:00"
    with pytest.raises(ValueError, match="does not match format"):
        call(typed, "create", {"x_day": "05/03/2024"})


def test_plain_text_in_an_html_field_becomes_an_escaped_paragraph(call: Call, typed: str) -> None:
    record = call(typed, "create", {"x_html": "a < b", "x_text": "a < b"})
    [values] = call(typed, "read", [record], ["x_html", "x_text"])
    assert values["x_html"] == "<p>a &lt; b</p>" and values["x_text"] == "a < b"


# ---------------------------------------------------------------------- create / write
def test_create_returns_an_int_for_a_dict_and_a_list_for_a_list(call: Call) -> None:
    assert isinstance(call("res.partner", "create", {"name": "One"}), int)
    many = call("res.partner", "create", [{"name": "Two"}, {"name": "Three"}])
    assert isinstance(many, list) and len(many) == 2


def test_create_applies_field_and_context_defaults(call: Call) -> None:
    partner = call(
        "res.partner",
        "create",
        {"name": "Default"},
        context={"default_ref": "CTX", "default_type": "invoice"},
    )
    [values] = call("res.partner", "read", [partner], ["active", "ref", "type", "lang"])
    assert values == {
        "id": partner,
        "active": True,
        "ref": "CTX",
        "type": "invoice",
        "lang": "en_US",
    }


def test_create_with_an_unknown_field_is_a_value_error(call: Call) -> None:
    with pytest.raises(
        ValueError, match=re.escape("Invalid field 'mobile' on model 'res.partner'")
    ):
        call("res.partner", "create", {"name": "x", "mobile": "1"})


def test_a_wrong_selection_value_is_refused(call: Call) -> None:
    with pytest.raises(ValueError, match=re.escape("Wrong value for res.partner.type: 'nope'")):
        call("res.partner", "create", {"name": "x", "type": "nope"})


def test_a_missing_required_value_is_odoos_not_null_validation_error(call: Call) -> None:
    with pytest.raises(ValidationError) as raised:
        call("helpdesk.ticket", "create", {"description": "no subject"})
    assert "a mandatory field is not set" in str(raised.value)
    assert "Model: Helpdesk Ticket (helpdesk.ticket)\nField: Subject (name)" in str(raised.value)


def test_a_many2one_to_a_missing_record_is_a_foreign_key_error(call: Call) -> None:
    with pytest.raises(ValidationError, match="Constraint: res_partner_parent_id_fkey"):
        call("res.partner", "create", {"name": "x", "parent_id": 99999})


def test_write_returns_true_and_false_empties_a_field(call: Call) -> None:
    partner = call("res.partner", "create", {"name": "W", "email": "w@example.com"})
    assert call("res.partner", "write", [partner], {"email": False}) is True
    assert call("res.partner", "read", [partner], ["email"])[0]["email"] is False


def test_write_to_a_deleted_record_is_a_missing_error(call: Call) -> None:
    with pytest.raises(MissingError) as raised:
        call("res.partner", "write", [99999], {"name": "x"})
    assert str(raised.value) == (
        "One of the records you are trying to modify has already been deleted "
        "(Document type: Contact).\n\n(Records: (99999,), User: 2)"
    )


def test_unlink_of_a_deleted_record_is_fine(call: Call) -> None:
    assert call("res.partner", "unlink", [99999]) is True


def test_create_and_write_stamp_the_log_access_fields(call: Call) -> None:
    partner = call("res.partner", "create", {"name": "Stamped"})
    [values] = call(
        "res.partner", "read", [partner], ["create_uid", "create_date", "write_uid", "write_date"]
    )
    assert values["create_uid"] == [2, "Mitchell Admin"] and values["write_uid"][0] == 2
    assert len(values["create_date"]) == 19 and values["write_date"] >= values["create_date"]


# ---------------------------------------------------------------------- x2many commands
def test_one2many_commands(call: Call) -> None:
    company = call(
        "res.partner",
        "create",
        {
            "name": "Co",
            "is_company": True,
            "child_ids": [(0, 0, {"name": "A"}), (0, 0, {"name": "B"})],
        },
    )

    def children() -> list[str]:
        return sorted(
            r["name"]
            for r in call("res.partner", "search_read", [("parent_id", "=", company)], ["name"])
        )

    assert children() == ["A", "B"]
    [a, b] = call("res.partner", "search", [("parent_id", "=", company)], order="name")
    call("res.partner", "write", [company], {"child_ids": [(1, a, {"name": "A2"}), (3, b)]})
    assert children() == ["A2"]
    assert call("res.partner", "read", [b], ["parent_id"])[0]["parent_id"] is False
    call("res.partner", "write", [company], {"child_ids": [[4, b]]})
    assert children() == ["A2", "B"]
    call("res.partner", "write", [company], {"child_ids": [(2, a, 0)]})
    assert call("res.partner", "exists", [a]) == []
    call("res.partner", "write", [company], {"child_ids": [[5]]})
    assert children() == []
    call("res.partner", "write", [company], {"child_ids": [(6, 0, [b])]})
    assert children() == ["B"]


def test_removing_a_line_whose_inverse_is_required_deletes_it(
    small_db: Database, call: Call
) -> None:
    [order] = call("sale.order", "search", [], limit=1)
    [line] = call("sale.order", "read", [order], ["order_line"])[0]["order_line"]
    call("sale.order", "write", [order], {"order_line": [(3, line)]})
    assert call("sale.order.line", "exists", [line]) == []


def test_many2many_commands_and_plain_id_lists(call: Call) -> None:
    tags = [call("res.partner.category", "create", {"name": n}) for n in ("A", "B", "C")]
    partner = call("res.partner", "create", {"name": "P", "category_id": [(6, 0, tags[:2])]})

    def linked() -> list[int]:
        return sorted(call("res.partner", "read", [partner], ["category_id"])[0]["category_id"])

    assert linked() == tags[:2]
    call("res.partner", "write", [partner], {"category_id": [(3, tags[0]), (4, tags[2])]})
    assert linked() == tags[1:]
    call("res.partner", "write", [partner], {"category_id": [(0, 0, {"name": "D"})]})
    assert len(linked()) == 3
    call("res.partner", "write", [partner], {"category_id": [[5]]})
    assert linked() == []
    call("res.partner", "write", [partner], {"category_id": tags})
    assert linked() == tags
    call("res.partner", "write", [partner], {"category_id": [(2, tags[0])]})
    assert linked() == tags[1:] and call("res.partner.category", "exists", [tags[0]]) == []


def test_x2many_values_hide_archived_comodel_records(call: Call) -> None:
    tags = [call("res.partner.category", "create", {"name": n}) for n in ("On", "Off")]
    partner = call("res.partner", "create", {"name": "P", "category_id": [(6, 0, tags)]})
    call("res.partner.category", "write", [tags[1]], {"active": False})
    assert call("res.partner", "read", [partner], ["category_id"])[0]["category_id"] == [tags[0]]


def test_an_invalid_command_is_a_value_error(call: Call) -> None:
    with pytest.raises(ValueError, match="Invalid x2many command"):
        call("res.partner", "create", {"name": "P", "category_id": [(9, 0, 0)]})


# ---------------------------------------------------------------------- unlink
def test_unlink_follows_ondelete_cascade_set_null_and_restrict(
    small_db: Database, call: Call
) -> None:
    [order] = call("sale.order", "search", [], limit=1)
    lines = call("sale.order", "read", [order], ["order_line"])[0]["order_line"]
    call("sale.order", "unlink", [order])
    assert call("sale.order.line", "exists", lines) == []  # cascade
    company = call("res.partner", "create", {"name": "Co", "child_ids": [(0, 0, {"name": "C"})]})
    [child] = call("res.partner", "search", [("parent_id", "=", company)])
    call("res.partner", "unlink", [company])
    assert call("res.partner", "read", [child], ["parent_id"])[0]["parent_id"] is False
    seat = ref(small_db, "product.managed_seat_product")
    with pytest.raises(ValidationError, match="another model requires the record"):
        call("product.product", "unlink", [seat])  # restricted by sale order lines


def test_unlink_removes_external_ids(small_db: Database, call: Call) -> None:
    stage = ref(small_db, "helpdesk.stage_cancelled")
    call("helpdesk.stage", "unlink", [stage])
    with pytest.raises(ValueError, match="External ID not found"):
        call("ir.model.data", "check_object_reference", "helpdesk", "stage_cancelled")


# ---------------------------------------------------------------------- copy / exists
def test_copy_returns_a_list_and_marks_partner_names(call: Call) -> None:
    partner = call("res.partner", "create", {"name": "Orig", "email": "o@example.com"})
    copied = call("res.partner", "copy", [partner], default={"ref": "C1"})
    assert isinstance(copied, list) and len(copied) == 1
    [values] = call("res.partner", "read", copied, ["name", "email", "ref"])
    assert values == {"id": copied[0], "name": "Orig (copy)", "email": "o@example.com", "ref": "C1"}


def test_copying_an_order_copies_its_lines(small_db: Database, call: Call) -> None:
    [order] = call("sale.order", "search", [], limit=1)
    [copied] = call("sale.order", "copy", [order])
    [values] = call("sale.order", "read", [copied], ["order_line", "state", "name"])
    assert len(values["order_line"]) == 1 and values["state"] == "draft"


def test_exists_keeps_only_existing_ids(call: Call) -> None:
    assert call("res.partner", "exists", [1, 99999, 2]) == [1, 2]


# ---------------------------------------------------------------------- standard models
def test_partner_complete_name_and_commercial_partner(call: Call) -> None:
    company = call("res.partner", "create", {"name": "Acme", "is_company": True})
    person = call("res.partner", "create", {"name": "Jo", "parent_id": company})
    [values] = call(
        "res.partner", "read", [person], ["display_name", "complete_name", "commercial_partner_id"]
    )
    assert values["display_name"] == "Acme, Jo"
    assert values["commercial_partner_id"] == [company, "Acme"]
    call("res.partner", "write", [company], {"name": "Acme Corp"})
    assert (
        call("res.partner", "read", [person], ["display_name"])[0]["display_name"]
        == "Acme Corp, Jo"
    )


def test_company_type_is_computed_from_is_company_and_writable(call: Call) -> None:
    partner = call("res.partner", "create", {"name": "X", "company_type": "company"})
    assert call("res.partner", "read", [partner], ["is_company", "company_type"])[0] == {
        "id": partner,
        "is_company": True,
        "company_type": "company",
    }
    call("res.partner", "write", [partner], {"company_type": "person"})
    assert call("res.partner", "read", [partner], ["is_company"])[0]["is_company"] is False
    with pytest.raises(
        ValueError, match=re.escape("Wrong value for res.partner.company_type: 'foo'")
    ):
        call("res.partner", "write", [partner], {"company_type": "foo"})


def test_a_partner_cannot_be_its_own_ancestor(call: Call) -> None:
    parent = call("res.partner", "create", {"name": "P"})
    child = call("res.partner", "create", {"name": "C", "parent_id": parent})
    with pytest.raises(ValidationError, match="recursive"):
        call("res.partner", "write", [parent], {"parent_id": child})


def test_creating_a_user_creates_its_partner_and_delegates_name_and_email(call: Call) -> None:
    user = call("res.users", "create", {"name": "Tech", "login": "tech", "email": "t@x.com"})
    [values] = call("res.users", "read", [user], ["name", "email", "partner_id", "display_name"])
    partner = values["partner_id"][0]
    assert values["name"] == "Tech" and values["display_name"] == "Tech"
    assert call("res.partner", "read", [partner], ["name", "email"])[0] == {
        "id": partner,
        "name": "Tech",
        "email": "t@x.com",
    }
    call("res.users", "write", [user], {"name": "Tech Two"})
    assert call("res.partner", "read", [partner], ["name"])[0]["name"] == "Tech Two"
    assert call("res.users", "search", [("name", "=", "Tech Two")]) == [user]


def test_a_user_login_is_unique(call: Call) -> None:
    with pytest.raises(ValidationError, match="same login"):
        call("res.users", "create", {"name": "Again", "login": "admin"})


def test_the_password_is_never_readable(small_db: Database, call: Call) -> None:
    assert call("res.users", "read", [2], ["password"])[0]["password"] == ""
    demo = ref(small_db, "base.user_demo")
    assert call("res.users", "read", [2], ["password"], uid=demo)[0]["password"] == "********"


def test_all_group_ids_include_implied_groups(small_db: Database, call: Call) -> None:
    [values] = call("res.users", "read", [2], ["group_ids", "all_group_ids", "share"])
    assert ref(small_db, "helpdesk.group_helpdesk_user") not in values["group_ids"]
    assert ref(small_db, "helpdesk.group_helpdesk_user") in values["all_group_ids"]
    assert values["share"] is False
    helpdesk_users = call(
        "res.users",
        "search",
        [("all_group_ids", "in", [ref(small_db, "helpdesk.group_helpdesk_user")])],
    )
    assert 2 in helpdesk_users


def test_a_product_variant_delegates_to_its_template(call: Call) -> None:
    template = call(
        "product.template", "create", {"name": "Widget", "list_price": 9.5, "default_code": "W1"}
    )
    [variant] = call("product.product", "search", [("product_tmpl_id", "=", template)])
    [values] = call("product.product", "read", [variant], ["name", "list_price", "display_name"])
    assert values == {
        "id": variant,
        "name": "Widget",
        "list_price": 9.5,
        "display_name": "[W1] Widget",
    }


def test_a_ticket_gets_the_first_stage_of_its_team_and_closes_in_a_folded_stage(
    small_db: Database, call: Call
) -> None:
    ticket = call("helpdesk.ticket", "create", {"name": "Help", "partner_id": 1})
    [values] = call(
        "helpdesk.ticket",
        "read",
        [ticket],
        ["stage_id", "team_id", "priority", "partner_name", "close_date", "display_name"],
    )
    assert values["stage_id"] == [ref(small_db, "helpdesk.stage_new"), "New"]
    assert values["team_id"][1] == "Customer Care" and values["priority"] == "0"
    assert values["partner_name"] == "YourCompany" and values["close_date"] is False
    assert values["display_name"] == f"Help (#{ticket})"
    call("helpdesk.ticket", "write", [ticket], {"stage_id": ref(small_db, "helpdesk.stage_solved")})
    assert call("helpdesk.ticket", "read", [ticket], ["close_date"])[0]["close_date"]


def test_sale_order_lines_take_the_product_price_and_name(small_db: Database, call: Call) -> None:
    seat = ref(small_db, "product.managed_seat_product")
    order = call(
        "sale.order",
        "create",
        {"partner_id": 1, "order_line": [(0, 0, {"product_id": seat, "product_uom_qty": 4})]},
    )
    [values] = call("sale.order", "read", [order], ["name", "amount_total", "state", "user_id"])
    assert values["name"].startswith("S") and values["amount_total"] == 100.0
    assert values["state"] == "draft" and values["user_id"][0] == 2
    [line] = call(
        "sale.order.line",
        "search_read",
        [("order_id", "=", order)],
        ["name", "price_unit", "price_subtotal"],
    )
    assert line["name"] == "[SEAT] Managed Seat" and line["price_unit"] == 25.0
    assert line["price_subtotal"] == 100.0
