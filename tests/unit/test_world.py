"""The demo world: deterministic, the documented sizes, and consistent across the three systems."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from console.domain.alerts import alert_dedupe_key
from console.sandbox.world import (
    OS_UPGRADES,
    REFERENCE_NOW,
    World,
    build_world,
    iter_mapped_devices,
)


@pytest.fixture(scope="module")
def demo() -> World:
    """Read-only demo world shared by the tests that only look."""
    return build_world("demo", seed=0)


def fingerprint(world: World) -> tuple[object, ...]:
    return (
        world.odoo,
        [
            (d.identifier, d.name, d.serial_number, d.os_name, d.group_id, d.traits)
            for d in world.pulseway.device_list()
        ],
        sorted((o.id, o.name) for o in world.pulseway.organizations.values()),
        [(a.id, a.hostname, a.account_id) for a in world.rocketcyber.agents],
        [(i.id, i.title, i.status, i.created_at) for i in world.rocketcyber.incident_list()],
    )


def test_same_size_and_seed_give_the_same_world(demo: World) -> None:
    assert fingerprint(build_world("demo", seed=0)) == fingerprint(demo)


def test_another_seed_gives_another_world(demo: World) -> None:
    other = build_world("demo", seed=1)
    assert {d.identifier for d in other.pulseway.devices.values()}.isdisjoint(
        d.identifier for d in demo.pulseway.devices.values()
    )


def test_default_world_is_anchored_at_the_reference_instant(demo: World) -> None:
    assert demo.now == REFERENCE_NOW
    newest = max(d.last_seen_online for d in demo.pulseway.devices.values())
    assert newest <= REFERENCE_NOW


def test_now_moves_every_timestamp() -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    world = build_world("small", seed=0, now=later)
    assert all(a.last_audit <= later for a in world.odoo.assets)
    assert max(a.last_audit for a in world.odoo.assets).year >= 2029


@pytest.mark.parametrize(
    ("size", "companies", "devices"),
    [("empty", 0, 0), ("small", 5, 50), ("demo", 40, 1500)],
)
def test_sizes_have_the_documented_counts(size: str, companies: int, devices: int) -> None:
    world = build_world(size, seed=0)  # type: ignore[arg-type]
    assert len(world.odoo.companies) == companies
    assert len(world.pulseway.devices) == devices


def test_demo_has_about_1500_assets_some_decommissioned(demo: World) -> None:
    statuses = [a.status for a in demo.odoo.assets]
    assert 1400 <= len(statuses) <= 1600
    assert 0 < statuses.count("decommissioned") < 100


@pytest.mark.slow
def test_large_world_has_100000_devices() -> None:
    world = build_world("large", seed=0)
    assert len(world.pulseway.devices) == 100_000
    assert len(world.odoo.assets) > 95_000
    assert len({d.name for d in world.pulseway.devices.values()}) == 100_000


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="huge"):
        build_world("huge", seed=0)  # type: ignore[arg-type]


def test_serviced_account_tree_is_northwind_with_east_and_west(demo: World) -> None:
    tree = {sa.key: (sa.name, sa.parent_key) for sa in demo.odoo.serviced_accounts}
    assert tree == {
        "root": ("Northwind IT", None),
        "east": ("East", "root"),
        "west": ("West", "root"),
    }


def test_demo_users_have_password_equal_to_login_and_their_roles(demo: World) -> None:
    users = {(u.login, u.password, u.role, u.sa_key) for u in demo.odoo.users}
    assert users == {
        ("admin", "admin", "manager", "root"),
        ("dispatch", "dispatch", "dispatcher", "root"),
        ("maria", "maria", "manager", "east"),
        ("alice", "alice", "technician", "east"),
        ("bob", "bob", "technician", "west"),
    }


def test_empty_world_still_has_the_tree_and_the_users() -> None:
    world = build_world("empty", seed=0)
    assert len(world.odoo.users) == 5 and len(world.odoo.serviced_accounts) == 3
    assert world.pulseway.devices == {} and world.rocketcyber.incidents == {}


def test_companies_are_spread_over_east_and_west_only(demo: World) -> None:
    by_sa = [c.sa_key for c in demo.odoo.companies]
    assert set(by_sa) == {"east", "west"}
    assert abs(by_sa.count("east") - by_sa.count("west")) <= 2
    assert len({c.name for c in demo.odoo.companies}) == len(demo.odoo.companies)


def test_company_assignees_work_in_the_company_sa(demo: World) -> None:
    users = {u.login: u for u in demo.odoo.users}
    for company in demo.odoo.companies:
        assert users[company.assigned_login].sa_key == company.sa_key


def test_active_assets_match_their_pulseway_device(demo: World) -> None:
    for asset in demo.odoo.assets:
        device = demo.pulseway.device(asset.pulseway_id)
        if asset.status == "decommissioned":
            assert device is None
            continue
        assert device is not None
        assert (asset.name, asset.serial_number) == (device.name, device.serial_number)
        assert demo.pulseway.organization_of(device).id == asset.pulseway_org_id


def test_odoo_sometimes_lags_behind_pulseway_on_the_os(demo: World) -> None:
    pulseway_os = {d.identifier: d.os_name for d in demo.pulseway.devices.values()}
    stale = [
        a
        for a in demo.odoo.assets
        if a.status == "active" and a.os_info != pulseway_os[a.pulseway_id]
    ]
    assert stale
    assert all(OS_UPGRADES[a.os_info][0] != a.os_info for a in stale)


def test_some_mapped_devices_are_not_in_odoo_yet(demo: World) -> None:
    in_odoo = {a.pulseway_id for a in demo.odoo.assets}
    missing = [d for d, _company in iter_mapped_devices(demo) if d.identifier not in in_odoo]
    assert 0 < len(missing) < 100


def test_a_few_organizations_map_to_no_partner(demo: World) -> None:
    unmatched = demo.unmatched_organizations()
    names = {c.name for c in demo.odoo.companies}
    assert len(unmatched) == 3
    assert all(o.name not in names for o in unmatched)
    devices_in_unmatched = [
        d for d in demo.pulseway.devices.values() if demo.pulseway.organization_of(d) in unmatched
    ]
    assert devices_in_unmatched


def test_unmatched_organization_resembles_a_pending_partner(demo: World) -> None:
    pending = [c for c in demo.odoo.companies if c.pulseway_sync_state == "pending"]
    unmatched = {o.name for o in demo.unmatched_organizations()}
    assert pending and all(c.pulseway_org_id is None for c in pending)
    assert any(o in c.name or c.name in o for c in pending for o in unmatched)


def test_group_mappings_resolve_organizations_named_unlike_their_partner(demo: World) -> None:
    assert demo.odoo.group_mappings
    for mapping in demo.odoo.group_mappings:
        company = demo.odoo.company(mapping.company_key)
        organization = demo.pulseway.organizations[mapping.pulseway_org_id]
        assert organization.name == mapping.name != company.name
        assert company.pulseway_org_id == organization.id


def test_subscriptions_count_active_assets_and_some_are_stale(demo: World) -> None:
    active: dict[str, int] = {}
    for asset in demo.odoo.assets:
        if asset.status == "active":
            active[asset.company_key] = active.get(asset.company_key, 0) + 1
    assert demo.odoo.subscriptions
    for subscription in demo.odoo.subscriptions:
        assert subscription.active_assets == active[subscription.company_key]
    stale = [s for s in demo.odoo.subscriptions if s.is_stale]
    assert 0 < len(stale) < len(demo.odoo.subscriptions)


def test_small_world_still_shows_a_stale_subscription() -> None:
    assert any(s.is_stale for s in build_world("small", seed=0).odoo.subscriptions)


def test_tickets_are_assigned_to_the_sa_technician_or_unassigned(demo: World) -> None:
    technicians = {"east": "alice", "west": "bob"}
    assignees = {t.user_login for t in demo.odoo.tickets}
    assert None in assignees and assignees - {None}
    for ticket in demo.odoo.tickets:
        assert ticket.user_login in (None, technicians[ticket.sa_key])


def test_alert_tickets_carry_the_relays_dedupe_key(demo: World) -> None:
    assets = {a.key: a for a in demo.odoo.assets}
    alert_tickets = [t for t in demo.odoo.tickets if t.alert_key]
    assert alert_tickets
    for ticket in alert_tickets:
        asset = assets[ticket.asset_key]  # type: ignore[index]
        title = ticket.name.removeprefix("Alert: ")
        assert ticket.alert_key == alert_dedupe_key("pulseway", asset.pulseway_id, title)


def test_rocketcyber_agents_are_the_accounts_windows_devices(demo: World) -> None:
    rocketcyber = demo.rocketcyber
    companies = {
        c.rocketcyber_account_id: c for c in demo.odoo.companies if c.rocketcyber_account_id
    }
    assert set(companies) == {a.id for a in rocketcyber.customers()}
    for agent in rocketcyber.agents:
        device = agent.device
        assert agent.hostname == device.name and device.computer_type == "windows"
        company = companies[agent.account_id]
        assert demo.pulseway.organization_of(device).id == company.pulseway_org_id


def test_incidents_are_open_or_resolved_and_published_after_creation(demo: World) -> None:
    incidents = demo.rocketcyber.incident_list()
    assert {i.status for i in incidents} == {"open", "resolved"}
    for incident in incidents:
        assert incident.published_at > incident.created_at
        assert (incident.resolved_at is not None) == (incident.status == "resolved")


def test_device_ids_come_in_mixed_case(demo: World) -> None:
    identifiers = [d.identifier for d in demo.pulseway.devices.values()]
    assert any(i.isupper() for i in identifiers) and any(i.islower() for i in identifiers)


def test_registered_device_gets_a_fresh_hostname_in_its_organization() -> None:
    world = build_world("small", seed=0)
    tenant = world.pulseway
    group = next(iter(tenant.groups.values()))
    version = tenant.version
    device = tenant.register_device(group.id, random.Random(5), world.now)
    assert tenant.version > version
    assert device.name.startswith(tenant.organizations[group.organization_id].hostname_prefix)
    assert sum(d.name == device.name for d in tenant.devices.values()) == 1
    assert tenant.device(device.identifier.upper()) is device


def test_removing_and_upgrading_devices_bump_the_version() -> None:
    world = build_world("small", seed=0)
    tenant = world.pulseway
    first, second = tenant.device_list()[:2]
    version = tenant.version
    tenant.change_os(first.identifier, "Windows 11 Pro", "10.0.26100")
    assert tenant.remove_device(second.identifier) is second
    assert tenant.remove_device(second.identifier) is None
    assert tenant.version == version + 2
    assert first.os_name == "Windows 11 Pro" and first.computer_type == "windows"
