"""Bench: the console's Odoo gateway loading a 100,000-row Assets pane from the sandbox.

Same database as bench/odoo_sandbox.py; the gateway (unmodified odoorpc on an executor) loads
every row in pages of 5,000 with the Assets pane's fields, reporting progress as the pane would.
Prints figures; asserts nothing.

    .venv/bin/python bench/odoo_gateway.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.odoo_sandbox import build_database
from console.odoo.gateway import OdooGateway
from console.sandbox.odoo.server import OdooServer
from console.sandbox.serving import BackgroundServer

FIELDS = ["x_name", "x_partner_id", "x_os_info", "x_serial_number", "x_last_audit", "x_status"]


async def load(url: str) -> tuple[float, int, int, int]:
    gateway = await OdooGateway.connect(url, "psa", "admin", "admin")
    progress: list[tuple[int, int]] = []
    started = time.perf_counter()
    rows = 0
    with gateway.operation("assets.load"):
        async for page in gateway.search_read_pages(
            "x_client_asset", [], FIELDS, on_progress=lambda d, t: progress.append((d, t))
        ):
            rows += len(page)
    elapsed = time.perf_counter() - started
    rpcs = gateway.stats.counts["assets.load"]
    gateway.close()
    return elapsed, rows, rpcs, len(progress)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    db = build_database(args.rows)
    with BackgroundServer(OdooServer({"psa": db}).app) as server:
        runs = [asyncio.run(load(server.url)) for _ in range(args.repeat)]
    db.close()
    times = [r[0] for r in runs]
    _, rows, rpcs, updates = runs[0]
    print(
        f"gateway loaded {rows} assets ({len(FIELDS)} fields, pages of 5000): best "
        f"{min(times):.2f} s, median {statistics.median(times):.2f} s; {rpcs} RPCs, "
        f"{updates} progress updates"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
