"""Alert actions end to end without the GUI: a real relay whose sessions are real Odoo logins
against the sandbox's Northwind IT world, the console's triage service over the users' own
gateways, and the relay's state API recording what they do."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from relay_support import RunningRelay, notification

from console.domain.names import HelpdeskTicket
from console.odoo import errors
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import load_memberships
from console.odoo.triage import (
    AlertTriage,
    AttachProgress,
    DeviceHints,
    LinkTarget,
    TriageContext,
    TriageRefused,
    alert_key,
    device_hints,
)
from console.relay.client import RelayClient, RelayError
from console.relay.sessions import OdooSessionAuthority
from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.odoo.server import OdooServer
from console.sandbox.sa_fixture import build_sa_world
from console.sandbox.serving import BackgroundServer

T = TypeVar("T")


@dataclass
class WorldOdoo:
    url: str
    db_name: str
    database: Database


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[WorldOdoo, dict[str, dict[str, int]]]]:
    database = Database("psa", None, seed=True)
    ids = build_sa_world(database)
    background = BackgroundServer(OdooServer({"psa": database}).app).start()
    try:
        yield WorldOdoo(background.url, "psa", database), ids
    finally:
        background.stop()
        database.close()


@pytest.fixture
def linked_relay(relay_factory: Callable[..., RunningRelay], world) -> RunningRelay:
    odoo, _ids = world
    return relay_factory(authority=OdooSessionAuthority(odoo.url, odoo.db_name, "admin", "admin"))


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


class Console:
    """One user's console without the window: Odoo gateway, relay client, triage service."""

    def __init__(self, odoo: Any, relay: RunningRelay, login: str, sa_name: str | None = None):
        self.odoo, self.relay, self.login, self.sa_name = odoo, relay, login, sa_name

    async def __aenter__(self) -> Console:
        self.gateway = await OdooGateway.connect(
            self.odoo.url, self.odoo.db_name, self.login, self.login
        )
        memberships = await load_memberships(self.gateway)
        current = next(
            (m for m in memberships if self.sa_name is None or m.sa_name == self.sa_name),
        )
        assert self.gateway.user is not None
        self.context = TriageContext.for_user(self.gateway.user.uid, current, memberships)
        self.triage = AlertTriage(self.gateway, self.context)
        self.client = RelayClient(self.relay.url)
        await self.client.open_session(self.login, self.login)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        self.gateway.close()

    async def alert(self, seq: int) -> dict[str, Any]:
        detail = await self.client.event(seq)
        alert: dict[str, Any] = detail["alert"]
        return alert


def ticket(odoo: Any, ticket_id: int, fields: list[str]) -> dict[str, Any]:
    [row] = odoo.database.call_kw(
        SUPERUSER_ID, HelpdeskTicket.MODEL, "read", [[ticket_id]], {"fields": fields}
    )
    return row


def chatter(odoo: Any, ticket_id: int) -> list[str]:
    rows = odoo.database.call_kw(
        SUPERUSER_ID,
        "mail.message",
        "search_read",
        [[("model", "=", HelpdeskTicket.MODEL), ("res_id", "=", ticket_id)]],
        {"fields": ["body"]},
    )
    return [str(r["body"]) for r in rows]


ACME_WS_DEVICE = "00000000-0000-4000-8000-000000000001"  # the sa_fixture's ACME-WS01


def test_hostname_match_is_the_top_suggestion_with_its_reason(world, linked_relay) -> None:
    odoo, ids = world

    async def scenario() -> list[LinkTarget]:
        async with Console(odoo, linked_relay, "dispatch", "East") as console:
            hints = DeviceHints(
                device_id="a7d1e6f0-1111-4222-8333-000000000999", hostname="acme-ws01"
            )
            return await console.triage.suggestions(hints)

    targets = run(scenario)
    assert targets[0].asset_id == ids["assets"]["acme_ws"]
    assert targets[0].reason == "same hostname ACME-WS01"
    assert targets[0].partner_name == "Acme Corp"
    assert targets[0].sa_ids == (ids["sa"]["east"],)
    # a similar hostname is offered too, below the exact one, with its percentage
    similar = [t for t in targets if t.asset_id == ids["assets"]["acme_srv"]]
    assert similar and "similar" in similar[0].reason


def test_a_mapped_organization_suggests_its_client(world, linked_relay) -> None:
    odoo, ids = world

    async def scenario() -> list[LinkTarget]:
        async with Console(odoo, linked_relay, "dispatch", "East") as console:
            hints = device_hints(
                {"device_id": "ffff", "payload": {"OrganizationId": "101"}},
                {"organization_name": "Acme Corporation"},
            )
            return await console.triage.suggestions(hints)

    [first, *_rest] = run(scenario)
    assert first.asset_id is None and first.partner_id == ids["partners"]["acme"]
    assert "organization 101 is already mapped" in first.reason


def test_dispatcher_link_is_seen_by_a_technician_of_that_sa(world, linked_relay) -> None:
    odoo, ids = world
    seq = linked_relay.post_hook(notification(title="Link me", device=ACME_WS_DEVICE)).json()["seq"]

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with Console(odoo, linked_relay, "dispatch", "East") as dispatch:
            [target, *_] = await dispatch.triage.suggestions(
                device_hints(await dispatch.alert(seq))
            )
            confirmed = await dispatch.triage.confirm(target)
            await dispatch.client.change_state(
                seq, "link", sa=dispatch.context.sa_id, **confirmed.link_args()
            )
        async with Console(odoo, linked_relay, "alice") as alice:
            page = await alice.client.events()
            return await alice.alert(seq), page.events

    alert, events = run(scenario)
    assert alert["asset_id"] == ids["assets"]["acme_ws"]
    assert alert["partner_id"] == ids["partners"]["acme"]
    assert alert["sa_ids"] == [ids["sa"]["east"]]
    [state] = [e for e in events if e["kind"] == "state" and e["alert_seq"] == seq]
    assert state["payload"]["actor"] == "dispatch"
    assert state["payload"]["sa"] == ids["sa"]["east"]
    assert state["payload"]["args"]["asset_name"] == "ACME-WS01"


def test_technician_cannot_link_into_an_sa_they_are_not_in(world, linked_relay) -> None:
    odoo, ids = world
    seq = linked_relay.post_hook(notification(title="West alert")).json()["seq"]
    linked_relay.change(seq, linked_relay.admin(), action="link", sa_ids=[ids["sa"]["west"]])
    east_asset = LinkTarget(ids["assets"]["acme_ws"], "ACME-WS01", ids["partners"]["acme"], "Acme")

    async def scenario() -> tuple[str, str, list[LinkTarget]]:
        async with Console(odoo, linked_relay, "bob") as bob:
            found = await bob.triage.search("ACME")
            with pytest.raises(TriageRefused) as odoo_refusal:
                await bob.triage.confirm(east_asset)
            with pytest.raises(RelayError) as relay_refusal:
                await bob.client.change_state(
                    seq, "link", asset_id=east_asset.asset_id, sa_ids=[ids["sa"]["east"]]
                )
            assert relay_refusal.value.status == 403
            return str(odoo_refusal.value), str(relay_refusal.value), found

    odoo_says, relay_says, found = run(scenario)
    assert "not in a Serviced Account you work in" in odoo_says
    assert "outside your scope" in relay_says
    # the East client's assets never even show up in bob's search
    assert all(t.partner_name != "Acme Corp" for t in found)


def test_create_ticket_from_alert_has_the_right_fields_and_sa(world, linked_relay) -> None:
    odoo, ids = world
    seq = linked_relay.post_hook(
        notification(title="Disk C: nearly full", device=ACME_WS_DEVICE, priority="Critical")
    ).json()["seq"]
    linked_relay.change(seq, linked_relay.admin(), action="link", sa_ids=[ids["sa"]["east"]])

    async def scenario() -> tuple[int, dict[str, Any]]:
        async with Console(odoo, linked_relay, "alice") as alice:
            alert = await alice.alert(seq)
            target = await alice.triage.target_for_alert(alert)  # the device's asset
            assert target is not None and target.asset_id == ids["assets"]["acme_ws"]
            created = await alice.triage.create_ticket(alert, target, assign_to_me=True)
            await alice.client.change_state(
                seq,
                "link",
                sa=alice.context.sa_id,
                ticket_id=created.id,
                ticket_name=created.name,
                **target.link_args(),
            )
            return created.id, await alice.alert(seq)

    ticket_id, alert = run(scenario)
    row = ticket(
        odoo,
        ticket_id,
        [
            "name", "partner_id", "x_asset_id", "x_sa_id", "x_alert_key", "x_relay_seq",
            "priority", "user_id", "team_id", "x_alert_count", "description",
        ],
    )  # fmt: skip
    assert row["name"] == "Alert: Disk C: nearly full"
    assert row["partner_id"][0] == ids["partners"]["acme"]
    assert row["x_asset_id"][0] == ids["assets"]["acme_ws"]
    assert row["x_sa_id"][0] == ids["sa"]["east"]
    assert row["x_alert_key"] == alert_key(alert)
    assert row["x_relay_seq"] == seq
    assert row["priority"] == "2"  # Critical, the seed's map
    assert row["user_id"][0] == ids["users"]["alice"]
    assert row["team_id"] and row["x_alert_count"] == 1
    assert "below 9%" in row["description"]
    assert alert["asset_id"] == ids["assets"]["acme_ws"]


def test_odoo_refuses_a_ticket_stamped_with_another_sa(world, linked_relay) -> None:
    odoo, ids = world
    seq = linked_relay.post_hook(notification(title="Wrong SA ticket")).json()["seq"]
    linked_relay.change(seq, linked_relay.admin(), action="link", sa_ids=[ids["sa"]["east"]])
    forged = LinkTarget(
        ids["assets"]["initech_ws"],
        "INITECH-WS01",
        ids["partners"]["initech"],
        "Initech",
        sa_ids=(ids["sa"]["west"],),
    )

    async def scenario() -> None:
        async with Console(odoo, linked_relay, "alice") as alice:
            alert = await alice.alert(seq)
            with pytest.raises(errors.AccessDenied, match="does not allow"):
                await alice.triage.create_ticket(alert, forged)

    run(scenario)


def test_attach_to_open_ticket_bumps_count_and_posts_chatter(world, linked_relay) -> None:
    odoo, ids = world
    seq = linked_relay.post_hook(
        notification(title="Printer jam", device=ACME_WS_DEVICE, priority="Elevated")
    ).json()["seq"]
    linked_relay.post_hook(notification(title="Printer jam", device=ACME_WS_DEVICE))  # a repeat
    linked_relay.change(seq, linked_relay.admin(), action="link", sa_ids=[ids["sa"]["east"]])
    existing = ids["tickets"]["east_alice"]  # "Acme printer offline", open, alice's
    before = ticket(odoo, existing, ["x_alert_count"])["x_alert_count"]

    async def scenario() -> list[int]:
        async with Console(odoo, linked_relay, "alice") as alice:
            alert = await alice.alert(seq)
            target = await alice.triage.target_for_alert(alert)
            choices = await alice.triage.open_tickets(target, alert)
            chosen = next(t for t in choices if t.id == existing)
            assert chosen.reason == "same asset"
            progress = AttachProgress()
            await alice.triage.attach(chosen, alert, progress)
            # a retry with the same progress repeats nothing
            await alice.triage.attach(chosen, alert, progress)
            return [t.id for t in choices]

    offered = run(scenario)
    assert ids["tickets"]["east_alice"] in offered
    assert ids["tickets"]["west_bob"] not in offered  # other SA: not offered
    assert ticket(odoo, existing, ["x_alert_count"])["x_alert_count"] == before + 2
    assert (
        sum("Alert attached from the console: Printer jam" in b for b in chatter(odoo, existing))
        == 1
    )


def test_an_open_ticket_for_the_same_alert_is_offered_first(world, linked_relay) -> None:
    odoo, ids = world
    seq = linked_relay.post_hook(notification(title="Fan failure", device=ACME_WS_DEVICE)).json()[
        "seq"
    ]
    linked_relay.change(seq, linked_relay.admin(), action="link", sa_ids=[ids["sa"]["east"]])

    async def scenario() -> tuple[int, list[Any]]:
        async with Console(odoo, linked_relay, "alice") as alice:
            alert = await alice.alert(seq)
            target = await alice.triage.target_for_alert(alert)
            assert target is not None
            created = await alice.triage.create_ticket(alert, target)
            return created.id, await alice.triage.open_tickets(target, alert)

    created, choices = run(scenario)
    assert choices[0].id == created and choices[0].same_alert
    assert choices[0].reason == "already open for this alert"


def test_two_consoles_see_the_same_claims_in_the_same_order(world, linked_relay) -> None:
    odoo, ids = world
    first = linked_relay.post_hook(notification(title="Claim race A")).json()["seq"]
    second = linked_relay.post_hook(notification(title="Claim race B")).json()["seq"]
    for seq in (first, second):
        linked_relay.change(seq, linked_relay.admin(), action="link", sa_ids=[ids["sa"]["east"]])

    async def follow(client: RelayClient, seen: list[tuple[int, str, str]], done: asyncio.Event):
        async for message in client.stream(0):
            data = message.data if isinstance(message.data, dict) else {}
            if data.get("kind") == "state" and data["payload"]["action"] == "claim":
                seen.append((data["alert_seq"], data["payload"]["actor"], data["state"]))
                if len(seen) == 2:
                    done.set()
                    return

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with (
            Console(odoo, linked_relay, "alice") as alice,
            Console(odoo, linked_relay, "maria") as maria,
        ):
            seen_a: list[tuple[int, str, str]] = []
            seen_m: list[tuple[int, str, str]] = []
            done_a, done_m = asyncio.Event(), asyncio.Event()
            tasks = [
                asyncio.ensure_future(follow(alice.client, seen_a, done_a)),
                asyncio.ensure_future(follow(maria.client, seen_m, done_m)),
            ]
            await asyncio.gather(
                alice.client.change_state(first, "claim"),
                maria.client.change_state(second, "claim"),
            )
            await asyncio.wait_for(asyncio.gather(done_a.wait(), done_m.wait()), 10)
            for task in tasks:
                task.cancel()
            return seen_a, seen_m

    seen_a, seen_m = run(scenario)
    assert seen_a == seen_m
    assert {(s, who) for s, who, _ in seen_a} == {(first, "alice"), (second, "maria")}


def test_snooze_until_a_chosen_time_is_recorded(world, linked_relay) -> None:
    odoo, ids = world
    seq = linked_relay.post_hook(notification(title="Snooze me")).json()["seq"]
    linked_relay.change(seq, linked_relay.admin(), action="link", sa_ids=[ids["sa"]["east"]])
    until = (datetime.now(UTC) + timedelta(hours=4)).replace(microsecond=0)

    async def scenario() -> dict[str, Any]:
        async with Console(odoo, linked_relay, "alice") as alice:
            await alice.client.change_state(
                seq, "snooze", sa=alice.context.sa_id, until=until.isoformat()
            )
            return await alice.client.event(seq)

    detail = run(scenario)
    assert detail["alert"]["state"] == "snoozed"
    assert detail["alert"]["snoozed_until"] == until.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    [entry] = detail["history"][-1:]
    assert (entry["actor"], entry["sa"], entry["action"]) == ("alice", ids["sa"]["east"], "snooze")


def test_an_asset_without_device_match_is_not_guessed(world, linked_relay) -> None:
    odoo, _ids = world
    seq = linked_relay.post_hook(notification(title="Unknown device")).json()["seq"]

    async def scenario() -> LinkTarget | None:
        async with Console(odoo, linked_relay, "dispatch", "East") as dispatch:
            return await dispatch.triage.target_for_alert(await dispatch.alert(seq))

    assert run(scenario) is None
