"""The record rules in schema.toml implement DESIGN §6 visibility, evaluated like Odoo would.

Each rule's domain_force is evaluated for a user (``user.id`` substituted) and run through the
reference evaluator over a small world; Odoo ORs the group rules that apply to the user.
"""

from __future__ import annotations

import pytest
from domain_reference import Rows
from hypothesis import HealthCheck, given, settings
from sa_world import GOVERNED_MODELS, OUTSIDER, USERS, VisibilitySpec, World, rule_visible, worlds

from console.domain.names import (
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    SaleOrder,
    ServicedAccount,
)
from console.domain.schema import Schema

TECH, DISPATCHER, MANAGER = USERS


def visible(schema: Schema, world: World, model: str, user: int) -> set[int]:
    return rule_visible(schema, world.rows(schema), world, model, user)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds())
def test_rules_grant_exactly_the_specified_visibility(schema: Schema, world: World) -> None:
    rows: Rows = world.rows(schema)
    spec = VisibilitySpec(world)
    for model in GOVERNED_MODELS:
        for user in USERS:
            assert rule_visible(schema, rows, world, model, user) == spec.visible(model, user), (
                model,
                user,
            )


# ---- the same facts, by example ------------------------------------------------------------


@pytest.fixture
def two_sas() -> World:
    """SA 1 with child SA 2; tickets: 1 mine, 2 unassigned, 3 someone else's (all SA 1)."""
    return World(
        parents={1: None, 2: 1},
        tickets={1: (1, TECH), 2: (1, None), 3: (1, OUTSIDER), 4: (2, None), 5: (None, None)},
        orders={1: (1, TECH), 2: (1, OUTSIDER)},
    )


def test_technician_sees_own_and_unassigned_tickets_of_their_sa(
    schema: Schema, two_sas: World
) -> None:
    two_sas.memberships = [(TECH, 1, "technician")]
    assert visible(schema, two_sas, HelpdeskTicket.MODEL, TECH) == {1, 2}
    assert visible(schema, two_sas, SaleOrder.MODEL, TECH) == {1}


def test_dispatcher_sees_every_ticket_of_their_sa_but_not_of_its_children(
    schema: Schema, two_sas: World
) -> None:
    two_sas.memberships = [(DISPATCHER, 1, "dispatcher")]
    assert visible(schema, two_sas, HelpdeskTicket.MODEL, DISPATCHER) == {1, 2, 3}


def test_manager_sees_every_ticket_of_their_sa_and_its_descendants(
    schema: Schema, two_sas: World
) -> None:
    two_sas.memberships = [(MANAGER, 1, "manager")]
    assert visible(schema, two_sas, HelpdeskTicket.MODEL, MANAGER) == {1, 2, 3, 4}
    assert visible(schema, two_sas, ServicedAccount.MODEL, MANAGER) == {1, 2}


def test_unstamped_tickets_are_visible_to_no_console_user(schema: Schema, two_sas: World) -> None:
    two_sas.memberships = [(MANAGER, 1, "manager"), (MANAGER, 2, "manager")]
    assert 5 not in visible(schema, two_sas, HelpdeskTicket.MODEL, MANAGER)


def test_manager_reach_covers_the_declared_depth_and_stops_below_it(schema: Schema) -> None:
    depth = schema.sa_max_levels
    chain = {1: None, **{sa: sa - 1 for sa in range(2, depth + 2)}}  # one level too deep
    world = World(parents=chain, memberships=[(MANAGER, 1, "manager")])
    assert visible(schema, world, ServicedAccount.MODEL, MANAGER) == set(range(1, depth + 1))


def test_partner_hierarchy_never_widens_visibility(schema: Schema) -> None:
    # Company 1 is assigned to SA 1; its contact 2 is not, and stays invisible.
    world = World(
        parents={1: None},
        memberships=[(TECH, 1, "technician")],
        partners={1: True, 2: True},
        companies={1},
        partner_parents={2: 1},
        edges=[(1, 1)],
        assets={1: 1, 2: 2},
    )
    assert visible(schema, world, Partner.MODEL, TECH) == {1}
    assert visible(schema, world, ClientAsset.MODEL, TECH) == {1}


def test_internal_partners_stay_visible_to_everyone(schema: Schema) -> None:
    world = World(parents={1: None}, partners={1: False})
    assert visible(schema, world, Partner.MODEL, TECH) == {1}


def test_unmatched_groups_are_for_dispatchers_and_managers_only(schema: Schema) -> None:
    world = World(
        parents={1: None},
        memberships=[
            (TECH, 1, "technician"),
            (DISPATCHER, 1, "dispatcher"),
            (MANAGER, 1, "manager"),
        ],
        group_maps={1: None},
    )
    assert visible(schema, world, PulsewayGroupMap.MODEL, TECH) == set()
    assert visible(schema, world, PulsewayGroupMap.MODEL, DISPATCHER) == {1}
    assert visible(schema, world, PulsewayGroupMap.MODEL, MANAGER) == {1}


def test_managers_see_unassigned_partners_pending_approval(schema: Schema) -> None:
    world = World(
        parents={1: None},
        memberships=[(TECH, 1, "technician"), (MANAGER, 1, "manager")],
        partners={1: True},
        companies={1},
        pending={1},
    )
    assert visible(schema, world, Partner.MODEL, MANAGER) == {1}
    assert visible(schema, world, Partner.MODEL, TECH) == set()
