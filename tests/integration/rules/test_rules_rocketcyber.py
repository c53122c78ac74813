"""RocketCyber incidents: a "Security:" ticket on the client; resolved → closed if untouched."""

from __future__ import annotations

from rules_support import RulesWorld, incident_event

from console.domain.names import HelpdeskTicket

FIELDS = [
    HelpdeskTicket.NAME,
    HelpdeskTicket.PARTNER,
    HelpdeskTicket.ASSET,
    HelpdeskTicket.SA,
    HelpdeskTicket.PRIORITY,
    HelpdeskTicket.STAGE,
]


def security_tickets(rules: RulesWorld) -> list[dict]:
    return rules.read(HelpdeskTicket.MODEL, [[HelpdeskTicket.NAME, "like", "Security:"]], FIELDS)


def open_incident(rules: RulesWorld, incident_id: int = 98001) -> None:
    rules.append(
        incident_event(
            "incident.opened",
            incident_id,
            account_id=20002,
            account_name="Acme Corp RC",
            raw={"id": incident_id, "affectedDevices": [{"hostname": "ACME-WS01"}]},
        )
    )
    rules.settle()


def messages_of(rules: RulesWorld, ticket_id: int) -> list[str]:
    rows = rules.read(
        "mail.message",
        [["model", "=", HelpdeskTicket.MODEL], ["res_id", "=", ticket_id]],
        ["body"],
    )
    return [r["body"] for r in rows]


def test_incident_opens_a_security_ticket_on_the_affected_asset(rules: RulesWorld) -> None:
    open_incident(rules)
    [ticket] = security_tickets(rules)
    assert ticket[HelpdeskTicket.NAME] == "Security: Suspicious PowerShell"
    assert ticket[HelpdeskTicket.PARTNER][0] == rules.ids["partners"]["acme"]
    assert ticket[HelpdeskTicket.ASSET][0] == rules.ids["assets"]["acme_ws"]
    assert ticket[HelpdeskTicket.SA][0] == rules.ids["sa"]["east"]
    assert ticket[HelpdeskTicket.PRIORITY] == "2"


def test_resolved_incident_closes_an_untouched_ticket_with_a_note(rules: RulesWorld) -> None:
    open_incident(rules)
    rules.append(incident_event("incident.resolved", 98001, account_id=20002, account_name=None))
    rules.settle()
    [ticket] = security_tickets(rules)
    assert ticket[HelpdeskTicket.STAGE][1] == "Solved"
    assert any("resolved" in body for body in messages_of(rules, ticket["id"]))


def test_resolved_incident_leaves_a_touched_ticket_open(rules: RulesWorld) -> None:
    open_incident(rules)
    [ticket] = security_tickets(rules)
    rules.write(
        HelpdeskTicket.MODEL,
        [ticket["id"]],
        {HelpdeskTicket.ASSIGNED_USER: rules.ids["users"]["alice"]},
    )
    rules.append(incident_event("incident.resolved", 98001, account_id=20002, account_name=None))
    rules.settle()
    [ticket] = security_tickets(rules)
    assert ticket[HelpdeskTicket.STAGE][1] == "New"
    assert any("left open" in body for body in messages_of(rules, ticket["id"]))


def test_incident_of_an_unknown_account_waits_in_unmatched(rules: RulesWorld) -> None:
    rules.append(
        incident_event("incident.opened", 98002, account_id=30003, account_name="Vandelay")
    )
    rules.settle()
    assert security_tickets(rules) == []
    group = rules.group("rocketcyber:30003")
    assert group is not None
    assert group["organization_name"] == "Vandelay"
    assert group["waiting_alerts"] == 1
