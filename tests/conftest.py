"""Fixtures shared across the suite: real servers on loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest

from console.sandbox.serving import BackgroundServer


@dataclass
class RunningOdoo:
    """A sandbox Odoo served on a loopback port."""

    url: str
    host: str
    port: int
    db_name: str
    database: Any  # console.sandbox.odoo.orm.Database
    server: Any  # console.sandbox.odoo.server.OdooServer


def _start_odoo(
    *,
    small_dataset: bool,
    db_name: str = "psa",
    path: str | None = None,
) -> tuple[RunningOdoo, BackgroundServer]:
    from console.sandbox.odoo.orm import Database, seed_small_dataset
    from console.sandbox.odoo.server import OdooServer

    database = Database(db_name, path, seed=True)
    if small_dataset:
        seed_small_dataset(database)
    server = OdooServer({db_name: database})
    background = BackgroundServer(server.app).start()
    parsed = urlparse(background.url)
    assert parsed.hostname is not None and parsed.port is not None
    return RunningOdoo(
        background.url, parsed.hostname, parsed.port, db_name, database, server
    ), background


@pytest.fixture
def odoo_factory() -> Iterator[Callable[..., RunningOdoo]]:
    """Start as many fresh sandbox Odoo servers as a test needs; all stop afterwards."""
    started: list[tuple[RunningOdoo, BackgroundServer]] = []

    def start(**kwargs: Any) -> RunningOdoo:
        running, background = _start_odoo(**kwargs)
        started.append((running, background))
        return running

    yield start
    for running, background in started:
        background.stop()
        running.database.close()


@pytest.fixture
def odoo(odoo_factory: Callable[..., RunningOdoo]) -> RunningOdoo:
    """A fresh sandbox Odoo (database ``psa``, admin/admin) with the small dataset."""
    return odoo_factory(small_dataset=True)
