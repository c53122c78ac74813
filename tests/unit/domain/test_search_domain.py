"""Normalising and combining Odoo prefix domains (console.domain.search_domain)."""

from __future__ import annotations

from typing import Any

import pytest
from domain_reference import scalar_rows, search
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.search_domain import (
    FALSE_LEAF,
    TRUE_LEAF,
    DomainError,
    and_domains,
    false_domain,
    negate_domain,
    normalize_domain,
    or_domains,
    true_domain,
)

A1 = ("a", "=", 1)
B2 = ("b", "=", 2)
C3 = ("c", "=", 3)

# ---- specification by example --------------------------------------------------------------


def test_normalize_makes_the_implicit_top_level_and_explicit() -> None:
    assert normalize_domain([A1, B2, C3]) == ["&", "&", A1, B2, C3]


def test_normalize_keeps_an_explicit_domain_unchanged() -> None:
    domain = ["|", A1, "!", B2]
    assert normalize_domain(domain) == domain


def test_normalize_turns_json_list_leaves_into_tuples() -> None:
    assert normalize_domain([["a", "=", 1]]) == [A1]


def test_normalize_leaves_the_empty_domain_empty() -> None:
    assert normalize_domain([]) == []


@pytest.mark.parametrize(
    "malformed",
    [
        ["&", A1],  # '&' short of an operand
        ["|"],
        ["!", "!"],
        ["xor", A1, B2],  # unknown operator
        [("a", "=")],  # two-item leaf
        [(True, "=", 1)],  # a boolean is no field path
        [(2, "=", 1)],  # ints only in TRUE/FALSE leaves
        "a = 1",  # a string is not a domain
        [42],
    ],
)
def test_normalize_rejects_malformed_domains(malformed: Any) -> None:
    with pytest.raises(DomainError, match="malformed domain"):
        normalize_domain(malformed)


def test_and_keeps_an_implicitly_anded_operand_as_one_operand() -> None:
    # Concatenating would give ['|', A1, B2, C3] = (A1 or B2) and C3: wrong.
    assert or_domains([A1, B2], [C3]) == ["|", "&", A1, B2, C3]


def test_and_of_nothing_is_everything_and_or_of_nothing_is_nothing() -> None:
    assert and_domains() == true_domain()
    assert or_domains() == false_domain()


def test_everything_is_the_unit_of_and_and_absorbs_or() -> None:
    assert and_domains([], [A1], [TRUE_LEAF]) == [A1]
    assert or_domains([A1], []) == true_domain()


def test_nothing_absorbs_and_and_is_the_unit_of_or() -> None:
    assert and_domains([A1], [FALSE_LEAF]) == false_domain()
    assert or_domains([FALSE_LEAF], [A1]) == [A1]


def test_negating_everything_gives_nothing_and_back() -> None:
    assert negate_domain([]) == false_domain()
    assert negate_domain(false_domain()) == true_domain()


# ---- properties against the reference evaluator -------------------------------------------

LEAVES = st.sampled_from(
    [
        ("a", "=", 1),
        ("a", "!=", 2),
        ("a", "=", False),
        ("b", "in", [1, 3]),
        ("b", "not in", [2]),
        ("b", "!=", False),
        TRUE_LEAF,
        FALSE_LEAF,
    ]
)


def _compose(children: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[list[Any]]:
    binary = st.tuples(st.sampled_from(["&", "|"]), children, children).map(
        lambda parts: [parts[0], *parts[1], *parts[2]]
    )
    negated = children.map(lambda inner: ["!", *inner])
    return st.one_of(binary, negated)


EXPRESSIONS = st.recursive(LEAVES.map(lambda leaf: [leaf]), _compose, max_leaves=6)
# A domain is several expressions side by side: Odoo ANDs them implicitly.
DOMAINS = st.lists(EXPRESSIONS, max_size=3).map(lambda exprs: [t for e in exprs for t in e])
RECORDS = st.lists(
    st.fixed_dictionaries(
        {"a": st.one_of(st.none(), st.integers(1, 3)), "b": st.one_of(st.none(), st.integers(1, 3))}
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(domain=DOMAINS, records=RECORDS)
def test_normalizing_preserves_what_a_domain_matches(domain: list[Any], records: list[Any]) -> None:
    rows = scalar_rows(records)
    assert search(rows, "thing", normalize_domain(domain)) == search(rows, "thing", domain)


@settings(max_examples=150, deadline=None)
@given(domains=st.lists(DOMAINS, max_size=4), records=RECORDS)
def test_and_domains_matches_the_intersection(domains: list[Any], records: list[Any]) -> None:
    rows = scalar_rows(records)
    expected = rows.ids("thing")
    for domain in domains:
        expected &= search(rows, "thing", domain)
    assert search(rows, "thing", and_domains(*domains)) == expected


@settings(max_examples=150, deadline=None)
@given(domains=st.lists(DOMAINS, max_size=4), records=RECORDS)
def test_or_domains_matches_the_union(domains: list[Any], records: list[Any]) -> None:
    rows = scalar_rows(records)
    expected: set[int] = set()
    for domain in domains:
        expected |= search(rows, "thing", domain)
    assert search(rows, "thing", or_domains(*domains)) == expected


@settings(max_examples=150, deadline=None)
@given(domain=DOMAINS, records=RECORDS)
def test_negate_domain_matches_the_complement(domain: list[Any], records: list[Any]) -> None:
    rows = scalar_rows(records)
    assert search(rows, "thing", negate_domain(domain)) == rows.ids("thing") - search(
        rows, "thing", domain
    )


@settings(max_examples=100, deadline=None)
@given(domains=st.lists(DOMAINS, min_size=1, max_size=4))
def test_combined_domains_are_always_well_formed(domains: list[Any]) -> None:
    for combined in (and_domains(*domains), or_domains(*domains)):
        assert normalize_domain(combined) == combined
