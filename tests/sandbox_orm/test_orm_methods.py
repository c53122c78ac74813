"""The other ORM methods of reference §4: name_search/name_create, fields_get, default_get,
read_group and formatted_read_group, external ids, context_get, message_post, access probes."""

from __future__ import annotations

import re

import pytest
from orm_support import Call, make_model, ref

from console.sandbox.odoo.exceptions import AccessError
from console.sandbox.odoo.orm import Database


# ---------------------------------------------------------------------- names
def test_name_search_returns_id_and_display_name_pairs(small_db: Database, call: Call) -> None:
    found = call("res.partner", "name_search", name="azure", limit=2)
    assert found[0][1] == "Azure Interior" and len(found) == 2
    assert all(isinstance(pair, list) and len(pair) == 2 for pair in found)


def test_name_search_takes_a_domain_and_an_operator(small_db: Database, call: Call) -> None:
    found = call(
        "res.partner",
        "name_search",
        name="Azure Interior",
        domain=[("is_company", "=", True)],
        operator="=",
    )
    assert [label for _id, label in found] == ["Azure Interior"]


def test_name_search_without_a_name_lists_records(call: Call) -> None:
    assert len(call("res.partner", "name_search")) == call("res.partner", "search_count", [])


def test_name_create_returns_id_and_display_name(call: Call) -> None:
    new_id, label = call("res.partner", "name_create", "Quick Partner")
    assert label == "Quick Partner"
    assert call("res.partner", "read", [new_id], ["name"])[0]["name"] == "Quick Partner"


def test_name_get_is_gone(call: Call) -> None:
    with pytest.raises(
        AttributeError, match=re.escape("The method 'res.partner.name_get' does not exist")
    ):
        call("res.partner", "name_get", [1])


# ---------------------------------------------------------------------- descriptions
def test_fields_get_describes_types_relations_and_selections(call: Call) -> None:
    fields = call("res.partner", "fields_get")
    assert fields["parent_id"]["type"] == "many2one"
    assert fields["parent_id"]["relation"] == "res.partner"
    assert fields["parent_id"]["string"] == "Related Company"
    assert fields["parent_id"]["context"] == {} and fields["parent_id"]["domain"] == []
    assert fields["child_ids"]["relation_field"] == "parent_id"
    assert ["company", "Company"] in fields["company_type"]["selection"]
    assert fields["name"]["required"] is False and fields["name"]["searchable"] is True
    assert "mobile" not in fields


def test_fields_get_filters_fields_and_attributes(call: Call) -> None:
    fields = call("res.partner", "fields_get", ["name", "email"], ["type", "string"])
    assert fields == {
        "name": {"type": "char", "string": "Name"},
        "email": {"type": "char", "string": "Email"},
    }


def test_default_get_returns_defaults_of_the_asked_fields(call: Call) -> None:
    defaults = call(
        "res.partner",
        "default_get",
        ["active", "type", "name", "nope"],
        context={"default_name": "Ctx"},
    )
    assert defaults == {"active": True, "type": "contact", "name": "Ctx"}


# ---------------------------------------------------------------------- grouping
@pytest.fixture
def assets(db: Database, call: Call) -> str:
    make_model(
        db,
        "x_asset",
        [
            {"name": "x_qty", "ttype": "integer"},
            {"name": "x_day", "ttype": "date"},
            {"name": "x_partner_id", "ttype": "many2one", "relation": "res.partner"},
            {
                "name": "x_status",
                "ttype": "selection",
                "selection": "[('active', 'Active'), ('decommissioned', 'Decommissioned')]",
            },
        ],
    )
    for qty, day, partner, status in [
        (1, "2024-01-05", 1, "active"),
        (2, "2024-01-20", 1, "active"),
        (3, "2024-02-01", 3, "active"),
        (4, False, 3, "decommissioned"),
        (5, "2024-02-11", False, "active"),
    ]:
        call(
            "x_asset",
            "create",
            {"x_qty": qty, "x_day": day, "x_partner_id": partner, "x_status": status},
        )
    return "x_asset"


def test_formatted_read_group_returns_groups_aggregates_and_extra_domains(
    call: Call, assets: str
) -> None:
    groups = call(
        assets,
        "formatted_read_group",
        [("x_status", "=", "active")],
        ["x_partner_id"],
        ["x_qty:sum", "__count"],
    )
    # groups follow the comodel's order (res.partner: complete_name), empty group last
    assert groups == [
        {
            "x_partner_id": [3, "Mitchell Admin"],
            "x_qty:sum": 3,
            "__count": 1,
            "__extra_domain": [("x_partner_id", "=", 3)],
        },
        {
            "x_partner_id": [1, "YourCompany"],
            "x_qty:sum": 3,
            "__count": 2,
            "__extra_domain": [("x_partner_id", "=", 1)],
        },
        {
            "x_partner_id": False,
            "x_qty:sum": 5,
            "__count": 1,
            "__extra_domain": [("x_partner_id", "=", False)],
        },
    ]


def test_formatted_read_group_by_month_gives_value_and_label(call: Call, assets: str) -> None:
    groups = call(assets, "formatted_read_group", groupby=["x_day:month"], aggregates=["__count"])
    assert [(g["x_day:month"], g["__count"]) for g in groups] == [
        (["2024-01-01", "January 2024"], 2),
        (["2024-02-01", "February 2024"], 2),
        (False, 1),
    ]
    assert groups[0]["__extra_domain"] == [
        ("x_day", ">=", "2024-01-01"),
        ("x_day", "<", "2024-02-01"),
    ]


def test_formatted_read_group_having_order_and_limit(call: Call, assets: str) -> None:
    groups = call(
        assets,
        "formatted_read_group",
        groupby=["x_partner_id"],
        aggregates=["x_qty:sum"],
        having=[("x_qty:sum", ">", 4)],
        order="x_qty:sum desc",
        limit=1,
    )
    assert groups == [
        {
            "x_partner_id": [3, "Mitchell Admin"],
            "x_qty:sum": 7,
            "__extra_domain": [("x_partner_id", "=", 3)],
        }
    ]


def test_web_read_group_reports_the_number_of_groups(call: Call, assets: str) -> None:
    result = call(assets, "web_read_group", groupby=["x_status"], aggregates=["__count"], limit=1)
    assert len(result["groups"]) == 1 and result["length"] == 2


def test_read_group_lazy_counts_the_first_groupby(call: Call, assets: str) -> None:
    groups = call(assets, "read_group", [], ["x_qty:sum"], ["x_status", "x_partner_id"])
    assert groups[0] == {
        "x_status": "active",
        "x_status_count": 4,
        "x_qty": 11,
        "__domain": [("x_status", "=", "active")],
        "__context": {"group_by": ["x_partner_id"]},
    }


def test_read_group_not_lazy_counts_every_combination(call: Call, assets: str) -> None:
    groups = call(
        assets,
        "read_group",
        [("x_qty", ">", 1)],
        ["x_qty"],
        ["x_status", "x_partner_id"],
        lazy=False,
    )
    assert {
        "x_status": "decommissioned",
        "x_partner_id": [3, "Mitchell Admin"],
        "__count": 1,
        "x_qty": 4,
        "__domain": [
            ("x_status", "=", "decommissioned"),
            ("x_partner_id", "=", 3),
            ("x_qty", ">", 1),
        ],
    } in groups


def test_read_group_by_date_gives_labels_and_ranges(call: Call, assets: str) -> None:
    groups = call(assets, "read_group", [("x_day", "!=", False)], [], ["x_day:month"])
    assert groups[0]["x_day:month"] == "January 2024"
    assert groups[0]["__range"] == {"x_day:month": {"from": "2024-01-01", "to": "2024-02-01"}}


def test_grouping_by_an_unknown_field_or_aggregate_fails(call: Call, assets: str) -> None:
    with pytest.raises(ValueError, match="Invalid field 'nope'"):
        call(assets, "formatted_read_group", groupby=["nope"])
    with pytest.raises(ValueError, match="Invalid aggregation function 'median'"):
        call(assets, "formatted_read_group", groupby=["x_status"], aggregates=["x_qty:median"])


def test_tickets_group_by_stage(small_db: Database, call: Call) -> None:
    groups = call(
        "helpdesk.ticket", "formatted_read_group", groupby=["stage_id"], aggregates=["__count"]
    )
    assert [g["stage_id"][1] for g in groups] == ["New", "In Progress", "Solved"]
    assert sum(g["__count"] for g in groups) == 6


# ---------------------------------------------------------------------- external ids
def test_check_object_reference_returns_model_and_id(call: Call) -> None:
    assert call("ir.model.data", "check_object_reference", "base", "main_company", True) == [
        "res.company",
        1,
    ]


def test_check_object_reference_of_an_unknown_xmlid_is_a_value_error(call: Call) -> None:
    with pytest.raises(
        ValueError, match=re.escape("External ID not found in the system: base.nope")
    ):
        call("ir.model.data", "check_object_reference", "base", "nope")


def test_the_seed_has_the_xmlids_the_product_uses(small_db: Database, call: Call) -> None:
    team = ref(small_db, "helpdesk.support_team")
    assert team == ref(small_db, "helpdesk.helpdesk_team1")
    for xmlid in (
        "helpdesk.stage_new",
        "helpdesk.stage_in_progress",
        "helpdesk.stage_solved",
        "helpdesk.stage_cancelled",
        "base.group_user",
        "base.group_system",
        "sales_team.group_sale_manager",
        "helpdesk.group_helpdesk_user",
    ):
        assert ref(small_db, xmlid)
    assert (
        call("ir.model.data", "check_object_reference", "product", "managed_seat_product")[0]
        == "product.product"
    )
    assert (
        call(
            "ir.model.data",
            "search_read",
            [("module", "=", "base"), ("name", "=", "model_res_partner")],
            ["model", "res_id"],
        )[0]["model"]
        == "ir.model"
    )


def test_installed_modules_are_listed_like_odoo(call: Call) -> None:
    installed = {
        r["name"]
        for r in call("ir.module.module", "search_read", [("state", "=", "installed")], ["name"])
    }
    assert {"base", "mail", "sale", "helpdesk", "sale_subscription"} <= installed


# ---------------------------------------------------------------------- users
def test_context_get_returns_lang_tz_and_uid(call: Call) -> None:
    assert call("res.users", "context_get") == {"lang": "en_US", "tz": "Europe/Brussels", "uid": 2}


def test_has_group(small_db: Database, call: Call) -> None:
    assert call("res.users", "has_group", [2], "base.group_system") is True
    assert (
        call("res.users", "has_group", [ref(small_db, "base.user_demo")], "base.group_system")
        is False
    )


def test_config_parameters(call: Call) -> None:
    assert call("ir.config_parameter", "get_param", "web.base.url").startswith("http")
    assert call("ir.config_parameter", "set_param", "pulseway.api_key", "k") is False
    assert call("ir.config_parameter", "get_param", "pulseway.api_key") == "k"


# ---------------------------------------------------------------------- chatter
def test_message_post_escapes_plain_text_and_returns_a_list(call: Call) -> None:
    result = call(
        "res.partner",
        "message_post",
        [1],
        body="<b>Hi</b> & bye",
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
    )
    assert isinstance(result, list) and len(result) == 1
    [message] = call(
        "mail.message",
        "read",
        result,
        ["body", "model", "res_id", "message_type", "subtype_id", "author_id"],
    )
    assert message["body"] == "<p>&lt;b&gt;Hi&lt;/b&gt; &amp; bye</p>"
    assert (message["model"], message["res_id"]) == ("res.partner", 1)
    assert message["message_type"] == "comment" and message["subtype_id"][1] == "Discussions"
    assert message["author_id"][1] == "Mitchell Admin"


def test_message_post_keeps_html_when_asked(call: Call) -> None:
    [message_id] = call("res.partner", "message_post", [1], body="<p>ok</p>", body_is_html=True)
    assert call("mail.message", "read", [message_id], ["body"])[0]["body"] == "<p>ok</p>"


def test_message_post_defaults_to_an_internal_note(call: Call) -> None:
    [message_id] = call("res.partner", "message_post", [1], body="note")
    [message] = call("mail.message", "read", [message_id], ["message_type", "subtype_id"])
    assert message["message_type"] == "notification" and message["subtype_id"][1] == "Note"


def test_message_post_needs_one_record_and_keyword_arguments(call: Call) -> None:
    with pytest.raises(ValueError, match="Expected singleton"):
        call("res.partner", "message_post", [1, 2], body="x")
    with pytest.raises(TypeError):
        call("res.partner", "message_post", [1], "positional body")


def test_messages_show_in_the_records_chatter(call: Call) -> None:
    [message_id] = call("res.partner", "message_post", [1], body="seen")
    assert message_id in call("res.partner", "read", [1], ["message_ids"])[0]["message_ids"]


def test_message_post_on_a_record_the_user_cannot_write_is_refused(
    small_db: Database, call: Call
) -> None:
    demo = ref(small_db, "base.user_demo")
    [product] = call("product.template", "search", [], limit=1)
    with pytest.raises(AccessError):
        call("product.template", "message_post", [product], body="x", uid=demo)


# ---------------------------------------------------------------------- access probes
def test_has_access_and_check_access(small_db: Database, call: Call) -> None:
    demo = ref(small_db, "base.user_demo")
    assert call("res.partner", "has_access", [1], "write") is True
    assert call("product.template", "has_access", [1], "write", uid=demo) is False
    with pytest.raises(AccessError):
        call("product.template", "check_access", [1], "write", uid=demo)
    assert call("product.template", "check_access_rights", "write", False, uid=demo) is False
    assert call("ir.model.access", "check", "product.template", "read", uid=demo) is True
