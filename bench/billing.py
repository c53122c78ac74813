"""Bench: the managed-seat recount preview of 1,000 subscriptions / 20,000 assets.

Builds a provisioned sandbox Odoo with N client companies, M assets spread over them (about 5 %
decommissioned, some not yet counted by a recount), one subscription per company with its
managed-seat line (a quarter stale, a few missing), serves it on loopback and runs
``console.odoo.billing.preview`` through the real gateway (unmodified odoorpc over HTTP).
Prints RPC round trips (the gateway's own count) and time; then one ``apply`` and a second
preview, to show the apply cost and that it leaves nothing to do. Asserts nothing.

    .venv/bin/python bench/billing.py [--subscriptions 1000] [--assets 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.odoo.billing import apply, preview
from console.odoo.gateway import OdooGateway
from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.odoo.server import OdooServer
from console.sandbox.sa_fixture import provision_database
from console.sandbox.serving import BackgroundServer

BATCH = 2000


def build(subscriptions: int, assets: int, seed: int = 1) -> Database:
    rng = random.Random(seed)
    db = Database("psa", None, seed=True)
    provision_database(db)

    def call(model: str, method: str, *args: object, **kwargs: object) -> object:
        return db.call_kw(SUPERUSER_ID, model, method, list(args), dict(kwargs))

    def create(model: str, rows: list[dict[str, object]]) -> list[int]:
        ids: list[int] = []
        for start in range(0, len(rows), BATCH):
            ids.extend(call(model, "create", rows[start : start + BATCH]))  # type: ignore[arg-type]
        return ids

    product = int(
        call("ir.model.data", "check_object_reference", "product", "managed_seat_product", True)[1]  # type: ignore[index]
    )
    partners = create(
        "res.partner",
        [{"name": f"Client {i:04d}", "is_company": True} for i in range(subscriptions)],
    )
    active: dict[int, int] = dict.fromkeys(partners, 0)
    rows: list[dict[str, object]] = []
    for i in range(assets):
        partner = partners[i % len(partners)]
        status = "decommissioned" if rng.random() < 0.05 else "active"
        active[partner] += status == "active"
        rows.append(
            {
                "x_name": f"HOST-{i:06d}",
                "x_partner_id": partner,
                "x_status": status,
                "x_subscription_active": status == "active" and rng.random() > 0.02,
            }
        )
    create("x_client_asset", rows)
    orders = []
    for partner in partners:
        seats = active[partner]
        if rng.random() < 0.25:
            seats = max(0, seats + rng.choice((-3, -1, 1, 2)))
        lines = []
        if rng.random() > 0.02:
            lines = [[0, 0, {"product_id": product, "product_uom_qty": seats}]]
        orders.append(
            {
                "partner_id": partner,
                "state": "sale",
                "is_subscription": True,
                "order_line": lines,
            }
        )
    create("sale.order", orders)
    return db


async def run_preview(url: str) -> tuple[float, int, int, int]:
    gateway = await OdooGateway.connect(url, "psa", "admin", "admin")
    try:
        started = time.perf_counter()
        billing = await preview(gateway)
        elapsed = time.perf_counter() - started
        return (
            elapsed,
            gateway.stats.counts["billing.preview"],
            len(billing.diffs),
            len(billing.changes),
        )
    finally:
        gateway.close()


async def run_apply(url: str) -> tuple[float, int, int, int]:
    gateway = await OdooGateway.connect(url, "psa", "admin", "admin")
    try:
        billing = await preview(gateway)
        started = time.perf_counter()
        result = await apply(gateway, billing)
        elapsed = time.perf_counter() - started
        after = await preview(gateway)
        return (
            elapsed,
            gateway.stats.counts["billing.apply"],
            len(result.applied),
            len(after.changes),
        )
    finally:
        gateway.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--assets", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-apply", action="store_true", help="only bench the preview")
    args = parser.parse_args()
    started = time.perf_counter()
    db = build(args.subscriptions, args.assets)
    print(
        f"built {args.subscriptions} subscriptions / {args.assets} assets in "
        f"{time.perf_counter() - started:.1f} s"
    )
    with BackgroundServer(OdooServer({"psa": db}).app) as server:
        runs = [asyncio.run(run_preview(server.url)) for _ in range(args.repeat)]
        times = [r[0] for r in runs]
        _, rpcs, diffs, changes = runs[0]
        print(
            f"preview: {diffs} subscriptions, {changes} to change; {rpcs} RPC round trips; "
            f"best {min(times):.2f} s, median {statistics.median(times):.2f} s"
        )
        if not args.no_apply:
            elapsed, rpcs, applied, left = asyncio.run(run_apply(server.url))
            print(
                f"apply: {applied} orders changed in {elapsed:.2f} s, {rpcs} RPCs "
                f"(re-read + write + chatter per order + flags); changes left after: {left}"
            )
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
