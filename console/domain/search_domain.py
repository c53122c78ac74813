"""Odoo search domains as plain data: normalising and combining prefix-notation domains.

A domain is a list of terms in Polish (prefix) notation: ``'&'`` and ``'|'`` take the next two
expressions, ``'!'`` the next one, a leaf is ``(field_path, operator, value)``; several
expressions at the top level are implicitly AND-ed (reference §5). Combining domains by list
concatenation is therefore wrong as soon as one of them relies on the implicit AND; the functions
here make every AND explicit first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeAlias

#: A leaf: (field path, operator, value). The left side is an int only in TRUE/FALSE leaves.
Leaf: TypeAlias = tuple[str | int, str, Any]
Term: TypeAlias = str | Leaf
#: A normalised domain: explicit operators, leaves as tuples.
Domain: TypeAlias = list[Term]
#: What callers may pass in: JSON-decoded domains carry leaves as lists.
DomainLike: TypeAlias = Sequence[str | Sequence[Any]]

AND: Final = "&"
OR: Final = "|"
NOT: Final = "!"
_ARITY: Final = {AND: 2, OR: 2, NOT: 1}

TRUE_LEAF: Final[Leaf] = (1, "=", 1)
FALSE_LEAF: Final[Leaf] = (0, "=", 1)


class DomainError(ValueError):
    """The domain is not well-formed prefix notation."""


def true_domain() -> Domain:
    """The domain matching every record (Odoo's ``[]``)."""
    return []


def false_domain() -> Domain:
    """The domain matching no record."""
    return [FALSE_LEAF]


def _as_term(token: object) -> Term:
    if isinstance(token, str):
        if token not in _ARITY:
            raise DomainError(f"malformed domain: {token!r} is not an operator ('&', '|', '!')")
        return token
    if isinstance(token, list | tuple) and len(token) == 3:
        left, operator, value = token
        if not isinstance(operator, str):
            raise DomainError(f"malformed domain: leaf {token!r} has no operator")
        if isinstance(left, bool) or not isinstance(left, str | int):
            raise DomainError(f"malformed domain: leaf {token!r} has no field path")
        if isinstance(left, int) and (left, operator, value) not in (TRUE_LEAF, FALSE_LEAF):
            raise DomainError(f"malformed domain: {token!r} is neither a leaf nor TRUE/FALSE")
        return (left, operator, value)
    raise DomainError(f"malformed domain: {token!r} is neither an operator nor a leaf")


def normalize_domain(domain: DomainLike) -> Domain:
    """The same domain with every implicit AND made explicit and leaves as tuples.

    ``[]`` stays ``[]`` (everything). Raises :class:`DomainError` when operators and operands do
    not add up, as Odoo does (``ValueError: Domain() malformed domain``).
    """
    if isinstance(domain, str):
        raise DomainError("malformed domain: a domain is a list, not a string")
    result: Domain = []
    expected = 1  # expressions still needed to complete the current top-level expression
    for token in domain:
        if expected == 0:
            # A complete expression is followed by another one: implicit AND at the top level.
            result.insert(0, AND)
            expected = 1
        term = _as_term(token)
        expected += _ARITY[term] - 1 if isinstance(term, str) else -1
        result.append(term)
    if result and expected != 0:
        raise DomainError(f"malformed domain: operators and operands do not add up in {domain!r}")
    return result


def is_true_domain(domain: DomainLike) -> bool:
    """True when ``domain`` is literally "everything" (``[]`` or ``[TRUE_LEAF]``)."""
    normalized = normalize_domain(domain)
    return not normalized or normalized == [TRUE_LEAF]


def is_false_domain(domain: DomainLike) -> bool:
    """True when ``domain`` is literally "nothing" (``[FALSE_LEAF]``)."""
    return normalize_domain(domain) == [FALSE_LEAF]


def _combine(operator: str, unit_is_true: bool, domains: Sequence[DomainLike]) -> Domain:
    parts: list[Domain] = []
    for domain in domains:
        normalized = normalize_domain(domain)
        if is_true_domain(normalized):
            if unit_is_true:
                continue  # x AND everything = x
            return true_domain()  # x OR everything = everything
        if is_false_domain(normalized):
            if unit_is_true:
                return false_domain()  # x AND nothing = nothing
            continue  # x OR nothing = x
        parts.append(normalized)
    if not parts:
        return true_domain() if unit_is_true else false_domain()
    combined: Domain = [operator] * (len(parts) - 1)
    for part in parts:
        combined.extend(part)
    return combined


def and_domains(*domains: DomainLike) -> Domain:
    """The conjunction of ``domains``; with none, everything.

    Each operand is normalised first, so an operand relying on the implicit top-level AND stays
    one operand. Everything-domains are dropped and a nothing-domain wins.
    """
    return _combine(AND, True, domains)


def or_domains(*domains: DomainLike) -> Domain:
    """The disjunction of ``domains``; with none, nothing.

    Unlike Odoo's own ``OR`` helper, an empty operand means "everything" here (as it does in a
    search), so ``or_domains([], x)`` is everything rather than ``x``.
    """
    return _combine(OR, False, domains)


def negate_domain(domain: DomainLike) -> Domain:
    """The complement of ``domain``."""
    normalized = normalize_domain(domain)
    if is_true_domain(normalized):
        return false_domain()
    if is_false_domain(normalized):
        return true_domain()
    return [NOT, *normalized]
