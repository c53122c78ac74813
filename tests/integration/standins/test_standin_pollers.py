"""The relay's pollers against the stand-ins over loopback, with an in-memory event log."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from standins_support import (
    ROCKETCYBER_KEY,
    TOKEN_ID,
    TOKEN_SECRET,
    FakeClock,
    MemoryEventLog,
    serve,
)

from console.pulseway import PulsewayClient, RetryPolicy
from console.relay.pollers import (
    PollBackoff,
    PulsewayDevicePoller,
    RocketCyberIncidentPoller,
    pulseway_device_job,
    rocketcyber_incident_job,
)
from console.rocketcyber import RocketCyberClient
from console.sandbox.pulseway import create_pulseway_app
from console.sandbox.ratelimit import RateLimit
from console.sandbox.rocketcyber import create_rocketcyber_app
from console.sandbox.world import OS_UPGRADES, World

pytestmark = pytest.mark.anyio


@pytest.fixture
def pulseway_url(world: World) -> Iterator[str]:
    app = create_pulseway_app(world, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, rate_limits=())
    with serve(app) as url:
        yield f"{url}/v3"


@pytest.fixture
async def pulseway_client(pulseway_url: str) -> AsyncIterator[PulsewayClient]:
    async with PulsewayClient(pulseway_url, TOKEN_ID, TOKEN_SECRET, page_size=20) as client:
        yield client


@pytest.fixture
def device_poller(
    pulseway_client: PulsewayClient, event_log: MemoryEventLog, clock: FakeClock
) -> PulsewayDevicePoller:
    return PulsewayDevicePoller(pulseway_client, event_log, event_log, clock=clock.now)


# -- Pulseway devices ------------------------------------------------------------------------------


async def test_first_pass_registers_every_device_with_serial_and_os(
    device_poller: PulsewayDevicePoller, event_log: MemoryEventLog, world: World
) -> None:
    summary = await device_poller.poll_once()
    assert summary.registered == 50 == len(event_log.events)
    assert set(event_log.kinds()) == {"device.registered"}
    by_device = {e.device_id.lower(): e for e in event_log.events if e.device_id}
    for key, device in world.pulseway.devices.items():
        payload = by_device[key].payload
        group = world.pulseway.groups[device.group_id]
        assert by_device[key].title == device.name
        assert payload["serial"] == device.serial_number
        assert payload["os"] == device.os_name
        assert payload["os_version"] == device.os_version
        assert payload["last_seen_online"] is not None
        assert payload["group_name"] == group.name
        assert payload["organization_id"] == group.organization_id


async def test_pass_without_changes_emits_nothing(
    device_poller: PulsewayDevicePoller, event_log: MemoryEventLog
) -> None:
    await device_poller.poll_once()
    summary = await device_poller.poll_once()
    assert summary.emitted == 0 and len(event_log.events) == 50


async def test_registration_removal_and_os_change_become_events(
    device_poller: PulsewayDevicePoller,
    event_log: MemoryEventLog,
    world: World,
    clock: FakeClock,
) -> None:
    await device_poller.poll_once()
    tenant = world.pulseway
    devices = tenant.device_list()
    new = tenant.register_device(devices[0].group_id, random.Random(1), clock.now())
    gone = tenant.remove_device(devices[1].identifier)
    upgraded = next(
        d for d in devices[2:] if OS_UPGRADES.get(d.os_name, (d.os_name,))[0] != d.os_name
    )
    old_os, old_version = upgraded.os_name, upgraded.os_version
    tenant.change_os(upgraded.identifier, *OS_UPGRADES[old_os])

    summary = await device_poller.poll_once()

    fresh = event_log.events[50:]
    assert (summary.registered, summary.changed, summary.removed) == (1, 1, 1)
    kinds = {e.kind: e for e in fresh}
    assert kinds["device.registered"].device_id == new.identifier
    assert gone is not None and kinds["device.removed"].device_id == gone.identifier
    changed = kinds["device.changed"]
    assert changed.device_id == upgraded.identifier
    assert changed.payload["changed_fields"] == ["os", "os_version"]
    assert changed.payload["previous"] == {"os": old_os, "os_version": old_version}
    assert changed.payload["os"] == upgraded.os_name


async def test_feature_update_changes_only_the_os_version(
    device_poller: PulsewayDevicePoller, event_log: MemoryEventLog, world: World
) -> None:
    await device_poller.poll_once()
    device = world.pulseway.device_list()[0]
    world.pulseway.change_os(device.identifier, device.os_name, "10.0.99999")
    summary = await device_poller.poll_once()
    assert summary.changed == 1
    assert event_log.events[-1].payload["changed_fields"] == ["os_version"]


async def test_restarted_poller_resumes_from_the_stored_cursor(
    pulseway_client: PulsewayClient, event_log: MemoryEventLog, world: World
) -> None:
    await PulsewayDevicePoller(pulseway_client, event_log, event_log).poll_once()
    world.pulseway.remove_device(world.pulseway.device_list()[0].identifier)
    summary = await PulsewayDevicePoller(pulseway_client, event_log, event_log).poll_once()
    assert (summary.registered, summary.removed) == (0, 1)


async def test_crash_before_the_cursor_is_saved_replays_only_duplicates(
    device_poller: PulsewayDevicePoller, event_log: MemoryEventLog, world: World
) -> None:
    await device_poller.poll_once()
    world.pulseway.remove_device(world.pulseway.device_list()[0].identifier)
    event_log.fail_next_cursor_write = True
    with pytest.raises(OSError):
        await device_poller.poll_once()
    await device_poller.poll_once()
    assert event_log.kinds().count("device.removed") == 1
    assert [e.kind for e in event_log.duplicates] == ["device.removed"]


async def test_silent_baseline_records_the_estate_without_events(
    pulseway_client: PulsewayClient, event_log: MemoryEventLog
) -> None:
    poller = PulsewayDevicePoller(pulseway_client, event_log, event_log, emit_baseline=False)
    first = await poller.poll_once()
    assert first.emitted == 0 and event_log.events == []
    assert poller.cursor_name in event_log.cursors


async def test_mass_removal_is_held_once_then_confirmed(
    pulseway_client: PulsewayClient, event_log: MemoryEventLog, world: World
) -> None:
    poller = PulsewayDevicePoller(pulseway_client, event_log, event_log, mass_removal_floor=5)
    await poller.poll_once()
    for device in world.pulseway.device_list()[:30]:
        world.pulseway.remove_device(device.identifier)
    held = await poller.poll_once()
    confirmed = await poller.poll_once()
    assert (held.removed, held.held_removals) == (0, 30)
    assert confirmed.removed == 30


async def test_device_poller_rides_out_rate_limits(
    world: World, event_log: MemoryEventLog, clock: FakeClock
) -> None:
    app = create_pulseway_app(
        world,
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        rate_limits=(RateLimit(3, 5.0),),
        clock=clock.monotonic,
    )
    with serve(app) as url:
        async with PulsewayClient(
            f"{url}/v3", TOKEN_ID, TOKEN_SECRET, page_size=10, retry=RetryPolicy(sleep=clock.sleep)
        ) as client:
            summary = await PulsewayDevicePoller(client, event_log, event_log).poll_once()
    assert summary.registered == 50
    assert clock.sleeps  # ten pages at three per five seconds: it had to wait


class CountingRandom(random.Random):
    """Jitter source that signals once the run loop has backed off ``target`` times."""

    def __init__(self, target: int) -> None:
        super().__init__(0)
        self.target = target
        self.calls = 0
        self.reached = asyncio.Event()

    def random(self) -> float:
        self.calls += 1
        if self.calls >= self.target:
            self.reached.set()
        return super().random()


async def test_run_loop_polls_until_stopped_and_survives_failures(
    world: World, event_log: MemoryEventLog
) -> None:
    app = create_pulseway_app(world, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, rate_limits=())
    stop = asyncio.Event()
    with serve(app) as url:
        # A wrong secret first: the loop must log, back off and keep going.
        async with PulsewayClient(f"{url}/v3", TOKEN_ID, "wrong") as bad_client:
            backoffs = CountingRandom(target=3)
            failing = PulsewayDevicePoller(
                bad_client,
                event_log,
                event_log,
                interval=0.01,
                backoff=PollBackoff(base=0.01, maximum=0.01),
                rng=backoffs,
            )
            run = asyncio.create_task(failing.run(stop))
            await asyncio.wait_for(backoffs.reached.wait(), timeout=10)
            assert not run.done()
            stop.set()
            await asyncio.wait_for(run, timeout=5)
        stop.clear()
        async with PulsewayClient(f"{url}/v3", TOKEN_ID, TOKEN_SECRET) as client:
            poller = PulsewayDevicePoller(client, event_log, event_log, interval=3600)
            run = asyncio.create_task(poller.run(stop))
            await event_log.wait_for_events(50)
            stop.set()
            await asyncio.wait_for(run, timeout=5)
    assert len(event_log.events) == 50


async def test_relay_job_polls_devices_until_cancelled(
    pulseway_url: str, event_log: MemoryEventLog
) -> None:
    job = pulseway_device_job(
        lambda: PulsewayClient(pulseway_url, TOKEN_ID, TOKEN_SECRET), interval=3600
    )
    task = asyncio.create_task(job(event_log, event_log))
    await event_log.wait_for_events(50)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- RocketCyber incidents -------------------------------------------------------------------------


@pytest.fixture
def rocketcyber_url(world: World, clock: FakeClock) -> Iterator[str]:
    app = create_rocketcyber_app(world, api_key=ROCKETCYBER_KEY, rate_limits=(), now=clock.now)
    with serve(app) as url:
        yield f"{url}/v3"


@pytest.fixture
async def incident_poller(
    rocketcyber_url: str, event_log: MemoryEventLog, clock: FakeClock
) -> AsyncIterator[RocketCyberIncidentPoller]:
    async with RocketCyberClient(rocketcyber_url, ROCKETCYBER_KEY, page_size=3) as client:
        yield RocketCyberIncidentPoller(
            client, event_log, event_log, clock=clock.now, initial_lookback=timedelta(days=40)
        )


async def test_first_pass_reports_open_and_resolved_incidents(
    incident_poller: RocketCyberIncidentPoller, event_log: MemoryEventLog, world: World
) -> None:
    summary = await incident_poller.poll_once()
    incidents = world.rocketcyber.incidents
    resolved = [i for i in incidents.values() if i.status == "resolved"]
    assert summary.opened == len(incidents)
    assert summary.resolved == len(resolved) > 0
    opened = [e for e in event_log.events if e.kind == "incident.opened"]
    assert {e.payload["incident_id"] for e in opened} == set(incidents)
    first = opened[0]
    assert first.source == "rocketcyber" and first.priority == "Critical"
    assert (
        first.payload["account_name"]
        == world.rocketcyber.accounts[first.payload["account_id"]].name
    )


async def test_overlapping_passes_do_not_repeat_incidents(
    incident_poller: RocketCyberIncidentPoller, event_log: MemoryEventLog
) -> None:
    await incident_poller.poll_once()
    again = await incident_poller.poll_once(include_resolved=True)
    assert again.emitted == 0
    assert event_log.duplicates == []


async def test_new_incident_opens_and_its_resolution_is_reported(
    incident_poller: RocketCyberIncidentPoller,
    event_log: MemoryEventLog,
    world: World,
    clock: FakeClock,
) -> None:
    await incident_poller.poll_once()
    account = world.rocketcyber.customers()[0]
    clock.advance(600)
    incident = world.rocketcyber.open_incident(
        account.id,
        "Brute Force RDP Attempts",
        "d",
        "r",
        created_at=clock.now() - timedelta(minutes=4),
        published_at=clock.now(),
    )
    opened = await incident_poller.poll_once(include_resolved=False)
    clock.advance(600)
    world.rocketcyber.resolve_incident(incident.id, clock.now())
    resolved = await incident_poller.poll_once(include_resolved=True)
    assert (opened.opened, resolved.resolved) == (1, 1)
    assert [e.external_id for e in event_log.events[-2:]] == [
        f"{incident.id}:opened",
        f"{incident.id}:resolved",
    ]
    assert event_log.events[-1].dedupe_key == event_log.events[-2].dedupe_key


async def test_late_published_incident_is_caught_by_the_overlap(
    incident_poller: RocketCyberIncidentPoller,
    event_log: MemoryEventLog,
    world: World,
    clock: FakeClock,
) -> None:
    account = world.rocketcyber.customers()[0]
    clock.advance(3600)
    now = clock.now()
    world.rocketcyber.open_incident(
        account.id, "Early", "d", "r", created_at=now - timedelta(minutes=2), published_at=now
    )
    late = world.rocketcyber.open_incident(
        account.id,
        "Late",
        "d",
        "r",
        created_at=now - timedelta(minutes=6),
        published_at=now + timedelta(minutes=5),
    )
    await incident_poller.poll_once()
    assert late.id not in {e.payload["incident_id"] for e in event_log.events}
    clock.advance(300)
    caught = await incident_poller.poll_once()
    assert caught.opened == 1
    assert event_log.events[-1].payload["incident_id"] == late.id


async def test_resolved_pass_runs_only_when_due(
    incident_poller: RocketCyberIncidentPoller, clock: FakeClock
) -> None:
    first = await incident_poller.poll_once()
    clock.advance(60)
    second = await incident_poller.poll_once()
    clock.advance(incident_poller.resolved_interval.total_seconds())
    third = await incident_poller.poll_once()
    assert (first.resolved_pass, second.resolved_pass, third.resolved_pass) == (True, False, True)


async def test_relay_job_polls_incidents_until_cancelled(
    rocketcyber_url: str, event_log: MemoryEventLog, world: World, clock: FakeClock
) -> None:
    job = rocketcyber_incident_job(
        lambda: RocketCyberClient(rocketcyber_url, ROCKETCYBER_KEY),
        interval=3600,
        initial_lookback=timedelta(days=40),
        clock=clock.now,
    )
    task = asyncio.create_task(job(event_log, event_log))
    await event_log.wait_for_events(len(world.rocketcyber.incidents))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
