"""The Pulseway notification backstop against the Pulseway stand-in and a real relay, over
loopback HTTP: notifications whose webhook never came are recovered once, the ones that came
are neither duplicated nor fetched again.

The relay and the backstop share one SQLite file (as ``psa relay --workers`` processes do):
webhooks go to the relay over HTTP, the backstop appends through its own store, and what the
log holds is read back from the relay's ``GET /api/events``. Passes are driven with
``poll_once()`` and a test clock; the stand-in's list sends ``DateTime`` as epoch seconds or as
ISO text (every test runs with both).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from relay_support import ADMIN_TOKEN, SECRET, RunningRelay, start_relay_process
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from console.domain.alerts import alert_dedupe_key
from console.domain.retry import RetryPolicy
from console.pulseway import PulsewayClient
from console.relay.backstop import RECOVERED_NOTE, PulsewayNotificationBackstop
from console.relay.pulseway_webhook import DOCUMENTED_FIELDS
from console.relay.sqlite_store import SqliteEventStore
from console.sandbox.pulseway import create_pulseway_app
from console.sandbox.pulseway_webhooks import DeliveryPolicy, recorded_notification_payload
from console.sandbox.serving import BackgroundServer
from console.sandbox.traffic import DEFAULT_MIX, TrafficMix, run_traffic
from console.sandbox.world import PulsewayNotification, World, build_world

pytestmark = pytest.mark.anyio

TOKEN_ID = "pulseway-token-id-for-tests"
TOKEN_SECRET = "pulseway-token-secret-for-tests"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
_DETAIL_PATH = re.compile(r"/v3/notifications/(\d+)")


class RecordingApp:
    """The stand-in behind a log of the requests it served; ``before`` sees each request's
    method and path before the stand-in does (to delete a notification between list and
    detail)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []
        self.before: Callable[[str, str], None] | None = None
        #: paths answered 500 in Pulseway's envelope, as a failing server would
        self.failing: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
            if self.before is not None:
                self.before(scope["method"], scope["path"])
            if scope["path"] in self.failing:
                failure = JSONResponse(
                    {"Data": None, "Meta": {"ResponseCode": 500, "ErrorMessage": "Internal Error"}},
                    status_code=500,
                )
                await failure(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def detail_requests(self) -> list[int]:
        """Ids asked for with ``GET /v3/notifications/{id}``, in order."""
        return [
            int(match.group(1))
            for method, path in self.requests
            if method == "GET" and (match := _DETAIL_PATH.fullmatch(path))
        ]

    def list_requests(self) -> int:
        return sum(1 for request in self.requests if request == ("GET", "/v3/notifications"))


@dataclass
class PulsewayStandIn:
    world: World
    app: RecordingApp
    url: str


@dataclass
class Clock:
    wall: datetime = NOW

    def now(self) -> datetime:
        return self.wall

    def advance(self, **delta: float) -> None:
        self.wall += timedelta(**delta)


@dataclass
class Log:
    """What the relay's log says, read over HTTP."""

    relay: RunningRelay

    def alerts(self) -> list[dict[str, Any]]:
        response = self.relay.http.get(
            "/api/events", params={"after": 0, "limit": 5000}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        return [e for e in response.json()["events"] if e["kind"] == "alert"]

    def by_id(self) -> dict[str, dict[str, Any]]:
        alerts = self.alerts()
        ids = [alert["external_id"] for alert in alerts]
        assert len(ids) == len(set(ids)), f"an Id is in the log twice: {sorted(ids)}"
        return {alert["external_id"]: alert for alert in alerts}


@pytest.fixture(params=["epoch", "iso"])
def pulseway(request: pytest.FixtureRequest) -> Iterator[PulsewayStandIn]:
    world = build_world("small", seed=7)
    app = RecordingApp(
        create_pulseway_app(
            world,
            token_id=TOKEN_ID,
            token_secret=TOKEN_SECRET,
            rate_limits=(),
            notification_list_dates=request.param,
        )
    )
    server = BackgroundServer(app).start()
    try:
        yield PulsewayStandIn(world, app, f"{server.url}/v3")
    finally:
        server.stop()


@pytest.fixture
def relay(relay_factory: Callable[..., RunningRelay], tmp_path: Path) -> RunningRelay:
    return relay_factory(store=SqliteEventStore(tmp_path / "log.sqlite3", shared=True))


@pytest.fixture
def log(relay: RunningRelay) -> Log:
    return Log(relay)


@pytest.fixture
async def store(relay: RunningRelay, tmp_path: Path) -> AsyncIterator[SqliteEventStore]:
    """The backstop's own store on the relay's file."""
    store = SqliteEventStore(tmp_path / "log.sqlite3", shared=True)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


async def _no_wait(_seconds: float) -> None:
    return None


@pytest.fixture
async def client(pulseway: PulsewayStandIn) -> AsyncIterator[PulsewayClient]:
    retry = RetryPolicy(max_attempts=2, sleep=_no_wait)  # retried, without waiting
    async with PulsewayClient(
        pulseway.url, TOKEN_ID, TOKEN_SECRET, page_size=20, retry=retry
    ) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backstop(
    client: PulsewayClient, store: SqliteEventStore, clock: Clock
) -> PulsewayNotificationBackstop:
    return PulsewayNotificationBackstop(client, store, clock=clock.now)


def record(
    world: World,
    minutes_ago: float,
    *,
    message: str = "Low disk space on C: (7% free)\nGroup: Acme - HQ - Servers",
    priority: str = "Elevated",
    device: int = 0,
) -> PulsewayNotification:
    """A notification in Pulseway, raised ``minutes_ago`` before :data:`NOW`."""
    target = world.pulseway.device_list()[device]
    return world.pulseway.record_notification(
        target.identifier,
        "Low disk space",
        message,
        priority,
        NOW - timedelta(minutes=minutes_ago),
    )


def deliver(relay: RunningRelay, world: World, notification: PulsewayNotification) -> int:
    """Post the notification's webhook to the relay as Pulseway would; returns the status."""
    device = world.pulseway.device(notification.device_id)
    assert device is not None
    organization_id = world.pulseway.organization_of(device).id
    return relay.post_hook(recorded_notification_payload(notification, organization_id)).status_code


# -- recovery --------------------------------------------------------------------------------------


async def test_notification_whose_webhook_never_came_is_recovered_once(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    log: Log,
    clock: Clock,
) -> None:
    lost = record(pulseway.world, 20)

    summary = await backstop.poll_once()

    assert (summary.recovered, summary.detail_requests) == (1, 1)
    alert = log.by_id()[str(lost.id)]
    assert alert["source"] == "pulseway"
    assert alert["device_id"] == lost.device_id
    assert alert["priority"] == "Elevated"
    assert alert["title"] == "Low disk space on C: (7% free)"
    assert alert["dedupe_key"] == alert_dedupe_key("pulseway", lost.device_id, alert["title"])
    payload = alert["payload"]
    assert set(payload) == {*DOCUMENTED_FIELDS, "Recovered"}
    assert payload["Recovered"] == "backstop"
    assert payload["DateTime"] == "2026-03-02T08:40:00Z"
    assert payload["Message"] == f"{lost.message}\n\n{RECOVERED_NOTE}"
    assert payload["OrganizationId"] is None

    clock.advance(minutes=5)
    again = await backstop.poll_once()  # its window overlaps the first one's end
    assert (again.recovered, again.known, again.detail_requests) == (0, 1, 0)
    assert len(log.alerts()) == 1
    assert pulseway.app.detail_requests() == [lost.id]


async def test_notification_delivered_by_webhook_is_not_duplicated_and_not_fetched(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    relay: RunningRelay,
    log: Log,
) -> None:
    delivered = record(pulseway.world, 30)
    assert deliver(relay, pulseway.world, delivered) == 202
    lost = record(pulseway.world, 25, device=1)

    summary = await backstop.poll_once()

    assert (summary.listed, summary.known, summary.recovered) == (2, 1, 1)
    assert pulseway.app.detail_requests() == [lost.id]
    alerts = log.by_id()
    assert set(alerts) == {str(delivered.id), str(lost.id)}
    assert alerts[str(delivered.id)]["title"] == "Low disk space"  # the webhook's own Title
    assert "Recovered" not in alerts[str(delivered.id)]["payload"]


async def test_webhook_arriving_after_the_recovery_is_a_duplicate(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    relay: RunningRelay,
    log: Log,
) -> None:
    late = record(pulseway.world, 40)
    await backstop.poll_once()

    assert deliver(relay, pulseway.world, late) == 200  # {"duplicate": true}

    assert list(log.by_id()) == [str(late.id)]


async def test_notification_younger_than_the_grace_waits_for_a_later_pass(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    log: Log,
    clock: Clock,
) -> None:
    young = record(pulseway.world, 5)

    first = await backstop.poll_once()
    assert (first.listed, first.detail_requests) == (0, 0)
    assert log.alerts() == []

    clock.advance(minutes=11)
    second = await backstop.poll_once()

    assert second.recovered == 1
    assert list(log.by_id()) == [str(young.id)]


async def test_second_pass_with_nothing_new_makes_no_detail_requests(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    clock: Clock,
) -> None:
    for minutes in (20, 40, 60):
        record(pulseway.world, minutes)
    first = await backstop.poll_once()
    assert first.recovered == 3
    requests_before = len(pulseway.app.detail_requests())

    clock.advance(minutes=5)
    second = await backstop.poll_once()

    # the window resumes from the cursor (less the overlap), not from the lookback
    assert second.window_start == first.window_end - backstop.overlap
    assert second.window_end == first.window_end + timedelta(minutes=5)
    assert (second.recovered, second.detail_requests) == (0, 0)
    assert len(pulseway.app.detail_requests()) == requests_before


async def test_notification_deleted_before_its_detail_is_skipped(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    log: Log,
) -> None:
    deleted = record(pulseway.world, 30)
    kept = record(pulseway.world, 20)

    def delete_on_detail(method: str, path: str) -> None:
        if path == f"/v3/notifications/{deleted.id}":
            pulseway.world.pulseway.notifications.pop(deleted.id, None)

    pulseway.app.before = delete_on_detail

    summary = await backstop.poll_once()

    assert (summary.deleted, summary.recovered) == (1, 1)
    assert sorted(pulseway.app.detail_requests()) == sorted([deleted.id, kept.id])
    assert list(log.by_id()) == [str(kept.id)]


async def test_a_notification_pulseway_fails_on_does_not_hold_up_the_others(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    log: Log,
    clock: Clock,
) -> None:
    older = record(pulseway.world, 50)
    failing = record(pulseway.world, 40)
    newer = record(pulseway.world, 30)
    pulseway.app.failing.add(f"/v3/notifications/{failing.id}")

    first = await backstop.poll_once()

    assert (first.recovered, first.failed) == (2, 1)
    assert set(log.by_id()) == {str(older.id), str(newer.id)}

    # the next pass goes back to the one that failed (and only fetches that one)
    pulseway.app.failing.clear()
    clock.advance(minutes=60)
    second = await backstop.poll_once()

    assert second.window_start <= failing.created_at
    assert (second.recovered, second.failed, second.detail_requests) == (1, 0, 1)
    assert set(log.by_id()) == {str(older.id), str(failing.id), str(newer.id)}


async def test_first_pass_looks_back_24_hours_and_stops_paging_there(
    backstop: PulsewayNotificationBackstop,
    pulseway: PulsewayStandIn,
    log: Log,
) -> None:
    for _ in range(60):
        record(pulseway.world, 60 * 30)  # older than the lookback: never fetched
    inside = record(pulseway.world, 60 * 23)
    record(pulseway.world, 60 * 25)

    summary = await backstop.poll_once()

    assert summary.window_start == NOW - timedelta(hours=24)
    assert summary.recovered == 1 and list(log.by_id()) == [str(inside.id)]
    # newest first, 20 a page: the first page already reaches past the window start
    assert pulseway.app.list_requests() == 1


async def test_lost_traffic_is_recovered_and_delivered_traffic_is_not_duplicated(
    pulseway: PulsewayStandIn, relay: RunningRelay, store: SqliteEventStore, log: Log
) -> None:
    mix = TrafficMix(
        single=3, repeat=1, burst=0, storm=0, unknown_device=0, malformed=0,
        device_change=0, incident_change=0, lost=1,
    )  # fmt: skip
    stats = await run_traffic(
        pulseway.world,
        f"{relay.url}/hooks/pulseway",
        SECRET,
        10_000.0,
        rng_seed=4,
        stop=asyncio.Event(),
        mix=mix,
        delivery=DeliveryPolicy(attempts=3, base_delay=0.001, max_delay=0.01, timeout=5.0),
        max_events=40,
    )
    assert stats.lost and stats.acked == stats.sent
    async with PulsewayClient(pulseway.url, TOKEN_ID, TOKEN_SECRET) as client:
        backstop = PulsewayNotificationBackstop(
            client,
            store,
            grace=timedelta(0),
            clock=lambda: datetime.now(UTC) + timedelta(seconds=1),
        )
        summary = await backstop.poll_once()

    assert summary.recovered == stats.lost
    assert sorted(pulseway.app.detail_requests()) == sorted(stats.lost_ids)
    alerts = log.by_id()
    assert set(alerts) == {str(i) for i in [*stats.notification_ids, *stats.lost_ids]}
    recovered = {i for i, alert in alerts.items() if alert["payload"].get("Recovered")}
    assert recovered == {str(i) for i in stats.lost_ids}


def test_run_traffic_loses_some_webhooks_unless_a_mix_says_otherwise() -> None:
    assert DEFAULT_MIX.lost > 0
    assert TrafficMix().lost == 0
    assert "lost" in dict(DEFAULT_MIX.scenarios())


# -- the relay runs it -----------------------------------------------------------------------------


def test_psa_relay_recovers_a_lost_notification_with_its_own_store(tmp_path: Path) -> None:
    """`psa relay` with ``[pulseway]`` configured runs the backstop on its store (the job
    needs the store's lookup, which a plain sink lacks)."""
    now = datetime.now(UTC).replace(microsecond=0)
    world = build_world("small", seed=7, now=now)
    device = world.pulseway.device_list()[0]
    lost = world.pulseway.record_notification(
        device.identifier, "Computer offline", "Computer offline\nsince 09:12", "Critical", now
    )
    server = BackgroundServer(
        create_pulseway_app(world, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, rate_limits=())
    ).start()
    env = {
        "PSA_PULSEWAY_URL": f"{server.url}/v3",
        "PSA_PULSEWAY_TOKEN_ID": TOKEN_ID,
        "PSA_PULSEWAY_TOKEN_SECRET": TOKEN_SECRET,
        "PSA_PULSEWAY_BACKSTOP_GRACE_SECONDS": "0",
    }
    relay = start_relay_process(tmp_path / "relay.sqlite3", env=env)
    try:
        with httpx.Client(base_url=relay.url, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                response = http.get(
                    "/api/events", params={"after": 0, "limit": 5000}, headers=ADMIN
                )
                assert response.status_code == 200, response.text
                alerts = [e for e in response.json()["events"] if e["kind"] == "alert"]
                if alerts or time.monotonic() > deadline:
                    break
                time.sleep(0.2)  # between requests of a bounded wait, not a timing assumption
    finally:
        relay.stop()
        server.stop()
    assert [(a["external_id"], a["title"], a["priority"]) for a in alerts] == [
        (str(lost.id), "Computer offline", "Critical")
    ]
    assert alerts[0]["payload"]["Recovered"] == "backstop"
