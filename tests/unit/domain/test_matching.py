"""Ranked link suggestions with their reasons (console.domain.matching)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.matching import (
    AssetCandidate,
    DeviceRef,
    MatchTier,
    OrganizationCandidate,
    PartnerCandidate,
    PulsewayGroupRef,
    best_exact,
    name_similarity,
    normalize_company_name,
    rank_assets_for_device,
    rank_organizations_for_partner,
    rank_partners_for_group,
)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Acme Corp", "acme"),
        ("ACME, Inc.", "acme"),
        ("Acme Corporation", "acme"),
        ("Müller GmbH", "muller"),
        ("Smith & Jones Ltd", "smith and jones"),
        ("Beta LLC", "beta"),
        ("Dupont S.A.", "dupont"),
        ("Holding Co & KG", "holding"),
        ("Company", "company"),  # a name made of legal words is kept
    ],
)
def test_company_names_normalize_ignoring_case_punctuation_and_legal_form(
    raw: str, normalized: str
) -> None:
    assert normalize_company_name(raw) == normalized


@given(st.text(max_size=30))
def test_normalizing_is_idempotent(name: str) -> None:
    once = normalize_company_name(name)
    assert normalize_company_name(once) == once


@given(st.text(max_size=20), st.text(max_size=20))
def test_name_similarity_is_symmetric_and_bounded(left: str, right: str) -> None:
    score = name_similarity(left, right)
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(name_similarity(right, left))


ACME = PulsewayGroupRef(org_id=4821, org_name="Acme Corp", group_name="Servers", site_name="HQ")


def test_an_already_mapped_org_id_outranks_every_name() -> None:
    partners = [
        PartnerCandidate(1, "Acme Corp"),
        PartnerCandidate(2, "Something Else", pulseway_org_ids=frozenset({4821})),
    ]
    ranked = rank_partners_for_group(ACME, partners)
    assert [s.candidate.id for s in ranked] == [2, 1]
    assert ranked[0].tier is MatchTier.MAPPED_ID
    assert ranked[0].reason == "Pulseway organization 4821 is already mapped to this partner"


def test_exact_name_outranks_normalized_name_and_says_which_pulseway_name() -> None:
    partners = [PartnerCandidate(1, "ACME Corporation"), PartnerCandidate(2, "Acme Corp")]
    ranked = rank_partners_for_group(ACME, partners)
    assert [(s.candidate.id, s.tier) for s in ranked] == [
        (2, MatchTier.EXACT_NAME),
        (1, MatchTier.NORMALIZED_NAME),
    ]
    assert ranked[0].reason == "same name as the Pulseway organization 'Acme Corp'"
    assert "ignoring case, punctuation and legal form" in ranked[1].reason


def test_similar_names_rank_by_score_with_a_percentage_reason() -> None:
    group = PulsewayGroupRef(org_id=None, org_name="Northwind Traders")
    partners = [PartnerCandidate(1, "Northwind Trading"), PartnerCandidate(2, "Northwind")]
    ranked = rank_partners_for_group(group, partners)
    assert [s.tier for s in ranked] == [MatchTier.SIMILAR, MatchTier.SIMILAR]
    assert ranked[0].score >= ranked[1].score
    assert "% similar to the Pulseway organization 'Northwind Traders'" in ranked[0].reason


def test_unrelated_partners_are_not_suggested() -> None:
    assert rank_partners_for_group(ACME, [PartnerCandidate(1, "Zeta Logistics")]) == []


def test_the_group_name_matches_when_the_organization_name_does_not() -> None:
    group = PulsewayGroupRef(org_id=None, org_name="MSP Internal", group_name="Globex")
    ranked = rank_partners_for_group(group, [PartnerCandidate(7, "Globex")])
    assert ranked[0].reason == "same name as the Pulseway group 'Globex'"


def test_suggestions_are_limited_and_ties_sorted_by_name() -> None:
    partners = [PartnerCandidate(i, name) for i, name in enumerate(["acme", "Acme!", "ACME."])]
    ranked = rank_partners_for_group(ACME, partners, limit=2)
    assert len(ranked) == 2
    assert [s.candidate.name for s in ranked] == sorted(
        [s.candidate.name for s in ranked], key=str.casefold
    )


def test_approvals_rank_pulseway_organizations_for_a_partner() -> None:
    orgs = [OrganizationCandidate(4822, "Beta LLC"), OrganizationCandidate(4821, "Acme Corp")]
    ranked = rank_organizations_for_partner("Acme Corporation", None, orgs)
    assert [s.candidate.id for s in ranked] == [4821]
    assert ranked[0].tier is MatchTier.NORMALIZED_NAME


def test_approvals_put_the_already_linked_organization_first() -> None:
    orgs = [OrganizationCandidate(4821, "Acme Corp"), OrganizationCandidate(4822, "Beta LLC")]
    ranked = rank_organizations_for_partner("Acme Corp", 4822, orgs)
    assert [s.candidate.id for s in ranked] == [4822, 4821]


DEVICE = DeviceRef(
    identifier="8F3C2A1D-4B5E-6F70-8192-A3B4C5D6E7F8",
    hostname="ACME-SRV-01",
    serial_number="7XK2Q93",
)


def test_device_links_rank_pulseway_id_then_serial_then_hostname() -> None:
    assets = [
        AssetCandidate(1, "acme-srv-01.acme.local"),
        AssetCandidate(2, "OLD-NAME", serial_number="7xk2q93"),
        AssetCandidate(3, "X", pulseway_id="8f3c2a1d-4b5e-6f70-8192-a3b4c5d6e7f8"),
        AssetCandidate(4, "ACME-SRV-02"),
    ]
    ranked = rank_assets_for_device(DEVICE, assets)
    assert [(s.candidate.id, s.tier) for s in ranked] == [
        (3, MatchTier.MAPPED_ID),
        (2, MatchTier.SERIAL),
        (1, MatchTier.EXACT_NAME),
        (4, MatchTier.SIMILAR),
    ]
    assert [s.reason for s in ranked[:3]] == [
        "already linked to this Pulseway device",
        "same BIOS serial 7XK2Q93",
        "same hostname acme-srv-01.acme.local",
    ]


def test_placeholder_serials_never_match() -> None:
    device = DeviceRef(identifier=None, hostname="PC-1", serial_number="To Be Filled By O.E.M.")
    asset = AssetCandidate(1, "OTHER", serial_number="To Be Filled By O.E.M.")
    assert rank_assets_for_device(device, [asset]) == []


def test_best_exact_refuses_to_choose_between_equals() -> None:
    partners = [PartnerCandidate(1, "Acme Corp"), PartnerCandidate(2, "Acme Corp")]
    ranked = rank_partners_for_group(ACME, partners)
    assert best_exact(ranked, MatchTier.EXACT_NAME) is None
    assert best_exact(ranked[:1], MatchTier.EXACT_NAME) == partners[0]


def test_best_exact_ignores_weaker_tiers() -> None:
    ranked = rank_partners_for_group(ACME, [PartnerCandidate(1, "ACME Inc")])
    assert best_exact(ranked, MatchTier.EXACT_NAME) is None
