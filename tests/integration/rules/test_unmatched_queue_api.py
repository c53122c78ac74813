"""The unmatched queue end to end through the sandbox: resolve a group, undo it; who may."""

from __future__ import annotations

import odoorpc
import pytest
from rules_support import RulesWorld, device_event, device_guid

from console.domain.names import ClientAsset, HelpdeskTicket, PulsewayGroupMap
from console.sandbox.odoo.exceptions import ValidationError
from console.sandbox.odoo.orm.business_models import HelpdeskTicket as SandboxTicket

ORG = 199  # "Dunder Mifflin Scranton": the SA world's unmatched group-map row


@pytest.fixture
def waiting_group(rules: RulesWorld) -> tuple[RulesWorld, list[str], list[int]]:
    devices = [device_guid(), device_guid()]
    for number, device in enumerate(devices, start=1):
        rules.append(
            device_event(
                "device.registered",
                device,
                hostname=f"DMS-WS0{number}",
                org_id=ORG,
                org_name="Dunder Mifflin Scranton",
                serial=f"DM-{number}",
            )
        )
    seqs = [rules.post_alert(devices[0], "Low disk space"), rules.post_alert(devices[1], "Offline")]
    rules.post_alert(devices[0], "Low disk space")  # a repeat waits in the same row
    rules.settle()
    return rules, devices, seqs


def map_row_as(rules: RulesWorld, login: str, partner_key: str) -> int:
    """What the console does as the user: give the group's map row a partner."""
    client = rules.client(login)
    [map_id] = client.execute_kw(
        PulsewayGroupMap.MODEL, "search", [[[PulsewayGroupMap.PULSEWAY_ORG_ID, "=", ORG]]]
    )
    client.execute_kw(
        PulsewayGroupMap.MODEL,
        "write",
        [[map_id], {PulsewayGroupMap.PARTNER: rules.ids["partners"][partner_key]}],
    )
    return int(map_id)


def test_unmatched_group_lists_its_devices_and_waiting_alerts(
    waiting_group: tuple[RulesWorld, list[str], list[int]],
) -> None:
    rules, devices, seqs = waiting_group
    group = rules.group(f"org:{ORG}")
    assert group is not None
    assert group["device_count"] == 2
    assert group["waiting_alerts"] == 2
    assert {d["device_id"] for d in group["devices"]} == set(devices)
    assert {a["seq"] for a in group["alerts"]} == set(seqs)
    assert {a["count"] for a in group["alerts"]} == {1, 2}
    assert "waiting in the unmatched queue" in group["reason"]


def test_resolving_a_group_creates_its_assets_and_turns_its_alerts_into_tickets(
    waiting_group: tuple[RulesWorld, list[str], list[int]],
) -> None:
    rules, devices, seqs = waiting_group
    map_id = map_row_as(rules, "dispatch", "globex")
    answer = rules.http.post(
        "/api/unmatched/resolve",
        json={"key": f"org:{ORG}", "map_id": map_id},
        headers=rules.headers("dispatch"),
    )
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert summary["assets_created"] == 2
    assert summary["tickets_created"] == 2
    assert summary["resolution_id"] >= 1
    assets = rules.read(
        ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "in", devices]], [ClientAsset.PARTNER]
    )
    assert {a[ClientAsset.PARTNER][0] for a in assets} == {rules.ids["partners"]["globex"]}
    tickets = rules.read(
        HelpdeskTicket.MODEL,
        [[HelpdeskTicket.ALERT_KEY, "!=", False]],
        [HelpdeskTicket.SA, HelpdeskTicket.ALERT_COUNT, HelpdeskTicket.NAME],
    )
    assert {t[HelpdeskTicket.SA][0] for t in tickets} == {rules.ids["sa"]["east"]}
    assert sorted(t[HelpdeskTicket.ALERT_COUNT] for t in tickets) == [1, 2]
    assert rules.group(f"org:{ORG}") is None
    rules.settle()
    alice_sees = rules.http.get("/api/events", headers=rules.headers("alice")).json()["events"]
    assert set(seqs) <= {e["alert_seq"] for e in alice_sees}
    # a device of that organization seen later gets its asset without anyone's help
    later = device_guid()
    rules.append(
        device_event("device.registered", later, hostname="DMS-LATE", org_id=ORG, org_name="Dunder")
    )
    rules.settle()
    [asset] = rules.read(ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "=", later]], ["id"])
    assert asset


def test_undo_retires_what_the_resolution_created(
    waiting_group: tuple[RulesWorld, list[str], list[int]],
) -> None:
    rules, devices, seqs = waiting_group
    map_id = map_row_as(rules, "dispatch", "globex")
    summary = rules.http.post(
        "/api/unmatched/resolve",
        json={"key": f"org:{ORG}", "map_id": map_id},
        headers=rules.headers("dispatch"),
    ).json()
    answer = rules.http.post(
        "/api/unmatched/undo",
        json={"resolution_id": summary["resolution_id"]},
        headers=rules.headers("dispatch"),
    )
    assert answer.status_code == 200, answer.text
    undone = answer.json()
    assert undone["assets_retired"] == 2
    assert undone["tickets_closed"] == 2
    assets = rules.read(
        ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "in", devices]], [ClientAsset.STATUS]
    )
    assert {a[ClientAsset.STATUS] for a in assets} == {"decommissioned"}
    tickets = rules.read(
        HelpdeskTicket.MODEL, [[HelpdeskTicket.ALERT_KEY, "!=", False]], [HelpdeskTicket.STAGE]
    )
    assert {t[HelpdeskTicket.STAGE][1] for t in tickets} == {"Cancelled"}
    group = rules.group(f"org:{ORG}")
    assert group is not None and group["device_count"] == 2 and group["waiting_alerts"] == 2
    rules.settle()
    for seq in seqs:
        assert rules.event(seq)["alert"]["sa_ids"] == []
    again = rules.http.post(
        "/api/unmatched/undo",
        json={"resolution_id": summary["resolution_id"]},
        headers=rules.headers("dispatch"),
    )
    assert again.status_code == 409


def test_a_resolution_odoo_refuses_half_way_goes_back_to_the_queue_and_a_retry_finishes_it(
    waiting_group: tuple[RulesWorld, list[str], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules, devices, _seqs = waiting_group
    map_id = map_row_as(rules, "dispatch", "globex")

    def refuse(_self: object, _vals: object) -> None:
        raise ValidationError("The helpdesk team is closed for new tickets.")

    # Odoo takes the assets, then refuses the tickets.
    monkeypatch.setattr(SandboxTicket, "_prepare_create_vals", refuse)
    request = {"key": f"org:{ORG}", "map_id": map_id}
    answer = rules.http.post(
        "/api/unmatched/resolve", json=request, headers=rules.headers("dispatch")
    )

    assert answer.status_code == 409, answer.text
    assert "closed for new tickets" in answer.json()["error"]  # the dispatcher sees why
    group = rules.group(f"org:{ORG}")
    assert group is not None and group["waiting_alerts"] == 2  # nothing dropped
    made = rules.read(ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "in", devices]], ["id"])
    assert len(made) == 2  # the half that Odoo took stays
    assert not rules.read(HelpdeskTicket.MODEL, [[HelpdeskTicket.ALERT_KEY, "!=", False]], ["id"])

    monkeypatch.undo()  # the team opens again: the dispatcher retries
    again = rules.http.post(
        "/api/unmatched/resolve", json=request, headers=rules.headers("dispatch")
    )

    assert again.status_code == 200, again.text
    assert again.json()["assets_created"] == 0  # found again by Pulseway id, not made twice
    assets = rules.read(
        ClientAsset.MODEL, [[ClientAsset.PULSEWAY_ID, "in", devices]], [ClientAsset.PARTNER]
    )
    assert sorted(a["id"] for a in assets) == sorted(a["id"] for a in made)
    assert {a[ClientAsset.PARTNER][0] for a in assets} == {rules.ids["partners"]["globex"]}
    tickets = rules.read(
        HelpdeskTicket.MODEL,
        [[HelpdeskTicket.ALERT_KEY, "!=", False]],
        [HelpdeskTicket.ALERT_COUNT],
    )
    assert sorted(t[HelpdeskTicket.ALERT_COUNT] for t in tickets) == [1, 2]
    assert rules.group(f"org:{ORG}") is None


def test_a_relay_whose_rules_worker_is_not_running_says_so_with_503(
    rules: RulesWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. a relay on a shared PostgreSQL store while another relay leads
    monkeypatch.setattr(rules.worker, "running", False)

    answer = rules.http.get("/api/unmatched", headers=rules.headers("dispatch"))

    assert answer.status_code == 503
    assert "another relay" in answer.json()["error"]
    assert answer.headers["retry-after"]


def test_technician_can_neither_see_nor_resolve_the_queue(
    waiting_group: tuple[RulesWorld, list[str], list[int]],
) -> None:
    rules, _devices, _seqs = waiting_group
    listed = rules.http.get("/api/unmatched", headers=rules.headers("alice"))
    assert listed.status_code == 403
    assert "dispatchers and managers" in listed.json()["error"]
    resolved = rules.http.post(
        "/api/unmatched/resolve",
        json={"key": f"org:{ORG}", "map_id": 1},
        headers=rules.headers("alice"),
    )
    assert resolved.status_code == 403
    with pytest.raises(odoorpc.error.RPCError):  # Odoo's own rules refuse the map write too
        rules.client("alice").execute_kw(
            PulsewayGroupMap.MODEL,
            "create",
            [{PulsewayGroupMap.NAME: "Dunder Mifflin Scranton", PulsewayGroupMap.PARTNER: 8}],
        )


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "key"),
        ({"key": "org:199", "map_id": "x"}, 400, "map_id"),
        ({"key": "org:424242", "map_id": 1}, 404, "no unmatched group"),
        ({"key": "unknown-devices", "map_id": 1}, 409, "one by one"),
    ],
)
def test_bad_resolve_requests_get_a_clear_error(
    waiting_group: tuple[RulesWorld, list[str], list[int]],
    body: dict,
    status: int,
    words: str,
) -> None:
    rules = waiting_group[0]
    answer = rules.http.post("/api/unmatched/resolve", json=body, headers=rules.headers("dispatch"))
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_map_row_without_partner_or_for_another_group_is_refused(
    waiting_group: tuple[RulesWorld, list[str], list[int]],
) -> None:
    rules = waiting_group[0]
    unmatched_row = rules.ids["group_maps"]["unmatched"]
    answer = rules.http.post(
        "/api/unmatched/resolve",
        json={"key": f"org:{ORG}", "map_id": unmatched_row},
        headers=rules.headers("dispatch"),
    )
    assert answer.status_code == 409 and "no partner" in answer.json()["error"]
    answer = rules.http.post(
        "/api/unmatched/resolve",
        json={"key": f"org:{ORG}", "map_id": rules.ids["group_maps"]["acme"]},
        headers=rules.headers("dispatch"),
    )
    assert answer.status_code == 409 and "is not for" in answer.json()["error"]


def test_metrics_report_the_rules_worker(rules: RulesWorld) -> None:
    text = rules.http.get("/metrics").text
    assert "psa_relay_rules_events_applied_total" in text
    assert "psa_relay_rules_lag_events" in text
