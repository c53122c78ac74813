"""The PostgreSQL store against a real server the test starts (Debian's postgresql package).

Skipped with the reason when no server binaries are installed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from relay_support import RunningRelay, SseReader, incoming_alert, notification

from console.relay.postgres_store import PostgresEventStore
from console.relay.store import StateChange, StoredEvent

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Collector:
    """A commit listener that records what it is given."""

    wants_rows = True

    def __init__(self) -> None:
        self.rows: list[StoredEvent] = []
        self.changed = asyncio.Event()

    def publish(self, events: Any) -> None:
        self.rows.extend(events)
        self.changed.set()

    def advance(self, last_seq: int) -> None:
        return None


async def _wait_for(collector: Collector, count: int) -> None:
    async with asyncio.timeout(20):
        while len(collector.rows) < count:
            collector.changed.clear()
            await collector.changed.wait()


def test_append_duplicate_and_repeat_follow_the_same_rules_as_sqlite(dsn: str) -> None:
    async def scenario() -> None:
        store = PostgresEventStore(dsn)
        await store.start()
        try:
            first = await store.append(incoming_alert("1"))
            again = await store.append(incoming_alert("1"))
            repeat = await store.append(incoming_alert("2"))
            other = await store.append(incoming_alert("3", title="CPU high"))
            assert (first.seq, first.duplicate) == (1, False)
            assert (again.seq, again.duplicate) == (1, True)
            assert repeat.seq == 2 and other.seq == 3
            head = await store.get(1)
            assert (head.count, (await store.get(2)).alert_seq) == (2, 1)
            assert [e.seq for e in await store.read_after(0, 10)] == [1, 2, 3]
            assert await store.last_seq() == 3
        finally:
            await store.close()

    asyncio.run(scenario())


def test_state_changes_history_quarantine_cursors_and_sessions(dsn: str) -> None:
    async def scenario() -> None:
        store = PostgresEventStore(dsn)
        await store.start()
        try:
            seq = (await store.append(incoming_alert("10"))).seq
            state = await store.change_state(seq, StateChange("claim", actor="tech1", sa=1))
            assert state.kind == "state" and state.payload["alert"]["claimed_by"] == "tech1"
            await store.change_state(seq, StateChange("resolve", actor="tech1", sa=1))
            history = await store.history(seq)
            assert [(h.action, h.actor, h.sa) for h in history] == [
                ("claim", "tech1", 1),
                ("resolve", "tech1", 1),
            ]
            reopened = await store.append(incoming_alert("11"))  # resolved: a new alert opens
            assert (await store.get(reopened.seq)).alert_seq == reopened.seq
            quarantine_id = await store.quarantine("pulseway", b"\xff{", "bad", {"a": "b"}, 0.0)
            [entry] = await store.quarantined(5)
            assert (entry.id, entry.body, entry.headers) == (quarantine_id, b"\xff{", {"a": "b"})
            await store.set_cursor("devices", "page-3")
            assert await store.get_cursor("devices") == "page-3"
            await store.save_session("hash", {"login": "x"}, 4_000_000_000.0)
            assert await store.load_session("hash") == ({"login": "x"}, 4_000_000_000.0)
            await store.delete_session("hash")
            assert await store.load_session("hash") is None
        finally:
            await store.close()

    asyncio.run(scenario())


def test_two_instances_publish_one_gapless_order_to_every_listener(dsn: str) -> None:
    async def scenario() -> None:
        first, second = PostgresEventStore(dsn), PostgresEventStore(dsn)
        await first.start()
        await second.start()
        heard_first, heard_second = Collector(), Collector()
        first.add_commit_listener(heard_first)
        second.add_commit_listener(heard_second)
        try:
            await asyncio.gather(*(
                (first if n % 2 else second).append(incoming_alert(str(n), title=f"t{n}"))
                for n in range(200)
            ))  # fmt: skip
            await _wait_for(heard_first, 200)
            await _wait_for(heard_second, 200)
            assert [e.seq for e in heard_first.rows] == list(range(1, 201))
            assert [e.seq for e in heard_second.rows] == list(range(1, 201))
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())


def test_relay_on_postgres_ingests_and_streams_over_http(
    dsn: str, relay_factory: Callable[..., RunningRelay], sse: Callable[..., SseReader]
) -> None:
    relay = relay_factory(store=PostgresEventStore(dsn))
    stream = sse(f"{relay.url}/events", relay.admin())
    stream.until("ready")

    accepted = relay.post_hook(notification(99))
    duplicate = relay.post_hook(notification(99))

    assert accepted.status_code == 202 and duplicate.status_code == 200
    event_id, kind, _ = stream.next(timeout=20)
    assert (event_id, kind) == (str(accepted.json()["seq"]), "alert")


def test_unreachable_postgres_answers_503(relay_factory: Callable[..., RunningRelay]) -> None:
    port = _free_port()  # nothing listens there
    store = PostgresEventStore(f"host=127.0.0.1 port={port} user=relay dbname=x", connect_timeout=2)
    relay = relay_factory(store=store)

    response = relay.post_hook(notification())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_one_instance_leads_and_another_takes_over_when_its_session_dies(dsn: str) -> None:
    async def scenario() -> None:
        first, second = PostgresEventStore(dsn), PostgresEventStore(dsn)
        running: dict[str, bool] = {}
        changed = asyncio.Event()

        def job(name: str) -> Callable[[], Any]:
            async def run() -> None:
                running[name] = True
                changed.set()
                try:
                    await asyncio.Event().wait()  # a poller: runs until cancelled
                finally:
                    running[name] = False
                    changed.set()

            return run

        async def until(condition: Callable[[], bool]) -> None:
            async with asyncio.timeout(20):
                while not condition():
                    changed.clear()
                    await changed.wait()

        await first.start()
        await second.start()
        leads = [asyncio.create_task(first.lead(job("first"), lead_retry=0.1))]
        try:
            await until(lambda: running.get("first", False))
            leads.append(asyncio.create_task(second.lead(job("second"), lead_retry=0.1)))
            await asyncio.sleep(0.5)  # five of its tries
            assert "second" not in running  # it waits while the first leads

            # The leader's session dies (its host crashed, say): the lock goes with it.
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objid = 4242002 AND granted"
                )
            await until(lambda: running.get("second", False) and not running["first"])
        finally:
            for lead in leads:
                lead.cancel()
            await asyncio.gather(*leads, return_exceptions=True)
            await first.close()
            await second.close()
        assert running == {"first": False, "second": False}  # cancelled with their lead

    asyncio.run(scenario())


def test_pollers_and_rules_run_in_one_of_two_relays_on_one_store(
    dsn: str, relay_factory: Callable[..., RunningRelay]
) -> None:
    started: list[str] = []

    def poller(name: str) -> Any:
        async def run(_sink: Any, _cursors: Any) -> None:
            started.append(name)
            await asyncio.Event().wait()

        return run

    first = relay_factory(store=PostgresEventStore(dsn), background=[poller("first")])
    second = relay_factory(store=PostgresEventStore(dsn), background=[poller("second")])

    for relay in (first, second):  # both take webhooks
        assert relay.post_hook(notification()).status_code == 202
    deadline = time.monotonic() + 20
    while not started:
        assert time.monotonic() < deadline, "no relay started its pollers"
        time.sleep(0.02)
    # both tried the lead as they started; one got it, the other waits (tries every 5 s)
    assert started in (["first"], ["second"])
    jobs = {name: relay.http.get("/healthz").json()["jobs"] for name, relay in
            (("first", first), ("second", second))}  # fmt: skip
    assert jobs == {started[0]: "running", ({"first", "second"} - set(started)).pop(): "standby"}
    leading = first if started == ["first"] else second
    assert "psa_relay_jobs_running 1" in leading.http.get("/metrics").text
