"""Helpers for the stand-in tests: serving on loopback, a fake clock, an in-memory event log.

Servers run in a background thread with their own event loop (``BackgroundServer``), so sync and
async tests can talk to them alike. Time-dependent behaviour (rate limits, incident publication,
backoff sleeps) runs on a :class:`FakeClock` shared by server and client, so nothing waits for
real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.types import ASGIApp

from console.relay.events import AppendResult, IncomingEvent
from console.sandbox.serving import BackgroundServer
from console.sandbox.world import REFERENCE_NOW

TOKEN_ID = "sandbox-token-id"
TOKEN_SECRET = "sandbox-token-secret"
ROCKETCYBER_KEY = "sandbox-rocketcyber-key"


@contextlib.contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1:<free port> until the block ends; yields the base URL."""
    with BackgroundServer(app) as server:
        yield server.url


@dataclass
class FakeClock:
    """A clock for server and client: ``sleep`` advances time instead of waiting."""

    wall: datetime = REFERENCE_NOW
    ticks: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.ticks

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.ticks += seconds
        self.wall += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


class MemoryEventLog:
    """In-memory :class:`EventSink` + :class:`CursorStore` with the log's duplicate rule."""

    def __init__(self) -> None:
        self.events: list[IncomingEvent] = []
        self.duplicates: list[IncomingEvent] = []
        self._seq_by_key: dict[tuple[str, str], int] = {}
        self.cursors: dict[str, str] = {}
        self.fail_next_cursor_write = False
        self._appended = asyncio.Event()

    async def append(self, event: IncomingEvent) -> AppendResult:
        key = (event.source, event.external_id)
        if key in self._seq_by_key:
            self.duplicates.append(event)
            return AppendResult(self._seq_by_key[key], True)
        self.events.append(event)
        self._seq_by_key[key] = len(self.events)
        self._appended.set()
        return AppendResult(len(self.events), False)

    async def wait_for_events(self, count: int, seconds: float = 10.0) -> None:
        """Return once ``count`` events are in the log (TimeoutError after ``seconds``)."""
        async with asyncio.timeout(seconds):
            while len(self.events) < count:
                self._appended.clear()
                await self._appended.wait()

    async def get_cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    async def set_cursor(self, name: str, value: str) -> None:
        if self.fail_next_cursor_write:
            self.fail_next_cursor_write = False
            raise OSError("disk full (simulated)")
        self.cursors[name] = value

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]
