"""The $filter / $orderby subset the Pulseway stand-in understands (reference §1 examples)."""

from __future__ import annotations

import pytest

from console.sandbox.odata import ODataError, apply_orderby, parse_filter, parse_orderby

ITEMS = [
    {"Id": 3, "Name": "Acme Corp", "GroupName": "Servers", "PsaMappingType": "AutoTask"},
    {"Id": 1, "Name": "Beta LLC", "GroupName": "MyGroup Laptops", "PsaMappingType": None},
    {"Id": 2, "Name": "O'Neil & Co", "GroupName": "Workstations", "PsaMappingType": None},
]


def ids(expression: str) -> list[int]:
    predicate = parse_filter(expression)
    return [int(item["Id"]) for item in ITEMS if predicate(item)]  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("contains(tolower(GroupName), 'mygroup')", [1]),
        ("PsaMappingType eq 'AutoTask' and contains(Name, 'Acme')", [3]),
        ("PsaMappingType eq null", [1, 2]),
        ("Id ge 2 or startswith(Name, 'Beta')", [3, 1, 2]),
        ("not (Id eq 1)", [3, 2]),
        ("Name eq 'O''Neil & Co'", [2]),
        ("endswith(toupper(Name), 'LLC')", [1]),
        ("groupname eq 'Servers'", [3]),
        ("", [3, 1, 2]),
    ],
)
def test_supported_expressions_select_the_expected_items(
    expression: str, expected: list[int]
) -> None:
    assert ids(expression) == expected


@pytest.mark.parametrize(
    "expression",
    ["Priorities/any(p: p eq 'Elevated')", "Id eq", "contains(Name, 5)", "Id lt 3 )", "Nope eq 1"],
)
def test_unsupported_or_malformed_expressions_raise(expression: str) -> None:
    with pytest.raises(ODataError):
        ids(expression)


def test_orderby_sorts_by_several_keys_with_nulls_first() -> None:
    ordered = apply_orderby(ITEMS, parse_orderby("PsaMappingType asc, Id desc"))
    assert [item["Id"] for item in ordered] == [2, 1, 3]


def test_orderby_with_an_unknown_direction_raises() -> None:
    with pytest.raises(ODataError):
        parse_orderby("Name sideways")
