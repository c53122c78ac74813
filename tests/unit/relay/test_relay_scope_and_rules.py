"""Pure rules of the relay: SA scope, visibility, session tokens, state transitions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from console.relay.sessions import (
    Membership,
    Principal,
    SessionTokens,
    principal_from_json,
    resolve_scope,
    token_hash,
)
from console.relay.store import (
    StateChange,
    StateChangeConflict,
    StateChangeInvalid,
    StoredEvent,
    plan_state_change,
    utc_timestamp,
)

PARENTS = {1: None, 2: 1, 3: 2, 4: None}


def test_manager_role_extends_to_all_descendants() -> None:
    sa_ids, roles, sees_unmatched = resolve_scope([Membership(1, "manager")], PARENTS)

    assert sa_ids == (1, 2, 3)
    assert roles == ("manager",)
    assert sees_unmatched is True


def test_technician_role_covers_its_own_sa_only() -> None:
    sa_ids, _, sees_unmatched = resolve_scope([Membership(2, "technician")], PARENTS)

    assert sa_ids == (2,)
    assert sees_unmatched is False


def test_dispatcher_sees_unmatched_events() -> None:
    assert resolve_scope([Membership(4, "dispatcher")], PARENTS)[2] is True


def test_principal_sees_events_of_its_sas_and_unmatched_only_if_allowed() -> None:
    technician = Principal("t", 1, "T", (1, 2), ("technician",), sees_unmatched=False)

    assert technician.can_see((2, 9))
    assert not technician.can_see((9,))
    assert not technician.can_see(())


def test_principal_round_trips_through_json() -> None:
    principal = Principal("d", 3, "D", (5,), ("dispatcher",), sees_unmatched=True)

    assert principal_from_json(principal.to_json()) == principal


class MemorySessions:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], float]] = {}

    async def save_session(self, token_hash: str, principal: Any, expires_at: float) -> None:
        self.rows[token_hash] = (dict(principal), expires_at)

    async def load_session(self, token_hash: str) -> tuple[dict[str, Any], float] | None:
        return self.rows.get(token_hash)

    async def delete_session(self, token_hash: str) -> None:
        self.rows.pop(token_hash, None)


def test_tokens_expire_after_their_ttl() -> None:
    now = [1000.0]
    store = MemorySessions()
    tokens = SessionTokens(store, ttl_seconds=60, clock=lambda: now[0])
    principal = Principal("t", 1, "T", (1,), (), sees_unmatched=False)

    async def scenario() -> None:
        issued = await tokens.issue(principal)
        assert await tokens.lookup(issued.token) == principal
        now[0] += 60
        assert await tokens.lookup(issued.token) is None

    asyncio.run(scenario())


def test_only_the_token_hash_is_stored() -> None:
    store = MemorySessions()
    tokens = SessionTokens(store, ttl_seconds=60)

    issued = asyncio.run(tokens.issue(Principal("t", 1, "T", (), (), sees_unmatched=True)))

    assert list(store.rows) == [token_hash(issued.token)]
    assert issued.token not in str(store.rows)


def _alert(**changes: Any) -> StoredEvent:
    fields: dict[str, Any] = {
        "seq": 5, "source": "pulseway", "kind": "alert", "received_at": "t", "external_id": "1",
        "title": "x", "device_id": "d", "priority": "Critical", "dedupe_key": "k",
        "sa_ids": (1,), "state": "open", "count": 1, "last_seen": "t", "alert_seq": 5,
    }  # fmt: skip
    fields.update(changes)
    return StoredEvent(**fields)


def test_claim_records_the_claimer() -> None:
    plan = plan_state_change(_alert(), StateChange("claim", actor="tech1"), now=0)

    assert (plan.state, plan.claimed_by) == ("claimed", "tech1")


def test_snooze_normalizes_until_to_utc() -> None:
    change = StateChange("snooze", actor="a", args={"until": "2030-01-01T02:00:00+02:00"})

    plan = plan_state_change(_alert(), change, now=0)

    assert plan.snoozed_until == "2030-01-01T00:00:00.000Z"


def test_only_link_applies_to_a_resolved_alert() -> None:
    resolved = _alert(state="resolved")

    with pytest.raises(StateChangeConflict):
        plan_state_change(resolved, StateChange("ack", actor="a"), now=0)
    plan = plan_state_change(resolved, StateChange("link", actor="a", args={"asset_id": 3}), 0)
    assert plan.asset_id == 3


@pytest.mark.parametrize(
    "args", [{}, {"asset_id": "3"}, {"asset_id": True}, {"sa_ids": [0]}, {"sa_ids": "1"}]
)
def test_link_arguments_are_checked(args: dict[str, Any]) -> None:
    with pytest.raises(StateChangeInvalid):
        plan_state_change(_alert(), StateChange("link", actor="a", args=args), now=0)


def test_link_may_clear_the_asset() -> None:
    change = StateChange("link", actor="a", args={"asset_id": None})

    assert plan_state_change(_alert(asset_id=4), change, now=0).asset_id is None


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert utc_timestamp(1748967302.25) == "2025-06-03T16:15:02.250Z"
