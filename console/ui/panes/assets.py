"""The Assets pane: managed devices of the clients in the current SA."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from console.domain.names import AssetStatus, ClientAsset, HelpdeskTicket
from console.domain.search_domain import Domain
from console.odoo.gateway import OdooGateway
from console.ui.formatting import age_of, many2one_id, short_datetime
from console.ui.models.records import Column, Row
from console.ui.panes.odoo_loading import odoo_loader
from console.ui.panes.pane import TablePane, html_table

FIELDS = [
    ClientAsset.NAME,
    ClientAsset.PARTNER,
    ClientAsset.OS_INFO,
    ClientAsset.SERIAL_NUMBER,
    ClientAsset.LAST_AUDIT,
    ClientAsset.STATUS,
    ClientAsset.PULSEWAY_ID,
]
OPEN_TICKETS = "open_tickets"
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _status_colour(row: Mapping[str, Any]) -> Any:
    if row.get(ClientAsset.STATUS) == AssetStatus.DECOMMISSIONED.value:
        return QColor("#8a8f98")
    return None


COLUMNS = [
    Column(ClientAsset.NAME, "Hostname", 170),
    Column(ClientAsset.PARTNER, "Client", 190),
    Column(ClientAsset.OS_INFO, "OS", 170),
    Column(ClientAsset.SERIAL_NUMBER, "Serial", 130),
    Column(
        ClientAsset.LAST_AUDIT,
        "Last audit",
        130,
        display=lambda r: short_datetime(r.get(ClientAsset.LAST_AUDIT)),
        sort_value=lambda r: r.get(ClientAsset.LAST_AUDIT) or "",
    ),
    Column(
        ClientAsset.STATUS,
        "Status",
        110,
        display=lambda r: str(r.get(ClientAsset.STATUS) or "").capitalize(),
        roles={int(Qt.ItemDataRole.ForegroundRole): _status_colour},
    ),
    Column(
        OPEN_TICKETS,
        "Open tickets",
        90,
        display=lambda r: str(r.get(OPEN_TICKETS) or ""),
        sort_value=lambda r: r.get(OPEN_TICKETS) or 0,
        alignment=_RIGHT,
    ),
]


def make_pane() -> TablePane:
    # by hostname, sorted here: the loader pages by id, which any server serves cheaply
    # (paging ORDER BY an unindexed x_name re-sorts the whole table for every page)
    return TablePane(
        "assets", "Assets", COLUMNS, placeholder="Filter assets (Ctrl+F)", default_sort=0
    )


def open_ticket_domain() -> Domain:
    return [(f"{HelpdeskTicket.STAGE}.fold", "=", False)]


async def open_ticket_counts(gateway: OdooGateway) -> dict[int, int]:
    """Open tickets per asset, for every asset the user can see tickets of: one grouped query
    (it returns only assets that have open tickets, so it stays small on a 100k-asset scope)."""
    groups = await gateway.read_group(
        HelpdeskTicket.MODEL,
        [[HelpdeskTicket.ASSET, "!=", False], *[list(leaf) for leaf in open_ticket_domain()]],
        [HelpdeskTicket.ASSET],
    )
    counts: dict[int, int] = {}
    for group in groups:
        asset = many2one_id(group.get(HelpdeskTicket.ASSET))
        if asset is not None:
            counts[asset] = int(group.get("__count", 0))
    return counts


def loader(gateway: OdooGateway, domain: Domain) -> Any:
    """Assets page by page; the open-ticket counts are read once, alongside the first page."""
    pages = odoo_loader(
        gateway,
        ClientAsset.MODEL,
        domain,
        FIELDS,
        operation="assets.load",
        order="id",  # see make_pane
    )

    async def load(progress: Callable[[int, int], None]) -> AsyncIterator[list[Row]]:
        with gateway.operation("assets.load"):  # the task inherits the RPC accounting
            counts = asyncio.ensure_future(open_ticket_counts(gateway))
        try:
            async for page in pages(progress):
                known = await asyncio.shield(counts)
                for row in page:
                    row[OPEN_TICKETS] = known.get(row["id"], 0)
                yield page
        finally:
            counts.cancel()

    return load


def detail_renderer(gateway: OdooGateway) -> Any:
    async def render(row: Row) -> str:
        tickets = await gateway.search_read(
            HelpdeskTicket.MODEL,
            [[HelpdeskTicket.ASSET, "=", row["id"]]],
            [HelpdeskTicket.NAME, HelpdeskTicket.STAGE, HelpdeskTicket.PRIORITY, "create_date"],
            order="id desc",
            limit=20,
        )
        items = "".join(
            f"<li>#{t['id']} {escape(str(t[HelpdeskTicket.NAME]))} — "
            f"{escape(str(t[HelpdeskTicket.STAGE][1] if t[HelpdeskTicket.STAGE] else ''))}"
            f" <span class='muted'>{age_of(t.get('create_date'))} ago</span></li>"
            for t in tickets
        )
        facts = html_table(
            {
                "Client": row[ClientAsset.PARTNER][1] if row.get(ClientAsset.PARTNER) else "",
                "OS": row.get(ClientAsset.OS_INFO),
                "Serial": row.get(ClientAsset.SERIAL_NUMBER),
                "Pulseway id": row.get(ClientAsset.PULSEWAY_ID),
                "Last audit": short_datetime(row.get(ClientAsset.LAST_AUDIT)),
                "Status": row.get(ClientAsset.STATUS),
            }
        )
        return (
            f"<h3>{escape(str(row.get(ClientAsset.NAME) or ''))}</h3>{facts}"
            f"<h4>Tickets</h4><ul>{items or '<li>none</li>'}</ul>"
        )

    return render
