"""``psa console --demo``: everything on embedded defaults, inside this process.

Starts, each on a free loopback port and in its own thread with its own event loop (so the
GUI thread never runs their work): the Odoo 19 sandbox provisioned and loaded with the demo
world, the Pulseway and RocketCyber stand-ins, the relay (SQLite store in a temporary
directory, Odoo service account = the demo world's `relay` user) and moderate Pulseway webhook traffic into
the relay; then logs in as the demo dispatcher. Everything stops when the console exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from console.odoo.gateway import OdooGateway
from console.relay.app import create_app
from console.relay.client import RelayClient
from console.relay.config import OdooServiceAccount, RelayConfig, RocketCyberPolling
from console.relay.partner_watch import partner_watch_job
from console.relay.serving import BackgroundRelay
from console.sandbox.odoo.server import OdooServer
from console.sandbox.pulseway import create_pulseway_app
from console.sandbox.rocketcyber import create_rocketcyber_app
from console.sandbox.runner import (
    DEFAULT_PULSEWAY_TOKEN_ID,
    DEFAULT_PULSEWAY_TOKEN_SECRET,
    DEFAULT_ROCKETCYBER_API_KEY,
    open_odoo_database,
)
from console.sandbox.serving import BackgroundServer
from console.sandbox.traffic import run_traffic
from console.sandbox.world import build_world
from console.sandbox.world_loader import SERVICE_LOGIN, SERVICE_PASSWORD

log = logging.getLogger(__name__)

DEMO_LOGIN = "dispatch"
#: notifications per second: enough to watch the Alerts pane move, not a storm
DEMO_TRAFFIC_RATE = 0.5


class _TrafficThread:
    """The traffic generator on its own loop, stoppable from the GUI thread."""

    def __init__(self, world: Any, url: str, secret: str, rate: float) -> None:
        self._loop = asyncio.SelectorEventLoop()  # not the GUI thread's qasync policy
        self._stop = asyncio.Event()
        self._args = (world, url, secret, rate)
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        world, url, secret, rate = self._args
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(run_traffic(world, url, secret, rate, stop=self._stop))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


@dataclass
class DemoEnvironment:
    gateway: OdooGateway
    relay_client: RelayClient
    odoo_url: str
    relay_url: str
    sees_unmatched: bool = True
    _stoppers: list[Any] = field(default_factory=list)

    async def close(self) -> None:
        self.gateway.close()
        await self.relay_client.aclose()
        for stop in reversed(self._stoppers):
            await asyncio.to_thread(stop)


def _start_services(workdir: Path) -> tuple[dict[str, str], list[Any], Any]:
    """Blocking part (runs on a worker thread): build, provision, load and serve."""
    stoppers: list[Any] = []
    world = build_world("demo", now=datetime.now(UTC))
    database = open_odoo_database("psa", None, world)
    stoppers.append(database.close)
    odoo = BackgroundServer(OdooServer({"psa": database}).app).start()
    stoppers.append(odoo.stop)
    hook_secret = secrets.token_hex(32)
    relay_config = RelayConfig(
        db=workdir / "relay.sqlite3",
        hook_secret=hook_secret,
        odoo=OdooServiceAccount(odoo.url, "psa", SERVICE_LOGIN, SERVICE_PASSWORD),
    )
    # Approvals (issue 8): the relay's partner watch queues new companies for approval.
    relay_config.background.append(
        partner_watch_job(odoo.url, "psa", SERVICE_LOGIN, SERVICE_PASSWORD, interval=15.0)
    )
    # Rules worker (issue 7): on by default with the Odoo service account; RocketCyber is
    # started first so that the worker can place incidents through the account's agents.
    rocketcyber = BackgroundServer(
        create_rocketcyber_app(world, api_key=DEFAULT_ROCKETCYBER_API_KEY)
    ).start()
    stoppers.append(rocketcyber.stop)
    relay_config.rocketcyber = RocketCyberPolling(
        f"{rocketcyber.url}/v3", DEFAULT_ROCKETCYBER_API_KEY, interval_seconds=DEMO_POLL_SECONDS
    )
    relay = BackgroundRelay(create_app(relay_config))  # bound: its URL is known, not serving
    webhook_url = f"{relay.url}/hooks/pulseway"
    pulseway = BackgroundServer(
        create_pulseway_app(
            world,
            token_id=DEFAULT_PULSEWAY_TOKEN_ID,
            token_secret=DEFAULT_PULSEWAY_TOKEN_SECRET,
            webhook_url=webhook_url,
            webhook_secret=hook_secret,
            allow_org_create=True,  # approvals: the seed's POST /v2/organizations (stand-in only)
        )
    ).start()
    stoppers.append(pulseway.stop)
    _use_pulseway_for_approvals(pulseway.url)
    relay_config.background.extend(_demo_pollers(pulseway.url, rocketcyber.url))
    relay.start()
    stoppers.append(relay.stop)
    traffic = _TrafficThread(world, webhook_url, hook_secret, DEMO_TRAFFIC_RATE)
    traffic.start()
    stoppers.append(traffic.stop)
    urls = {
        "odoo": odoo.url,
        "relay": relay.url,
        "pulseway": pulseway.url,
        "rocketcyber": rocketcyber.url,
    }
    return urls, stoppers, world


#: the demo's pollers: quick enough to see a new device or incident arrive within a minute
DEMO_POLL_SECONDS = 30.0
#: the demo traffic loses a few webhooks (as real networks do); the backstop finds them
#: once they are this old, instead of the quarter of an hour a real relay waits
DEMO_BACKSTOP_GRACE = timedelta(seconds=45)


def _demo_pollers(pulseway_url: str, rocketcyber_url: str) -> list[Any]:
    """The Pulseway device and RocketCyber incident pollers against the stand-ins (issue 7):
    the first device poll reports every device, so the rules worker syncs the assets and
    queues the unmatched groups; and the notification backstop, which recovers the alerts
    whose webhook the demo traffic lost."""
    from console.pulseway import PulsewayClient
    from console.relay.backstop import pulseway_backstop_job
    from console.relay.pollers import pulseway_device_job, rocketcyber_incident_job
    from console.rocketcyber import RocketCyberClient

    def pulseway() -> PulsewayClient:
        return PulsewayClient(
            f"{pulseway_url}/v3", DEFAULT_PULSEWAY_TOKEN_ID, DEFAULT_PULSEWAY_TOKEN_SECRET
        )

    return [
        pulseway_device_job(pulseway, interval=DEMO_POLL_SECONDS),
        pulseway_backstop_job(
            pulseway,
            interval=DEMO_POLL_SECONDS,
            grace=DEMO_BACKSTOP_GRACE,
            lookback=timedelta(hours=1),
        ),
        rocketcyber_incident_job(
            lambda: RocketCyberClient(f"{rocketcyber_url}/v3", DEFAULT_ROCKETCYBER_API_KEY),
            interval=DEMO_POLL_SECONDS,
        ),
    ]


def _use_pulseway_for_approvals(url: str) -> None:
    """Point the Approvals pane at the stand-in (it reads PSA_PULSEWAY_* like a real console);
    the demo also turns on organization create, which only the stand-in offers."""
    os.environ["PSA_PULSEWAY_URL"] = f"{url}/v3"
    os.environ["PSA_PULSEWAY_TOKEN_ID"] = DEFAULT_PULSEWAY_TOKEN_ID
    os.environ["PSA_PULSEWAY_TOKEN_SECRET"] = DEFAULT_PULSEWAY_TOKEN_SECRET
    os.environ["PSA_PULSEWAY_ORG_CREATE_URL"] = "/v2/organizations"


#: the demo users (password = login); see console/sandbox/world.py
DEMO_LOGINS = ("dispatch", "admin", "maria", "alice", "bob")


async def start_demo(login: str = DEMO_LOGIN) -> DemoEnvironment:
    """Start every local service and sign in as ``login`` (default: the demo dispatcher)."""
    if login not in DEMO_LOGINS:
        raise ValueError(f"{login!r} is not a demo user; choose one of {', '.join(DEMO_LOGINS)}")
    password = login
    workdir = Path(tempfile.mkdtemp(prefix="psa-demo-"))
    urls, stoppers, _world = await asyncio.to_thread(_start_services, workdir)
    log.info("demo services: %s", urls)
    try:
        gateway = await OdooGateway.connect(urls["odoo"], "psa", login, password)

        async def reauthenticate() -> str:
            session = await relay_client.open_session(login, password)
            return session.token

        relay_client = RelayClient(urls["relay"], reauthenticate=reauthenticate)
        await relay_client.open_session(login, password)
    except BaseException:
        for stop in reversed(stoppers):
            await asyncio.to_thread(stop)
        raise
    return DemoEnvironment(gateway, relay_client, urls["odoo"], urls["relay"], _stoppers=stoppers)
