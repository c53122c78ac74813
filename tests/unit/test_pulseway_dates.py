"""Pulseway's inconsistent date formats (reference §1 "Date/time formats")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.pulseway import format_pulseway_datetime, parse_pulseway_datetime

MOMENT = datetime(2023, 7, 12, 16, 15, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2023-07-12T16:15:02Z",  # notification DateTime
        "2023-07-12T16:15:02",  # webhook CreatedAt: no zone, taken as UTC
        "2023-07-12T18:15:02+02:00",  # an offset is converted to UTC
        "2023-07-12T16:15:02.000Z",
        1689178502,  # the GET /v3/notifications list example uses epoch ints
        1689178502000,  # epoch milliseconds
        "1689178502",
    ],
)
def test_every_documented_shape_parses_to_the_same_utc_instant(value: object) -> None:
    assert parse_pulseway_datetime(value) == MOMENT


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "Thursday, July 2, 2015 1:00 AM", "Offline since 63 days ago", True, [], {}],
)
def test_missing_values_and_display_text_are_none(value: object) -> None:
    assert parse_pulseway_datetime(value) is None


def test_formatting_uses_z_and_whole_seconds() -> None:
    assert format_pulseway_datetime(MOMENT.replace(microsecond=999)) == "2023-07-12T16:15:02Z"


def test_formatting_treats_naive_values_as_utc() -> None:
    assert format_pulseway_datetime(datetime(2023, 7, 12, 16, 15, 2)) == "2023-07-12T16:15:02Z"
