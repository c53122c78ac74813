"""The edge cases of reference §5 one by one, the domain error texts and order strings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from orm_support import Call, make_model

from console.sandbox.odoo.exceptions import UserError
from console.sandbox.odoo.orm import Database


@pytest.fixture
def partners(small_db: Database, call: Call) -> dict[str, int]:
    """Partner ids of the small dataset by name, plus a contact without a company."""
    rows = call("res.partner", "search_read", [], ["name"])
    ids = {row["name"]: row["id"] for row in rows}
    ids["Loner"] = call("res.partner", "create", {"name": "Loner", "email": ""})
    return ids


def search(call: Call, domain: list[Any], model: str = "res.partner", **kwargs: Any) -> list[int]:
    return sorted(call(model, "search", domain, **kwargs))


# ---------------------------------------------------------------------- paths
def test_dotted_path_never_matches_an_empty_many2one(call: Call, partners: dict[str, int]) -> None:
    found = search(call, [("parent_id.name", "=", False)])
    assert partners["Loner"] not in found
    assert found == []


def test_negated_dotted_path_matches_records_without_the_many2one(
    call: Call, partners: dict[str, int]
) -> None:
    found = search(call, ["!", ("parent_id.name", "=", "Azure Interior")])
    assert partners["Loner"] in found
    assert partners["Brandon Freeman"] not in found


def test_dotted_not_equal_does_not_match_records_without_the_many2one(
    call: Call, partners: dict[str, int]
) -> None:
    found = search(call, [("parent_id.name", "!=", "Azure Interior")])
    assert partners["Loner"] not in found
    assert partners["Addison Olson"] in found


def test_dotted_path_on_x2many_means_some_linked_record_matches(
    call: Call, partners: dict[str, int]
) -> None:
    assert search(call, [("child_ids.name", "=", "Nicole Ford")]) == [partners["Azure Interior"]]


def test_any_takes_a_subdomain(call: Call, partners: dict[str, int]) -> None:
    found = search(call, [("child_ids", "any", [("name", "ilike", "douglas")])])
    assert found == sorted([partners["Deco Addict"], partners["Lumber Inc"]])


# ---------------------------------------------------------------------- values
def test_equal_if_value_with_a_falsy_value_is_true(call: Call) -> None:
    assert search(call, [("name", "=?", False)]) == search(call, [])
    assert search(call, [("name", "=?", "Loner")]) == search(call, [("name", "=", "Loner")])


def test_equal_with_a_list_means_in(call: Call, partners: dict[str, int]) -> None:
    assert search(call, [("name", "=", ["Loner", "Lumber Inc"])]) == sorted(
        [partners["Loner"], partners["Lumber Inc"]]
    )


def test_equal_with_an_empty_list_means_not_set(call: Call, partners: dict[str, int]) -> None:
    assert search(call, [("parent_id", "=", [])]) == search(call, [("parent_id", "=", False)])
    assert partners["Loner"] in search(call, [("parent_id", "=", [])])


def test_in_empty_list_is_false_and_not_in_empty_list_is_true(call: Call) -> None:
    assert search(call, [("id", "in", [])]) == []
    assert search(call, [("id", "not in", [])]) == search(call, [])


def test_a_scalar_given_to_in_is_wrapped(call: Call, partners: dict[str, int]) -> None:
    assert search(call, [("name", "in", "Loner")]) == [partners["Loner"]]


def test_not_set_on_char_matches_null_and_empty_string(
    call: Call, partners: dict[str, int]
) -> None:
    # Loner's email is '' ; the small dataset's companies have emails
    found = search(call, [("email", "=", False)])
    assert partners["Loner"] in found
    assert partners["Azure Interior"] not in found


def test_not_equal_matches_null_unless_false_is_excluded(
    call: Call, partners: dict[str, int]
) -> None:
    call("res.partner", "write", [partners["Loner"]], {"ref": False})
    assert partners["Loner"] in search(call, [("ref", "!=", "X1")])
    assert partners["Loner"] not in search(call, [("ref", "not in", ["X1", False])])


def test_comparisons_never_match_null_but_their_negation_does_without_a_falsy_value(
    db: Database, call: Call
) -> None:
    make_model(db, "x_dated", [{"name": "x_day", "ttype": "date"}])
    with_day = call("x_dated", "create", {"x_name": "a", "x_day": "2024-01-10"})
    without = call("x_dated", "create", {"x_name": "b"})
    assert search(call, [("x_day", "<", "2024-02-01")], "x_dated") == [with_day]
    assert search(call, ["!", ("x_day", "<", "2024-02-01")], "x_dated") == [without]


def test_date_compared_to_false_with_less_than_is_false(db: Database, call: Call) -> None:
    make_model(db, "x_dated", [{"name": "x_day", "ttype": "date"}])
    call("x_dated", "create", {"x_name": "b"})
    assert search(call, [("x_day", "<", False)], "x_dated") == []


def test_a_date_against_a_datetime_means_the_whole_day(db: Database, call: Call) -> None:
    make_model(db, "x_seen", [{"name": "x_at", "ttype": "datetime"}])
    morning = call("x_seen", "create", {"x_name": "m", "x_at": "2024-03-01 08:00:00"})
    night = call("x_seen", "create", {"x_name": "n", "x_at": "2024-03-01 23:59:59"})
    later = call("x_seen", "create", {"x_name": "l", "x_at": "2024-03-02 00:00:00"})
    assert search(call, [("x_at", "<=", "2024-03-01")], "x_seen") == [morning, night]
    assert search(call, [("x_at", ">", "2024-03-01")], "x_seen") == [later]
    assert search(call, [("x_at", ">=", "2024-03-01")], "x_seen") == [morning, night, later]


def test_like_uses_substrings_and_ilike_ignores_case(call: Call, partners: dict[str, int]) -> None:
    assert search(call, [("name", "like", "oner")]) == [partners["Loner"]]
    assert search(call, [("name", "like", "LONER")]) == []
    assert search(call, [("name", "ilike", "LONER")]) == [partners["Loner"]]


def test_ilike_handles_accented_letters(call: Call) -> None:
    accented = call("res.partner", "create", {"name": "Élodie Müller"})
    assert search(call, [("name", "ilike", "élodie müller")]) == [accented]


def test_inner_wildcards_of_like_are_kept(call: Call, partners: dict[str, int]) -> None:
    assert partners["Azure Interior"] in search(call, [("name", "ilike", "az%in")])


def test_eq_like_uses_the_value_as_the_pattern(call: Call, partners: dict[str, int]) -> None:
    assert search(call, [("name", "=like", "Lo%")]) == sorted(
        [partners["Loner"], partners["Lorraine Douglas"]]
    )
    assert search(call, [("name", "=like", "lo%")]) == []
    assert search(call, [("name", "=ilike", "lumber inc")]) == [partners["Lumber Inc"]]


def test_ilike_empty_is_true_and_not_ilike_empty_is_false(call: Call) -> None:
    assert search(call, [("ref", "ilike", "")]) == search(call, [])
    assert search(call, [("ref", "not ilike", "")]) == []


def test_eq_like_empty_means_not_set(call: Call) -> None:
    assert search(call, [("ref", "=like", "")]) == search(call, [("ref", "=", False)])


def test_a_string_on_a_many2one_searches_the_comodel_by_display_name(
    call: Call, partners: dict[str, int]
) -> None:
    assert search(call, [("parent_id", "=", "Azure Interior")]) == sorted(
        [partners["Brandon Freeman"], partners["Nicole Ford"]]
    )
    assert partners["Brandon Freeman"] in search(call, [("parent_id", "ilike", "azure")])


def test_a_string_on_a_many2many_searches_the_comodel_by_display_name(
    call: Call, partners: dict[str, int]
) -> None:
    vip = call("res.partner.category", "create", {"name": "VIP"})
    call("res.partner", "write", [partners["Loner"]], {"category_id": [(4, vip)]})
    assert search(call, [("category_id", "in", ["VIP"])]) == [partners["Loner"]]
    assert search(call, [("category_id", "=", vip)]) == [partners["Loner"]]


def test_many2one_matches_include_archived_targets(call: Call, partners: dict[str, int]) -> None:
    call("res.partner", "write", [partners["Azure Interior"]], {"active": False})
    assert partners["Nicole Ford"] in search(call, [("parent_id.name", "=", "Azure Interior")])


def test_comparing_a_many2one_with_a_string_raises_type_error(call: Call) -> None:
    with pytest.raises(TypeError):
        call("res.partner", "search", [("parent_id", ">", "Azure")])


def test_x2many_not_set_means_no_linked_record(call: Call, partners: dict[str, int]) -> None:
    companies_without_contacts = search(
        call, [("is_company", "=", True), ("child_ids", "=", False)]
    )
    assert partners["Azure Interior"] not in companies_without_contacts
    assert search(call, [("child_ids", "!=", False)]) == sorted(
        partners[n] for n in ("Azure Interior", "Deco Addict", "Gemini Furniture", "Lumber Inc")
    )


def test_child_of_includes_the_start_and_accepts_names(
    call: Call, partners: dict[str, int]
) -> None:
    expected = sorted(
        [partners["Azure Interior"], partners["Brandon Freeman"], partners["Nicole Ford"]]
    )
    assert search(call, [("id", "child_of", partners["Azure Interior"])]) == expected
    assert search(call, [("id", "child_of", "Azure Interior")]) == expected


def test_child_of_on_the_parent_field_itself_tests_the_records_ids(
    call: Call, partners: dict[str, int]
) -> None:
    assert search(call, [("parent_id", "child_of", partners["Azure Interior"])]) == search(
        call, [("id", "child_of", partners["Azure Interior"])]
    )


def test_parent_of_walks_up(call: Call, partners: dict[str, int]) -> None:
    assert search(call, [("id", "parent_of", partners["Nicole Ford"])]) == sorted(
        [partners["Azure Interior"], partners["Nicole Ford"]]
    )


def test_child_of_false_is_empty(call: Call) -> None:
    assert search(call, [("id", "child_of", False)]) == []


def test_uppercase_and_deprecated_operator_aliases_still_work(
    call: Call, partners: dict[str, int]
) -> None:
    assert search(call, [("name", "ILIKE", "loner")]) == [partners["Loner"]]
    assert search(call, [("name", "==", "Loner")]) == [partners["Loner"]]
    assert partners["Loner"] not in search(call, [("name", "<>", "Loner")])


def test_true_and_false_leaves(call: Call) -> None:
    assert search(call, [(1, "=", 1)]) == search(call, [])
    assert search(call, [(0, "=", 1)]) == []


# ---------------------------------------------------------------------- active_test
def test_search_hides_archived_records(call: Call, partners: dict[str, int]) -> None:
    call("res.partner", "write", [partners["Loner"]], {"active": False})
    assert partners["Loner"] not in search(call, [])


def test_context_active_test_false_shows_archived_records(
    call: Call, partners: dict[str, int]
) -> None:
    call("res.partner", "write", [partners["Loner"]], {"active": False})
    assert partners["Loner"] in search(call, [], context={"active_test": False})


def test_a_leaf_naming_active_disables_the_active_filter(
    call: Call, partners: dict[str, int]
) -> None:
    call("res.partner", "write", [partners["Loner"]], {"active": False})
    assert search(call, [("active", "=", False)]) == [partners["Loner"]]
    everyone = search(call, [("active", "in", [True, False])])
    assert partners["Loner"] in everyone


def test_x_active_drives_the_active_filter_of_custom_models(db: Database, call: Call) -> None:
    make_model(db, "x_thing", [{"name": "x_active", "ttype": "boolean"}])
    live = call("x_thing", "create", {"x_name": "live", "x_active": True})
    call("x_thing", "create", {"x_name": "gone", "x_active": False})
    assert search(call, [], "x_thing") == [live]


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ([("foo", "=", 1)], "Invalid field res.partner.foo in condition ('foo', '=', 1)"),
        ([("name", "foo", 1)], "Invalid operator in condition ('name', 'foo', 1)"),
        (["&", ("name", "=", 1)], "Domain() malformed domain"),
        ([("name", "any", [])], "Cannot use 'any' with non-relational fields"),
        ([("parent_id.foo", "=", 1)], "Invalid field res.partner.foo in condition ('foo', '=', 1)"),
        ([("company_type", "=", "company")], "Non-stored field res.partner.company_type"),
    ],
)
def test_bad_domains_raise_odoos_value_errors(call: Call, domain: list[Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        call("res.partner", "search", domain)
    assert message in str(raised.value)


# ---------------------------------------------------------------------- order
def test_order_accepts_several_terms_and_directions(call: Call, partners: dict[str, int]) -> None:
    names = [
        r["name"]
        for r in call("res.partner", "search_read", [], ["name"], order="is_company desc, name asc")
    ]
    assert names[0] == "Azure Interior"
    assert names == sorted(names[:5]) + names[5:]


def test_order_by_a_many2one_uses_the_comodels_order(call: Call, partners: dict[str, int]) -> None:
    rows = call(
        "res.partner",
        "search_read",
        [("parent_id", "!=", False)],
        ["parent_id"],
        order="parent_id desc",
    )
    parents = [r["parent_id"][1] for r in rows]
    assert parents == sorted(parents, reverse=True)


def test_order_nulls_first_and_last(call: Call, partners: dict[str, int]) -> None:
    first = call("res.partner", "search_read", [], ["parent_id"], order="parent_id nulls first")
    last = call("res.partner", "search_read", [], ["parent_id"], order="parent_id nulls last")
    assert first[0]["parent_id"] is False
    assert last[-1]["parent_id"] is False and last[0]["parent_id"] is not False


def test_limit_and_order_accept_false(call: Call) -> None:
    assert call("res.partner", "search", [], 0, False, False) == call("res.partner", "search", [])


def test_offset_and_limit_page_through_results(call: Call) -> None:
    everything = call("res.partner", "search", [], order="id")
    assert call("res.partner", "search", [], offset=2, limit=3, order="id") == everything[2:5]


def test_invalid_order_raises_odoos_user_error(call: Call) -> None:
    with pytest.raises(UserError) as raised:
        call("res.partner", "search", [], order="name desc,")
    assert str(raised.value) == (
        'Invalid "order" specified (name desc,). A valid "order" specification is a '
        "comma-separated list of valid field names (optionally followed by asc/desc for the "
        "direction)"
    )


def test_order_on_an_unknown_field_raises_value_error(call: Call) -> None:
    with pytest.raises(ValueError, match=re.escape("Invalid field 'nope' on model 'res.partner'")):
        call("res.partner", "search", [], order="nope")
