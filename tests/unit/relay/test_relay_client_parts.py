"""The relay client's SSE parser and backoff."""

from __future__ import annotations

from console.relay.client import Backoff, SseParser


def _feed(parser: SseParser, text: str) -> list[tuple[str | None, str, str]]:
    messages = []
    for line in text.split("\n"):
        message = parser.feed_line(line)
        if message is not None:
            messages.append(message)
    return messages


def test_parser_yields_id_event_and_data() -> None:
    messages = _feed(SseParser(), 'id: 7\nevent: alert\ndata: {"a": 1}\n\n')

    assert messages == [("7", "alert", '{"a": 1}')]


def test_parser_ignores_comments_and_joins_data_lines() -> None:
    messages = _feed(SseParser(), ": heartbeat\n\ndata: a\ndata: b\n\n")

    assert messages == [(None, "message", "a\nb")]


def test_parser_remembers_retry() -> None:
    parser = SseParser()
    _feed(parser, "retry: 2000\n\n")

    assert parser.retry_ms == 2000


def test_backoff_grows_exponentially_up_to_the_cap_with_full_jitter() -> None:
    backoff = Backoff(base=0.5, cap=4.0, rng=lambda: 1.0)

    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_jitter_spreads_delays_below_the_ceiling() -> None:
    backoff = Backoff(base=1.0, cap=30.0, rng=lambda: 0.25)

    assert backoff.next_delay() == 0.25
