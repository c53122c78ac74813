"""Fixtures: a fresh Northwind IT world in a served sandbox Odoo and a relay whose rules worker
signs in as a dedicated service account (psa.group_service), all on loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rules_support import RulesWorld, serve_sa_world, start_rules_relay

from console.sandbox.odoo.orm import Database


@pytest.fixture
def odoo_world() -> Iterator[tuple[Database, dict[str, dict[str, int]], str]]:
    """The SA world plus the relay's service account, served on loopback."""
    database, ids, url, stop = serve_sa_world()
    try:
        yield database, ids, url
    finally:
        stop()


@pytest.fixture
def start_rules(
    odoo_world: tuple[Database, dict[str, dict[str, int]], str], tmp_path: Path
) -> Iterator[Callable[..., RulesWorld]]:
    """Start a relay (store ``relay.sqlite3`` in tmp_path unless given) with the rules worker;
    every started relay stops afterwards. Call again after ``stop()`` to restart on the same
    store."""
    database, ids, url = odoo_world
    started: list[RulesWorld] = []

    def start(db: Path | None = None, **worker_options: Any) -> RulesWorld:
        world = start_rules_relay(
            database, ids, url, db or tmp_path / "relay.sqlite3", **worker_options
        )
        started.append(world)
        return world

    yield start
    for world in started:
        world.close()
        world.background.stop()


@pytest.fixture
def rules(start_rules: Callable[..., RulesWorld]) -> RulesWorld:
    world = start_rules()
    world.settle()
    return world
