"""Fixtures for the pure-domain tests: the product's real schema."""

from __future__ import annotations

import pytest

from console.domain.schema import Schema
from console.odoo.schema import load_schema


@pytest.fixture(scope="session")
def schema() -> Schema:
    """resources/odoo/schema.toml, parsed and checked."""
    return load_schema()
