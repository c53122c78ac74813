"""The standard models a fresh Odoo 19 with ``helpdesk`` and ``sale_subscription`` has."""

from __future__ import annotations

from console.sandbox.odoo.orm import base_models, business_models, mail, runtime_schema
from console.sandbox.odoo.orm.registry import Registry


def standard_registry() -> Registry:
    """A new registry holding every standard model (custom ones are loaded on top)."""
    registry = Registry()
    for model in (
        *base_models.definitions(),
        *runtime_schema.definitions(),
        *mail.definitions(),
        *business_models.definitions(),
    ):
        registry.add(model)
    registry.setup_inherits()
    return registry
