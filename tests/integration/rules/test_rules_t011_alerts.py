"""Seed T011 through the relay: Pulseway notifications become helpdesk tickets."""

from __future__ import annotations

from rules_support import RulesWorld, device_event, device_guid, seeded_device

from console.domain.names import HelpdeskTicket
from console.relay.config import RulesSettings

TICKET_FIELDS = [
    HelpdeskTicket.NAME,
    HelpdeskTicket.DESCRIPTION,
    HelpdeskTicket.PARTNER,
    HelpdeskTicket.ASSET,
    HelpdeskTicket.PRIORITY,
    HelpdeskTicket.TEAM,
    HelpdeskTicket.SA,
    HelpdeskTicket.ASSIGNED_USER,
    HelpdeskTicket.ALERT_KEY,
    HelpdeskTicket.ALERT_COUNT,
    HelpdeskTicket.RELAY_SEQ,
]


def alert_tickets(rules: RulesWorld) -> list[dict]:
    return rules.read(
        HelpdeskTicket.MODEL, [[HelpdeskTicket.ALERT_KEY, "!=", False]], TICKET_FIELDS
    )


def test_alert_on_a_known_device_opens_a_ticket_on_its_asset_client_and_sa(
    rules: RulesWorld,
) -> None:
    seq = rules.post_alert(seeded_device(1), "Low disk space", message="C: below 9%")
    rules.settle()
    [ticket] = alert_tickets(rules)
    assert ticket[HelpdeskTicket.NAME] == "Alert: Low disk space"
    assert "C: below 9%" in ticket[HelpdeskTicket.DESCRIPTION]
    assert ticket[HelpdeskTicket.PARTNER][0] == rules.ids["partners"]["acme"]
    assert ticket[HelpdeskTicket.ASSET][0] == rules.ids["assets"]["acme_ws"]
    assert ticket[HelpdeskTicket.SA][0] == rules.ids["sa"]["east"]
    assert ticket[HelpdeskTicket.TEAM][1] == "Customer Care"  # helpdesk.support_team
    assert ticket[HelpdeskTicket.ASSIGNED_USER] is False
    assert ticket[HelpdeskTicket.ALERT_COUNT] == 1
    assert ticket[HelpdeskTicket.RELAY_SEQ] == seq


def test_critical_alert_gets_priority_2(rules: RulesWorld) -> None:
    rules.post_alert(seeded_device(1), "CPU on fire", priority="Critical")
    rules.settle()
    [ticket] = alert_tickets(rules)
    assert ticket[HelpdeskTicket.PRIORITY] == "2"


def test_other_priorities_get_priority_1(rules: RulesWorld) -> None:
    for title, priority in (("a", "Elevated"), ("b", "Normal"), ("c", "Low")):
        rules.post_alert(seeded_device(1), title, priority=priority)
    rules.settle()
    assert {t[HelpdeskTicket.PRIORITY] for t in alert_tickets(rules)} == {"1"}


def test_priority_map_is_configurable(start_rules) -> None:  # type: ignore[no-untyped-def]
    rules = start_rules(settings=RulesSettings(priority_map={"critical": "3", "normal": "0"}))
    rules.post_alert(seeded_device(1), "Down", priority="Critical")
    rules.post_alert(seeded_device(1), "Slow", priority="Normal")
    rules.settle()
    by_name = {t[HelpdeskTicket.NAME]: t[HelpdeskTicket.PRIORITY] for t in alert_tickets(rules)}
    assert by_name == {"Alert: Down": "3", "Alert: Slow": "0"}


def test_alert_is_attributed_to_the_clients_sa_so_its_technicians_see_it(
    rules: RulesWorld,
) -> None:
    seq = rules.post_alert(seeded_device(1))
    rules.settle()
    alert = rules.event(seq)["alert"]
    assert alert["sa_ids"] == [rules.ids["sa"]["east"]]
    assert alert["asset_id"] == rules.ids["assets"]["acme_ws"]
    history = rules.event(seq)["history"]
    assert history[-1]["actor"] == "psa-relay"
    assert history[-1]["args"]["ticket_id"] == alert_tickets(rules)[0]["id"]
    alice_sees = rules.http.get("/api/events", headers=rules.headers("alice")).json()["events"]
    bob_sees = rules.http.get("/api/events", headers=rules.headers("bob")).json()["events"]
    assert seq in {e["alert_seq"] for e in alice_sees}
    assert seq not in {e["alert_seq"] for e in bob_sees}


def test_repeat_alert_bumps_count_and_posts_chatter_instead_of_a_new_ticket(
    rules: RulesWorld,
) -> None:
    rules.post_alert(seeded_device(1), "Low disk space")
    rules.settle()
    rules.post_alert(seeded_device(1), "Low disk space")
    rules.post_alert(seeded_device(1), "low disk  SPACE")  # same alert key
    rules.settle()
    [ticket] = alert_tickets(rules)
    assert ticket[HelpdeskTicket.ALERT_COUNT] == 3
    messages = rules.read(
        "mail.message",
        [["model", "=", HelpdeskTicket.MODEL], ["res_id", "=", ticket["id"]]],
        ["body"],
    )
    assert any("fired again" in m["body"] for m in messages)


def test_alert_on_a_device_never_seen_waits_in_unmatched(rules: RulesWorld) -> None:
    device = device_guid()
    seq = rules.post_alert(device, "Agent offline")
    rules.settle()
    assert alert_tickets(rules) == []
    unknown = rules.unmatched()["unknown_devices"]
    assert unknown["waiting_alerts"] == 1
    assert unknown["alerts"][0]["seq"] == seq
    assert unknown["devices"][0]["device_id"] == device


def test_waiting_alert_becomes_a_ticket_once_its_device_gets_an_asset(rules: RulesWorld) -> None:
    device = device_guid()
    rules.post_alert(device, "Agent offline")
    rules.settle()
    rules.append(
        device_event(
            "device.registered", device, hostname="ACME-LATE", org_id=101, org_name="Acme Corp"
        )
    )
    rules.settle()
    [ticket] = alert_tickets(rules)
    assert ticket[HelpdeskTicket.NAME] == "Alert: Agent offline"
    assert rules.unmatched()["unknown_devices"]["waiting_alerts"] == 0
