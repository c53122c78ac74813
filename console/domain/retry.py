"""When and how long an API client waits before trying a request again (Pulseway, RocketCyber).

Neither vendor documents its rate limits or whether a 429 carries ``Retry-After`` (see the API
reference), so the policy honours the header when present and otherwise backs off
exponentially with jitter. Every knob, the sleep and the randomness included, is injectable so
tests run instantly and deterministically. Pure: the clients do the waiting.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget and timing for one logical request.

    ``max_attempts`` counts the first try. Delay before retry *n* (0-based) is
    ``min(max_delay, base_delay * 2**n)`` scaled by a random factor in ``[1 - jitter, 1]`` so
    that many clients do not retry in lockstep. A ``Retry-After`` longer than
    ``max_retry_after`` is not waited out inside the request: the caller gets the rate-limit
    error and can reschedule (a poller sleeps until its next run instead of holding a task).
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    random: Callable[[], float] = field(default=_random.random, compare=False)
    now: Callable[[], datetime] = field(default=_utc_now, compare=False)

    def backoff_delay(self, retry_index: int) -> float:
        """Seconds to wait before retry number ``retry_index`` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2.0 ** max(0, retry_index)))
        spread = min(max(self.jitter, 0.0), 1.0)
        return ceiling * (1.0 - spread * self.random())

    def retry_after_delay(self, retry_after: float, retry_index: int) -> float:
        """Seconds to wait when the server said ``Retry-After``: that, plus a little jitter.

        The jitter (up to 10 % of the backoff step) only ever lengthens the wait, so the
        server's instruction is always respected.
        """
        return max(0.0, retry_after) + 0.1 * self.backoff_delay(retry_index)

    def rate_limited_delay(self, retry_after: float | None, retry_index: int) -> float | None:
        """Seconds to wait after a 429 before retry ``retry_index``, or None to give up now:
        a ``Retry-After`` beyond ``max_retry_after`` is the caller's to reschedule."""
        if retry_after is None:
            return self.backoff_delay(retry_index)
        if retry_after > self.max_retry_after:
            return None
        return self.retry_after_delay(retry_after, retry_index)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is unusable
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now or _utc_now()
    return max(0.0, (moment - reference).total_seconds())
