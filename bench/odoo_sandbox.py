"""Bench: how fast the Odoo sandbox serves search_read pages over real HTTP.

Creates x_client_asset as Studio would (runtime ir.model + ir.model.fields), loads N rows
(default 100,000) linked to partners, serves the database on a loopback port, then reads every
row with JSON-RPC ``execute_kw search_read`` in pages (default 5,000), the way the console's
Assets pane does. Prints figures; asserts nothing.

    .venv/bin/python bench/odoo_sandbox.py [--rows 100000] [--page 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.odoo.server import OdooServer
from console.sandbox.serving import BackgroundServer

FIELDS = [
    "x_name",
    "x_serial_number",
    "x_partner_id",
    "x_pulseway_id",
    "x_os_info",
    "x_last_audit",
    "x_status",
]


def build_database(rows: int) -> Database:
    db = Database("psa", None, seed=True)
    call = db.call_kw
    model_id = call(
        SUPERUSER_ID,
        "ir.model",
        "create",
        [{"name": "Client Asset", "model": "x_client_asset", "state": "manual"}],
        {},
    )
    for name, ttype, extra in [
        ("x_serial_number", "char", {}),
        ("x_partner_id", "many2one", {"relation": "res.partner"}),
        ("x_pulseway_id", "char", {"index": True}),
        ("x_os_info", "char", {}),
        ("x_last_audit", "datetime", {}),
        (
            "x_status",
            "selection",
            {
                "selection_ids": [
                    [0, 0, {"value": "active", "name": "Active", "sequence": 1}],
                    [0, 0, {"value": "decommissioned", "name": "Decommissioned", "sequence": 2}],
                ]
            },
        ),
    ]:
        call(
            SUPERUSER_ID,
            "ir.model.fields",
            "create",
            [
                {
                    "model_id": model_id,
                    "name": name,
                    "field_description": name,
                    "ttype": ttype,
                    **extra,
                }
            ],
            {},
        )
    [[_, group_id]] = [
        call(
            SUPERUSER_ID,
            "ir.model.data",
            "check_object_reference",
            ["base", "group_user", True],
            {},
        )
    ]
    call(
        SUPERUSER_ID,
        "ir.model.access",
        "create",
        [
            {
                "name": "access_x_client_asset",
                "model_id": model_id,
                "group_id": group_id,
                "perm_read": True,
                "perm_write": True,
                "perm_create": True,
                "perm_unlink": True,
            }
        ],
        {},
    )
    partners = call(
        SUPERUSER_ID,
        "res.partner",
        "create",
        [[{"name": f"Client {i:03d}", "is_company": True} for i in range(200)]],
        {},
    )
    batch = 5000
    for start in range(0, rows, batch):
        call(
            SUPERUSER_ID,
            "x_client_asset",
            "create",
            [
                [
                    {
                        "x_name": f"WS-{i:06d}",
                        "x_serial_number": f"SN{i:08d}",
                        "x_partner_id": partners[i % len(partners)],
                        "x_pulseway_id": f"{i:08x}-0000-4000-8000-000000000000",
                        "x_os_info": "Windows 11 Pro" if i % 3 else "Ubuntu 24.04",
                        "x_last_audit": "2026-11-01 08:00:00",
                        "x_status": "active" if i % 17 else "decommissioned",
                    }
                    for i in range(start, min(rows, start + batch))
                ]
            ],
            {},
        )
    return db


def read_all(url: str, rows: int, page: int) -> tuple[float, int, list[float]]:
    started = time.perf_counter()
    total = 0
    latencies: list[float] = []
    for offset in range(0, rows, page):
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "id": offset,
                "params": {
                    "service": "object",
                    "method": "execute_kw",
                    "args": [
                        "psa",
                        2,
                        "admin",
                        "x_client_asset",
                        "search_read",
                        [[]],
                        {"fields": FIELDS, "offset": offset, "limit": page, "order": "id"},
                    ],
                },
            }
        )
        request = urllib.request.Request(
            f"{url}/jsonrpc", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            result = json.loads(response.read())["result"]
        latencies.append(time.perf_counter() - t0)
        total += len(result)
    return time.perf_counter() - started, total, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    db = build_database(args.rows)
    print(f"loaded {args.rows} x_client_asset rows in {time.perf_counter() - t0:.1f} s")
    server = OdooServer({"psa": db})
    with BackgroundServer(server.app) as background:
        runs = [read_all(background.url, args.rows, args.page) for _ in range(args.repeat)]
    db.close()
    for _elapsed, total, _ in runs:
        assert total == args.rows, f"read {total} rows, expected {args.rows}"
    best = min(r[0] for r in runs)
    pages = [lat for r in runs for lat in r[2]]
    print(
        f"search_read {args.rows} rows in pages of {args.page} over HTTP JSON-RPC: "
        f"best {best:.2f} s, median {statistics.median(r[0] for r in runs):.2f} s "
        f"({args.rows / best:,.0f} rows/s); per page p50 "
        f"{statistics.median(pages) * 1000:.0f} ms, max {max(pages) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
