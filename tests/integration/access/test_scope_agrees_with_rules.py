"""The console's SA scope domains against Odoo's record rules, user by user, over the wire.

For every SA the SA switcher offers a user (``load_memberships``, the console's own code) and
every pane, ``scope_domain`` must ask for nothing the rules hide (the user finds exactly what
the domain matches with no rules at all), and a raw odoorpc client with no domain must find
nothing beyond the union of the user's scopes: what a raw client sees is what the console shows.
"""

from __future__ import annotations

import asyncio

import pytest
from access_support import SaWorld

from console.domain.names import HelpdeskTicket, Partner
from console.domain.scope import PANE_MODELS, Pane, scope_domain
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership, load_memberships
from console.sandbox.sa_fixture import USERS

LOGINS = sorted(USERS)
#: Panes whose union over a user's SAs must cover everything the user can reach on the model,
#: with the part of the model that is outside every SA's scope by design.
COVERING_PANES: dict[str, tuple[tuple[Pane, ...], list[object]]] = {
    HelpdeskTicket.MODEL: ((Pane.TICKETS,), []),
    PANE_MODELS[Pane.ASSETS]: ((Pane.ASSETS,), []),
    # internal partners (users' own) stay readable for Odoo to work; they are in no pane
    Partner.MODEL: ((Pane.PARTNERS, Pane.APPROVALS), [(Partner.PARTNER_SHARE, "=", True)]),
}


@pytest.fixture(scope="module")
def switcher(sa_world: SaWorld) -> dict[str, list[Membership]]:
    """What the SA switcher offers each login, loaded as that user by the console's code."""

    async def load(login: str) -> list[Membership]:
        gateway = await OdooGateway.connect(sa_world.url, sa_world.db_name, login, login)
        try:
            return await load_memberships(gateway)
        finally:
            gateway.close()

    return {login: asyncio.run(load(login)) for login in LOGINS}


def test_every_user_is_offered_their_sas(switcher: dict[str, list[Membership]]) -> None:
    offered = {login: {m.sa_name for m in memberships} for login, memberships in switcher.items()}

    assert offered == {
        "admin": {"Northwind IT", "East", "West", "Boston"},
        "dispatch": {"Northwind IT", "East", "West", "Boston"},
        "maria": {"East", "Boston"},
        "alice": {"East"},
        "bob": {"West"},
    }


@pytest.mark.parametrize("pane", list(Pane), ids=[p.value for p in Pane])
@pytest.mark.parametrize("login", LOGINS)
def test_scope_asks_for_nothing_the_rules_hide(
    sa_world: SaWorld, switcher: dict[str, list[Membership]], login: str, pane: Pane
) -> None:
    model = PANE_MODELS[pane]
    for membership in switcher[login]:
        domain = scope_domain(
            pane,
            membership.sa_id,
            sa_world.uid(login),
            membership.role,
            descendants=membership.descendants,
        )
        as_user = sa_world.search(login, model, domain)
        assert as_user == sa_world.search_unrestricted(model, domain), membership.label


@pytest.mark.parametrize("model", sorted(COVERING_PANES))
@pytest.mark.parametrize("login", LOGINS)
def test_a_raw_client_sees_exactly_the_union_of_the_users_scopes(
    sa_world: SaWorld, switcher: dict[str, list[Membership]], login: str, model: str
) -> None:
    panes, restriction = COVERING_PANES[model]
    scoped: set[int] = set()
    for membership in switcher[login]:
        for pane in panes:
            domain = scope_domain(
                pane,
                membership.sa_id,
                sa_world.uid(login),
                membership.role,
                descendants=membership.descendants,
            )
            scoped |= sa_world.search(login, model, domain)

    assert sa_world.search(login, model, restriction) == scoped
