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
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.sandbox.serving import QuietServer, bind_socket, make_server, socket_url

log = logging.getLogger(__name__)

#: Demo credentials of the seeded administrator (as in a fresh Odoo demo database).
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"


@dataclass
class SandboxPlan:
    """What to serve: name -> (ASGI app, bound socket); plus extra facts for the ready line."""

    servers: dict[str, tuple[Any, socket.socket]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    closers: list[Any] = field(default_factory=list)


def open_odoo_database(name: str, data_dir: Path | None, size: str) -> Any:
    """The sandbox Odoo database, created and seeded on first use, reopened afterwards."""
    from console.sandbox.odoo.orm import Database, seed_small_dataset

    path = None
    is_new = True
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        file = data_dir / f"odoo-{name}.sqlite3"
        is_new = not file.exists()
        path = str(file)
    db = Database(name, path, seed=True)
    if is_new and size != "empty":
        seed_small_dataset(db)
    return db


def build_plan(args: argparse.Namespace) -> SandboxPlan:
    from console.sandbox.odoo.server import OdooServer

    plan = SandboxPlan()
    data_dir = Path(args.data) if args.data else None
    if args.size in ("demo", "large"):
        raise SystemExit(
            f"psa sandbox: --size {args.size} needs the demo world, which is not loaded into "
            "the Odoo sandbox yet; use --size small or --size empty"
        )
    db = open_odoo_database(args.db, data_dir, args.size)
    plan.closers.append(db.close)
    odoo = OdooServer({args.db: db})
    plan.servers["odoo"] = (odoo.app, bind_socket(args.host, args.odoo_port))
    plan.facts.update({"db": args.db, "login": ADMIN_LOGIN, "size": args.size})
    return plan


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

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_exit)

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
    await asyncio.gather(*tasks)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        plan = build_plan(args)
    except OSError as exc:
        print(f"psa sandbox: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(plan))
    finally:
        for close in plan.closers:
            close()
    return 0
