"""The sandbox's ORM: Odoo 19 models, fields, domains, access rules and seed data on SQLite.

The wire layer (``console.sandbox.odoo.server``) calls :class:`Database`; everything else here is
the machinery behind it.
"""

from console.sandbox.odoo.orm.database import Database
from console.sandbox.odoo.orm.environment import SUPERUSER_ID
from console.sandbox.odoo.orm.seed import (
    ADMIN_API_KEY,
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    DEMO_LOGIN,
    DEMO_PASSWORD,
    seed_small_dataset,
)

__all__ = [
    "ADMIN_API_KEY",
    "ADMIN_LOGIN",
    "ADMIN_PASSWORD",
    "DEMO_LOGIN",
    "DEMO_PASSWORD",
    "SUPERUSER_ID",
    "Database",
    "seed_small_dataset",
]
