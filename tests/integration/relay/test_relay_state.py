"""POST /api/events/{seq}/state: recorded with {actor, sa}, in the history, rules enforced."""

from __future__ import annotations

from relay_support import RunningRelay, notification


def _alert_in_sa(relay: RunningRelay, sa: int, **body_fields: object) -> int:
    seq: int = relay.post_hook(notification(**body_fields)).json()["seq"]
    assert relay.change(seq, relay.admin(), action="link", sa_ids=[sa]).status_code == 200
    return seq


def test_claim_is_recorded_with_actor_and_sa(relay: RunningRelay) -> None:
    seq = _alert_in_sa(relay, 1)

    response = relay.change(seq, relay.login("tech1"), action="claim")

    assert response.status_code == 200
    state = response.json()["event"]
    assert state["kind"] == "state"
    assert state["payload"]["actor"] == "tech1"
    assert state["payload"]["sa"] == 1
    assert state["payload"]["alert"]["state"] == "claimed"
    assert state["payload"]["alert"]["claimed_by"] == "tech1"


def test_history_lists_every_change_of_the_alert_in_order(relay: RunningRelay) -> None:
    seq = _alert_in_sa(relay, 1)
    tech = relay.login("tech1")
    relay.change(seq, tech, action="claim")
    relay.change(seq, tech, action="snooze", until="2999-01-01T00:00:00Z")
    relay.change(seq, tech, action="ack")
    relay.change(seq, tech, action="link", asset_id=12, partner_id=34)
    relay.change(seq, tech, action="resolve")

    detail = relay.http.get(f"/api/events/{seq}", headers=tech).json()

    assert [h["action"] for h in detail["history"]] == [
        "link", "claim", "snooze", "ack", "link", "resolve",
    ]  # fmt: skip
    assert [h["actor"] for h in detail["history"]] == ["admin-token"] + ["tech1"] * 5
    assert detail["history"][2]["args"] == {"until": "2999-01-01T00:00:00.000Z"}
    alert = detail["alert"]
    assert (alert["state"], alert["asset_id"], alert["partner_id"]) == ("resolved", 12, 34)


def test_history_is_found_from_a_repeat_too(relay: RunningRelay) -> None:
    first = relay.post_hook(notification(title="Ping lost")).json()["seq"]
    repeat = relay.post_hook(notification(title="Ping lost")).json()["seq"]
    relay.change(repeat, relay.admin(), action="ack")

    detail = relay.http.get(f"/api/events/{repeat}", headers=relay.admin()).json()

    assert detail["alert"]["seq"] == first
    assert detail["alert"]["state"] == "acked"
    assert [h["target_seq"] for h in detail["history"]] == [first]


def test_ack_after_resolve_is_409(relay: RunningRelay) -> None:
    seq = relay.post_hook(notification()).json()["seq"]
    relay.change(seq, relay.admin(), action="resolve")

    response = relay.change(seq, relay.admin(), action="ack")

    assert response.status_code == 409
    assert "already resolved" in response.json()["error"]


def test_snooze_without_until_is_400(relay: RunningRelay) -> None:
    seq = relay.post_hook(notification()).json()["seq"]

    response = relay.change(seq, relay.admin(), action="snooze")

    assert response.status_code == 400
    assert "until" in response.json()["error"]


def test_snooze_into_the_past_is_400(relay: RunningRelay) -> None:
    seq = relay.post_hook(notification()).json()["seq"]

    response = relay.change(seq, relay.admin(), action="snooze", until="2000-01-01T00:00:00Z")

    assert response.status_code == 400


def test_unknown_action_is_400(relay: RunningRelay) -> None:
    seq = relay.post_hook(notification()).json()["seq"]

    assert relay.change(seq, relay.admin(), action="delete").status_code == 400


def test_unknown_seq_is_404(relay: RunningRelay) -> None:
    assert relay.change(999, relay.admin(), action="ack").status_code == 404


def test_event_outside_the_scope_looks_missing(relay: RunningRelay) -> None:
    seq = _alert_in_sa(relay, 2)

    response = relay.change(seq, relay.login("tech1"), action="claim")

    assert response.status_code == 404
    assert relay.http.get(f"/api/events/{seq}", headers=relay.login("tech1")).status_code == 404


def test_technician_cannot_act_on_unmatched_events_but_a_dispatcher_can(
    relay: RunningRelay,
) -> None:
    seq = relay.post_hook(notification()).json()["seq"]

    assert relay.change(seq, relay.login("tech1"), action="claim").status_code == 404
    response = relay.change(seq, relay.login("disp1"), action="claim")
    assert response.status_code == 200
    assert response.json()["event"]["payload"]["sa"] is None


def test_stamping_an_sa_outside_the_scope_is_403(relay: RunningRelay) -> None:
    seq = _alert_in_sa(relay, 1)

    response = relay.change(seq, relay.login("tech1"), action="ack", sa=2)

    assert response.status_code == 403


def test_linking_to_an_sa_outside_the_scope_is_403(relay: RunningRelay) -> None:
    seq = relay.post_hook(notification()).json()["seq"]

    response = relay.change(seq, relay.login("disp1"), action="link", sa_ids=[2])

    assert response.status_code == 403


def test_link_that_moves_an_alert_is_visible_to_both_scopes(relay: RunningRelay) -> None:
    seq = _alert_in_sa(relay, 1)

    moved = relay.change(seq, relay.admin(), action="link", sa_ids=[2]).json()["event"]

    assert moved["sa_ids"] == [1, 2]
    assert moved["payload"]["alert"]["sa_ids"] == [2]
    tech2_kinds = [e["kind"] for e in relay.events(relay.login("tech2"))]
    assert tech2_kinds == ["alert", "state"]
