"""Seed T010/T011 and RocketCyber incidents as pure decisions (console.domain.rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from console.domain.alerts import alert_dedupe_key, incident_dedupe_key
from console.domain.matching import PartnerCandidate, PulsewayGroupRef
from console.domain.rules import (
    Alert,
    DeviceFacts,
    GroupMapEntry,
    Incident,
    LinkedAsset,
    OpenTicket,
    ResolutionSource,
    TicketAction,
    asset_values,
    choose_ticket_sa,
    decide_alert_ticket,
    decide_incident_ticket,
    decommission_values,
    device_facts,
    new_asset_values,
    odoo_datetime,
    parse_pulseway_time,
    resolve_partner,
    unmatched_group_values,
)

AUDIT = datetime(2025, 6, 3, 16, 20, tzinfo=UTC)

# Shapes of reference/samples/pulseway_device_detail.json and pulseway_asset_detail.json (trimmed).
DEVICE_DETAIL: dict[str, Any] = {
    "Identifier": "8f3c2a1d-4b5e-6f70-8192-a3b4c5d6e7f8",
    "Name": "ACME-SRV-01",
    "GroupName": "Servers",
    "GroupId": 6980,
    "SiteName": "HQ",
    "OrganizationId": 4821,
    "OrganizationName": "Acme Corp",
    "Description": "Windows Server 2022 Standard",
}
ASSET_DETAIL: dict[str, Any] = {
    "Identifier": "8f3c2a1d-4b5e-6f70-8192-a3b4c5d6e7f8",
    "Name": "ACME-SRV-01",
    "LastSeenOnline": "2025-06-03T16:14:55Z",
    "AssetInfo": [
        {"CategoryName": "BIOS", "CategoryData": {"Serial Number": "7XK2Q93"}},
        {
            "CategoryName": "Operating System",
            "CategoryData": {"Name": "Windows Server 2022", "Serial Number": "00454-OS-KEY"},
        },
    ],
}


# ---- wire values ----------------------------------------------------------------------------


def test_odoo_datetimes_are_utc_without_zone() -> None:
    paris = timezone(timedelta(hours=2))
    assert odoo_datetime(datetime(2025, 6, 3, 18, 15, 2, tzinfo=paris)) == "2025-06-03 16:15:02"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-07-12T16:15:02Z", datetime(2023, 7, 12, 16, 15, 2, tzinfo=UTC)),
        ("2023-07-26T15:40:31", datetime(2023, 7, 26, 15, 40, 31, tzinfo=UTC)),
        (1463473104, datetime(2016, 5, 17, 8, 18, 24, tzinfo=UTC)),
        ("", None),
        ("Thursday, July 2, 2015 1:00 AM", None),
        (None, None),
        (True, None),
    ],
)
def test_pulseway_times_parse_in_every_documented_shape(raw: object, expected: object) -> None:
    assert parse_pulseway_time(raw) == expected


# ---- T010: device -> asset ------------------------------------------------------------------


def test_device_facts_take_the_bios_serial_not_the_os_product_key() -> None:
    facts = device_facts(DEVICE_DETAIL, ASSET_DETAIL)
    assert facts.serial_number == "7XK2Q93"
    assert facts.os_info == "Windows Server 2022 Standard"
    assert (facts.org_id, facts.org_name, facts.group_name) == (4821, "Acme Corp", "Servers")


def test_device_without_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="without Identifier"):
        device_facts({"Name": "X"})


def test_asset_values_map_seed_fields_and_audit_time() -> None:
    values = asset_values(device_facts(DEVICE_DETAIL, ASSET_DETAIL), audited_at=AUDIT)
    assert values == {
        "x_pulseway_id": "8f3c2a1d-4b5e-6f70-8192-a3b4c5d6e7f8",
        "x_name": "ACME-SRV-01",
        "x_os_info": "Windows Server 2022 Standard",
        "x_serial_number": "7XK2Q93",
        "x_last_audit": "2025-06-03 16:20:00",
        "x_last_seen": "2025-06-03 16:14:55",
        "x_pulseway_group": "Servers",
        "x_pulseway_org_id": 4821,
    }


def test_asset_values_never_blank_facts_pulseway_did_not_report() -> None:
    values = asset_values(device_facts({"Identifier": "abc", "Name": "PC-1"}), audited_at=AUDIT)
    assert "x_serial_number" not in values and "x_os_info" not in values


def test_new_assets_get_the_partner_and_start_active() -> None:
    values = new_asset_values(device_facts(DEVICE_DETAIL), 10, audited_at=AUDIT)
    assert (values["x_partner_id"], values["x_status"]) == (10, "active")


def test_new_asset_needs_a_hostname() -> None:
    with pytest.raises(ValueError, match="has no name"):
        new_asset_values(DeviceFacts(identifier="abc"), 10, audited_at=AUDIT)


def test_a_removed_device_decommissions_its_asset() -> None:
    assert decommission_values() == {"x_status": "decommissioned"}


def test_webhook_org_ids_given_as_strings_are_read_as_ints() -> None:
    facts = device_facts({"Identifier": "abc", "OrganizationId": "4821"})
    assert facts.org_id == 4821


# ---- T010: partner resolution -----------------------------------------------------------------

GROUP = PulsewayGroupRef(org_id=4821, org_name="Acme Corp", group_name="Servers")


def test_group_map_by_org_id_wins_over_names() -> None:
    resolution = resolve_partner(
        GROUP,
        [GroupMapEntry("Acme (old name)", 4821, 7)],
        [PartnerCandidate(10, "Acme Corp")],
    )
    assert (resolution.partner_id, resolution.source) == (7, ResolutionSource.GROUP_MAP_ORG_ID)


def test_a_partner_linked_to_the_org_resolves_it() -> None:
    partners = [PartnerCandidate(10, "Acme Corp"), PartnerCandidate(11, "A", frozenset({4821}))]
    resolution = resolve_partner(GROUP, [], partners)
    assert (resolution.partner_id, resolution.source) == (11, ResolutionSource.PARTNER_ORG_ID)


def test_group_map_by_name_resolves_devices_without_org_id() -> None:
    group = PulsewayGroupRef(org_id=None, org_name=None, group_name="servers")
    resolution = resolve_partner(group, [GroupMapEntry("Servers", None, 9)], [])
    assert (resolution.partner_id, resolution.source) == (9, ResolutionSource.GROUP_MAP_NAME)


def test_exact_partner_name_is_the_seeds_fallback() -> None:
    resolution = resolve_partner(GROUP, [], [PartnerCandidate(10, "Acme Corp")])
    assert (resolution.partner_id, resolution.source) == (10, ResolutionSource.EXACT_NAME)
    assert resolution.matched


def test_a_similar_but_not_exact_name_stays_unmatched() -> None:
    resolution = resolve_partner(GROUP, [], [PartnerCandidate(10, "ACME Corporation")])
    assert not resolution.matched
    assert resolution.reason == (
        "no partner and no group map for Pulseway organization 'Acme Corp' (4821), group 'Servers'"
    )


def test_two_partners_with_the_exact_name_are_not_guessed_between() -> None:
    partners = [PartnerCandidate(10, "Acme Corp"), PartnerCandidate(11, "Acme Corp")]
    resolution = resolve_partner(GROUP, [], partners)
    assert resolution.source is ResolutionSource.UNMATCHED
    assert "2 partners are named 'Acme Corp'" in resolution.reason


def test_an_unresolved_queue_row_is_mentioned_in_the_reason() -> None:
    resolution = resolve_partner(GROUP, [GroupMapEntry("Acme Corp", 4821, None)], [])
    assert resolution.reason.endswith("it is waiting in the unmatched queue")


def test_unmatched_organizations_queue_one_row_per_organization() -> None:
    assert unmatched_group_values(GROUP) == {
        "x_name": "Acme Corp",
        "x_pulseway_org_id": 4821,
        "x_partner_id": False,
    }


# ---- T011: alert -> ticket ----------------------------------------------------------------------

ALERT = Alert(
    title="Low disk space",
    message="Free space on C: is below 9% <check>",
    priority="Critical",
    device_id="8F3C2A1D-4B5E-6F70-8192-A3B4C5D6E7F8",
    seq=41,
)
ASSET = LinkedAsset(asset_id=5, partner_id=10)


def test_first_alert_on_a_linked_device_creates_the_seeds_ticket() -> None:
    decision = decide_alert_ticket(ALERT, ASSET, None, team_id=3, sa_id=2)
    assert decision.action is TicketAction.CREATE
    assert decision.values == {
        "name": "Alert: Low disk space",
        "description": "<p>Free space on C: is below 9% &lt;check&gt;</p>",
        "partner_id": 10,
        "x_asset_id": 5,
        "priority": "2",
        "team_id": 3,
        "x_sa_id": 2,
        "x_alert_key": alert_dedupe_key("pulseway", ALERT.device_id, ALERT.title),
        "x_alert_count": 1,
        "x_relay_seq": 41,
    }


def test_non_critical_alerts_get_the_default_priority() -> None:
    normal = Alert("Runtime error", "db down", "Normal", "abc", 1)
    assert decide_alert_ticket(normal, ASSET, None, team_id=3, sa_id=2).values["priority"] == "1"


def test_a_repeat_bumps_the_open_ticket_instead_of_creating_one() -> None:
    decision = decide_alert_ticket(ALERT, ASSET, OpenTicket(77, 3), team_id=3, sa_id=2)
    assert decision.action is TicketAction.BUMP
    assert (decision.ticket_id, decision.values) == (77, {"x_alert_count": 4})
    assert decision.chatter == "Alert fired again: Low disk space (occurrence 4, relay event 41)"


def test_an_alert_on_an_unlinked_device_waits_in_triage() -> None:
    decision = decide_alert_ticket(ALERT, None, None, team_id=3, sa_id=2)
    assert decision.action is TicketAction.WAIT
    assert "is not linked to an asset yet" in decision.reason
    assert decision.values == {}


def test_an_unstamped_ticket_leaves_the_sa_empty() -> None:
    decision = decide_alert_ticket(ALERT, ASSET, None, team_id=None, sa_id=None)
    assert "x_sa_id" not in decision.values and "team_id" not in decision.values


def test_only_a_single_sa_is_stamped() -> None:
    assert choose_ticket_sa([4]) == 4
    assert choose_ticket_sa([4, 4]) == 4
    assert choose_ticket_sa([]) is None
    assert choose_ticket_sa([4, 5]) is None


# ---- RocketCyber ------------------------------------------------------------------------------

INCIDENT = Incident(
    incident_id=98765,
    title="Suspicious PowerShell Execution",
    description="An encoded PowerShell command was executed.",
    remediation="Isolate the device.",
    account_id=20002,
    seq=50,
)


def test_incidents_become_security_tickets_with_remediation() -> None:
    decision = decide_incident_ticket(INCIDENT, 10, None, team_id=3, sa_id=2)
    assert decision.action is TicketAction.CREATE
    assert decision.values["name"] == "Security: Suspicious PowerShell Execution"
    assert decision.values["description"] == (
        "<p>An encoded PowerShell command was executed.</p><p>Remediation: Isolate the device.</p>"
    )
    assert decision.values["priority"] == "2"
    assert decision.values["x_alert_key"] == incident_dedupe_key(20002, 98765)


def test_an_incident_without_a_partner_waits() -> None:
    decision = decide_incident_ticket(INCIDENT, None, None, team_id=3, sa_id=None)
    assert decision.action is TicketAction.WAIT
    assert decision.reason == "RocketCyber account 20002 is not linked to a partner"


def test_incident_keys_never_collide_with_pulseway_alert_keys() -> None:
    assert incident_dedupe_key(20002, 1) != alert_dedupe_key("pulseway", "20002", "incident 1")
    assert incident_dedupe_key(20002, 1) != incident_dedupe_key(20002, 2)
