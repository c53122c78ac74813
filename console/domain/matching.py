"""Ranked link suggestions, each with the reason a technician can check at a glance.

Used by the unmatched queue (Pulseway organization/group -> partner), the link dialog
(device -> asset by Pulseway id, serial, hostname) and the approvals pane (partner -> Pulseway
organization). Tiers rank before scores: an id that is already mapped beats any name, an
exact name beats a normalised one, and only then does token similarity order the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import IntEnum
from typing import Final, Generic, TypeVar

T = TypeVar("T")

#: Legal-form words dropped from the end of company names before comparing.
LEGAL_SUFFIXES: Final = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc",
        "incorporated", "kg", "kft", "limited", "llc", "llp", "lp", "ltd", "nv", "oy", "plc",
        "pty", "sa", "sarl", "sas", "spa", "srl", "ug",
    }
)  # fmt: skip
DEFAULT_MIN_SIMILARITY: Final = 0.6
DEFAULT_LIMIT: Final = 5


class MatchTier(IntEnum):
    """How a suggestion matched; higher is stronger."""

    SIMILAR = 1
    NORMALIZED_NAME = 2
    EXACT_NAME = 3
    SERIAL = 4
    MAPPED_ID = 5


@dataclass(frozen=True, slots=True)
class Suggestion(Generic[T]):
    """One ranked candidate: what matched (``tier``), how well (``score`` 0..1) and why."""

    candidate: T
    tier: MatchTier
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class PartnerCandidate:
    """An Odoo partner that could receive a Pulseway organization or group.

    ``pulseway_org_ids`` are the organizations already linked to it: its own
    ``x_pulseway_org_id`` and those of resolved group-map rows pointing at it.
    """

    id: int
    name: str
    pulseway_org_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class PulsewayGroupRef:
    """A Pulseway organization/group as seen on devices (hierarchy Org -> Site -> Group)."""

    org_id: int | None
    org_name: str | None = None
    group_name: str | None = None
    site_name: str | None = None


@dataclass(frozen=True, slots=True)
class OrganizationCandidate:
    """A Pulseway organization that an Odoo partner could be linked to."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class AssetCandidate:
    """An ``x_client_asset`` a device could be linked to."""

    id: int
    name: str
    serial_number: str | None = None
    pulseway_id: str | None = None
    partner_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """The Pulseway device being linked."""

    identifier: str | None
    hostname: str | None = None
    serial_number: str | None = None


def normalize_company_name(name: str) -> str:
    """``name`` compared the way people read company names.

    Case, accents, punctuation and trailing legal forms (Inc, LLC, GmbH, Ltd, …) are ignored and
    ``&`` reads as ``and``; a name made only of legal words is kept rather than erased.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = plain.replace("&", " and ")
    # Dotted abbreviations ("S.A.", "Co.") collapse before punctuation splits them apart.
    plain = re.sub(r"\b(\w)\.(?=\w\b)", r"\1", plain)
    tokens = re.findall(r"[^\W_]+", plain)
    stripped = list(tokens)
    while stripped and stripped[-1] in LEGAL_SUFFIXES | {"and"}:
        stripped.pop()
    return " ".join(stripped or tokens)


def name_similarity(left: str, right: str) -> float:
    """Similarity of two names in 0..1, after :func:`normalize_company_name`.

    The larger of token overlap (Jaccard, robust to word order) and character similarity
    (robust to typos and run-together words).
    """
    a, b = normalize_company_name(left), normalize_company_name(right)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    tokens_a, tokens_b = set(a.split()), set(b.split())
    jaccard = len(tokens_a & tokens_b) / len(tokens_a | tokens_b)
    return max(jaccard, _character_similarity(a, b))


def _character_similarity(a: str, b: str) -> float:
    # SequenceMatcher's ratio depends on argument order; take the better of both.
    forward = SequenceMatcher(None, a, b, autojunk=False).ratio()
    backward = SequenceMatcher(None, b, a, autojunk=False).ratio()
    return max(forward, backward)


def _name_match(
    query: str, candidate: str, query_what: str, *, min_similarity: float
) -> tuple[MatchTier, float, str] | None:
    """The best tier at which ``candidate`` matches ``query`` (a name of ``query_what``)."""
    if not query.strip() or not candidate.strip():
        return None
    if query.strip() == candidate.strip():
        return MatchTier.EXACT_NAME, 1.0, f"same name as the {query_what} {query.strip()!r}"
    if normalize_company_name(query) == normalize_company_name(candidate):
        return (
            MatchTier.NORMALIZED_NAME,
            1.0,
            f"{candidate.strip()!r} ≈ {query.strip()!r}, the {query_what} "
            "(ignoring case, punctuation and legal form)",
        )
    score = name_similarity(query, candidate)
    if score >= min_similarity:
        return (
            MatchTier.SIMILAR,
            score,
            f"name {round(score * 100)}% similar to the {query_what} {query.strip()!r}",
        )
    return None


def _ranked(
    candidates: Iterable[T],
    match: Callable[[T], tuple[MatchTier, float, str] | None],
    label: Callable[[T], tuple[str, int]],
    limit: int | None,
) -> list[Suggestion[T]]:
    suggestions = []
    for candidate in candidates:
        found = match(candidate)
        if found is not None:
            suggestions.append(Suggestion(candidate, *found))
    # Stable, deterministic order: tier, then score, then name and id for ties.
    suggestions.sort(key=lambda s: (-s.tier, -s.score, *label(s.candidate)))
    return suggestions if limit is None else suggestions[:limit]


def _best(
    options: Iterable[tuple[MatchTier, float, str] | None],
) -> tuple[MatchTier, float, str] | None:
    present = [option for option in options if option is not None]
    return max(present, key=lambda option: (option[0], option[1])) if present else None


def rank_partners_for_group(
    group: PulsewayGroupRef,
    partners: Iterable[PartnerCandidate],
    *,
    limit: int | None = DEFAULT_LIMIT,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> list[Suggestion[PartnerCandidate]]:
    """Partners that could receive a Pulseway organization/group, best first.

    Ranking: the organization id is already mapped to the partner > the partner's name equals
    the organization's or group's name exactly > equal after normalisation > similar names.
    """
    names = [
        (group.org_name, "Pulseway organization"),
        (group.group_name, "Pulseway group"),
        (group.site_name, "Pulseway site"),
    ]

    def match(partner: PartnerCandidate) -> tuple[MatchTier, float, str] | None:
        if group.org_id is not None and group.org_id in partner.pulseway_org_ids:
            return (
                MatchTier.MAPPED_ID,
                1.0,
                f"Pulseway organization {group.org_id} is already mapped to this partner",
            )
        return _best(
            _name_match(name, partner.name, what, min_similarity=min_similarity)
            for name, what in names
            if name
        )

    return _ranked(partners, match, lambda p: (p.name.casefold(), p.id), limit)


def rank_organizations_for_partner(
    partner_name: str,
    partner_org_id: int | None,
    organizations: Iterable[OrganizationCandidate],
    *,
    limit: int | None = DEFAULT_LIMIT,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> list[Suggestion[OrganizationCandidate]]:
    """Pulseway organizations an Odoo partner could be linked to (approvals pane), best first.

    ``partner_org_id`` is the partner's ``x_pulseway_org_id`` when it already has one.
    """

    def match(org: OrganizationCandidate) -> tuple[MatchTier, float, str] | None:
        if partner_org_id and org.id == partner_org_id:
            return (
                MatchTier.MAPPED_ID,
                1.0,
                f"the partner is already linked to organization {org.id}",
            )
        return _name_match(
            org.name, partner_name, "Pulseway organization", min_similarity=min_similarity
        )

    return _ranked(organizations, match, lambda o: (o.name.casefold(), o.id), limit)


def normalize_hostname(hostname: str) -> str:
    """Hostnames compare case-insensitively and without their DNS domain."""
    return hostname.strip().split(".", 1)[0].casefold()


def normalize_serial(serial: str) -> str:
    """Serials compare case-insensitively, ignoring spaces and punctuation."""
    return re.sub(r"[\W_]+", "", serial).casefold()


#: BIOS serials vendors ship as placeholders (normalised); matching them links unrelated machines.
PLACEHOLDER_SERIALS: Final = frozenset(
    {
        "", "0", "none", "na", "default", "defaultstring", "tobefilledbyoem",
        "systemserialnumber", "0123456789", "123456789", "chassisserialnumber",
    }
)  # fmt: skip


def rank_assets_for_device(
    device: DeviceRef,
    assets: Iterable[AssetCandidate],
    *,
    limit: int | None = DEFAULT_LIMIT,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> list[Suggestion[AssetCandidate]]:
    """Assets a Pulseway device could be linked to (link dialog), best first.

    Ranking: same Pulseway device id > same BIOS serial (placeholders such as "To Be Filled By
    O.E.M." never match) > same hostname > similar hostname.
    """
    identifier = (device.identifier or "").strip().casefold()
    serial = normalize_serial(device.serial_number or "")
    usable_serial = serial if serial not in PLACEHOLDER_SERIALS else ""
    hostname = normalize_hostname(device.hostname or "")

    def match(asset: AssetCandidate) -> tuple[MatchTier, float, str] | None:
        if identifier and (asset.pulseway_id or "").strip().casefold() == identifier:
            return MatchTier.MAPPED_ID, 1.0, "already linked to this Pulseway device"
        if usable_serial and normalize_serial(asset.serial_number or "") == usable_serial:
            return MatchTier.SERIAL, 1.0, f"same BIOS serial {device.serial_number!s}"
        if not hostname:
            return None
        candidate = normalize_hostname(asset.name)
        if candidate == hostname:
            return MatchTier.EXACT_NAME, 1.0, f"same hostname {asset.name}"
        score = _character_similarity(hostname, candidate)
        if score >= min_similarity:
            return (
                MatchTier.SIMILAR,
                score,
                f"hostname {round(score * 100)}% similar to {device.hostname!s}",
            )
        return None

    return _ranked(assets, match, lambda a: (a.name.casefold(), a.id), limit)


def best_exact(suggestions: Sequence[Suggestion[T]], minimum: MatchTier) -> T | None:
    """The single candidate at or above ``minimum`` tier, or None if there are none or several.

    Automatic linking must not guess: two equally strong candidates mean "ask a person".
    """
    strong = [s for s in suggestions if s.tier >= minimum]
    if not strong:
        return None
    top = [s for s in strong if s.tier == strong[0].tier]
    return top[0].candidate if len(top) == 1 else None
