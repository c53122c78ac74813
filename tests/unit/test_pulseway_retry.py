"""Backoff and Retry-After handling shared by the client's retries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.pulseway import RetryPolicy, parse_retry_after


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, random=lambda: 0.0)
    assert [policy.backoff_delay(i) for i in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.999])
def test_jitter_only_shortens_the_backoff_within_its_fraction(draw: float) -> None:
    policy = RetryPolicy(base_delay=4.0, jitter=0.5, random=lambda: draw)
    assert 2.0 <= policy.backoff_delay(0) <= 4.0


def test_retry_after_wait_is_never_shorter_than_the_server_asked() -> None:
    policy = RetryPolicy(random=lambda: 0.9)
    assert policy.retry_after_delay(7.0, 3) >= 7.0


@pytest.mark.parametrize(
    ("header", "seconds"), [("5", 5.0), (" 0 ", 0.0), ("2.5", 2.5), ("-3", 0.0)]
)
def test_retry_after_in_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_http_date_is_relative_to_now() -> None:
    now = datetime(2025, 6, 3, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 03 Jun 2025 12:00:30 GMT", now) == 30.0


@pytest.mark.parametrize("header", [None, "", "soon", "nan"])
def test_unusable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header) is None


def test_rate_limited_delay_follows_retry_after_and_gives_up_beyond_the_cap() -> None:
    policy = RetryPolicy(max_retry_after=60.0, random=lambda: 0.0)
    assert policy.rate_limited_delay(None, 1) == policy.backoff_delay(1)
    assert policy.rate_limited_delay(10.0, 0) == policy.retry_after_delay(10.0, 0) >= 10.0
    assert policy.rate_limited_delay(60.0, 0) is not None
    assert policy.rate_limited_delay(61.0, 0) is None  # the caller reschedules instead
