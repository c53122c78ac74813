"""The notification backstop's pure parts: recovered titles and events, its cursor, its
settings and how ``with_pollers`` wires it (no network)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.relay.backstop import (
    RECOVERED_NOTE,
    TITLE_LIMIT,
    BackstopCursor,
    recovered_event,
    recovered_title,
)
from console.relay.command import with_pollers
from console.relay.config import ConfigError, describe, load_config
from console.relay.pulseway_webhook import DOCUMENTED_FIELDS, parse_notification

DEVICE = "8F3C2A1D-4B5E-6F70-8192-A3B4C5D6E7F8"
LISTED_AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
PULSEWAY_ENV = {
    "PSA_RELAY_HOOK_SECRET": "hook-secret",
    "PSA_PULSEWAY_URL": "https://api.pulseway.com/v3",
    "PSA_PULSEWAY_TOKEN_ID": "token-id",
    "PSA_PULSEWAY_TOKEN_SECRET": "token-secret",
}


def _detail(**changes: object) -> dict[str, object]:
    detail: dict[str, object] = {
        "ComputerIdentifier": DEVICE,
        "Read": False,
        "Id": 2701,
        "Message": "Low disk space on C: (7% free)\nGroup: Acme - HQ - Servers",
        "DateTime": "2026-03-02T08:29:58Z",
        "Priority": "elevated",
    }
    detail.update(changes)
    return detail


def _write(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "relay.toml"
    path.write_text(text)
    return path


# -- titles ----------------------------------------------------------------------------------------


def test_title_is_the_first_line_of_the_message() -> None:
    assert recovered_title("Computer offline\nLast seen 09:12", 1) == "Computer offline"


def test_title_skips_leading_blank_lines_and_trims() -> None:
    assert recovered_title("\n  \n  CPU usage high  \nmore", 1) == "CPU usage high"


def test_long_first_line_is_cut_to_the_limit_with_an_ellipsis() -> None:
    title = recovered_title("x" * 300, 1)
    assert len(title) == TITLE_LIMIT and title.endswith("…")
    assert recovered_title("y" * TITLE_LIMIT, 1) == "y" * TITLE_LIMIT


@pytest.mark.parametrize("message", ["", "   \n\t\n"])
def test_empty_message_names_the_notification(message: str) -> None:
    assert recovered_title(message, 2701) == "Pulseway notification 2701"


# -- events ----------------------------------------------------------------------------------------


def test_recovered_event_matches_the_webhook_path_where_the_api_can_tell() -> None:
    event = recovered_event(2701, _detail(), LISTED_AT)
    webhook = parse_notification(
        json.dumps(
            {
                "Id": 2701,
                "Title": "Low disk space on C: (7% free)",
                "Message": "Low disk space on C: (7% free)\nGroup: Acme - HQ - Servers",
                "DateTime": "2026-03-02T08:29:58Z",
                "Priority": "Elevated",
                "DeviceIdentifier": DEVICE,
                "OrganizationId": "4821",
            }
        ).encode()
    )
    for name in ("source", "kind", "external_id", "title", "device_id", "priority", "dedupe_key"):
        assert getattr(event, name) == getattr(webhook, name), name


def test_recovered_payload_is_the_webhook_field_set_marked_recovered() -> None:
    payload = recovered_event(2701, _detail(), LISTED_AT).payload
    assert set(payload) == {*DOCUMENTED_FIELDS, "Recovered"}
    assert payload["Recovered"] == "backstop"
    assert payload["Id"] == 2701
    assert payload["Title"] == "Low disk space on C: (7% free)"
    assert payload["Priority"] == "Elevated"
    assert payload["DateTime"] == "2026-03-02T08:29:58Z"
    assert payload["DeviceIdentifier"] == DEVICE
    assert payload["OrganizationId"] is None


def test_recovered_message_keeps_the_text_and_says_why_the_title_differs() -> None:
    message = recovered_event(2701, _detail(), LISTED_AT).payload["Message"]
    assert message.startswith("Low disk space on C: (7% free)\nGroup: Acme - HQ - Servers")
    assert message.endswith(RECOVERED_NOTE)
    assert recovered_event(2701, _detail(Message=""), LISTED_AT).payload["Message"] == (
        RECOVERED_NOTE
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1772440198, "2026-03-02T08:29:58Z"), ("2026-03-02T08:29:58", "2026-03-02T08:29:58Z")],
)
def test_detail_time_as_epoch_or_naive_iso_becomes_iso_with_z(value: object, expected: str) -> None:
    assert recovered_event(1, _detail(DateTime=value), LISTED_AT).payload["DateTime"] == expected


def test_detail_without_a_time_uses_the_listed_one() -> None:
    payload = recovered_event(1, _detail(DateTime=None), LISTED_AT).payload
    assert payload["DateTime"] == "2026-03-02T08:30:00Z"


def test_detail_without_a_computer_is_still_an_alert_without_a_device() -> None:
    event = recovered_event(1, _detail(ComputerIdentifier=None), LISTED_AT)
    assert event.kind == "alert" and event.device_id is None
    assert event.payload["DeviceIdentifier"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("critical", "Critical"), ("LOW", "Low"), ("Normal", "Normal"), ("urgent", "urgent")],
)
def test_priority_is_title_case_when_pulseway_documents_it(value: str, expected: str) -> None:
    assert recovered_event(1, _detail(Priority=value), LISTED_AT).priority == expected


# -- cursor --------------------------------------------------------------------------------------


def test_cursor_round_trips_through_json() -> None:
    cursor = BackstopCursor(LISTED_AT)
    assert BackstopCursor.from_json(cursor.to_json()) == cursor


@pytest.mark.parametrize("text", ["[]", '{"v": 2}', '{"v": 1}', '{"v": 1, "until": "soon"}'])
def test_unreadable_cursor_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        BackstopCursor.from_json(text)


# -- settings --------------------------------------------------------------------------------------


def test_backstop_is_on_by_default_with_the_documented_pace(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path), PULSEWAY_ENV, use_keyring=False)
    assert config.pulseway is not None
    assert config.pulseway.backstop_seconds == 300
    assert config.pulseway.backstop_grace_seconds == 900
    assert config.pulseway.backstop_lookback_hours == 24


def test_backstop_settings_from_file_then_environment(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "[pulseway]\nbackstop_seconds = 120\nbackstop_grace_seconds = 600\n"
        "backstop_lookback_hours = 6\n",
    )
    config = load_config(
        path, {**PULSEWAY_ENV, "PSA_PULSEWAY_BACKSTOP_LOOKBACK_HOURS": "48"}, use_keyring=False
    )
    assert config.pulseway is not None
    assert (
        config.pulseway.backstop_seconds,
        config.pulseway.backstop_grace_seconds,
        config.pulseway.backstop_lookback_hours,
    ) == (120, 600, 48)
    assert describe(config)["pulseway"]["backstop_lookback_hours"] == 48


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PSA_PULSEWAY_BACKSTOP_SECONDS", "-1", "backstop_seconds must be 0"),
        ("PSA_PULSEWAY_BACKSTOP_SECONDS", "nan", "backstop_seconds must be 0"),
        ("PSA_PULSEWAY_BACKSTOP_SECONDS", "often", "PSA_PULSEWAY_BACKSTOP_SECONDS: invalid"),
        ("PSA_PULSEWAY_BACKSTOP_GRACE_SECONDS", "-5", "backstop_grace_seconds must be 0 or more"),
        ("PSA_PULSEWAY_BACKSTOP_LOOKBACK_HOURS", "0", "lookback_hours must be a positive number"),
        ("PSA_PULSEWAY_BACKSTOP_LOOKBACK_HOURS", "inf", "lookback_hours must be a positive number"),
        ("PSA_PULSEWAY_BACKSTOP_LOOKBACK_HOURS", "0.25", "must reach back further"),
    ],
)
def test_bad_backstop_settings_are_refused(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path), {**PULSEWAY_ENV, variable: value}, use_keyring=False)


def test_backstop_keys_belong_to_pulseway_only(tmp_path: Path) -> None:
    path = _write(tmp_path, '[rocketcyber]\nurl = "https://x.example/v3"\nbackstop_seconds = 5\n')
    with pytest.raises(ConfigError, match=r"\[rocketcyber\] backstop_seconds"):
        load_config(
            path,
            {"PSA_RELAY_HOOK_SECRET": "s", "PSA_ROCKETCYBER_API_KEY": "k"},
            use_keyring=False,
        )


def test_with_pollers_runs_the_backstop_beside_the_device_poller(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(_write(tmp_path), PULSEWAY_ENV, use_keyring=False)
    with caplog.at_level(logging.INFO, logger="console.relay"):
        configured = with_pollers(config)
    names = [job.__qualname__ for job in configured.background]
    assert names == [
        "pulseway_device_job.<locals>.job",
        "pulseway_backstop_job.<locals>.job",
    ]
    started = [r.getMessage() for r in caplog.records if "backstop started" in r.getMessage()]
    assert started == [
        "Pulseway notification backstop started: https://api.pulseway.com/v3 every 300s, "
        "900s grace, first pass looks back 24h"
    ]
    assert "token-secret" not in started[0]


def test_backstop_seconds_zero_turns_only_the_backstop_off(tmp_path: Path) -> None:
    env = {**PULSEWAY_ENV, "PSA_PULSEWAY_BACKSTOP_SECONDS": "0"}
    configured = with_pollers(load_config(_write(tmp_path), env, use_keyring=False))
    names = [job.__qualname__ for job in configured.background]
    assert names == ["pulseway_device_job.<locals>.job"]
