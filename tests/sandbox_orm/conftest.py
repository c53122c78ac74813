"""Fixtures of the sandbox ORM tests: fresh databases, called the way the wire layer calls them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from orm_support import ADMIN, Call

from console.sandbox.odoo.orm import Database, seed_small_dataset


@pytest.fixture
def db() -> Iterator[Database]:
    """A fresh in-memory database with the base seed data."""
    database = Database("orm-test")
    yield database
    database.close()


@pytest.fixture
def small_db(db: Database) -> Database:
    """The base seed plus the small demo dataset (partners, subscriptions, tickets)."""
    seed_small_dataset(db)
    return db


@pytest.fixture
def call(db: Database) -> Call:
    """``call(model, method, *args, uid=2, **kwargs)``: ``call_kw`` as the admin by default."""

    def invoke(model: str, method: str, *args: Any, uid: int = ADMIN, **kwargs: Any) -> Any:
        return db.call_kw(uid, model, method, list(args), kwargs)

    return invoke


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    return str(tmp_path / "odoo-test.sqlite3")
