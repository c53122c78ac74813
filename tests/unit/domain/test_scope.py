"""SA scope domains per pane, and the hierarchy helpers behind the SA switcher."""

from __future__ import annotations

from typing import Any

import pytest
from domain_reference import Rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sa_world import OUTSIDER, USERS, World, rule_visible, worlds

from console.domain.names import (
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    Role,
    SaleOrder,
)
from console.domain.schema import Schema
from console.domain.scope import (
    PANE_MODELS,
    Pane,
    and_domains,
    effective_roles,
    sa_descendants,
    sa_hierarchy_problems,
    scope_domain,
)
from console.domain.search_domain import is_false_domain

TECH, DISPATCHER, MANAGER = USERS


def scoped(schema: Schema, world: World, pane: Pane, sa: int, user: int, role: Role) -> set[int]:
    domain = scope_domain(pane, sa, user, role, descendants=sa_descendants(sa, world.parents))
    return world.rows(schema).search(PANE_MODELS[pane], domain)


@pytest.fixture
def world() -> World:
    """SA 1 with child 2 and grandchild 3; a client per SA; tickets and orders in SA 1 and 2."""
    return World(
        parents={1: None, 2: 1, 3: 2},
        partners={10: True, 20: True, 30: True, 40: True},
        companies={10, 20, 30, 40},
        pending={10, 40},
        edges=[(1, 10), (2, 20), (3, 30)],
        assets={1: 10, 2: 20, 3: 30, 4: 40, 5: None},
        tickets={1: (1, TECH), 2: (1, None), 3: (1, OUTSIDER), 4: (2, None), 5: (3, OUTSIDER)},
        orders={1: (1, TECH), 2: (1, OUTSIDER), 3: (2, None)},
        group_maps={1: None, 2: 10, 3: 20},
    )


def test_technician_ticket_scope_is_own_and_unassigned_of_the_sa(
    schema: Schema, world: World
) -> None:
    assert scoped(schema, world, Pane.TICKETS, 1, TECH, Role.TECHNICIAN) == {1, 2}
    assert scoped(schema, world, Pane.SALE_ORDERS, 1, TECH, Role.TECHNICIAN) == {1}


def test_dispatcher_ticket_scope_is_the_whole_sa_only(schema: Schema, world: World) -> None:
    assert scoped(schema, world, Pane.TICKETS, 1, DISPATCHER, Role.DISPATCHER) == {1, 2, 3}


def test_manager_scope_extends_to_descendants(schema: Schema, world: World) -> None:
    assert scoped(schema, world, Pane.TICKETS, 1, MANAGER, Role.MANAGER) == {1, 2, 3, 4, 5}
    assert scoped(schema, world, Pane.ASSETS, 2, MANAGER, Role.MANAGER) == {2, 3}


def test_descendants_do_not_widen_a_non_manager_scope() -> None:
    assert scope_domain(Pane.PARTNERS, 1, TECH, Role.DISPATCHER, descendants=[2, 3]) == [
        ("x_sa_client_ids.x_sa_id", "in", [1])
    ]


def test_asset_scope_follows_the_partners_assignment_edge(schema: Schema, world: World) -> None:
    assert scoped(schema, world, Pane.ASSETS, 1, TECH, Role.TECHNICIAN) == {1}


def test_partner_scope_is_the_partners_assigned_to_the_sa(schema: Schema, world: World) -> None:
    assert scoped(schema, world, Pane.PARTNERS, 2, TECH, Role.TECHNICIAN) == {20}


def test_unmatched_groups_scope_is_empty_for_technicians(schema: Schema, world: World) -> None:
    assert is_false_domain(scope_domain(Pane.UNMATCHED_GROUPS, 1, TECH, Role.TECHNICIAN))
    assert scoped(schema, world, Pane.UNMATCHED_GROUPS, 1, DISPATCHER, Role.DISPATCHER) == {1}


def test_approvals_scope_is_pending_companies_of_the_sa_or_unassigned(
    schema: Schema, world: World
) -> None:
    assert scoped(schema, world, Pane.APPROVALS, 1, MANAGER, Role.MANAGER) == {10, 40}
    assert is_false_domain(scope_domain(Pane.APPROVALS, 1, DISPATCHER, Role.DISPATCHER))


def test_pane_and_role_may_be_given_as_their_string_values() -> None:
    assert scope_domain("tickets", 1, 5, "dispatcher") == [("x_sa_id", "in", [1])]


@pytest.mark.parametrize(
    ("sa", "actor", "role", "error"),
    [
        (0, 5, "technician", "sa must be a positive record id"),
        (1, True, "technician", "actor must be a positive record id"),
        (1, 5, "owner", "'owner' is not a valid Role"),
    ],
)
def test_scope_domain_rejects_invalid_arguments(sa: Any, actor: Any, role: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        scope_domain(Pane.TICKETS, sa, actor, role)


# ---- scope vs. record rules, on random worlds --------------------------------------------

SCOPED_PANES = (Pane.ASSETS, Pane.TICKETS, Pane.SALE_ORDERS, Pane.PARTNERS, Pane.UNMATCHED_GROUPS)


def _user_scopes(world: World, user: int) -> dict[int, Role]:
    memberships = [(sa, role) for member, sa, role in world.memberships if member == user]
    return effective_roles(memberships, world.parents)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds())
def test_a_scope_never_asks_for_more_than_the_rules_allow(schema: Schema, world: World) -> None:
    rows: Rows = world.rows(schema)
    for user in USERS:
        for sa, role in _user_scopes(world, user).items():
            for pane in (*SCOPED_PANES, Pane.APPROVALS):
                model = PANE_MODELS[pane]
                domain = scope_domain(
                    pane, sa, user, role, descendants=sa_descendants(sa, world.parents)
                )
                allowed = rule_visible(schema, rows, world, model, user)
                assert rows.search(model, domain) <= allowed, (pane, sa, role)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds())
def test_switching_through_every_sa_shows_everything_the_rules_allow(
    schema: Schema, world: World
) -> None:
    rows: Rows = world.rows(schema)
    for user in USERS:
        scopes = _user_scopes(world, user)
        for pane in (Pane.ASSETS, Pane.TICKETS, Pane.SALE_ORDERS):
            model = PANE_MODELS[pane]
            union: set[int] = set()
            for sa, role in scopes.items():
                union |= rows.search(model, scope_domain(pane, sa, user, role))
            assert union == rule_visible(schema, rows, world, model, user), pane
        # Partners: each SA's clients, plus the approvals queue, plus internal partners.
        partner_panes = [
            scope_domain(pane, sa, user, role)
            for sa, role in scopes.items()
            for pane in (Pane.PARTNERS, Pane.APPROVALS)
        ]
        shown = set().union(*(rows.search(Partner.MODEL, d) for d in partner_panes))
        internal = {p for p, share in world.partners.items() if not share}
        assert shown | internal == rule_visible(schema, rows, world, Partner.MODEL, user)


PANE_FILTERS = st.sampled_from(
    [
        [(ClientAsset.PARTNER, "=", False)],
        [(HelpdeskTicket.ASSIGNED_USER, "=", False)],
        ["|", (SaleOrder.ASSIGNED_USER, "=", TECH), (SaleOrder.SA, "=", 2)],
        [(Partner.PARTNER_SHARE, "=", True), (Partner.IS_COMPANY, "=", True)],
        [(PulsewayGroupMap.PARTNER, "!=", False)],
        [],
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    world=worlds(),
    pane=st.sampled_from(SCOPED_PANES),
    role=st.sampled_from(list(Role)),
    pane_filter=PANE_FILTERS,
)
def test_adding_a_pane_filter_never_widens_the_scope(
    schema: Schema, world: World, pane: Pane, role: Role, pane_filter: list[Any]
) -> None:
    rows = world.rows(schema)
    model = PANE_MODELS[pane]
    fields = {name.split(".")[0] for name, *_ in (t for t in pane_filter if not isinstance(t, str))}
    if not all(schema.model(model).has_field(name) for name in fields):
        pane_filter = []  # the filter was drawn for another pane's model
    scope = scope_domain(pane, 1, TECH, role, descendants=sa_descendants(1, world.parents))
    narrowed = rows.search(model, and_domains(scope, pane_filter))
    assert narrowed == rows.search(model, scope) & rows.search(model, pane_filter)


# ---- hierarchy helpers ---------------------------------------------------------------------


def test_descendants_are_every_sa_below_excluding_itself() -> None:
    parents: dict[int, int | None] = {1: None, 2: 1, 3: 2, 4: None, 5: 1}
    assert sa_descendants(1, parents) == {2, 3, 5}
    assert sa_descendants(3, parents) == set()


def test_descendants_survive_a_cycle() -> None:
    assert sa_descendants(1, {1: 2, 2: 1}) == {2}


def test_effective_roles_give_managers_every_descendant_with_the_strongest_role() -> None:
    parents: dict[int, int | None] = {1: None, 2: 1, 3: 2, 4: None}
    roles = effective_roles([(1, "manager"), (3, "technician"), (4, "dispatcher")], parents)
    assert roles == {1: Role.MANAGER, 2: Role.MANAGER, 3: Role.MANAGER, 4: Role.DISPATCHER}


def test_effective_roles_can_stop_where_the_record_rules_stop() -> None:
    parents: dict[int, int | None] = {1: None, 2: 1, 3: 2}
    assert effective_roles([(1, Role.MANAGER)], parents, max_levels=2) == {
        1: Role.MANAGER,
        2: Role.MANAGER,
    }


def test_hierarchy_problems_report_depth_beyond_the_rules() -> None:
    parents: dict[int, int | None] = {1: None, 2: 1, 3: 2}
    assert sa_hierarchy_problems(parents, max_levels=3) == ()
    assert sa_hierarchy_problems(parents, max_levels=2) == (
        "SA 3 is at level 3; the record rules cover 2 levels, so managers of SA 1 and above "
        "do not see it",
    )


def test_hierarchy_problems_report_cycles_and_missing_parents() -> None:
    problems = sa_hierarchy_problems({1: 2, 2: 1, 3: 9}, max_levels=4)
    assert problems == (
        "SA 1: its parents form a cycle; fix x_parent_id",
        "SA 2: its parents form a cycle; fix x_parent_id",
        "SA 3: parent SA 9 does not exist",
    )
