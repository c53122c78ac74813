"""Fixtures: the small world in a provisioned sandbox Odoo and the Pulseway stand-in (with the
seed's organization-create endpoint served), a fault injector in front of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from approvals_support import TOKEN_ID, TOKEN_SECRET, FaultInjector, Served

from console.sandbox.odoo.server import OdooServer
from console.sandbox.pulseway import create_pulseway_app
from console.sandbox.runner import open_odoo_database
from console.sandbox.serving import BackgroundServer
from console.sandbox.world import build_world


@pytest.fixture
def served() -> Iterator[Served]:
    world = build_world("small", seed=7)
    database = open_odoo_database("psa", None, world)
    odoo = BackgroundServer(OdooServer({"psa": database}).app).start()
    app = create_pulseway_app(
        world,
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        rate_limits=(),
        allow_org_create=True,
    )
    faults = FaultInjector(app)
    pulseway = BackgroundServer(faults).start()
    try:
        yield Served(
            world,
            database,
            odoo.url,
            f"{pulseway.url}/v3",
            faults,
            app.state.pulseway,
        )
    finally:
        pulseway.stop()
        odoo.stop()
        database.close()
