"""Poller state that must survive a restart, and the run loop's backoff (no network)."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime

import pytest

from console.relay.pollers import DeviceFacts, DeviceSnapshot, IncidentCursor, PollBackoff

FACTS = DeviceFacts(
    device_id="8F3C2A1D-4B5E-6F70-8192-A3B4C5D6E7F8",
    hostname="ACME-SRV-01",
    serial="7XK2Q93",
    os="Windows Server 2022 Standard",
    os_version="10.0.20348",
    group_id=6980,
    group_name="Servers",
    site_id=6979,
    site_name="HQ",
    organization_id=4821,
    organization_name="Acme Corp",
)


def test_digest_ignores_the_letter_case_of_the_device_id() -> None:
    lowered = dataclasses.replace(FACTS, device_id=FACTS.device_id.lower())
    assert lowered.digest() == FACTS.digest()


@pytest.mark.parametrize(
    "change",
    [
        {"os": "Windows Server 2025"},
        {"os_version": "10.0.26100"},
        {"serial": None},
        {"group_id": 1},
        {"organization_name": "Acme Inc"},
    ],
)
def test_digest_changes_with_any_tracked_fact(change: dict[str, object]) -> None:
    assert dataclasses.replace(FACTS, **change).digest() != FACTS.digest()  # type: ignore[arg-type]


def test_snapshot_round_trips_through_json() -> None:
    other = dataclasses.replace(
        FACTS,
        device_id="1b2c",
        hostname="ACME-WKS-014",
        serial=None,
        os=None,
        os_version=None,
        group_id=None,
        group_name="",
    )
    snapshot = DeviceSnapshot(7, {"8f3c": FACTS, "1b2c": other})
    assert DeviceSnapshot.from_json(snapshot.to_json()) == snapshot


def test_snapshot_stores_each_group_context_once() -> None:
    devices = {str(i): dataclasses.replace(FACTS, device_id=str(i)) for i in range(50)}
    data = json.loads(DeviceSnapshot(1, devices).to_json())
    assert len(data["contexts"]) == 1 and len(data["devices"]) == 50


@pytest.mark.parametrize("text", ["", "[]", '{"v": 2}', '{"v": 1}', "not json"])
def test_unreadable_snapshot_is_refused(text: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        DeviceSnapshot.from_json(text)


def test_incident_cursor_round_trips_through_json() -> None:
    moment = datetime(2025, 6, 3, 12, 0, tzinfo=UTC)
    cursor = IncidentCursor(moment, moment, None, {"1": "2025-06-03T11:58:00Z"}, {})
    assert IncidentCursor.from_json(cursor.to_json()) == cursor


def test_poll_backoff_doubles_per_failure_and_caps() -> None:
    backoff = PollBackoff(base=10, maximum=60, jitter=0.0)
    rng = random.Random(0)
    assert [backoff.delay(n, rng) for n in range(1, 6)] == [10, 20, 40, 60, 60]


def test_poll_backoff_jitter_stays_within_its_fraction() -> None:
    backoff = PollBackoff(base=100, maximum=100, jitter=0.25)
    rng = random.Random(4)
    assert all(75 <= backoff.delay(1, rng) <= 100 for _ in range(200))
