"""SA scope: which records a pane asks Odoo for, and the SA hierarchy facts behind it.

Odoo's record rules (``schema.toml``) bound what a user *can* see across all their SAs; the
console's SA switcher narrows to one SA at a time, and every domain it sends is
``and_domains(scope_domain(...), pane_filter)`` (DESIGN §6). A scope domain never asks for more
than the rules allow, so the two agree; the unit tests check both against one written spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Final

from console.domain.names import (
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    PulsewaySyncState,
    Role,
    SaClient,
    SaleOrder,
)
from console.domain.search_domain import (
    Domain,
    and_domains,
    false_domain,
    normalize_domain,
    or_domains,
)

__all__ = [
    "PANE_MODELS",
    "Pane",
    "and_domains",
    "effective_roles",
    "or_domains",
    "sa_descendants",
    "sa_hierarchy_problems",
    "scope_domain",
]

#: Strongest first: an SA reached through several memberships takes the strongest role.
_ROLE_STRENGTH: Final = {Role.TECHNICIAN: 0, Role.DISPATCHER: 1, Role.MANAGER: 2}


class Pane(StrEnum):
    """The console panes that list Odoo records."""

    ASSETS = "assets"
    TICKETS = "tickets"
    SALE_ORDERS = "sale_orders"
    PARTNERS = "partners"
    UNMATCHED_GROUPS = "unmatched_groups"
    APPROVALS = "approvals"


#: The Odoo model each pane lists.
PANE_MODELS: Final[Mapping[Pane, str]] = {
    Pane.ASSETS: ClientAsset.MODEL,
    Pane.TICKETS: HelpdeskTicket.MODEL,
    Pane.SALE_ORDERS: SaleOrder.MODEL,
    Pane.PARTNERS: Partner.MODEL,
    Pane.UNMATCHED_GROUPS: PulsewayGroupMap.MODEL,
    Pane.APPROVALS: Partner.MODEL,
}


def _record_id(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive record id, got {value!r}")
    return value


def scope_domain(
    pane: Pane | str,
    sa: int,
    actor: int,
    role: Role | str,
    *,
    descendants: Iterable[int] = (),
) -> Domain:
    """The Odoo domain bounding ``pane`` to SA ``sa`` for user ``actor`` acting as ``role``.

    * assets: of partners assigned to the SA (through the x_sa_client edge; no stamp);
    * tickets, sale orders: stamped with the SA; a technician sees only their own and the
      unassigned ones;
    * partners: assigned to the SA (the partner itself; ``parent_id`` never widens);
    * unmatched groups: group-map rows without a partner, for dispatchers and managers only
      (a technician gets the empty result);
    * approvals: company partners pending a Pulseway push that are assigned to the SA or not
      assigned at all, for managers only.

    ``descendants`` (ids of the SAs below ``sa``) widen the SA part only for a manager
    (hierarchy V1); for other roles they are ignored. Combine with a pane's own filter through
    :func:`and_domains`, which can only narrow.
    """
    pane = Pane(pane)
    role = Role(role)
    sa = _record_id(sa, "sa")
    actor = _record_id(actor, "actor")
    sa_ids = [sa]
    if role is Role.MANAGER:
        sa_ids += sorted({_record_id(d, "descendant SA") for d in descendants} - {sa})

    assigned_partner = (f"{Partner.SA_ASSIGNMENTS}.{SaClient.SA}", "in", sa_ids)
    if pane is Pane.ASSETS:
        return [(f"{ClientAsset.PARTNER}.{assigned_partner[0]}", "in", sa_ids)]
    if pane is Pane.PARTNERS:
        return [assigned_partner]
    if pane is Pane.TICKETS:
        return _actor_assigned(HelpdeskTicket.SA, HelpdeskTicket.ASSIGNED_USER, sa_ids, actor, role)
    if pane is Pane.SALE_ORDERS:
        return _actor_assigned(SaleOrder.SA, SaleOrder.ASSIGNED_USER, sa_ids, actor, role)
    if pane is Pane.UNMATCHED_GROUPS:
        if role is Role.TECHNICIAN:
            return false_domain()
        return [(PulsewayGroupMap.PARTNER, "=", False)]
    if pane is Pane.APPROVALS:
        if role is not Role.MANAGER:
            return false_domain()
        return and_domains(
            [(Partner.IS_COMPANY, "=", True)],
            [(Partner.PULSEWAY_SYNC_STATE, "=", PulsewaySyncState.PENDING.value)],
            or_domains([assigned_partner], [(Partner.SA_ASSIGNMENTS, "=", False)]),
        )
    raise AssertionError(f"unhandled pane {pane!r}")  # pragma: no cover - Pane is closed


def _actor_assigned(
    sa_field: str, user_field: str, sa_ids: list[int], actor: int, role: Role
) -> Domain:
    stamped = [(sa_field, "in", sa_ids)]
    if role is not Role.TECHNICIAN:
        return normalize_domain(stamped)
    own_or_unassigned = or_domains([(user_field, "=", actor)], [(user_field, "=", False)])
    return and_domains(stamped, own_or_unassigned)


def sa_descendants(sa: int, parents: Mapping[int, int | None]) -> frozenset[int]:
    """Every SA below ``sa`` in the hierarchy ``parents`` (SA id -> parent id), ``sa`` excluded.

    Tolerates cycles (which :func:`sa_hierarchy_problems` reports) by visiting each SA once.
    """
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found: set[int] = set()
    pending = list(children.get(sa, ()))
    while pending:
        current = pending.pop()
        if current in found or current == sa:
            continue
        found.add(current)
        pending.extend(children.get(current, ()))
    return frozenset(found)


def _ancestors(sa: int, parents: Mapping[int, int | None]) -> list[int]:
    """Parent, grandparent, … of ``sa``; stops at a root, an unknown id or a cycle."""
    chain: list[int] = []
    current = parents.get(sa)
    while current is not None and current != sa and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def effective_roles(
    memberships: Iterable[tuple[int, Role | str]],
    parents: Mapping[int, int | None],
    *,
    max_levels: int | None = None,
) -> dict[int, Role]:
    """The role a user acts with in every SA they can see (what the SA switcher offers).

    ``memberships`` are the user's (SA id, role) pairs; a manager membership also grants the
    manager role on every descendant (hierarchy V1). When ``max_levels`` is given, manager
    reach stops as the record rules do: at most ``max_levels - 1`` levels below the managed SA.
    An SA reached several ways takes the strongest role.
    """
    result: dict[int, Role] = {}

    def grant(sa: int, role: Role) -> None:
        current = result.get(sa)
        if current is None or _ROLE_STRENGTH[role] > _ROLE_STRENGTH[current]:
            result[sa] = role

    managed: set[int] = set()
    for sa, role_value in memberships:
        role = Role(role_value)
        grant(sa, role)
        if role is Role.MANAGER:
            managed.add(sa)
    if managed:
        for sa in parents:
            ancestors = _ancestors(sa, parents)
            if max_levels is not None:
                ancestors = ancestors[: max_levels - 1]
            if managed.intersection(ancestors):
                grant(sa, Role.MANAGER)
    return result


def sa_hierarchy_problems(parents: Mapping[int, int | None], *, max_levels: int) -> tuple[str, ...]:
    """What is wrong with an SA hierarchy for the record rules, one message each.

    Reports cycles, parents that do not exist, and SAs deeper than ``max_levels`` (root = 1),
    where a manager high above would no longer see them through Odoo's rules.
    """
    problems: list[str] = []
    for sa in sorted(parents):
        parent = parents[sa]
        if parent is not None and parent not in parents:
            problems.append(f"SA {sa}: parent SA {parent} does not exist")
            continue
        chain = _ancestors(sa, parents)
        last = chain[-1] if chain else sa
        top_parent = parents.get(last)
        if top_parent is not None and (top_parent == sa or top_parent in chain):
            problems.append(f"SA {sa}: its parents form a cycle; fix x_parent_id")
            continue
        level = len(chain) + 1
        if level > max_levels:
            problems.append(
                f"SA {sa} is at level {level}; the record rules cover {max_levels} levels, so "
                f"managers of SA {chain[max_levels - 1]} and above do not see it"
            )
    return tuple(problems)
