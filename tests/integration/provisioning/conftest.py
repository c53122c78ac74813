"""Fixtures for the provisioning tests: fresh sandbox databases, provisioned or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console.domain.schema import Schema
from console.odoo.schema import load_schema
from console.sandbox.sa_fixture import provision_database


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema()


@pytest.fixture
def fresh_odoo(odoo_factory: Callable[..., Any]) -> Any:
    """A sandbox Odoo as a new Odoo 19 database with Helpdesk and Subscriptions: no psa schema."""
    return odoo_factory(small_dataset=False)


@pytest.fixture
def provisioned_odoo(fresh_odoo: Any, schema: Schema) -> Any:
    """A sandbox Odoo provisioned once (in-process, as admin)."""
    provision_database(fresh_odoo.database, schema)
    return fresh_odoo
