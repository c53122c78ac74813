"""The traffic generator against a real receiver on loopback that checks what arrives."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from standins_support import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from console.pulseway import WebhookPayloadError, parse_webhook_notification, verify_signature
from console.sandbox.pulseway_webhooks import DeliveryPolicy
from console.sandbox.traffic import MALFORMED_KINDS, TrafficMix, TrafficStats, run_traffic
from console.sandbox.world import World, build_world

pytestmark = pytest.mark.anyio

SECRET = "f" * 64
FAST = DeliveryPolicy(attempts=4, base_delay=0.001, max_delay=0.01, timeout=5.0)


class Relay:
    """A strict receiver: checks content type, signature and body, like the real relay.

    ``flaky_every``: the first attempt of every n-th notification id gets a 503.
    ``always_fail``: every delivery gets a 500.
    """

    def __init__(self, *, flaky_every: int = 0, always_fail: bool = False) -> None:
        self.flaky_every = flaky_every
        self.always_fail = always_fail
        self.accepted: dict[int, dict[str, object]] = {}
        self.rejected: list[int] = []
        self.attempts: dict[int, int] = {}
        self.lock = threading.Lock()
        self.first_accepted = threading.Event()

    async def hook(self, request: Request) -> Response:
        raw = await request.body()
        if self.always_fail:
            return Response(status_code=500)
        if request.headers.get("content-type") != "application/json":
            self.rejected.append(415)
            return Response(status_code=415)
        if not verify_signature(raw, request.headers.get("x-hmac-signature", ""), SECRET):
            self.rejected.append(401)
            return Response(status_code=401)
        try:
            notification = parse_webhook_notification(raw)
        except WebhookPayloadError:
            self.rejected.append(400)
            return Response(status_code=400)
        with self.lock:
            attempt = self.attempts[notification.id] = self.attempts.get(notification.id, 0) + 1
            if self.flaky_every and notification.id % self.flaky_every == 0 and attempt == 1:
                return Response(status_code=503)
            duplicate = notification.id in self.accepted
            self.accepted[notification.id] = json.loads(raw)
        self.first_accepted.set()
        return JSONResponse({"duplicate": duplicate}, status_code=200 if duplicate else 202)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks/pulseway", self.hook, methods=["POST"])])


@pytest.fixture
def relay() -> Relay:
    return Relay()


@pytest.fixture
def relay_url(relay: Relay) -> Iterator[str]:
    with serve(relay.app()) as url:
        yield f"{url}/hooks/pulseway"


async def generate(
    world: World,
    url: str,
    events: int,
    *,
    mix: TrafficMix | None = None,
    seed: int = 1,
    delivery: DeliveryPolicy = FAST,
) -> TrafficStats:
    return await run_traffic(
        world,
        url,
        SECRET,
        10_000.0,
        rng_seed=seed,
        stop=asyncio.Event(),
        mix=mix,
        delivery=delivery,
        max_events=events,
    )


async def test_every_notification_arrives_signed_and_is_acked(
    world: World, relay: Relay, relay_url: str
) -> None:
    stats = await generate(world, relay_url, 80, mix=TrafficMix(malformed=0))
    assert stats.sent > 0
    assert stats.acked == stats.sent and stats.failed == 0
    assert sorted(relay.accepted) == sorted(stats.notification_ids)


async def test_non_2xx_answers_are_retried_until_acked(world: World) -> None:
    relay = Relay(flaky_every=3)
    with serve(relay.app()) as url:
        stats = await generate(world, f"{url}/hooks/pulseway", 60, mix=TrafficMix(malformed=0))
    assert stats.failed == 0 and stats.acked == stats.sent
    assert stats.retries == sum(1 for i in stats.notification_ids if i % 3 == 0)


async def test_receiver_that_never_acks_exhausts_the_retries(world: World) -> None:
    relay = Relay(always_fail=True)
    policy = DeliveryPolicy(attempts=2, base_delay=0.001, max_delay=0.001)
    with serve(relay.app()) as url:
        stats = await generate(
            world,
            f"{url}/hooks/pulseway",
            10,
            delivery=policy,
            mix=TrafficMix(
                single=1,
                repeat=0,
                burst=0,
                storm=0,
                unknown_device=0,
                malformed=0,
                device_change=0,
                incident_change=0,
            ),
        )
    assert stats.sent == 10 and stats.failed == 10 and stats.acked == 0
    assert stats.retries == 10


async def test_repeats_keep_device_and_title_but_get_new_ids(
    world: World, relay: Relay, relay_url: str
) -> None:
    stats = await generate(
        world,
        relay_url,
        40,
        mix=TrafficMix(
            single=1,
            repeat=3,
            burst=0,
            storm=0,
            unknown_device=0,
            malformed=0,
            device_change=0,
            incident_change=0,
        ),
    )
    keys = [(n["DeviceIdentifier"], n["Title"]) for n in relay.accepted.values()]
    assert stats.repeats > 0
    assert len(set(keys)) < len(keys)  # the same alert key arrived more than once …
    assert len(relay.accepted) == stats.sent  # … each time with its own Id


async def test_malformed_deliveries_are_sent_once_and_refused(
    world: World, relay: Relay, relay_url: str
) -> None:
    stats = await generate(
        world,
        relay_url,
        40,
        mix=TrafficMix(
            single=0,
            repeat=0,
            burst=0,
            storm=0,
            unknown_device=0,
            malformed=1,
            device_change=0,
            incident_change=0,
        ),
    )
    assert stats.malformed_sent == 40 == stats.malformed_rejected
    assert set(stats.malformed_kinds) == set(MALFORMED_KINDS)
    assert len(relay.rejected) == 40 and relay.accepted == {}
    assert set(relay.rejected) == {400, 401, 415}


async def test_storms_and_bursts_send_many_notifications_at_once(
    world: World, relay: Relay, relay_url: str
) -> None:
    stats = await generate(
        world,
        relay_url,
        6,
        mix=TrafficMix(
            single=0,
            repeat=0,
            burst=1,
            storm=1,
            unknown_device=0,
            malformed=0,
            device_change=0,
            incident_change=0,
        ),
    )
    assert stats.bursts + stats.storms == 6 and stats.storms > 0
    assert stats.sent > 6
    offline = [n for n in relay.accepted.values() if n["Title"] == "Computer offline"]
    assert len({n["DeviceIdentifier"] for n in offline}) > 1


async def test_unknown_devices_include_ones_odoo_and_pulseway_do_not_know(
    world: World, relay: Relay, relay_url: str
) -> None:
    stats = await generate(
        world,
        relay_url,
        40,
        mix=TrafficMix(
            single=0,
            repeat=0,
            burst=0,
            storm=0,
            unknown_device=1,
            malformed=0,
            device_change=0,
            incident_change=0,
        ),
    )
    odoo_ids = {a.pulseway_id.lower() for a in world.odoo.assets}
    devices = {str(n["DeviceIdentifier"]).lower() for n in relay.accepted.values()}
    assert stats.unknown_devices == 40
    assert not devices & odoo_ids
    assert devices & set(world.pulseway.devices)  # in Pulseway, not in Odoo yet
    assert devices - set(world.pulseway.devices)  # nowhere at all


async def test_device_changes_happen_in_the_pulseway_world(
    world: World, relay: Relay, relay_url: str
) -> None:
    before = {k: d.os_name for k, d in world.pulseway.devices.items()}
    stats = await generate(
        world,
        relay_url,
        60,
        mix=TrafficMix(
            single=0,
            repeat=0,
            burst=0,
            storm=0,
            unknown_device=0,
            malformed=0,
            device_change=1,
            incident_change=0,
        ),
    )
    after = {k: d.os_name for k, d in world.pulseway.devices.items()}
    assert stats.devices_registered and stats.devices_removed and stats.os_changes
    # A device registered during the run may be removed again later in it.
    assert len(after) == len(before) + stats.devices_registered - stats.devices_removed
    assert set(after) - set(before) and set(before) - set(after)
    assert any(before[k] != after[k] for k in set(before) & set(after))
    assert stats.sent == 0


async def test_incident_changes_open_and_resolve_rocketcyber_incidents(
    world: World, relay: Relay, relay_url: str
) -> None:
    open_before = {i.id for i in world.rocketcyber.incident_list() if i.status == "open"}
    count_before = len(world.rocketcyber.incidents)
    stats = await generate(
        world,
        relay_url,
        30,
        mix=TrafficMix(
            single=0,
            repeat=0,
            burst=0,
            storm=0,
            unknown_device=0,
            malformed=0,
            device_change=0,
            incident_change=1,
        ),
    )
    assert len(world.rocketcyber.incidents) == count_before + stats.incidents_opened
    newly = [i for i in world.rocketcyber.incident_list() if i.id not in open_before]
    assert stats.incidents_opened and stats.incidents_resolved
    assert all(i.published_at >= i.created_at for i in newly)


async def test_same_seed_sends_the_same_notifications(relay: Relay, relay_url: str) -> None:
    first = await generate(build_world("small", seed=3), relay_url, 50, seed=9)
    first_bodies = {i: relay.accepted[i] for i in first.notification_ids}
    relay.accepted.clear()
    second = await generate(build_world("small", seed=3), relay_url, 50, seed=9)
    second_bodies = {i: relay.accepted[i] for i in second.notification_ids}

    def strip_time(bodies: dict[int, dict[str, object]]) -> dict[int, tuple[object, ...]]:
        return {i: (b["DeviceIdentifier"], b["Title"], b["Priority"]) for i, b in bodies.items()}

    assert strip_time(first_bodies) == strip_time(second_bodies)


async def test_setting_stop_ends_an_unbounded_run(
    world: World, relay: Relay, relay_url: str
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_traffic(world, relay_url, SECRET, 200.0, stop=stop, delivery=FAST)
    )
    assert await asyncio.to_thread(relay.first_accepted.wait, 10)
    stop.set()
    stats = await asyncio.wait_for(task, timeout=10)
    assert stats.events > 0
    assert stats.sent == stats.acked + stats.failed


async def test_rate_must_be_positive(world: World, relay_url: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        await run_traffic(world, relay_url, SECRET, 0, stop=asyncio.Event())
