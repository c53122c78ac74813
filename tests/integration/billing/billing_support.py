"""The billing tests' world and an independent reference count (raw RPC, not the product's)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlparse

import odoorpc

from console.odoo.gateway import OdooGateway
from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.odoo.server import OdooServer
from console.sandbox.runner import open_odoo_database
from console.sandbox.serving import BackgroundServer
from console.sandbox.world import World, build_world

T = TypeVar("T")
SEAT_XMLID = "product.managed_seat_product"
NOW = datetime(2025, 6, 3, 18, 0, tzinfo=UTC)


@dataclass
class BillingWorld:
    url: str
    host: str
    port: int
    db_name: str
    database: Database
    world: World

    def su(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """A call as the superuser, in-process (test set-up and inspection only)."""
        return self.database.call_kw(SUPERUSER_ID, model, method, list(args), kwargs)

    def client(self, login: str) -> odoorpc.ODOO:
        """odoorpc over the wire as ``login`` (password = login)."""
        client = odoorpc.ODOO(self.host, port=self.port, timeout=30)
        client.login(self.db_name, login, login)
        return client

    async def gateway(self, login: str = "admin") -> OdooGateway:
        return await OdooGateway.connect(self.url, self.db_name, login, login)

    def ref(self, xmlid: str) -> int:
        module, _, name = xmlid.partition(".")
        return int(self.su("ir.model.data", "check_object_reference", module, name, True)[1])

    def uid(self, login: str) -> int:
        [row] = self.su("res.users", "search_read", [["login", "=", login]], ["id"])
        return int(row["id"])

    def sa_id(self, name: str) -> int:
        [row] = self.su("x_sa", "search_read", [["x_name", "=", name]], ["id"])
        return int(row["id"])

    def seat_messages(self, order_id: int | None = None) -> list[dict[str, Any]]:
        domain: list[Any] = [["model", "=", "sale.order"], ["body", "like", "Auto-updated Asset"]]
        if order_id is not None:
            domain.append(["res_id", "=", order_id])
        rows: list[dict[str, Any]] = self.su(
            "mail.message", "search_read", domain, ["res_id", "body"]
        )
        return rows


def start_billing_world(size: str = "small") -> tuple[BillingWorld, Callable[[], None]]:
    world = build_world(size, now=NOW)  # type: ignore[arg-type]
    database = open_odoo_database("psa", None, world)
    background = BackgroundServer(OdooServer({"psa": database}).app).start()
    parsed = urlparse(background.url)
    assert parsed.hostname is not None and parsed.port is not None

    def stop() -> None:
        background.stop()
        database.close()

    return BillingWorld(background.url, parsed.hostname, parsed.port, "psa", database, world), stop


def independent_recount(client: odoorpc.ODOO, seat_product: int) -> dict[int, dict[str, Any]]:
    """Per subscription order id: partner, current seat qty (None: no line) and active assets,
    computed from plain ``search_read`` rows, one record at a time, as a reviewer would."""
    orders = client.execute_kw(
        "sale.order",
        "search_read",
        [[["state", "=", "sale"], ["is_subscription", "=", True]]],
        {"fields": ["partner_id"]},
    )
    assets = client.execute_kw(
        "x_client_asset", "search_read", [[]], {"fields": ["x_partner_id", "x_status"]}
    )
    lines = client.execute_kw(
        "sale.order.line",
        "search_read",
        [[["product_id", "=", seat_product]]],
        {"fields": ["order_id", "product_uom_qty"], "order": "id"},
    )
    out: dict[int, dict[str, Any]] = {}
    for order in orders:
        partner = order["partner_id"][0]
        active = sum(
            1
            for a in assets
            if a["x_partner_id"] and a["x_partner_id"][0] == partner and a["x_status"] == "active"
        )
        mine = [line for line in lines if line["order_id"][0] == order["id"]]
        out[order["id"]] = {
            "partner_id": partner,
            "current_qty": mine[0]["product_uom_qty"] if mine else None,
            "active_assets": active,
        }
    return out


def run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())
