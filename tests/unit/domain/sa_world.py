"""Small SA worlds for visibility tests: a generator, their Odoo rows, and the written spec.

The spec (:class:`VisibilitySpec`) restates DESIGN §6 in plain Python, independently of the
record rules in schema.toml and of console.domain.scope; the tests hold both against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain_reference import Rows
from hypothesis import strategies as st

from console.domain.names import (
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    SaClient,
    SaleOrder,
    SaMembership,
    ServicedAccount,
    groups_for_roles,
)
from console.domain.schema import Schema

USERS = (101, 102, 103)
#: An assignee who is no member of anything (a salesperson outside the console, say).
OUTSIDER = 199
ROLES = ("technician", "dispatcher", "manager")


@dataclass
class World:
    """SAs 1..n with their parents, and what hangs off them."""

    parents: dict[int, int | None]
    memberships: list[tuple[int, int, str]] = field(default_factory=list)  # (user, sa, role)
    partners: dict[int, bool] = field(default_factory=dict)  # partner id -> partner_share
    companies: set[int] = field(default_factory=set)
    pending: set[int] = field(default_factory=set)  # partners with sync state "pending"
    partner_parents: dict[int, int] = field(default_factory=dict)  # contact -> company
    edges: list[tuple[int, int]] = field(default_factory=list)  # (sa, partner)
    assets: dict[int, int | None] = field(default_factory=dict)  # asset -> partner
    tickets: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    orders: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    group_maps: dict[int, int | None] = field(default_factory=dict)  # row -> partner

    def rows(self, schema: Schema) -> Rows:
        rows = Rows.for_schema(schema)
        for sa, parent in self.parents.items():
            rows.add(ServicedAccount.MODEL, sa, **{ServicedAccount.PARENT: parent})
        for index, (user, sa, role) in enumerate(self.memberships, start=1):
            rows.add(
                SaMembership.MODEL,
                index,
                **{SaMembership.USER: user, SaMembership.SA: sa, SaMembership.ROLE: role},
            )
        for partner, share in self.partners.items():
            rows.add(
                Partner.MODEL,
                partner,
                **{
                    Partner.PARTNER_SHARE: share,
                    Partner.IS_COMPANY: partner in self.companies,
                    Partner.PARENT: self.partner_parents.get(partner),
                    Partner.PULSEWAY_SYNC_STATE: "pending" if partner in self.pending else None,
                },
            )
        for index, (sa, partner) in enumerate(self.edges, start=1):
            rows.add(SaClient.MODEL, index, **{SaClient.SA: sa, SaClient.PARTNER: partner})
        for asset, owner in self.assets.items():
            rows.add(ClientAsset.MODEL, asset, **{ClientAsset.PARTNER: owner})
        for ticket, (stamp, assignee) in self.tickets.items():
            rows.add(
                HelpdeskTicket.MODEL,
                ticket,
                **{HelpdeskTicket.SA: stamp, HelpdeskTicket.ASSIGNED_USER: assignee},
            )
        for order, (stamp, assignee) in self.orders.items():
            rows.add(
                SaleOrder.MODEL, order, **{SaleOrder.SA: stamp, SaleOrder.ASSIGNED_USER: assignee}
            )
        for row, mapped in self.group_maps.items():
            rows.add(PulsewayGroupMap.MODEL, row, **{PulsewayGroupMap.PARTNER: mapped})
        return rows

    def user_groups(self, schema: Schema, user: int) -> set[str]:
        """The user's groups as provisioning grants them, with implied groups closed over."""
        roles = {role for member, _sa, role in self.memberships if member == user}
        groups = set(
            groups_for_roles(schema, roles | {"technician"})
        )  # every user is a console user
        pending = list(groups)
        while pending:
            xmlid = pending.pop()
            if schema.has_group(xmlid):
                for implied in schema.group(xmlid).implied:
                    if implied not in groups:
                        groups.add(implied)
                        pending.append(implied)
        return groups


def rule_visible(schema: Schema, rows: Rows, world: World, model: str, user: int) -> set[int]:
    """What Odoo's record rules let ``user`` read on ``model``: OR of the applicable group rules."""
    groups = world.user_groups(schema, user)
    applicable = [
        rule
        for rule in schema.rules_for(model)
        if rule.perm_read and (rule.is_global or set(rule.groups) & groups)
    ]
    if not applicable:
        return rows.ids(model)
    visible: set[int] = set()
    for rule in applicable:
        visible |= rows.search(model, rule.domain(user))
    return visible


class VisibilitySpec:
    """DESIGN §6, written out: who sees which record."""

    def __init__(self, world: World) -> None:
        self.world = world

    def ancestors(self, sa: int) -> list[int]:
        chain: list[int] = []
        parent = self.world.parents[sa]
        while parent is not None:
            chain.append(parent)
            parent = self.world.parents[parent]
        return chain

    def roles(self, user: int, sa: int) -> set[str]:
        return {role for member, at, role in self.world.memberships if (member, at) == (user, sa)}

    def manages_from_above(self, user: int, sa: int) -> bool:
        return any("manager" in self.roles(user, above) for above in self.ancestors(sa))

    def sa_visible(self, user: int, sa: int | None) -> bool:
        return sa is not None and (bool(self.roles(user, sa)) or self.manages_from_above(user, sa))

    def sees_all_of(self, user: int, sa: int) -> bool:
        return bool(self.roles(user, sa) & {"dispatcher", "manager"}) or self.manages_from_above(
            user, sa
        )

    def actor_assigned_visible(self, user: int, sa: int | None, assignee: int | None) -> bool:
        if sa is None:
            return False
        if self.sees_all_of(user, sa):
            return True
        return "technician" in self.roles(user, sa) and assignee in (user, None)

    def client_visible(self, user: int, partner: int | None) -> bool:
        # The partner's own assignment edges only: parent_id never widens.
        return partner is not None and any(
            self.sa_visible(user, sa) for sa, assigned in self.world.edges if assigned == partner
        )

    def is_dispatcher_anywhere(self, user: int) -> bool:
        return any(
            member == user and role in ("dispatcher", "manager")
            for member, _sa, role in self.world.memberships
        )

    def is_manager_anywhere(self, user: int) -> bool:
        return any(
            member == user and role == "manager" for member, _sa, role in self.world.memberships
        )

    def visible(self, model: str, user: int) -> set[int]:
        world = self.world
        if model == ServicedAccount.MODEL:
            return {sa for sa in world.parents if self.sa_visible(user, sa)}
        if model == SaMembership.MODEL:
            return {
                index
                for index, (_member, sa, _role) in enumerate(world.memberships, start=1)
                if self.sa_visible(user, sa)
            }
        if model == SaClient.MODEL:
            return {
                index
                for index, (sa, _partner) in enumerate(world.edges, start=1)
                if self.sa_visible(user, sa)
            }
        if model == Partner.MODEL:
            return {
                partner
                for partner, share in world.partners.items()
                if not share
                or self.client_visible(user, partner)
                or (
                    self.is_manager_anywhere(user)
                    and partner in world.pending
                    and partner in world.companies
                    and not any(assigned == partner for _sa, assigned in world.edges)
                )
            }
        if model == ClientAsset.MODEL:
            return {a for a, partner in world.assets.items() if self.client_visible(user, partner)}
        if model == HelpdeskTicket.MODEL:
            return {
                t
                for t, (sa, assignee) in world.tickets.items()
                if self.actor_assigned_visible(user, sa, assignee)
            }
        if model == SaleOrder.MODEL:
            return {
                o
                for o, (sa, assignee) in world.orders.items()
                if self.actor_assigned_visible(user, sa, assignee)
            }
        if model == PulsewayGroupMap.MODEL:
            return {
                row
                for row, partner in world.group_maps.items()
                if self.client_visible(user, partner)
                or (partner is None and self.is_dispatcher_anywhere(user))
            }
        raise AssertionError(f"no spec for {model}")


GOVERNED_MODELS = (
    ServicedAccount.MODEL,
    SaMembership.MODEL,
    SaClient.MODEL,
    Partner.MODEL,
    ClientAsset.MODEL,
    HelpdeskTicket.MODEL,
    SaleOrder.MODEL,
    PulsewayGroupMap.MODEL,
)


@st.composite
def worlds(draw: st.DrawFn, max_levels: int | None = 4, max_sas: int = 6) -> World:
    """Random worlds; SA depth stays within ``max_levels`` (None: any depth up to ``max_sas``)."""
    sa_count = draw(st.integers(1, max_sas))
    parents: dict[int, int | None] = {}
    level: dict[int, int] = {}
    for sa in range(1, sa_count + 1):
        candidates = [p for p in range(1, sa) if max_levels is None or level[p] < max_levels]
        parent = draw(st.none() | st.sampled_from(candidates)) if candidates else None
        parents[sa] = parent
        level[sa] = 1 if parent is None else level[parent] + 1
    sas = st.integers(1, sa_count)
    partner_count = draw(st.integers(1, 5))
    partners = {p: draw(st.booleans()) for p in range(1, partner_count + 1)}
    partner_ids = st.integers(1, partner_count)
    assignees = st.sampled_from((*USERS, OUTSIDER)) | st.none()
    companies = draw(st.sets(partner_ids))
    return World(
        parents=parents,
        memberships=draw(
            st.lists(st.tuples(st.sampled_from(USERS), sas, st.sampled_from(ROLES)), max_size=6)
        ),
        partners=partners,
        companies=companies,
        pending=draw(st.sets(partner_ids)),
        edges=draw(st.lists(st.tuples(sas, partner_ids), max_size=6)),
        assets={a: draw(partner_ids | st.none()) for a in range(1, draw(st.integers(0, 5)) + 1)},
        tickets={
            t: (draw(sas | st.none()), draw(assignees))
            for t in range(1, draw(st.integers(0, 6)) + 1)
        },
        orders={
            o: (draw(sas | st.none()), draw(assignees))
            for o in range(1, draw(st.integers(0, 4)) + 1)
        },
        group_maps={
            g: draw(partner_ids | st.none()) for g in range(1, draw(st.integers(0, 4)) + 1)
        },
    )
