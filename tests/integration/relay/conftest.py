"""Fixtures: relays on loopback ports with a fresh store each, SSE readers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from relay_support import (
    ADMIN_TOKEN,
    SECRET,
    USERS,
    RunningRelay,
    SseReader,
    StaticAuthority,
)

from console.relay.app import RelayApp
from console.relay.config import RelayConfig
from console.relay.serving import BackgroundRelay
from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import EventStore


@pytest.fixture
def relay_factory(tmp_path: Path) -> Iterator[Callable[..., RunningRelay]]:
    """Start relays with a fresh SQLite store in ``tmp_path``; all stop afterwards."""
    started: list[RunningRelay] = []
    counter = itertools.count()

    def start(
        store: EventStore | None = None, authority: Any = None, port: int = 0, **settings: Any
    ) -> RunningRelay:
        config = RelayConfig(
            db=tmp_path / f"relay-{next(counter)}.sqlite3",
            hook_secret=SECRET,
            admin_token=ADMIN_TOKEN,
            **settings,
        )
        app = RelayApp(config, store or SqliteEventStore(config.db), authority)
        background = BackgroundRelay(app, port=port).start()
        running = RunningRelay(background.url, app, config, background)
        started.append(running)
        return running

    yield start
    for running in started:
        running.http.close()
        running.background.stop()


@pytest.fixture
def relay(relay_factory: Callable[..., RunningRelay]) -> RunningRelay:
    """A relay with the test users (technicians of SA 1 and 2, a dispatcher of SA 1)."""
    return relay_factory(authority=StaticAuthority(USERS))


@pytest.fixture
def sse() -> Iterator[Callable[..., SseReader]]:
    readers: list[SseReader] = []

    def open_stream(url: str, headers: dict[str, str], **params: Any) -> SseReader:
        reader = SseReader(url, headers, params)
        readers.append(reader)
        return reader

    yield open_stream
    for reader in readers:
        reader.close()
