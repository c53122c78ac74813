"""Bench: the rules worker (issue 7) — notifications through relay → rules → Odoo sandbox.

Serves the SA world (bench-scale: ``--devices`` extra assets spread over its client
companies) from the Odoo sandbox on loopback, starts a relay (SQLite store in a temporary
directory) whose rules worker signs in as a dedicated service account (psa.group_service),
then POSTs ``--notifications`` signed Pulseway notifications over ``--devices`` devices with
``--titles`` distinct titles (so some are repeats of an open alert) from ``--clients``
concurrent HTTP clients. Prints, one line per figure (asserts nothing):

* ingest: time to POST every notification (2xx = durably committed);
* time from the first POST until every expected ticket exists in Odoo with its final count
  (and until the worker's cursor reaches the end of the log, its own link rows included);
* tickets created, repeats bumped, and Odoo RPCs made by the worker: total and per event
  (target: <= 3 on average).

A second phase replays the whole log (the worker's cursor reset, relay restarted) and checks
that nothing new is created, printing the replay's time and RPCs.

    .venv/bin/python bench/rules_worker.py [--notifications 1000] [--devices 200]
        [--titles 5] [--clients 8] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

# bench/console.py would shadow the console package when run as a script from bench/
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.domain.alerts import alert_dedupe_key
from console.domain.names import AssetStatus, ClientAsset, HelpdeskTicket
from console.relay.app import RelayApp
from console.relay.config import OdooServiceAccount, RelayConfig
from console.relay.rules_worker import RulesWorker
from console.relay.serving import BackgroundRelay
from console.relay.sqlite_store import SqliteEventStore
from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.odoo.server import OdooServer
from console.sandbox.sa_fixture import build_sa_world
from console.sandbox.serving import BackgroundServer

SECRET = "bench-secret"
SERVICE = "psa-relay"
TITLES = (
    "Low disk space",
    "CPU usage high",
    "Agent offline",
    "Backup failed",
    "Windows update pending",
    "Memory usage high",
    "Service stopped",
    "Certificate expiring",
)


def _group(database: Database, xmlid: str) -> int:
    module, _, name = xmlid.partition(".")
    [row] = database.call_kw(
        SUPERUSER_ID,
        "ir.model.data",
        "search_read",
        [[("module", "=", module), ("name", "=", name)]],
        {"fields": ["res_id"]},
    )
    return int(row["res_id"])


def build(devices: int) -> tuple[Database, list[str]]:
    """The SA world, a service account, and ``devices`` assets spread over its companies."""
    database = Database("psa", None, seed=True)
    ids = build_sa_world(database)
    database.call_kw(
        SUPERUSER_ID,
        "res.users",
        "create",
        [
            {
                "name": "PSA relay",
                "login": SERVICE,
                "password": SERVICE,
                "group_ids": [(6, 0, [_group(database, "psa.group_service")])],
            }
        ],
        {},
    )
    clients = [ids["partners"][k] for k in ("acme", "globex", "initech", "umbrella", "stark")]
    device_ids = [f"BE{n:06X}-0000-4000-8000-{n:012d}" for n in range(1, devices + 1)]
    database.call_kw(
        SUPERUSER_ID,
        ClientAsset.MODEL,
        "create",
        [
            [
                {
                    ClientAsset.NAME: f"BENCH-{n:04d}",
                    ClientAsset.PARTNER: clients[n % len(clients)],
                    ClientAsset.PULSEWAY_ID: device,
                    ClientAsset.STATUS: AssetStatus.ACTIVE.value,
                }
                for n, device in enumerate(device_ids)
            ]
        ],
        {},
    )
    return database, device_ids


def start_relay(path: Path, odoo_url: str) -> tuple[BackgroundRelay, RulesWorker, RelayApp]:
    config = RelayConfig(db=path, hook_secret=SECRET)
    store = SqliteEventStore(path)
    worker = RulesWorker(store, OdooServiceAccount(odoo_url, "psa", SERVICE, SERVICE))
    app = RelayApp(config, store, None, worker)
    return BackgroundRelay(app).start(), worker, app


def notifications(count: int, devices: list[str], titles: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    bodies = []
    for n in range(count):
        bodies.append(
            json.dumps(
                {
                    "Id": 1_000_000 + n,
                    "Title": TITLES[rng.randrange(titles)],
                    "Message": f"bench notification {n}",
                    "DateTime": "2025-06-03T16:15:02Z",
                    "Priority": rng.choice(("Critical", "Elevated", "Normal", "Low")),
                    "DeviceIdentifier": rng.choice(devices),
                    "OrganizationId": "101",
                }
            ).encode()
        )
    return bodies


async def post_all(url: str, bodies: list[bytes], clients: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            while not queue.empty():
                body = queue.get_nowait()
                signature = base64.b64encode(
                    hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
                ).decode()
                answer = await http.post(
                    "/hooks/pulseway",
                    content=body,
                    headers={"content-type": "application/json", "x-hmac-signature": signature},
                )
                answer.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


def expected_tickets(bodies: list[bytes]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for body in bodies:
        data = json.loads(body)
        key = alert_dedupe_key("pulseway", data["DeviceIdentifier"], data["Title"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def tickets_now(database: Database) -> dict[str, int]:
    rows: list[dict[str, Any]] = database.call_kw(
        SUPERUSER_ID,
        HelpdeskTicket.MODEL,
        "search_read",
        [[(HelpdeskTicket.ALERT_KEY, "!=", False)]],
        {"fields": [HelpdeskTicket.ALERT_KEY, HelpdeskTicket.ALERT_COUNT]},
    )
    return {r[HelpdeskTicket.ALERT_KEY]: r[HelpdeskTicket.ALERT_COUNT] for r in rows}


def wait_for(condition: Any, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the rules worker did not finish in time")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--titles", type=int, default=5, choices=range(1, len(TITLES) + 1))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    database, devices = build(args.devices)
    odoo = BackgroundServer(OdooServer({"psa": database}).app).start()
    bodies = notifications(args.notifications, devices, args.titles, args.seed)
    expected = expected_tickets(bodies)
    with tempfile.TemporaryDirectory(prefix="psa-rules-bench-") as workdir:
        path = Path(workdir) / "relay.sqlite3"
        relay, worker, app = start_relay(path, odoo.url)
        wait_for(lambda: worker.cursor >= app.hub.last_seq and worker.rpc_count > 0)
        rpc_before = worker.rpc_count
        started = time.perf_counter()
        ingest = asyncio.run(post_all(relay.url, bodies, args.clients))
        wait_for(lambda: tickets_now(database) == expected)
        tickets_done = time.perf_counter() - started
        wait_for(lambda: worker.cursor >= app.hub.last_seq)
        drained = time.perf_counter() - started
        rpcs = worker.rpc_count - rpc_before
        metrics = worker.metrics
        print(
            f"notifications: {args.notifications} over {args.devices} devices, "
            f"{args.titles} titles, {args.clients} HTTP clients"
        )
        print(f"ingest (all POSTs answered 2xx): {ingest:.2f} s")
        print(f"until every ticket exists with its final count: {tickets_done:.2f} s")
        print(f"until the worker's cursor reached the end of the log: {drained:.2f} s")
        print(
            f"tickets created: {metrics.tickets_created} (expected {len(expected)}), "
            f"repeats bumped: {metrics.tickets_bumped}"
        )
        print(f"Odoo RPCs by the worker: {rpcs} = {rpcs / args.notifications:.2f} per event")
        relay.stop()

        # phase 2: replay the whole log; nothing new may appear
        before = tickets_now(database)
        messages_before = len(database.call_kw(SUPERUSER_ID, "mail.message", "search", [[]], {}))
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM cursors WHERE name = 'rules.seq'")
        relay, worker, app = start_relay(path, odoo.url)
        replay_started = time.perf_counter()
        wait_for(lambda: worker.cursor >= app.hub.last_seq and worker.cursor > 0)
        replay = time.perf_counter() - replay_started
        messages_after = len(database.call_kw(SUPERUSER_ID, "mail.message", "search", [[]], {}))
        unchanged = tickets_now(database) == before and messages_after == messages_before
        print(
            f"replay of the whole log ({app.hub.last_seq} rows): {replay:.2f} s, "
            f"{worker.rpc_count} RPCs, nothing new: {unchanged}"
        )
        relay.stop()
    odoo.stop()
    database.close()


if __name__ == "__main__":
    main()
