"""The Northwind IT SA world in a sandbox Odoo served on loopback, shared by a test module.

Access tests only read, so one world per module is enough; each user logs in once through
unmodified odoorpc, exactly as any RPC client would.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from access_support import SaWorld

from console.sandbox.odoo.orm import Database
from console.sandbox.odoo.server import OdooServer
from console.sandbox.sa_fixture import build_sa_world
from console.sandbox.serving import BackgroundServer


@pytest.fixture(scope="module")
def sa_world() -> Iterator[SaWorld]:
    database = Database("psa", None, seed=True)
    ids = build_sa_world(database)
    background = BackgroundServer(OdooServer({"psa": database}).app).start()
    parsed = urlparse(background.url)
    assert parsed.hostname is not None and parsed.port is not None
    try:
        yield SaWorld(background.url, parsed.hostname, parsed.port, "psa", database, ids)
    finally:
        background.stop()
        database.close()
