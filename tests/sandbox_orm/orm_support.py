"""Helpers of the sandbox ORM tests (imported by the test modules of this directory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.sandbox.odoo.orm import Database

ADMIN = 2
SUPERUSER = 1

Call = Callable[..., Any]


def ref(db: Database, xmlid: str) -> int:
    """The id behind an external id."""
    module, _, name = xmlid.partition(".")
    model_and_id = db.call_kw(1, "ir.model.data", "check_object_reference", [module, name], {})
    return int(model_and_id[1])


def make_model(
    db: Database,
    model: str,
    fields: list[dict[str, Any]],
    *,
    name: str = "Test Model",
    acl_group: str | None = "base.group_user",
    **model_vals: Any,
) -> int:
    """Create a custom model with fields and (by default) a full ACL for internal users."""
    model_id = db.call_kw(
        ADMIN, "ir.model", "create", [{"name": name, "model": model, **model_vals}], {}
    )
    for vals in fields:
        db.call_kw(ADMIN, "ir.model.fields", "create", [{"model_id": model_id, **vals}], {})
    if acl_group is not None:
        db.call_kw(
            ADMIN,
            "ir.model.access",
            "create",
            [
                {
                    "name": f"access_{model}",
                    "model_id": model_id,
                    "group_id": ref(db, acl_group),
                    "perm_read": True,
                    "perm_write": True,
                    "perm_create": True,
                    "perm_unlink": True,
                }
            ],
            {},
        )
    return int(model_id)
