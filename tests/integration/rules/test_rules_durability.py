"""The worker is idempotent, resumes at the right event and waits out an Odoo outage."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from rules_support import SERVICE_LOGIN, RulesWorld, device_event, device_guid, seeded_device

from console.domain.names import ClientAsset, HelpdeskTicket
from console.odoo import errors
from console.odoo.gateway import OdooGateway


def counts(rules: RulesWorld) -> dict[str, object]:
    tickets = rules.read(
        HelpdeskTicket.MODEL,
        [[HelpdeskTicket.ALERT_KEY, "!=", False]],
        [HelpdeskTicket.ALERT_COUNT, HelpdeskTicket.RELAY_SEQ, HelpdeskTicket.STAGE],
    )
    return {
        "tickets": tickets,
        "assets": rules.read(ClientAsset.MODEL, [], [ClientAsset.STATUS, ClientAsset.NAME]),
        "messages": len(rules.read("mail.message", [], ["id"])),
    }


def busy_log(rules: RulesWorld) -> None:
    new = device_guid()
    rules.append(
        device_event("device.registered", new, hostname="ACME-R1", org_id=101, org_name="Acme")
    )
    rules.append(
        device_event("device.registered", device_guid(), hostname="X", org_id=777, org_name="Nope")
    )
    for _ in range(3):
        rules.post_alert(seeded_device(1), "Low disk space")
    rules.post_alert(new, "Backup failed", priority="Normal")
    rules.post_alert(device_guid(), "Unknown box")
    rules.append(
        device_event("device.removed", seeded_device(4), hostname="I", org_id=102, org_name="I")
    )


def test_replaying_the_whole_log_creates_nothing_new(
    start_rules: Callable[..., RulesWorld], tmp_path: Path
) -> None:
    rules = start_rules()
    busy_log(rules)
    rules.settle()
    before = counts(rules)
    assert len(before["tickets"]) == 2  # type: ignore[arg-type]
    rules.close()
    rules.background.stop()
    with sqlite3.connect(tmp_path / "relay.sqlite3") as db:  # forget where the worker was
        db.execute("DELETE FROM cursors WHERE name = 'rules.seq'")
    again = start_rules()
    again.settle()
    assert again.worker.cursor >= again.app.hub.last_seq
    assert counts(again) == before


def test_restart_resumes_at_the_next_event(
    start_rules: Callable[..., RulesWorld],
) -> None:
    rules = start_rules()
    rules.post_alert(seeded_device(1), "Low disk space")
    rules.settle()
    stopped_at = rules.worker.cursor
    rules.close()
    rules.background.stop()

    again = start_rules()
    again.post_alert(seeded_device(1), "Low disk space")
    again.post_alert(seeded_device(3), "VPN down")
    again.settle()
    tickets = again.read(
        HelpdeskTicket.MODEL,
        [[HelpdeskTicket.ALERT_KEY, "!=", False]],
        [HelpdeskTicket.NAME, HelpdeskTicket.ALERT_COUNT, HelpdeskTicket.RELAY_SEQ],
    )
    assert sorted((t[HelpdeskTicket.NAME], t[HelpdeskTicket.ALERT_COUNT]) for t in tickets) == [
        ("Alert: Low disk space", 2),
        ("Alert: VPN down", 1),
    ]
    assert min(t[HelpdeskTicket.RELAY_SEQ] for t in tickets) > 0
    assert again.worker.cursor > stopped_at


def test_odoo_outage_is_waited_out_and_no_event_is_skipped(
    start_rules: Callable[..., RulesWorld],
    odoo_world: tuple[object, dict[str, dict[str, int]], str],
) -> None:
    url = odoo_world[2]
    attempts = {"n": 0}

    async def flaky() -> OdooGateway:
        attempts["n"] += 1
        if attempts["n"] <= 3:
            raise errors.ServerUnreachable("Odoo is down (test)")
        return await OdooGateway.connect(url, "psa", SERVICE_LOGIN, SERVICE_LOGIN)

    rules = start_rules(connect=flaky)
    rules.post_alert(seeded_device(1), "Low disk space")
    rules.settle()
    assert attempts["n"] >= 4
    tickets = rules.read(HelpdeskTicket.MODEL, [[HelpdeskTicket.ALERT_KEY, "!=", False]], ["id"])
    assert len(tickets) == 1


def test_an_event_odoo_refuses_is_recorded_with_the_reason_and_the_worker_moves_on(
    rules: RulesWorld,
) -> None:
    bad = device_guid()
    # Pulseway without a hostname: x_name is required, so no asset can be created
    rules.append(device_event("device.registered", bad, hostname="", org_id=101, org_name="Acme"))
    rules.post_alert(seeded_device(1), "After the bad one")
    rules.settle()
    body = rules.unmatched()
    reasons = [g["reason"] for g in body["groups"]] + [f["reason"] for f in body["failed"]]
    assert any("no name" in reason for reason in reasons)
    tickets = rules.read(HelpdeskTicket.MODEL, [[HelpdeskTicket.ALERT_KEY, "!=", False]], ["id"])
    assert len(tickets) == 1
