"""A served sandbox Odoo loaded with the small demo world (SA tree, users, subscriptions with a
stale managed-seat quantity, active and decommissioned assets), fresh for every test: the
recount writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from billing_support import BillingWorld, start_billing_world


@pytest.fixture
def billing_world() -> Iterator[BillingWorld]:
    world, stop = start_billing_world()
    try:
        yield world
    finally:
        stop()
