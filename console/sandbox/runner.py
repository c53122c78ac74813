"""``psa sandbox``: the Odoo 19 stand-in (and its siblings) on loopback, seeded, in the foreground.

Prints exactly one JSON line on stdout once every server listens, e.g.
``{"ready": true, "odoo": "http://127.0.0.1:8069", "db": "psa", ...}``, so scripts and the
console's ``--demo`` can read the URLs; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.sandbox.serving import QuietServer, bind_socket, make_server, socket_url

if TYPE_CHECKING:
    from console.sandbox.world import World

log = logging.getLogger(__name__)

#: Demo credentials of the seeded administrator (as in a fresh Odoo demo database).
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"
#: Stand-in credentials (sandbox only; overridable with the product's own variables).
DEFAULT_PULSEWAY_TOKEN_ID = "sandbox-token-id"
DEFAULT_PULSEWAY_TOKEN_SECRET = "sandbox-token-secret"
DEFAULT_ROCKETCYBER_API_KEY = "sandbox-rocketcyber-key"
DEFAULT_HOOK_SECRET = "sandbox-hook-secret"


@dataclass
class SandboxPlan:
    """What to serve: name -> (ASGI app, bound socket); plus extra facts for the ready line."""

    servers: dict[str, tuple[Any, socket.socket]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    closers: list[Any] = field(default_factory=list)
    #: coroutine factories run beside the servers until shutdown, given the stop event
    background: list[Callable[[asyncio.Event], Coroutine[Any, Any, Any]]] = field(
        default_factory=list
    )


@dataclass
class SandboxCredentials:
    pulseway_token_id: str
    pulseway_token_secret: str
    rocketcyber_api_key: str
    hook_secret: str

    @classmethod
    def from_environment(cls) -> SandboxCredentials:
        env = os.environ
        return cls(
            env.get("PSA_PULSEWAY_TOKEN_ID", DEFAULT_PULSEWAY_TOKEN_ID),
            env.get("PSA_PULSEWAY_TOKEN_SECRET", DEFAULT_PULSEWAY_TOKEN_SECRET),
            env.get("PSA_ROCKETCYBER_API_KEY", DEFAULT_ROCKETCYBER_API_KEY),
            env.get("PSA_RELAY_HOOK_SECRET", DEFAULT_HOOK_SECRET),
        )


def open_odoo_database(name: str, data_dir: Path | None, world: World) -> Any:
    """The sandbox Odoo database: created, provisioned and loaded with ``world`` on first use;
    reopened as it was afterwards."""
    from console.odoo.schema import load_schema
    from console.sandbox.odoo.orm import Database
    from console.sandbox.sa_fixture import provision_database
    from console.sandbox.world_loader import load_world

    path = None
    is_new = True
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        file = data_dir / f"odoo-{name}.sqlite3"
        is_new = not file.exists()
        path = str(file)
    db = Database(name, path, seed=True)
    if is_new:
        schema = load_schema()
        started = time.perf_counter()
        provision_database(db, schema)
        load_world(db, world, schema)
        log.info(
            "Odoo database %r provisioned and loaded with the %s world in %.1f s",
            name,
            world.size,
            time.perf_counter() - started,
        )
    return db


def build_plan(args: argparse.Namespace) -> SandboxPlan:
    from console.sandbox.odoo.server import OdooServer
    from console.sandbox.pulseway import create_pulseway_app
    from console.sandbox.rocketcyber import create_rocketcyber_app
    from console.sandbox.traffic import run_traffic
    from console.sandbox.world import build_world

    plan = SandboxPlan()
    data_dir = Path(args.data) if args.data else None
    credentials = SandboxCredentials.from_environment()
    world = build_world(args.size, seed=args.seed, now=datetime.now(UTC))
    sockets = {
        "odoo": bind_socket(args.host, args.odoo_port),
        "pulseway": bind_socket(args.host, args.pulseway_port),
        "rocketcyber": bind_socket(args.host, args.rocketcyber_port),
    }
    db = open_odoo_database(args.db, data_dir, world)
    plan.closers.append(db.close)
    plan.servers["odoo"] = (OdooServer({args.db: db}).app, sockets["odoo"])
    plan.servers["pulseway"] = (
        create_pulseway_app(
            world,
            token_id=credentials.pulseway_token_id,
            token_secret=credentials.pulseway_token_secret,
            webhook_url=args.webhook_url,
            webhook_secret=credentials.hook_secret,
        ),
        sockets["pulseway"],
    )
    plan.servers["rocketcyber"] = (
        create_rocketcyber_app(world, api_key=credentials.rocketcyber_api_key),
        sockets["rocketcyber"],
    )
    plan.facts.update(
        {"db": args.db, "login": ADMIN_LOGIN, "size": args.size, "world": world.summary()}
    )
    if args.traffic > 0:
        if not args.webhook_url:
            raise SandboxUsageError("--traffic needs --webhook-url (where to deliver the alerts)")
        url, secret, rate = args.webhook_url, credentials.hook_secret, args.traffic

        async def traffic(stop: asyncio.Event) -> Any:
            return await run_traffic(world, url, secret, rate, rng_seed=args.seed, stop=stop)

        plan.background.append(traffic)
    return plan


class SandboxUsageError(Exception):
    """Options that cannot work together; the message says why."""


async def serve(plan: SandboxPlan, *, announce: bool = True) -> None:
    """Serve every app of ``plan`` until SIGINT/SIGTERM, announcing readiness on stdout."""
    servers: list[QuietServer] = []
    tasks = []
    ready: dict[str, Any] = {"ready": True}
    for name, (app, sock) in plan.servers.items():
        server = make_server(app)
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve(sockets=[sock]), name=f"serve:{name}"))
        ready[name] = socket_url(sock)
    ready.update(plan.facts)

    loop = asyncio.get_running_loop()

    def request_exit() -> None:
        for server in servers:
            server.should_exit = True

    stop = asyncio.Event()

    def on_signal() -> None:  # one handler per signal: add_signal_handler keeps only the last
        request_exit()
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)

    await asyncio.gather(*(asyncio.to_thread(server.ready.wait) for server in servers))
    failed = [
        name for name, server in zip(plan.servers, servers, strict=True) if not server.started
    ]
    if failed:
        request_exit()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise SystemExit(f"psa sandbox: could not start {', '.join(failed)}")
    if announce:
        print(json.dumps(ready), flush=True)
    helpers: list[asyncio.Task[Any]] = [asyncio.create_task(job(stop)) for job in plan.background]
    await asyncio.gather(*tasks)
    stop.set()
    for result in await asyncio.gather(*helpers, return_exceptions=True):
        if isinstance(result, BaseException):
            log.error("background job failed: %r", result)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        plan = build_plan(args)
    except (OSError, SandboxUsageError) as exc:
        print(f"psa sandbox: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(plan))
    finally:
        for close in plan.closers:
            close()
    return 0
