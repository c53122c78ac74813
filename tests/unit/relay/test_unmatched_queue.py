"""The unmatched queue the rules worker keeps: groups, waiting alerts, persistence."""

from __future__ import annotations

import pytest

from console.relay.unmatched import (
    PREVIEW,
    UnmatchedGroup,
    UnmatchedQueue,
    WaitingAlert,
    WaitingDevice,
    group_key,
)


def device(device_id: str, seq: int = 1) -> WaitingDevice:
    return WaitingDevice(device_id, f"host-{device_id}", "SER", "Windows 11", None, seq)


def alert(key: str, device_id: str | None, seq: int, *, head: int | None = None) -> WaitingAlert:
    return WaitingAlert(
        key=key,
        seq=head or seq,
        last_seq=seq,
        source="pulseway",
        kind="alert",
        title=key,
        priority="Critical",
        device_id=device_id,
        message=None,
        count=1,
        last_seen="2025-06-03T16:00:00Z",
    )


def new_group(queue: UnmatchedQueue, key: str = "org:5") -> UnmatchedGroup:
    return queue.group(
        key, source="pulseway", org_id=5, org_name="Org", group_name="G", site_name=None, reason="r"
    )


def test_group_key_prefers_the_organization_then_the_group_name() -> None:
    assert group_key(42, "Acme", "Servers") == "org:42"
    assert group_key(None, None, "  Front  Office ") == "group:front office"
    assert group_key(None, None, None, source="rocketcyber", account_id=7) == "rocketcyber:7"


def test_alerts_of_an_unknown_device_follow_it_into_its_group() -> None:
    queue = UnmatchedQueue()
    queue.add_alert(None, alert("k1", "AbC", 10))
    group = new_group(queue)
    queue.add_device(group, device("abc"))
    assert queue.unknown == {}
    assert list(queue.groups["org:5"].alerts) == ["k1"]


def test_a_repeat_of_a_waiting_alert_raises_its_count() -> None:
    queue = UnmatchedQueue()
    queue.add_alert(None, alert("k1", "d", 10))
    queue.add_alert(None, alert("k1", "d", 12, head=10))
    queue.add_alert(None, alert("k1", "d", 12, head=10))  # replayed: no change
    [waiting] = queue.unknown.values()
    assert (waiting.count, waiting.seq, waiting.last_seq) == (2, 10, 12)


def test_forgetting_a_device_hands_back_its_alerts_and_drops_an_empty_group() -> None:
    queue = UnmatchedQueue()
    group = new_group(queue)
    queue.add_device(group, device("d1"))
    queue.add_alert(group, alert("k1", "D1", 3))
    taken = queue.forget_device("d1")
    assert [a.key for a in taken] == ["k1"]
    assert queue.groups == {}


def test_take_and_restore_a_group() -> None:
    queue = UnmatchedQueue()
    group = new_group(queue)
    queue.add_device(group, device("d1"))
    taken = queue.take_group("org:5")
    assert taken is not None and queue.group_of_device("d1") is None
    queue.restore_group(taken)
    assert queue.group_of_device("D1") is taken


def test_api_view_caps_previews_and_lists_unknown_devices() -> None:
    queue = UnmatchedQueue()
    group = new_group(queue)
    for n in range(PREVIEW + 5):
        queue.add_device(group, device(f"d{n}", seq=n))
    queue.add_alert(None, alert("lost", "zz", 99))
    body = queue.to_api()
    [row] = body["groups"]
    assert row["device_count"] == PREVIEW + 5
    assert len(row["devices"]) == PREVIEW
    assert row["devices"][0]["device_id"] == f"d{PREVIEW + 4}"  # newest first
    assert body["unknown_devices"]["waiting_alerts"] == 1
    assert body["unknown_devices"]["devices"][0]["device_id"] == "zz"


def test_json_round_trip_keeps_everything() -> None:
    queue = UnmatchedQueue()
    group = new_group(queue)
    queue.add_device(group, device("d1"))
    queue.add_alert(group, alert("k1", "d1", 3))
    queue.add_alert(None, alert("k2", "x", 4))
    again = UnmatchedQueue.from_json(queue.to_json())
    assert again.to_api() == queue.to_api()
    assert again.group_of_device("d1") is not None


def test_unreadable_json_is_refused() -> None:
    with pytest.raises(ValueError):
        UnmatchedQueue.from_json('{"v": 2}')
    with pytest.raises(ValueError):
        UnmatchedQueue.from_json('{"v": 1}')
