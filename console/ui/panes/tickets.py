"""The Tickets pane: helpdesk tickets stamped with the current SA."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from console.domain.names import HelpdeskTicket
from console.domain.search_domain import Domain
from console.odoo.gateway import OdooGateway
from console.ui.formatting import TICKET_PRIORITIES, age_of, parse_odoo_datetime
from console.ui.models.records import Column, Row
from console.ui.panes.odoo_loading import odoo_loader
from console.ui.panes.pane import TablePane, html_table

FIELDS = [
    HelpdeskTicket.NAME,
    HelpdeskTicket.PARTNER,
    HelpdeskTicket.ASSET,
    HelpdeskTicket.ASSIGNED_USER,
    HelpdeskTicket.PRIORITY,
    HelpdeskTicket.STAGE,
    HelpdeskTicket.ALERT_COUNT,
    "create_date",
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PRIORITY_COLOURS = {"3": "#d64545", "2": "#e8833a"}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _priority_colour(row: Mapping[str, Any]) -> Any:
    colour = _PRIORITY_COLOURS.get(str(row.get(HelpdeskTicket.PRIORITY)))
    return QColor(colour) if colour else None


COLUMNS = [
    Column(
        "id",
        "Number",
        70,
        display=lambda r: f"#{r['id']}",
        sort_value=lambda r: r["id"],
        alignment=_RIGHT,
    ),
    Column(HelpdeskTicket.NAME, "Title", 300),
    Column(HelpdeskTicket.PARTNER, "Client", 170),
    Column(HelpdeskTicket.ASSET, "Asset", 140),
    Column(
        HelpdeskTicket.ASSIGNED_USER,
        "Assignee",
        120,
        display=lambda r: (
            r[HelpdeskTicket.ASSIGNED_USER][1]
            if r.get(HelpdeskTicket.ASSIGNED_USER)
            else "Unassigned"
        ),
    ),
    Column(
        HelpdeskTicket.PRIORITY,
        "Priority",
        80,
        display=lambda r: TICKET_PRIORITIES.get(str(r.get(HelpdeskTicket.PRIORITY)), ""),
        sort_value=lambda r: int(r.get(HelpdeskTicket.PRIORITY) or 0),
        roles={int(Qt.ItemDataRole.ForegroundRole): _priority_colour},
    ),
    Column(HelpdeskTicket.STAGE, "Stage", 110),
    Column(
        "create_date",
        "Age",
        70,
        display=lambda r: age_of(r.get("create_date")),
        sort_value=lambda r: -(parse_odoo_datetime(r.get("create_date")) or _EPOCH).timestamp(),
        alignment=_RIGHT,
        filterable=False,
    ),
]


def make_pane() -> TablePane:
    return TablePane("tickets", "Tickets", COLUMNS, placeholder="Filter tickets (Ctrl+F)")


def loader(gateway: OdooGateway, domain: Domain) -> Any:
    return odoo_loader(
        gateway,
        HelpdeskTicket.MODEL,
        domain,
        FIELDS,
        operation="tickets.load",
        order="priority desc, id desc",
    )


def detail_renderer(gateway: OdooGateway) -> Any:
    async def render(row: Row) -> str:
        [ticket] = await gateway.call(
            HelpdeskTicket.MODEL,
            "read",
            [row["id"]],
            fields=[HelpdeskTicket.DESCRIPTION, HelpdeskTicket.TEAM],
        ) or [{}]
        messages = await gateway.search_read(
            "mail.message",
            [["model", "=", HelpdeskTicket.MODEL], ["res_id", "=", row["id"]]],
            ["body", "author_id", "date"],
            order="date desc, id desc",
            limit=30,
        )
        chatter = "".join(
            f"<div class='message'><b>{escape(m['author_id'][1] if m.get('author_id') else 'System')}"
            f"</b> <span class='muted'>{age_of(m.get('date'))} ago</span>"
            f"<div>{m.get('body') or ''}</div></div>"
            for m in messages
        )
        facts = html_table(
            {
                "Client": row[HelpdeskTicket.PARTNER][1] if row.get(HelpdeskTicket.PARTNER) else "",
                "Asset": row[HelpdeskTicket.ASSET][1] if row.get(HelpdeskTicket.ASSET) else "",
                "Team": ticket.get(HelpdeskTicket.TEAM)[1]
                if ticket.get(HelpdeskTicket.TEAM)
                else "",
                "Priority": TICKET_PRIORITIES.get(str(row.get(HelpdeskTicket.PRIORITY)), ""),
                "Repeats": row.get(HelpdeskTicket.ALERT_COUNT) or "",
            }
        )
        # description and chatter bodies are Odoo HTML (sanitised by Odoo), shown as such
        return (
            f"<h3>#{row['id']} {escape(str(row.get(HelpdeskTicket.NAME) or ''))}</h3>{facts}"
            f"<h4>Description</h4><div>{ticket.get(HelpdeskTicket.DESCRIPTION) or ''}</div>"
            f"<h4>Chatter</h4>{chatter or '<p>No messages.</p>'}"
        )

    return render
