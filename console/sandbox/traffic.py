"""Traffic generator: Pulseway webhook deliveries and world changes for the pollers to find.

Each tick (Poisson-paced at ``rate`` per second) is one scenario drawn from :class:`TrafficMix`:

* ``single`` — one notification for a random known device;
* ``repeat`` — the same device and title as a recent one, with a new ``Id`` and a changed
  ``Message`` (how Pulseway repeats; the relay must bump a count, not open a ticket);
* ``burst`` — 5–20 notifications at once for random devices;
* ``storm`` — one site goes dark: "Computer offline" for every device of it (up to 50);
* ``unknown_device`` — a device Odoo does not know yet, or a GUID nobody knows;
* ``malformed`` — a delivery the relay must refuse: bad or missing signature, body that is not
  JSON, a body without ``DeviceIdentifier``, or the wrong content type (sent once, no retries);
* ``device_change`` — a new device enrolls (sometimes in an organization no partner maps to), a
  device is removed, or a device's OS is upgraded: the Pulseway poller's work;
* ``incident_change`` — a RocketCyber incident opens (created some minutes before it is
  published) or an open one is resolved: the RocketCyber poller's work;
* ``lost`` — a notification Pulseway records but whose webhook never arrives (Pulseway gave up
  while the relay was unreachable): only the relay's notification backstop finds it, in
  ``GET /v3/notifications``. Off in a hand-built :class:`TrafficMix`, on in :data:`DEFAULT_MIX`,
  which ``run_traffic`` (``psa sandbox --traffic``, the demo) uses unless given another.

Bodies are signed exactly like Pulseway's (:mod:`console.sandbox.pulseway_webhooks`) and
retried on any non-2xx answer. What is generated depends only on the world and ``rng_seed``;
timing uses a separate random stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from console.pulseway.webhook import sign_body
from console.sandbox.pulseway_webhooks import (
    DeliveryPolicy,
    DeliveryResult,
    WebhookDeliverer,
    encode_body,
    notification_payload,
)
from console.sandbox.world import (
    ALERT_CATALOGUE,
    INCIDENT_CATALOGUE,
    OS_UPGRADES,
    PulsewayDevice,
    World,
    random_guid,
)

log = logging.getLogger(__name__)

MALFORMED_KINDS = ("bad-signature", "unsigned", "not-json", "missing-device", "wrong-content-type")


@dataclass(frozen=True, slots=True)
class TrafficMix:
    """Relative weights of the scenarios (any non-negative numbers)."""

    single: float = 70
    repeat: float = 12
    burst: float = 3
    storm: float = 1
    unknown_device: float = 3
    malformed: float = 3
    device_change: float = 5
    incident_change: float = 3
    #: 0 here, so that a mix naming the scenarios it wants gets only those (see DEFAULT_MIX)
    lost: float = 0

    def scenarios(self) -> tuple[tuple[str, float], ...]:
        """``(name, weight)`` pairs with a positive weight."""
        pairs = (
            ("single", self.single),
            ("repeat", self.repeat),
            ("burst", self.burst),
            ("storm", self.storm),
            ("unknown_device", self.unknown_device),
            ("malformed", self.malformed),
            ("device_change", self.device_change),
            ("incident_change", self.incident_change),
            ("lost", self.lost),
        )
        return tuple((name, weight) for name, weight in pairs if weight > 0)


#: What ``run_traffic`` runs unless told otherwise: every scenario, a few notifications lost.
DEFAULT_MIX = TrafficMix(lost=2)


@dataclass(slots=True)
class TrafficStats:
    """What a run did. ``sent == acked + failed`` once the run has returned."""

    events: int = 0
    sent: int = 0
    acked: int = 0
    failed: int = 0
    retries: int = 0
    repeats: int = 0
    unknown_devices: int = 0
    bursts: int = 0
    storms: int = 0
    malformed_sent: int = 0
    malformed_rejected: int = 0
    devices_registered: int = 0
    devices_removed: int = 0
    os_changes: int = 0
    incidents_opened: int = 0
    incidents_resolved: int = 0
    #: notifications recorded in Pulseway whose webhook was never sent (``lost``)
    lost: int = 0
    notification_ids: list[int] = field(default_factory=list)
    lost_ids: list[int] = field(default_factory=list)
    malformed_kinds: list[str] = field(default_factory=list)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Generator:
    def __init__(
        self,
        world: World,
        webhook_url: str,
        secret: str,
        *,
        rng: random.Random,
        deliverer: WebhookDeliverer,
        in_flight: asyncio.Semaphore,
        now: Callable[[], datetime],
        mix: TrafficMix,
    ) -> None:
        self.world = world
        self.tenant = world.pulseway
        self.url = webhook_url
        self.secret = secret
        self.rng = rng
        self.deliverer = deliverer
        self.in_flight = in_flight
        self.now = now
        self.scenarios = mix.scenarios()
        self.stats = TrafficStats()
        self.tasks: set[asyncio.Task[None]] = set()
        self.recent: deque[tuple[str, str, str]] = deque(maxlen=200)
        self._odoo_ids = {asset.pulseway_id.lower() for asset in world.odoo.assets}
        self._pool_version = -1
        self._pool: list[PulsewayDevice] = []

    # -- device pools ----------------------------------------------------------------------

    def devices(self) -> list[PulsewayDevice]:
        if self._pool_version != self.tenant.version:
            self._pool = self.tenant.device_list()
            self._pool_version = self.tenant.version
        return self._pool

    def _org_id(self, device: PulsewayDevice) -> int:
        return self.tenant.organization_of(device).id

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, payload: dict[str, object]) -> None:
        self.stats.sent += 1
        notification_id = payload["Id"]
        if isinstance(notification_id, int):
            self.stats.notification_ids.append(notification_id)
        body = encode_body(payload)
        await self.in_flight.acquire()
        task = asyncio.create_task(self._deliver(body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, body: bytes) -> None:
        try:
            result = await self.deliverer.deliver(self.url, body, self.secret)
            self._count(result)
        finally:
            self.in_flight.release()

    def _count(self, result: DeliveryResult) -> None:
        self.stats.retries += result.attempts - 1
        if result.delivered:
            self.stats.acked += 1
        else:
            self.stats.failed += 1

    async def _notify(
        self, device: PulsewayDevice, title: str, priority: str, message: str | None = None
    ) -> None:
        moment = self.now().replace(microsecond=0)
        text = message or self._message(title, device)
        notification = self.tenant.record_notification(
            device.identifier, title, text, priority, moment
        )
        org_id = self._org_id(device)
        payload = notification_payload(
            notification_id=notification.id,
            title=title,
            message=text,
            priority=priority,
            device_id=device.identifier,
            # Documented as a string; sometimes send the int seen in the wild.
            organization_id=org_id if self.rng.random() < 0.1 else str(org_id),
            occurred_at=moment,
        )
        self.recent.append((device.key, title, priority))
        await self._send(payload)

    def _message(self, title: str, device: PulsewayDevice) -> str:
        template = next((t for name, _p, t in ALERT_CATALOGUE if name == title), title)
        group = self.tenant.groups[device.group_id]
        org = self.tenant.organizations[group.organization_id]
        site = self.tenant.sites[group.site_id]
        rng = self.rng
        total = round(device.disk_total_kb / 1024 / 1024, 2)
        pct = rng.randint(3, 97)
        return template.format(
            host=device.name,
            group=f"{org.name} - {site.name} - {group.name}",
            pct=pct,
            free=round(total * min(pct, 10) / 100, 2),
            total=total,
            minutes=rng.randint(5, 240),
            code=rng.randint(1, 0xFFFF),
            days=rng.randint(3, 30),
        )

    def _alert(self) -> tuple[str, str]:
        title, priority, _template = self.rng.choice(ALERT_CATALOGUE)
        return title, priority

    # -- scenarios -------------------------------------------------------------------------

    async def tick(self) -> None:
        self.stats.events += 1
        total = sum(weight for _name, weight in self.scenarios)
        pick = self.rng.random() * total
        name = self.scenarios[-1][0]
        for candidate, weight in self.scenarios:
            pick -= weight
            if pick < 0:
                name = candidate
                break
        await getattr(self, f"scenario_{name}")()

    async def scenario_single(self) -> None:
        devices = self.devices()
        if not devices:
            await self.scenario_unknown_device()
            return
        title, priority = self._alert()
        await self._notify(self.rng.choice(devices), title, priority)

    async def scenario_repeat(self) -> None:
        if not self.recent:
            await self.scenario_single()
            return
        device_key, title, priority = self.rng.choice(self.recent)
        device = self.tenant.device(device_key)
        if device is None:
            await self.scenario_single()
            return
        self.stats.repeats += 1
        await self._notify(device, title, priority)

    async def scenario_burst(self) -> None:
        self.stats.bursts += 1
        for _ in range(self.rng.randint(5, 20)):
            await self.scenario_single()

    async def scenario_storm(self) -> None:
        devices = self.devices()
        if not devices:
            return
        self.stats.storms += 1
        site_id = self.tenant.groups[self.rng.choice(devices).group_id].site_id
        victims = [d for d in devices if self.tenant.groups[d.group_id].site_id == site_id][:50]
        for device in victims:
            await self._notify(device, "Computer offline", "Elevated")

    async def scenario_unknown_device(self) -> None:
        self.stats.unknown_devices += 1
        unsynced = [d for d in self.devices() if d.key not in self._odoo_ids]
        if unsynced and self.rng.random() < 0.5:
            title, priority = self._alert()
            await self._notify(self.rng.choice(unsynced), title, priority)
            return
        # A GUID Pulseway itself does not list (a device deleted a moment ago).
        organizations = list(self.tenant.organizations)
        title, priority = self._alert()
        payload = notification_payload(
            notification_id=self.tenant.next_notification_id(),
            title=title,
            message=f"{title} on an unknown computer.",
            priority=priority,
            device_id=random_guid(self.rng),
            organization_id=str(self.rng.choice(organizations)) if organizations else None,
            occurred_at=self.now().replace(microsecond=0),
        )
        await self._send(payload)

    async def scenario_malformed(self) -> None:
        kind = self.rng.choice(MALFORMED_KINDS)
        title, priority = self._alert()
        devices = self.devices()
        device_id = self.rng.choice(devices).identifier if devices else random_guid(self.rng)
        payload = notification_payload(
            notification_id=self.tenant.next_notification_id(),
            title=title,
            message=title,
            priority=priority,
            device_id=device_id,
            organization_id=None,
            occurred_at=self.now().replace(microsecond=0),
        )
        body = encode_body(payload)
        secret: str | None = self.secret
        signature: str | None = None
        content_type = "application/json"
        if kind == "bad-signature":
            signature = sign_body(body, self.secret + "-wrong")
        elif kind == "unsigned":
            secret = None
        elif kind == "not-json":
            body = body[: len(body) // 2]
        elif kind == "missing-device":
            del payload["DeviceIdentifier"]
            body = json.dumps(payload).encode()
        else:
            content_type = "text/plain"
        self.stats.malformed_sent += 1
        self.stats.malformed_kinds.append(kind)
        result = await self.deliverer.deliver(
            self.url, body, secret, signature=signature, content_type=content_type, retry=False
        )
        if result.status is not None and 400 <= result.status < 500:
            self.stats.malformed_rejected += 1

    async def scenario_device_change(self) -> None:
        rng = self.rng
        devices = self.devices()
        roll = rng.random()
        if roll < 0.45 or len(devices) < 10:
            unmatched = {o.id for o in self.world.unmatched_organizations()}
            groups = list(self.tenant.groups.values())
            if not groups:
                return
            in_unmatched = [g for g in groups if g.organization_id in unmatched]
            pool = in_unmatched if in_unmatched and rng.random() < 0.25 else groups
            self.tenant.register_device(rng.choice(pool).id, rng, self.now().replace(microsecond=0))
            self.stats.devices_registered += 1
        elif roll < 0.65:
            self.tenant.remove_device(rng.choice(devices).identifier)
            self.stats.devices_removed += 1
        else:
            upgradable = [
                d
                for d in devices
                if OS_UPGRADES.get(d.os_name, (d.os_name, d.os_version))
                != (d.os_name, d.os_version)
            ]
            if not upgradable:
                return
            device = rng.choice(upgradable)
            new_name, new_version = OS_UPGRADES[device.os_name]
            self.tenant.change_os(device.identifier, new_name, new_version)
            self.stats.os_changes += 1

    async def scenario_incident_change(self) -> None:
        rocketcyber = self.world.rocketcyber
        rng = self.rng
        open_ids = [i.id for i in rocketcyber.incident_list() if i.status == "open"]
        now = self.now().replace(microsecond=0)
        if open_ids and rng.random() < 0.4:
            rocketcyber.resolve_incident(rng.choice(open_ids), now)
            self.stats.incidents_resolved += 1
            return
        if not rocketcyber.agents:
            return
        agent = rng.choice(rocketcyber.agents)
        title, template, remediation = rng.choice(INCIDENT_CATALOGUE)
        user = f"user{rng.randint(1, 99)}"
        account = rocketcyber.accounts[agent.account_id]
        domain = account.name.split()[0].lower()
        # Created a few minutes ago, published now: the lag the poller's overlap absorbs.
        rocketcyber.open_incident(
            agent.account_id,
            title,
            template.format(
                host=agent.hostname,
                user=f"{domain.upper()}\\{user}",
                email=f"{user}@{domain}.example",
            ),
            remediation,
            created_at=now - timedelta(seconds=rng.randint(0, 600)),
            published_at=now,
            event_count=rng.randint(1, 12),
            hostname=agent.hostname,
        )
        self.stats.incidents_opened += 1

    async def scenario_lost(self) -> None:
        devices = self.devices()
        if not devices:
            return
        title, priority = self._alert()
        device = self.rng.choice(devices)
        notification = self.tenant.record_notification(
            device.identifier,
            title,
            self._message(title, device),
            priority,
            self.now().replace(microsecond=0),
        )
        self.stats.lost += 1
        self.stats.lost_ids.append(notification.id)

    async def drain(self, grace_seconds: float) -> None:
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(set(self.tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            self.stats.failed += len(pending)


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    if stop.is_set():
        return True
    if seconds <= 0:
        await asyncio.sleep(0)
        return stop.is_set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def run_traffic(
    world: World,
    webhook_url: str,
    secret: str,
    rate: float,
    *,
    rng_seed: int = 0,
    stop: asyncio.Event,
    mix: TrafficMix | None = None,
    delivery: DeliveryPolicy | None = None,
    max_events: int | None = None,
    max_in_flight: int = 16,
    drain_timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> TrafficStats:
    """Generate traffic at ``rate`` scenarios per second until ``stop`` is set.

    Stops early after ``max_events`` scenarios (tests). Deliveries run concurrently (at most
    ``max_in_flight``; the generator waits when the receiver falls behind). On stop, in-flight
    deliveries get ``drain_timeout`` seconds to finish; the rest count as failed.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    rng = random.Random(f"traffic:{rng_seed}")
    timing = random.Random(f"traffic-timing:{rng_seed}")
    deliverer = WebhookDeliverer(
        policy=delivery, transport=transport, rng=random.Random(f"traffic-retry:{rng_seed}")
    )
    generator = _Generator(
        world,
        webhook_url,
        secret,
        rng=rng,
        deliverer=deliverer,
        in_flight=asyncio.Semaphore(max(1, max_in_flight)),
        now=now,
        mix=mix or DEFAULT_MIX,
    )
    try:
        while not stop.is_set():
            if max_events is not None and generator.stats.events >= max_events:
                break
            await generator.tick()
            if await _stopped_within(stop, timing.expovariate(rate)):
                break
        await generator.drain(drain_timeout)
    finally:
        for task in list(generator.tasks):
            task.cancel()
        await deliverer.aclose()
    stats = generator.stats
    log.info(
        "traffic: %d events, %d sent, %d acked, %d failed, %d lost (never sent)",
        stats.events,
        stats.sent,
        stats.acked,
        stats.failed,
        stats.lost,
    )
    return stats
