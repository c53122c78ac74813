"""``known_external_ids``, the read the notification backstop asks before paying for a detail
request, answers the same on the SQLite and the PostgreSQL store (the latter skipped without
server binaries)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from relay_support import incoming_alert

from console.relay.events import IncomingEvent
from console.relay.postgres_store import PostgresEventStore
from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import EventStore

#: asked for in one call: more than one batch of the ``IN (...)`` list
ASKED = [str(n) for n in range(1, 1201)]
#: in the log as Pulseway alerts, one in each batch and the edges
STORED = ["1", "500", "501", "777", "1200"]


def _other_source(external_id: str) -> IncomingEvent:
    return IncomingEvent(
        source="rocketcyber", kind="incident.opened", external_id=external_id, title="Incident"
    )


async def _check(store: EventStore) -> None:
    await store.start()
    try:
        assert await store.known_external_ids("pulseway", ASKED) == set()
        for external_id in STORED:
            await store.append(incoming_alert(external_id, device=f"dev-{external_id}"))
        # the same id under another source is another occurrence
        await store.append(_other_source("42"))

        assert await store.known_external_ids("pulseway", ASKED) == set(STORED)
        assert await store.known_external_ids("pulseway", ["42", "1", "1"]) == {"1"}
        assert await store.known_external_ids("rocketcyber", ["42", "1"]) == {"42"}
        assert await store.known_external_ids("pulseway", []) == set()
    finally:
        await store.close()


def test_known_external_ids_on_sqlite(tmp_path: Path) -> None:
    asyncio.run(_check(SqliteEventStore(tmp_path / "relay.sqlite3")))


@pytest.mark.postgres
def test_known_external_ids_on_postgres(dsn: str) -> None:
    asyncio.run(_check(PostgresEventStore(dsn)))
