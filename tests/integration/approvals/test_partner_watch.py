"""New company partners become pending exactly once: the relay's partner watch against the
sandbox Odoo (through the gateway and unmodified odoorpc) and the relay's real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from approvals_support import PARTNER, Served

from console.odoo.gateway import OdooGateway
from console.relay.partner_watch import (
    CURSOR_NAME,
    ODOO_SOURCE,
    PENDING_KIND,
    PartnerWatcher,
    pending_external_id,
)
from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import StoredEvent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteEventStore]:
    store = SqliteEventStore(tmp_path / "relay.sqlite3")
    await store.start()
    try:
        yield store
    finally:
        await store.close()


def watcher_for(served: Served, store: SqliteEventStore, **options: Any) -> PartnerWatcher:
    login, password = served.service_account()

    async def connect() -> OdooGateway:
        return await OdooGateway.connect(served.odoo_url, "psa", login, password)

    return PartnerWatcher(connect, store, store, **options)


async def pending_events(store: SqliteEventStore) -> list[StoredEvent]:
    events = await store.read_after(0, 10_000)
    return [e for e in events if e.source == ODOO_SOURCE and e.kind == PENDING_KIND]


def create_companies(served: Served, *vals: dict[str, Any]) -> list[int]:
    """Create companies as the admin over RPC, in one call: one transaction, one create_date."""
    ids = served.client("admin").execute_kw(
        PARTNER, "create", [[{"is_company": True, **v} for v in vals]]
    )
    return [int(i) for i in ids]


async def test_first_run_announces_the_pending_companies_once(
    served: Served, store: SqliteEventStore
) -> None:
    watcher = watcher_for(served, store)
    try:
        summary = await watcher.poll_once()
        again = await watcher.poll_once()
    finally:
        watcher.close()
    [company] = [c for c in served.world.odoo.companies if c.pulseway_sync_state == "pending"]
    pending = served.partner_id(company.name)
    events = await pending_events(store)
    assert summary.first_run and not again.first_run
    assert [e.external_id for e in events] == [pending_external_id(pending)]
    assert events[0].title == company.name
    assert events[0].sa_ids  # assigned to East: the stream shows it to East's members
    assert summary.announced == 1 and again.announced == 0
    assert await store.get_cursor(CURSOR_NAME)


async def test_a_new_company_with_an_unset_state_becomes_pending_exactly_once(
    served: Served, store: SqliteEventStore
) -> None:
    watcher = watcher_for(served, store)
    try:
        await watcher.poll_once()
        [new] = create_companies(served, {"name": "Nimbus Dental", "x_pulseway_sync_state": False})
        assert served.partner(new)["x_pulseway_sync_state"] is False
        first = await watcher.poll_once()
        second = await watcher.poll_once()
    finally:
        watcher.close()
    assert served.partner(new)["x_pulseway_sync_state"] == "pending"
    assert first.marked_pending == 1 and second.marked_pending == 0
    ids = [e.external_id for e in await pending_events(store)]
    assert ids.count(pending_external_id(new)) == 1


async def test_a_company_pending_by_default_is_announced_but_not_rewritten(
    served: Served, store: SqliteEventStore
) -> None:
    watcher = watcher_for(served, store)
    try:
        await watcher.poll_once()
        [new] = create_companies(served, {"name": "Orchard Vets"})
        assert served.partner(new)["x_pulseway_sync_state"] == "pending"  # the field default
        summary = await watcher.poll_once()
    finally:
        watcher.close()
    assert summary.marked_pending == 0 and summary.announced == 1
    assert pending_external_id(new) in [e.external_id for e in await pending_events(store)]


async def test_companies_created_in_the_same_second_are_both_queued(
    served: Served, store: SqliteEventStore
) -> None:
    watcher = watcher_for(served, store)
    try:
        await watcher.poll_once()
        first, second = create_companies(
            served,
            {"name": "Twin Peaks Ltd", "x_pulseway_sync_state": False},
            {"name": "Twin Lakes Ltd", "x_pulseway_sync_state": False},
        )
        created = served.sudo(PARTNER, "read", [first, second], fields=["create_date"])
        assert created[0]["create_date"] == created[1]["create_date"]
        await watcher.poll_once()
        # and a third created later in that same second still lands after the cursor moved
        [third] = create_companies(served, {"name": "Twin Rivers", "x_pulseway_sync_state": False})
        await watcher.poll_once()
    finally:
        watcher.close()
    for partner_id in (first, second, third):
        assert served.partner(partner_id)["x_pulseway_sync_state"] == "pending"
    ids = [e.external_id for e in await pending_events(store)]
    for partner_id in (first, second, third):
        assert ids.count(pending_external_id(partner_id)) == 1


async def test_a_restart_neither_misses_nor_repeats(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "relay.sqlite3"
    store = SqliteEventStore(path)
    await store.start()
    watcher = watcher_for(served, store)
    try:
        await watcher.poll_once()
        [before] = create_companies(
            served, {"name": "Alpine Optics", "x_pulseway_sync_state": False}
        )
        await watcher.poll_once()
    finally:
        watcher.close()
        await store.close()
    # the relay is down while another company arrives
    [during] = create_companies(served, {"name": "Basalt Mining", "x_pulseway_sync_state": False})
    store = SqliteEventStore(path)
    await store.start()
    watcher = watcher_for(served, store)
    try:
        summary = await watcher.poll_once()
        events = await pending_events(store)
    finally:
        watcher.close()
        await store.close()
    assert not summary.first_run
    ids = [e.external_id for e in events]
    assert ids.count(pending_external_id(before)) == 1
    assert ids.count(pending_external_id(during)) == 1
    assert served.partner(during)["x_pulseway_sync_state"] == "pending"


async def test_first_run_baseline_for_companies_without_a_state(
    served: Served, store: SqliteEventStore
) -> None:
    linked, unlinked = create_companies(
        served,
        {"name": "Legacy Linked", "x_pulseway_sync_state": False, "x_pulseway_org_id": 4802},
        {"name": "Legacy Unlinked", "x_pulseway_sync_state": False},
    )
    watcher = watcher_for(served, store)
    try:
        summary = await watcher.poll_once()
    finally:
        watcher.close()
    assert served.partner(linked)["x_pulseway_sync_state"] == "synced"
    assert served.partner(unlinked)["x_pulseway_sync_state"] == "pending"
    assert summary.marked_synced == 1


async def test_first_run_can_start_with_an_empty_queue(
    served: Served, store: SqliteEventStore
) -> None:
    [legacy] = create_companies(served, {"name": "Legacy Co", "x_pulseway_sync_state": False})
    watcher = watcher_for(served, store, first_run_state="skipped")
    try:
        await watcher.poll_once()
        [later] = create_companies(served, {"name": "Later Co", "x_pulseway_sync_state": False})
        await watcher.poll_once()
    finally:
        watcher.close()
    assert served.partner(legacy)["x_pulseway_sync_state"] == "skipped"
    assert served.partner(later)["x_pulseway_sync_state"] == "pending"


async def test_a_decision_taken_meanwhile_is_not_overwritten(
    served: Served, store: SqliteEventStore
) -> None:
    watcher = watcher_for(served, store)
    try:
        await watcher.poll_once()
        [partner] = create_companies(
            served, {"name": "Quartz Labs", "x_pulseway_sync_state": False}
        )
        served.sudo(PARTNER, "write", [partner], {"x_pulseway_sync_state": "skipped"})
        await watcher.poll_once()
    finally:
        watcher.close()
    assert served.partner(partner)["x_pulseway_sync_state"] == "skipped"
    assert pending_external_id(partner) not in [e.external_id for e in await pending_events(store)]


def test_first_run_state_is_checked() -> None:
    async def connect() -> OdooGateway:
        raise AssertionError("not called")

    sink: Callable[..., Any] = None  # type: ignore[assignment]
    with pytest.raises(ValueError, match="first_run_state"):
        PartnerWatcher(connect, sink, sink, first_run_state="synced")  # type: ignore[arg-type]
