"""Loading Odoo records into a pane: scope ∧ filter domain, only the needed fields, paged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from console.domain.search_domain import Domain
from console.odoo.gateway import OdooGateway
from console.ui.models.records import Row


def odoo_loader(
    gateway: OdooGateway,
    model: str,
    domain: Domain,
    fields: Sequence[str],
    *,
    operation: str,
    order: str = "id desc",
    enrich: Callable[[list[Row]], Any] | None = None,
) -> Callable[[Callable[[int, int], None]], AsyncIterator[list[Row]]]:
    """A pane loader reading ``model`` page by page; ``enrich(page)`` may add computed columns
    with one grouped RPC per page (e.g. open-ticket counts)."""

    async def load(progress: Callable[[int, int], None]) -> AsyncIterator[list[Row]]:
        with gateway.operation(operation):
            async for page in gateway.search_read_pages(
                model,
                [list(leaf) if isinstance(leaf, tuple) else leaf for leaf in domain],
                fields,
                order=order,
                on_progress=progress,
            ):
                if enrich is not None and page:
                    await enrich(page)
                yield page

    return load
