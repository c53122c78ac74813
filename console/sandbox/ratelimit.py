"""Sliding-window request limits for the stand-ins (Pulseway's and RocketCyber's are undocumented).

Each limit is "at most N requests per W seconds"; all must hold. A refused request is not
counted, and the answer says how long until the oldest counted request leaves its window —
which is what the stand-ins send as ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds``."""

    requests: int
    per_seconds: float


class SlidingWindowLimiter:
    """Per-key sliding windows; thread-safe, clock injectable for tests."""

    def __init__(
        self, limits: Sequence[RateLimit], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = tuple(limits)
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._longest = max((limit.per_seconds for limit in self.limits), default=0.0)

    def acquire(self, key: str) -> float | None:
        """Count one request for ``key``; ``None`` if allowed, else seconds until it would be."""
        if not self.limits:
            return None
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self._longest:
                hits.popleft()
            wait = 0.0
            for limit in self.limits:
                start = now - limit.per_seconds
                # hits is sorted; count the ones inside this window from the right.
                inside = len(hits) - _first_after(hits, start)
                if inside >= limit.requests:
                    oldest_counted = hits[len(hits) - limit.requests]
                    wait = max(wait, oldest_counted + limit.per_seconds - now)
            if wait > 0:
                return wait
            hits.append(now)
            return None


def _first_after(hits: deque[float], start: float) -> int:
    """Index of the first hit later than ``start`` (binary search on the sorted deque)."""
    low, high = 0, len(hits)
    while low < high:
        middle = (low + high) // 2
        if hits[middle] <= start:
            low = middle + 1
        else:
            high = middle
    return low


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up so a client that waits exactly this long is let in."""
    return str(max(1, math.ceil(seconds)))
