"""The relay's ``link`` carries the ticket opened for an alert and display names (store rules)."""

from __future__ import annotations

from typing import Any

import pytest

from console.relay.store import (
    MAX_LABEL_LENGTH,
    StateChange,
    StateChangeInvalid,
    StoredEvent,
    plan_state_change,
)


def _alert(**changes: Any) -> StoredEvent:
    fields: dict[str, Any] = {
        "seq": 5, "source": "pulseway", "kind": "alert", "received_at": "t", "external_id": "1",
        "title": "x", "device_id": "d", "priority": "Critical", "dedupe_key": "k",
        "sa_ids": (1,), "state": "open", "count": 1, "last_seen": "t", "alert_seq": 5,
    }  # fmt: skip
    fields.update(changes)
    return StoredEvent(**fields)


def _link(**args: Any) -> Any:
    return plan_state_change(_alert(), StateChange("link", actor="a", args=args), now=0)


def test_a_ticket_alone_is_a_link() -> None:
    plan = _link(ticket_id=42, ticket_name="Alert: x")

    assert plan.args == {"ticket_id": 42, "ticket_name": "Alert: x"}
    assert plan.state == "open" and plan.sa_ids == (1,)  # nothing else changes


def test_names_travel_with_the_ids() -> None:
    plan = _link(asset_id=3, partner_id=4, asset_name="WS-1", partner_name="Acme")

    assert (plan.asset_id, plan.partner_id) == (3, 4)
    assert plan.args["asset_name"] == "WS-1" and plan.args["partner_name"] == "Acme"


def test_names_alone_are_not_a_link() -> None:
    with pytest.raises(StateChangeInvalid, match="ticket_id"):
        _link(asset_name="WS-1")


@pytest.mark.parametrize(
    "args",
    [
        {"ticket_id": "42"},
        {"ticket_id": 0},
        {"ticket_id": True},
        {"asset_id": 1, "asset_name": 7},
        {"asset_id": 1, "ticket_name": "x" * (MAX_LABEL_LENGTH + 1)},
    ],
)
def test_bad_ticket_and_name_arguments_are_refused(args: dict[str, Any]) -> None:
    with pytest.raises(StateChangeInvalid):
        _link(**args)


def test_unknown_arguments_are_not_recorded() -> None:
    plan = _link(ticket_id=1, comment="ignored")

    assert "comment" not in plan.args
