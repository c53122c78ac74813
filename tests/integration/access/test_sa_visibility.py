"""SA governance enforced by Odoo itself: what each user of Northwind IT reaches through odoorpc.

The record rules ``psa provision`` created decide; the clients are unmodified odoorpc, so
whatever holds here holds for any RPC client (DESIGN §6, seed 003).
"""

from __future__ import annotations

from typing import Any

import pytest
from access_support import SaWorld
from odoorpc.error import RPCError

TICKET = "helpdesk.ticket"
ASSET = "x_client_asset"
PARTNER = "res.partner"
GROUP_MAP = "x_pulseway_group_map"
SA = "x_sa"

#: (technician, a ticket of theirs, a ticket of the other region that they must never reach)
MIRRORED_TECHNICIANS = [("alice", "east_alice", "west_bob"), ("bob", "west_bob", "east_alice")]


def access_error(exc: RPCError) -> bool:
    return bool(exc.info) and exc.info["data"]["name"] == "odoo.exceptions.AccessError"


def found_ids(result: list[Any]) -> set[int]:
    """Ids in a search (ids), search_read (dicts) or name_search ([id, name] pairs) result."""
    return {
        item["id"] if isinstance(item, dict) else item[0] if isinstance(item, list) else item
        for item in result
    }


def visible(world: SaWorld, login: str, kind: str, model: str, domain: Any = None) -> set[str]:
    """World keys of the records of ``kind`` that ``login`` finds (others left out)."""
    found = world.search(login, model, domain or [])
    return world.keys(kind, found & set(world.ids[kind].values()))


@pytest.mark.parametrize(("login", "own", "_other"), MIRRORED_TECHNICIANS)
def test_a_technician_reads_a_ticket_of_their_region(
    sa_world: SaWorld, login: str, own: str, _other: str
) -> None:
    ticket_id = sa_world.ids["tickets"][own]

    [row] = sa_world.client(login).execute_kw(TICKET, "read", [[ticket_id], ["name"]])

    assert row["id"] == ticket_id


@pytest.mark.parametrize(("login", "_own", "other"), MIRRORED_TECHNICIANS)
def test_a_technician_reading_the_other_regions_ticket_by_id_gets_access_error(
    sa_world: SaWorld, login: str, _own: str, other: str
) -> None:
    with pytest.raises(RPCError) as raised:
        sa_world.client(login).execute_kw(
            TICKET, "read", [[sa_world.ids["tickets"][other]], ["name"]]
        )

    assert access_error(raised.value)
    assert "top-secret records" in str(raised.value)


@pytest.mark.parametrize(("login", "_own", "other"), MIRRORED_TECHNICIANS)
@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("search", lambda tid: [[("id", "=", tid)]], {}),
        ("search_count", lambda tid: [[("id", "=", tid)]], {}),
        ("search_read", lambda tid: [[("id", "in", [tid])]], {"fields": ["name"]}),
        ("name_search", lambda tid: [], {"name": "", "limit": 1000}),
    ],
    ids=["search", "search_count", "search_read", "name_search"],
)
def test_a_technician_never_finds_the_other_regions_ticket(
    sa_world: SaWorld,
    login: str,
    _own: str,
    other: str,
    method: str,
    args: Any,
    kwargs: dict[str, Any],
) -> None:
    ticket_id = sa_world.ids["tickets"][other]

    result = sa_world.client(login).execute_kw(TICKET, method, args(ticket_id), kwargs)

    if method == "search_count":
        assert result == 0
    else:
        assert ticket_id not in found_ids(result)


@pytest.mark.parametrize(
    ("login", "expected"),
    [("alice", {"east_alice", "east_open"}), ("bob", {"west_bob", "west_open"})],
)
def test_technicians_see_their_own_and_unassigned_tickets_only(
    sa_world: SaWorld, login: str, expected: set[str]
) -> None:
    assert visible(sa_world, login, "tickets", TICKET) == expected


def test_dispatch_sees_every_ticket_of_every_sa(sa_world: SaWorld) -> None:
    stamped = set(sa_world.ids["tickets"]) - {"unstamped"}

    assert visible(sa_world, "dispatch", "tickets", TICKET) == stamped


def test_maria_sees_east_and_the_sas_below_it_only(sa_world: SaWorld) -> None:
    assert visible(sa_world, "maria", "tickets", TICKET) == {
        "east_alice",
        "east_maria",
        "east_open",
        "boston_open",
    }
    assert visible(sa_world, "maria", "assets", ASSET) == {
        "acme_ws",
        "acme_srv",
        "globex_lt",
        "stark_ws",
    }
    assert visible(sa_world, "maria", "sa", SA) == {"east", "boston"}


def test_the_root_manager_sees_every_sa_through_the_hierarchy(sa_world: SaWorld) -> None:
    assert visible(sa_world, "admin", "sa", SA) == set(sa_world.ids["sa"])
    assert visible(sa_world, "admin", "assets", ASSET) == set(sa_world.ids["assets"])


def test_a_ticket_without_an_sa_is_in_no_console_users_view(sa_world: SaWorld) -> None:
    for login in sa_world.ids["users"]:
        assert "unstamped" not in visible(sa_world, login, "tickets", TICKET), login


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("alice", {"acme_ws", "acme_srv", "globex_lt"}),
        ("bob", {"initech_ws", "umbrella_srv", "branch_ws"}),
    ],
)
def test_assets_follow_their_clients_assignment(
    sa_world: SaWorld, login: str, expected: set[str]
) -> None:
    assert visible(sa_world, login, "assets", ASSET) == expected


def test_a_branch_assigned_elsewhere_stays_hidden_from_its_parents_sa(sa_world: SaWorld) -> None:
    acme = sa_world.ids["partners"]["acme"]

    children = visible(sa_world, "alice", "partners", PARTNER, [("parent_id", "=", acme)])
    family = visible(sa_world, "alice", "partners", PARTNER, [("id", "child_of", acme)])

    assert children == {"road_runner"}
    assert family == {"acme", "road_runner"}


def test_the_parent_company_stays_hidden_from_the_branchs_sa(sa_world: SaWorld) -> None:
    acme = sa_world.ids["partners"]["acme"]

    with pytest.raises(RPCError) as raised:
        sa_world.client("bob").execute_kw(PARTNER, "read", [[acme], ["name"]])

    assert access_error(raised.value)
    assert visible(sa_world, "bob", "partners", PARTNER, [("id", "parent_of", acme)]) == set()
    assert "acme_branch" in visible(sa_world, "bob", "partners", PARTNER)


def test_an_unassigned_contact_of_a_visible_client_stays_hidden(sa_world: SaWorld) -> None:
    assert visible(sa_world, "alice", "partners", PARTNER) == {"acme", "globex", "road_runner"}


@pytest.mark.parametrize(
    ("login", "sees_unmatched"),
    [("alice", False), ("bob", False), ("dispatch", True), ("maria", True), ("admin", True)],
)
def test_unmatched_groups_are_for_dispatchers_and_managers_only(
    sa_world: SaWorld, login: str, sees_unmatched: bool
) -> None:
    assert ("unmatched" in visible(sa_world, login, "group_maps", GROUP_MAP)) is sees_unmatched


@pytest.mark.parametrize(("login", "expected"), [("alice", {"acme"}), ("bob", {"initech"})])
def test_technicians_see_the_group_maps_of_their_clients(
    sa_world: SaWorld, login: str, expected: set[str]
) -> None:
    assert visible(sa_world, login, "group_maps", GROUP_MAP) == expected
