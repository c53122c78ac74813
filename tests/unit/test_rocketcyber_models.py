"""Typed views of the RocketCyber samples and the range/date formats (reference §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from console.rocketcyber import (
    Account,
    Agent,
    Incident,
    RocketCyberProtocolError,
    format_range,
    format_rocketcyber_datetime,
    parse_rocketcyber_datetime,
)
from tests.samples import SAMPLES


def page(name: str) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads((SAMPLES / name).read_text())["data"]
    return data


def test_open_incident_has_no_resolution_time() -> None:
    incident = Incident.from_api(page("rocketcyber_incidents_page.json")[0])
    assert incident.id == 98765 and incident.account_id == 20002
    assert incident.status == "open" and not incident.is_resolved
    assert incident.resolved_at is None
    assert incident.created_at == datetime(2025, 6, 3, 14, 20, 11, tzinfo=UTC)
    assert incident.published_at is not None and incident.published_at > incident.created_at


def test_incident_with_a_resolution_time_is_resolved_whatever_its_status_says() -> None:
    item = {**page("rocketcyber_incidents_page.json")[0], "resolvedAt": "2025-06-04T10:00:00.000Z"}
    assert Incident.from_api(item).is_resolved


def test_agents_sample_parses_with_string_ids() -> None:
    agents = [Agent.from_api(item) for item in page("rocketcyber_agents_page.json")]
    assert [a.hostname for a in agents] == ["ACME-WKS-014", "ACME-SRV-01"]
    assert agents[1].connectivity == "isolated" and agents[0].customer_id == 20002
    assert isinstance(agents[0].id, str) and agents[0].account_path == "10001.20002"


def test_agent_without_id_is_a_protocol_error() -> None:
    with pytest.raises(RocketCyberProtocolError):
        Agent.from_api({"hostname": "X"})


def test_incident_with_a_non_numeric_id_is_a_protocol_error() -> None:
    with pytest.raises(RocketCyberProtocolError):
        Incident.from_api({"id": "x"})


def test_account_tree_is_read_in_any_key_case() -> None:
    account = Account.from_api(
        {
            "Id": 10001,
            "Name": "MSP",
            "type": "provider",
            "Customers": [{"id": 20001, "name": "Acme", "Status": "active", "Path": "10001.20001"}],
        }
    )
    assert [(a.id, a.name) for a in account.flatten()] == [(10001, "MSP"), (20001, "Acme")]
    assert account.customers[0].path == "10001.20001"


def test_datetimes_use_milliseconds_and_z() -> None:
    moment = datetime(2022, 5, 9, 8, 7, 6, 543210, tzinfo=UTC)
    assert format_rocketcyber_datetime(moment) == "2022-05-09T08:07:06.543Z"
    assert parse_rocketcyber_datetime("2022-05-09T08:07:06.543Z") == moment.replace(
        microsecond=543000
    )


def test_date_only_and_naive_values_are_utc() -> None:
    assert parse_rocketcyber_datetime("2022-05-09") == datetime(2022, 5, 9, tzinfo=UTC)
    assert parse_rocketcyber_datetime("2022-05-09T10:00:00") == datetime(2022, 5, 9, 10, tzinfo=UTC)
    assert parse_rocketcyber_datetime("") is None and parse_rocketcyber_datetime(None) is None


def test_ranges_may_be_open_on_either_side() -> None:
    start = datetime(2022, 5, 9, tzinfo=UTC)
    assert format_range(start, None) == "2022-05-09T00:00:00.000Z|"
    assert format_range(None, start) == "|2022-05-09T00:00:00.000Z"
