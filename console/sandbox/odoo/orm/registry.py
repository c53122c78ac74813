"""The registry: every model's definition (fields, table, order, delegation) and its DDL.

Standard models are declared in Python (``standard_models``); custom ``x_`` models and fields are
rebuilt from the ``ir_model`` / ``ir_model_fields`` tables, exactly as Odoo's registry loads
manual models, so they survive reopening a database file.
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.sql import check_identifier, quote

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.models import BaseModel

MODEL_NAME = re.compile(r"^[a-z0-9_.]+$")
#: fields every model has, maintained by the ORM itself
LOG_ACCESS_FIELDS = ("create_uid", "create_date", "write_uid", "write_date")
MAGIC_FIELDS = ("id", "display_name", *LOG_ACCESS_FIELDS)


def table_name(model: str) -> str:
    """Odoo's ``_table`` for a model name."""
    return check_identifier(model.replace(".", "_"))


@dataclass
class ModelDef:
    """One model of the registry."""

    name: str
    description: str
    cls: type[BaseModel]
    fields: dict[str, f.Field] = field(default_factory=dict)
    order: str = "id"
    rec_name: str | None = "name"
    parent_name: str | None = None
    #: ``{parent model: delegating many2one}`` (``_inherits``)
    inherits: dict[str, str] = field(default_factory=dict)
    mail_thread: bool = False
    state: str = "base"
    transient: bool = False
    abstract: bool = False
    info: str = ""
    module: str = "base"
    table: str = ""
    #: raw columns the ORM never reads or writes as fields (password and key hashes)
    extra_columns: dict[str, str] = field(default_factory=dict)
    #: facts derived from ``fields`` (write plans, defaults); emptied when fields change
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.table:
            self.table = table_name(self.name)

    @property
    def active_name(self) -> str | None:
        """The field driving ``active_test``: ``active``, else ``x_active``."""
        for name in ("active", "x_active"):
            fld = self.fields.get(name)
            if fld is not None and fld.type == "boolean":
                return name
        return None

    def column_fields(self) -> list[f.Field]:
        return [fld for fld in self.fields.values() if fld.has_column]

    def copy(self) -> ModelDef:
        clone = copy.copy(self)
        clone.fields = dict(self.fields)
        clone.inherits = dict(self.inherits)
        clone.cache = {}
        return clone


def _magic_fields() -> dict[str, f.Field]:
    return {
        "id": f.Id("ID", readonly=True),
        "display_name": f.Char(
            "Display Name", store=False, compute=_display_name_compute, search=_display_name_search
        ),
        "create_uid": f.Many2one("res.users", "Created by", readonly=True, index=False),
        "create_date": f.Datetime("Created on", readonly=True),
        "write_uid": f.Many2one("res.users", "Last Updated by", readonly=True, index=False),
        "write_date": f.Datetime("Last Updated on", readonly=True),
    }


def _display_name_compute(records: BaseModel) -> dict[int, Any]:
    return records._display_names(records.ids)


def _display_name_search(model: BaseModel, operator: str, value: Any) -> list[Any]:
    return model._search_display_name(operator, value)


def finalize_model(model: ModelDef) -> ModelDef:
    """Bind field definitions to the model and add the magic fields every model has."""
    own = dict(model.fields)
    fields: dict[str, f.Field] = {}
    magic = _magic_fields()
    fields["id"] = magic.pop("id").bound(model.name, "id")
    for name, fld in own.items():
        fields[name] = (
            fld
            if fld.name == name and fld.model_name == model.name
            else fld.bound(model.name, name)
        )
    for name, fld in magic.items():
        if name not in fields:
            fields[name] = fld.bound(model.name, name)
    model.fields = fields
    if model.rec_name and model.rec_name not in fields and not model.inherits:
        # (a delegating model gets its parent's fields, e.g. ``name``, later)
        model.rec_name = "x_name" if "x_name" in fields else None
    if (
        model.parent_name is None
        and "parent_id" in fields
        and getattr(fields["parent_id"], "comodel", None) == model.name
    ):
        model.parent_name = "parent_id"
    return model


class Registry:
    """All models by name; derived indexes are rebuilt when the set of models changes."""

    def __init__(self, models: dict[str, ModelDef] | None = None) -> None:
        self.models: dict[str, ModelDef] = dict(models or {})
        self._referrers: dict[str, list[f.Many2one]] | None = None

    def __contains__(self, name: object) -> bool:
        return name in self.models

    def __getitem__(self, name: str) -> ModelDef:
        return self.models[name]

    def get(self, name: str) -> ModelDef | None:
        return self.models.get(name)

    def __iter__(self) -> Iterator[ModelDef]:
        return iter(self.models.values())

    def copy(self) -> Registry:
        return Registry({name: model.copy() for name, model in self.models.items()})

    def changed(self) -> None:
        """Forget derived indexes after a model or field was added or removed."""
        self._referrers = None
        for model in self.models.values():
            model.cache.clear()

    def add(self, model: ModelDef) -> None:
        self.models[model.name] = finalize_model(model)
        self.changed()

    def setup_inherits(self) -> None:
        """Give each ``_inherits`` child the parent's fields it does not define itself."""
        for model in self.models.values():
            for parent_name, link in model.inherits.items():
                parent = self.models[parent_name]
                for name, parent_field in parent.fields.items():
                    if name in model.fields or name in MAGIC_FIELDS:
                        continue
                    if parent_field.inherited_from is not None:
                        continue
                    inherited = parent_field.bound(model.name, name)
                    inherited.inherited_from = (parent_name, link)
                    inherited.related = f"{link}.{name}"
                    inherited.store = False
                    model.fields[name] = inherited
        self.changed()

    def add_inherited_field(self, parent_field: f.Field) -> None:
        """Propagate a field added at runtime to the ``_inherits`` children of its model."""
        for model in self.models.values():
            link = model.inherits.get(parent_field.model_name)
            if link is None or parent_field.name in model.fields:
                continue
            inherited = parent_field.bound(model.name, parent_field.name)
            inherited.inherited_from = (parent_field.model_name, link)
            inherited.related = f"{link}.{parent_field.name}"
            inherited.store = False
            model.fields[parent_field.name] = inherited

    def referrers(self, model_name: str) -> list[f.Many2one]:
        """Stored many2one fields pointing at ``model_name`` (for ``ondelete``)."""
        if self._referrers is None:
            index: dict[str, list[f.Many2one]] = {}
            for model in self.models.values():
                for fld in model.fields.values():
                    if isinstance(fld, f.Many2one) and fld.has_column:
                        index.setdefault(fld.comodel, []).append(fld)
            self._referrers = index
        return self._referrers.get(model_name, [])

    def many2many_fields(self) -> Iterator[f.Many2many]:
        for model in self.models.values():
            for fld in model.fields.values():
                if isinstance(fld, f.Many2many) and fld.inherited_from is None:
                    yield fld


# ---------------------------------------------------------------------- DDL
def create_table(cr: sqlite3.Connection, model: ModelDef) -> None:
    """Create the model's table (and its indexes, relation tables) if missing."""
    columns = ["id INTEGER PRIMARY KEY AUTOINCREMENT"]
    for fld in model.column_fields():
        if fld.name == "id":
            continue
        columns.append(f"{quote(check_identifier(fld.name))} {fld.column_type}")
    for name, column_type in model.extra_columns.items():
        columns.append(f"{quote(check_identifier(name))} {column_type}")
    cr.execute(f"CREATE TABLE IF NOT EXISTS {quote(model.table)} ({', '.join(columns)})")
    existing = {row[1] for row in cr.execute(f"PRAGMA table_info({quote(model.table)})")}
    for fld in model.column_fields():
        if fld.name not in existing:
            add_column(cr, model, fld)
        else:
            create_index(cr, model, fld)
    for name, column_type in model.extra_columns.items():
        if name not in existing:
            cr.execute(f"ALTER TABLE {quote(model.table)} ADD COLUMN {quote(name)} {column_type}")
    for fld in model.fields.values():
        if isinstance(fld, f.Many2many) and fld.inherited_from is None:
            create_relation_table(cr, fld)


def add_column(cr: sqlite3.Connection, model: ModelDef, fld: f.Field) -> None:
    cr.execute(
        f"ALTER TABLE {quote(model.table)} ADD COLUMN "
        f"{quote(check_identifier(fld.name))} {fld.column_type}"
    )
    create_index(cr, model, fld)


def create_index(cr: sqlite3.Connection, model: ModelDef, fld: f.Field) -> None:
    if fld.index and fld.name != "id":
        cr.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(f'{model.table}__{fld.name}_index')} "
            f"ON {quote(model.table)} ({quote(fld.name)})"
        )


def drop_column(cr: sqlite3.Connection, model: ModelDef, name: str) -> None:
    cr.execute(f"DROP INDEX IF EXISTS {quote(f'{model.table}__{name}_index')}")
    existing = {row[1] for row in cr.execute(f"PRAGMA table_info({quote(model.table)})")}
    if name in existing:
        cr.execute(f"ALTER TABLE {quote(model.table)} DROP COLUMN {quote(name)}")


def create_relation_table(cr: sqlite3.Connection, fld: f.Many2many) -> None:
    rel, c1, c2 = (
        check_identifier(fld.relation),
        check_identifier(fld.column1),
        check_identifier(fld.column2),
    )
    cr.execute(
        f"CREATE TABLE IF NOT EXISTS {quote(rel)} ({quote(c1)} INTEGER NOT NULL, "
        f"{quote(c2)} INTEGER NOT NULL, PRIMARY KEY ({quote(c1)}, {quote(c2)}))"
    )
    cr.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(f'{rel}_{c2}_idx')} ON {quote(rel)} "
        f"({quote(c2)}, {quote(c1)})"
    )
