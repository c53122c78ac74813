"""The schema as data: ``ir.model``, ``ir.model.fields`` and ``ir.model.fields.selection``.

Every model and field of the registry has its row (``state='base'`` for the standard ones), so
clients and ``psa doctor`` can introspect them the Odoo way. Creating a ``manual`` row over RPC
changes the schema in the same transaction, as Odoo's registry reload does: the model gets its
table, the field its column (or relation table), and both show in ``fields_get`` at once.
Rolling the transaction back rolls the DDL back too; the database then rebuilds its registry.
"""

from __future__ import annotations

import ast
import re
import sqlite3
from typing import Any

from console.sandbox.odoo.exceptions import UserError, ValidationError
from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.environment import Env
from console.sandbox.odoo.orm.mail import MailThread, thread_fields
from console.sandbox.odoo.orm.models import BaseModel, not_null_error
from console.sandbox.odoo.orm.query import parse_order
from console.sandbox.odoo.orm.registry import (
    MODEL_NAME,
    ModelDef,
    Registry,
    add_column,
    create_index,
    create_relation_table,
    create_table,
    drop_column,
    table_name,
)
from console.sandbox.odoo.orm.sql import in_list, quote

FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TTYPES = sorted({*f.FIELD_TYPES, *f.UNSUPPORTED_TTYPES})
ON_DELETE = [("cascade", "Cascade"), ("set null", "Set NULL"), ("restrict", "Restrict")]
FIELD_ROW_COLUMNS = (
    "name",
    "model",
    "model_id",
    "field_description",
    "help",
    "ttype",
    "relation",
    "relation_field",
    "relation_table",
    "column1",
    "column2",
    "required",
    "readonly",
    "index",
    "store",
    "copied",
    "translate",
    "size",
    "on_delete",
    "domain",
    "state",
    "related",
    "currency_field",
    "selection",
)


class CustomModel(BaseModel):
    """A model created at runtime (``ir.model`` with ``state='manual'``)."""

    __slots__ = ()


class CustomMailThread(MailThread):
    """A runtime model whose ``ir.model`` has ``is_mail_thread``."""

    __slots__ = ()


def custom_many2many_names(model: str, comodel: str) -> tuple[str, str, str]:
    """Odoo's default table and columns of a custom many2many."""
    rel1, rel2 = table_name(model), table_name(comodel)
    table = "x_{}_{}_rel".format(*sorted([rel1, rel2]))
    if rel1 == rel2:
        return table, "id1", "id2"
    return table, f"{rel1}_id", f"{rel2}_id"


def manual_model_def(
    name: str,
    description: str,
    *,
    order: str | None,
    info: str | None,
    transient: bool,
    mail_thread: bool,
) -> ModelDef:
    return ModelDef(
        name,
        description,
        CustomMailThread if mail_thread else CustomModel,
        fields=thread_fields() if mail_thread else {},
        order=order or "id",
        rec_name="x_name",
        state="manual",
        transient=transient,
        info=info or "",
        mail_thread=mail_thread,
        module="",
    )


def field_from_row(row: dict[str, Any], selection: list[tuple[str, str]]) -> f.Field:
    """The registry field of a manual ``ir.model.fields`` row."""
    ttype = row["ttype"]
    common: dict[str, Any] = {
        "required": bool(row["required"]),
        "readonly": bool(row["readonly"]),
        "help": row["help"] or None,
        "index": bool(row["index"]),
        "copy": bool(row["copied"]),
        "state": "manual",
        "translate": bool(row["translate"]),
    }
    string = row["field_description"]
    if ttype == "many2one":
        common["index"] = True  # every custom many2one is looked up by the product
        return f.Many2one(
            row["relation"],
            string,
            ondelete=row["on_delete"] or "set null",
            domain=row["domain"] or None,
            **common,
        )
    if ttype == "one2many":
        return f.One2many(
            row["relation"], row["relation_field"], string, domain=row["domain"] or None, **common
        )
    if ttype == "many2many":
        return f.Many2many(
            row["relation"],
            row["relation_table"],
            row["column1"],
            row["column2"],
            string,
            domain=row["domain"] or None,
            **common,
        )
    if ttype == "selection":
        return f.Selection(selection, string, **common)
    if ttype == "monetary":
        return f.Monetary(string, currency_field=row["currency_field"] or None, **common)
    if ttype == "char":
        return f.Char(string, size=row["size"] or None, **common)
    return f.FIELD_TYPES[ttype](string, **common)


def field_row(field: f.Field, model_id: int) -> dict[str, Any]:
    """The ``ir.model.fields`` row describing a registry field."""
    domain = field.domain
    return {
        "name": field.name,
        "model": field.model_name,
        "model_id": model_id,
        "field_description": field.string,
        "help": field.help,
        "ttype": field.type,
        "relation": field.comodel,
        "relation_field": getattr(field, "inverse_name", None),
        "relation_table": getattr(field, "relation", None) or None,
        "column1": getattr(field, "column1", None) or None,
        "column2": getattr(field, "column2", None) or None,
        "required": int(field.required),
        "readonly": int(field.readonly),
        "index": int(field.index),
        "store": int(field.store),
        "copied": int(field.copy),
        "translate": int(field.translate),
        "size": field.size,
        "on_delete": getattr(field, "ondelete", None),
        "domain": domain if isinstance(domain, str) else repr(domain) if domain else "[]",
        "state": "manual" if field.state == "manual" else "base",
        "related": field.related,
        "currency_field": getattr(field, "currency_field", None),
        "selection": repr(field.selection) if isinstance(field, f.Selection) else None,
    }


# ---------------------------------------------------------------------- metadata rows
def insert_field_rows(env: Env, model: ModelDef, model_id: int, fields: list[f.Field]) -> None:
    """Write ``ir.model.fields`` rows (and selection rows, external ids) for ``fields``."""
    now, uid = env.txn.now, env.uid
    module = model.module
    for field in fields:
        row = field_row(field, model_id)
        names = [*row, "create_uid", "create_date", "write_uid", "write_date"]
        values = [*row.values(), uid, now, uid, now]
        field_id = env.execute(
            f"INSERT INTO ir_model_fields ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join('?' * len(names))}) RETURNING id",
            values,
        ).fetchone()[0]
        if isinstance(field, f.Selection):
            env.txn.cr.executemany(
                "INSERT INTO ir_model_fields_selection (field_id, value, name, sequence, "
                "create_uid, create_date, write_uid, write_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (field_id, value, label, seq, uid, now, uid, now)
                    for seq, (value, label) in enumerate(field.selection)
                ],
            )
        if module and field.state != "manual":
            add_xmlid(
                env, module, f"field_{model.table}__{field.name}", "ir.model.fields", field_id
            )


def insert_model_rows(env: Env, models: list[ModelDef]) -> None:
    """Write the ``ir.model`` rows (and their fields') of registry models."""
    now, uid = env.txn.now, env.uid
    for model in models:
        model_id = env.execute(
            'INSERT INTO ir_model (name, model, "order", info, state, transient, abstract, '
            "is_mail_thread, create_uid, create_date, write_uid, write_date) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                model.description,
                model.name,
                model.order,
                model.info or None,
                model.state,
                int(model.transient),
                int(model.abstract),
                int(model.mail_thread),
                uid,
                now,
                uid,
                now,
            ),
        ).fetchone()[0]
        if model.module:
            add_xmlid(env, model.module, f"model_{model.table}", "ir.model", model_id)
        insert_field_rows(env, model, model_id, list(model.fields.values()))


def add_xmlid(
    env: Env, module: str, name: str, model: str, res_id: int, noupdate: bool = False
) -> None:
    now, uid = env.txn.now, env.uid
    env.execute(
        "INSERT INTO ir_model_data (module, name, model, res_id, noupdate, create_uid, "
        "create_date, write_uid, write_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (module, name, model, res_id, int(noupdate), uid, now, uid, now),
    )


def _rows(cr: sqlite3.Connection, code: str, params: Any = ()) -> list[dict[str, Any]]:
    cursor = cr.execute(code, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _selections(cr: sqlite3.Connection, field_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    if not field_ids:
        return {}
    sql = in_list("field_id", field_ids)
    out: dict[int, list[tuple[str, str]]] = {}
    for field_id, value, label in cr.execute(
        f"SELECT field_id, value, name FROM ir_model_fields_selection WHERE {sql.code} "
        "ORDER BY sequence, id",
        sql.params,
    ):
        out.setdefault(field_id, []).append((value, label))
    return out


def attach_manual_field(
    registry: Registry, row: dict[str, Any], selection: list[tuple[str, str]]
) -> f.Field:
    """Put the field of a manual row into the registry (no DDL)."""
    model = registry[row["model"]]
    field = field_from_row(row, selection).bound(model.name, row["name"])
    model.fields[field.name] = field
    if field.name == "x_name" and not model.rec_name:
        model.rec_name = "x_name"
    registry.add_inherited_field(field)
    registry.changed()
    return field


def detach_manual_field(registry: Registry, model_name: str, name: str) -> f.Field | None:
    model = registry.get(model_name)
    if model is None:
        return None
    field = model.fields.pop(name, None)
    for child in registry:
        inherited = child.fields.get(name)
        if (
            inherited is not None
            and inherited.inherited_from
            and inherited.inherited_from[0] == model_name
        ):
            del child.fields[name]
    if model.rec_name == name:
        model.rec_name = None
    registry.changed()
    return field


def load_manual_schema(cr: sqlite3.Connection, registry: Registry) -> None:
    """Rebuild the custom models and fields of a database into ``registry``."""
    for row in _rows(
        cr,
        'SELECT model, name, "order", info, transient, is_mail_thread '
        "FROM ir_model WHERE state = 'manual' ORDER BY id",
    ):
        registry.add(
            manual_model_def(
                row["model"],
                row["name"],
                order=row["order"],
                info=row["info"],
                transient=bool(row["transient"]),
                mail_thread=bool(row["is_mail_thread"]),
            )
        )
    rows = _rows(cr, "SELECT * FROM ir_model_fields WHERE state = 'manual' ORDER BY id")
    selections = _selections(cr, [row["id"] for row in rows])
    for row in rows:
        if row["model"] in registry:
            attach_manual_field(registry, row, selections.get(row["id"], []))


def parse_selection_string(text: str) -> list[tuple[str, str]]:
    """The deprecated ``selection`` attribute: ``"[('a', 'A'), ('b', 'B')]"``."""
    try:
        value = ast.literal_eval(text)
        pairs = [(str(k), str(v)) for k, v in value]
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ValidationError(
            "The Selection Options expression is not a valid Pythonic expression. Please "
            "provide an expression in the [('key','Label'), ...] format."
        ) from exc
    return pairs


# ---------------------------------------------------------------------- ir.model
class IrModel(BaseModel):
    __slots__ = ()

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        vals["state"] = vals.get("state") or "manual"
        if vals["state"] != "manual":
            return
        name = vals.get("model")
        if not name or not isinstance(name, str):
            raise not_null_error(self._def, self._def.fields["model"])
        if not vals.get("name"):
            raise not_null_error(self._def, self._def.fields["name"])
        if not name.startswith("x_"):
            raise ValidationError("The model name must start with 'x_'.")
        if not MODEL_NAME.match(name):
            raise ValidationError(
                "The model name can only contain lowercase characters, digits, "
                "underscores and dots."
            )
        if (
            name in self.env.registry
            or self.env.execute("SELECT 1 FROM ir_model WHERE model = ?", (name,)).fetchone()
        ):
            raise ValidationError("Each model must have a unique name.")
        model = manual_model_def(
            name,
            vals["name"],
            order=vals.get("order"),
            info=vals.get("info"),
            transient=bool(vals.get("transient")),
            mail_thread=bool(vals.get("is_mail_thread")),
        )
        self.env.txn.schema_changed = True
        self.env.registry.add(model)
        create_table(self.env.cr, model)

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        registry = self.env.registry
        for model_id, vals in zip(self.ids, vals_list, strict=True):
            if vals["state"] != "manual":
                continue
            model = registry[vals["model"]]
            known = {
                row[0]
                for row in self.env.execute(
                    "SELECT name FROM ir_model_fields WHERE model_id = ?", (model_id,)
                )
            }
            insert_field_rows(
                self.env,
                model,
                model_id,
                [fld for name, fld in model.fields.items() if name not in known],
            )
            self._check_order(model)

    @staticmethod
    def _check_order(model: ModelDef) -> None:
        for term in parse_order(model.order or "id"):
            field = model.fields.get(term.field)
            if field is None or not (field.has_column or field.name == "id"):
                raise ValidationError(
                    f"Unable to order by {term.field}: fields used for ordering "
                    "must be present on the model and stored."
                )

    def _prepare_write_vals(self, vals: dict[str, Any]) -> None:
        rows = self.sudo()._read_rows(self.ids, ["model", "state", "transient", "abstract"], None)
        for row in rows:
            if "model" in vals and vals["model"] != row["model"]:
                raise UserError('Field "Model" cannot be modified on models.')
            if "state" in vals and vals["state"] != row["state"]:
                raise UserError('Field "Type" cannot be modified on models.')
            if "transient" in vals and bool(vals["transient"]) != row["transient"]:
                raise UserError('Field "Transient Model" cannot be modified on models.')
            if "abstract" in vals and bool(vals["abstract"]) != row["abstract"]:
                raise UserError('Field "Abstract Model" cannot be modified on models.')

    def _post_write(self, vals: dict[str, Any]) -> None:
        registry = self.env.registry
        rows = self.sudo()._read_rows(
            self.ids, ["model", "name", "order", "info", "state", "is_mail_thread"], None
        )
        for row in rows:
            model = registry.get(row["model"])
            if model is None or row["state"] != "manual":
                continue
            self.env.txn.schema_changed = True
            model.description = row["name"]
            model.info = row["info"] or ""
            model.order = row["order"] or "id"
            self._check_order(model)
            if row["is_mail_thread"] and not model.mail_thread:
                model.mail_thread = True
                model.cls = CustomMailThread
                new_fields = [
                    fld.bound(model.name, name)
                    for name, fld in thread_fields().items()
                    if name not in model.fields
                ]
                for fld in new_fields:
                    model.fields[fld.name] = fld
                insert_field_rows(self.env, model, row["id"], new_fields)
                registry.changed()

    def _pre_unlink(self) -> None:
        env = self.env
        rows = self.sudo()._read_rows(self.ids, ["model", "state", "name"], None)
        for row in rows:
            if row["state"] != "manual":
                raise UserError(
                    f"Model '{row['name']}' contains module data and cannot be removed."
                )
        names = [row["model"] for row in rows]
        relational = env["ir.model.fields"].sudo()
        sql = in_list("relation", names)
        dependents = [
            fid
            for fid, model in env.execute(
                f"SELECT id, model FROM ir_model_fields WHERE {sql.code}", sql.params
            )
            if model not in names
        ]
        if dependents:
            relational.browse(dependents).unlink()
        for name in names:
            model = env.registry.get(name)
            if model is None:
                continue
            env.txn.schema_changed = True
            for field in model.fields.values():
                if isinstance(field, f.Many2many) and field.inherited_from is None:
                    env.execute(f"DROP TABLE IF EXISTS {quote(field.relation)}")
            env.execute(f"DROP TABLE IF EXISTS {quote(model.table)}")
            env.execute("DELETE FROM ir_model_data WHERE model = ?", (name,))
            env.execute("DELETE FROM mail_message WHERE model = ?", (name,))
            del env.registry.models[name]
            env.registry.changed()


# ---------------------------------------------------------------------- ir.model.fields
class IrModelFields(BaseModel):
    __slots__ = ()

    def _field_rows(self) -> list[dict[str, Any]]:
        sql = in_list("id", self.ids)
        return _rows(self.env.cr, f"SELECT * FROM ir_model_fields WHERE {sql.code}", sql.params)

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        rows = self.sudo()._read_rows(ids, ["field_description", "model"], None)
        return {row["id"]: f"{row['field_description']} ({row['model']})" for row in rows}

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        env = self.env
        if vals.get("model_id"):
            row = env.execute(
                "SELECT model FROM ir_model WHERE id = ?", (vals["model_id"],)
            ).fetchone()
            if row:
                vals["model"] = row[0]
        elif vals.get("model"):
            row = env.execute(
                "SELECT id FROM ir_model WHERE model = ?", (vals["model"],)
            ).fetchone()
            if row:
                vals["model_id"] = row[0]
        vals["state"] = vals.get("state") or "manual"
        if vals["state"] != "manual":
            return
        name = vals.get("name")
        if not name or not isinstance(name, str):
            raise not_null_error(self._def, self._def.fields["name"])
        self._check_name(name)
        model = env.registry.get(vals.get("model") or "")
        if model is None:
            raise UserError(f"Model {vals.get('model')!r} does not exist")
        if name in model.fields:
            raise ValidationError("Field names must be unique per model.")
        ttype = vals.get("ttype")
        if not ttype:
            raise not_null_error(self._def, self._def.fields["ttype"])
        if ttype in f.UNSUPPORTED_TTYPES:
            raise UserError(f"The sandbox does not support custom fields of type {ttype!r}.")
        if ttype not in f.FIELD_TYPES:
            raise ValueError(f"Wrong value for ir.model.fields.ttype: {ttype!r}")
        vals.setdefault("copied", ttype != "one2many")
        vals.setdefault("field_description", name)
        self._check_relational(vals, model)
        if ttype == "selection" and vals.get("selection") and not vals.get("selection_ids"):
            pairs = parse_selection_string(vals["selection"])
            vals["selection_ids"] = [
                (0, 0, {"value": k, "name": v, "sequence": i}) for i, (k, v) in enumerate(pairs)
            ]

    @staticmethod
    def _check_name(name: str) -> None:
        if not name.startswith("x_"):
            raise ValidationError("Custom fields must have a name that starts with 'x_'!")
        if not FIELD_NAME.match(name):
            raise ValidationError(
                "Field names can only contain characters, digits and underscores (up to 63)."
            )

    def _check_relational(self, vals: dict[str, Any], model: ModelDef) -> None:
        registry = self.env.registry
        ttype = vals["ttype"]
        if ttype not in ("many2one", "one2many", "many2many"):
            return
        relation = vals.get("relation")
        if not relation or relation not in registry:
            raise UserError(f"Model {relation} does not exist!")
        if ttype == "one2many":
            inverse = registry[relation].fields.get(vals.get("relation_field") or "")
            if inverse is None or inverse.type != "many2one":
                raise UserError(
                    f"Many2one {vals.get('relation_field')} on model {relation} does not exist!"
                )
        elif ttype == "many2many":
            table, column1, column2 = custom_many2many_names(model.name, relation)
            vals["relation_table"] = vals.get("relation_table") or table
            vals["column1"] = vals.get("column1") or column1
            vals["column2"] = vals.get("column2") or column2
            for key in ("relation_table", "column1", "column2"):
                if not FIELD_NAME.match(vals[key]):
                    raise ValidationError(
                        f"Invalid {key} {vals[key]!r}: use lowercase letters, "
                        "digits and underscores."
                    )
        else:
            vals["on_delete"] = vals.get("on_delete") or "set null"
            if vals.get("required") and vals["on_delete"] == "set null":
                raise ValidationError(
                    f"The m2o field {vals['name']} is required but declares its ondelete policy "
                    "as being 'set null'. Only 'restrict' and 'cascade' make sense."
                )

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        env = self.env
        rows = [row for row in self._field_rows() if row["state"] == "manual"]
        selections = _selections(env.cr, [row["id"] for row in rows])
        for row in rows:
            selection = selections.get(row["id"], [])
            if row["ttype"] == "selection":
                env.execute(
                    "UPDATE ir_model_fields SET selection = ? WHERE id = ?",
                    (repr(selection), row["id"]),
                )
            field = attach_manual_field(env.registry, row, selection)
            model = env.registry[row["model"]]
            env.txn.schema_changed = True
            if field.has_column:
                add_column(env.cr, model, field)
            elif isinstance(field, f.Many2many):
                create_relation_table(env.cr, field)

    def _prepare_write_vals(self, vals: dict[str, Any]) -> None:
        env = self.env
        for row in self._field_rows():
            if row["state"] != "manual":
                raise UserError(
                    "Properties of base fields cannot be altered in this manner! "
                    "Please modify them through Python code, preferably through a "
                    "custom addon!"
                )
            if "ttype" in vals and vals["ttype"] != row["ttype"]:
                raise UserError(
                    "Changing the type of a field is not yet supported. Please drop "
                    "it and create it again!"
                )
            if ("model" in vals and vals["model"] != row["model"]) or (
                "model_id" in vals and vals["model_id"] != row["model_id"]
            ):
                raise UserError("Changing the model of a field is forbidden!")
            new_name = vals.get("name")
            if new_name and new_name != row["name"]:
                self._check_name(new_name)
                model = env.registry[row["model"]]
                if new_name in model.fields:
                    raise ValidationError("Field names must be unique per model.")
                field = detach_manual_field(env.registry, row["model"], row["name"])
                env.txn.schema_changed = True
                if field is not None and field.has_column:
                    old_index = f"{model.table}__{row['name']}_index"
                    env.execute(f"DROP INDEX IF EXISTS {quote(old_index)}")
                    env.execute(
                        f"ALTER TABLE {quote(model.table)} RENAME COLUMN "
                        f"{quote(row['name'])} TO {quote(new_name)}"
                    )
        if isinstance(vals.get("selection"), str) and "selection_ids" not in vals:
            pairs = parse_selection_string(vals["selection"])
            vals["selection_ids"] = [(5, 0, 0)] + [
                (0, 0, {"value": k, "name": v, "sequence": i}) for i, (k, v) in enumerate(pairs)
            ]

    def _post_write(self, vals: dict[str, Any]) -> None:
        self._refresh_fields()

    def _refresh_fields(self) -> None:
        """Rebuild the registry fields of these (manual) rows after a change."""
        env = self.env
        rows = [row for row in self._field_rows() if row["state"] == "manual"]
        selections = _selections(env.cr, [row["id"] for row in rows])
        for row in rows:
            model = env.registry.get(row["model"])
            if model is None:
                continue
            env.txn.schema_changed = True
            selection = selections.get(row["id"], [])
            if row["ttype"] == "selection":
                env.execute(
                    "UPDATE ir_model_fields SET selection = ? WHERE id = ?",
                    (repr(selection), row["id"]),
                )
            detach_manual_field(env.registry, row["model"], row["name"])
            field = attach_manual_field(env.registry, row, selection)
            if field.has_column:
                if field.index:
                    create_index(env.cr, model, field)
                else:
                    env.execute(
                        f"DROP INDEX IF EXISTS {quote(f'{model.table}__{field.name}_index')}"
                    )

    def _pre_unlink(self) -> None:
        env = self.env
        rows = self._field_rows()
        for row in rows:
            if row["state"] != "manual":
                raise UserError("This column contains module data and cannot be removed!")
        for row in rows:
            for dep_model, dep_name in env.execute(
                "SELECT model, name FROM ir_model_fields WHERE ttype = 'one2many' AND "
                "relation = ? AND relation_field = ?",
                (row["model"], row["name"]),
            ):
                if not any(r["model"] == dep_model and r["name"] == dep_name for r in rows):
                    raise UserError(
                        f"The field '{row['model']}.{row['name']}' cannot be removed "
                        f"because the field '{dep_model}.{dep_name}' depends on it."
                    )
        for row in rows:
            model = env.registry.get(row["model"])
            field = detach_manual_field(env.registry, row["model"], row["name"])
            if model is None or field is None:
                continue
            env.txn.schema_changed = True
            if field.has_column:
                drop_column(env.cr, model, field.name)
            elif isinstance(field, f.Many2many):
                still_used = any(
                    other.relation == field.relation for other in env.registry.many2many_fields()
                )
                if not still_used:
                    env.execute(f"DROP TABLE IF EXISTS {quote(field.relation)}")


class IrModelFieldsSelection(BaseModel):
    __slots__ = ()

    def _field_ids(self) -> list[int]:
        sql = in_list("id", self.ids)
        return sorted(
            {
                row[0]
                for row in self.env.execute(
                    f"SELECT field_id FROM ir_model_fields_selection WHERE {sql.code}", sql.params
                )
            }
        )

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        self._refresh(self._field_ids())

    def _post_write(self, vals: dict[str, Any]) -> None:
        self._refresh(self._field_ids())

    def _pre_unlink(self) -> None:
        env = self.env
        sql = in_list("s.id", self.ids)
        for model, name, value in env.execute(
            "SELECT f.model, f.name, s.value FROM ir_model_fields_selection s "
            "JOIN ir_model_fields f ON f.id = s.field_id "
            f"WHERE f.state = 'manual' AND {sql.code}",
            sql.params,
        ).fetchall():
            definition = env.registry.get(model)
            field = definition.fields.get(name) if definition else None
            if definition is not None and field is not None and field.has_column:
                # records holding a removed value lose it, as in Odoo
                env.execute(
                    f"UPDATE {quote(definition.table)} SET {quote(name)} = NULL "
                    f"WHERE {quote(name)} = ?",
                    (value,),
                )
        field_ids = self._field_ids()
        own = in_list("id", self.ids)
        env.execute(f"DELETE FROM ir_model_fields_selection WHERE {own.code}", own.params)
        self._refresh(field_ids)

    def _refresh(self, field_ids: list[int]) -> None:
        if field_ids:
            fields_model = self.env.typed("ir.model.fields", IrModelFields)
            fields_model.sudo().browse(field_ids)._refresh_fields()


def definitions() -> list[ModelDef]:
    return [
        ModelDef(
            "ir.model",
            "Models",
            IrModel,
            order="model",
            fields={
                "name": f.Char("Model Description", required=True, translate=True),
                "model": f.Char("Model", required=True, index=True),
                "order": f.Char(
                    "Order",
                    required=True,
                    default="id",
                    help="SQL expression for ordering records in the model; e.g. "
                    '"x_sequence asc, id desc"',
                ),
                "info": f.Text("Information"),
                "field_id": f.One2many(
                    "ir.model.fields",
                    "model_id",
                    "Fields",
                    copy=True,
                    default=lambda m: (
                        []
                        if m.env.context.get("install_mode")
                        else [
                            (
                                0,
                                0,
                                {
                                    "name": "x_name",
                                    "field_description": "Name",
                                    "ttype": "char",
                                    "copied": True,
                                },
                            )
                        ]
                    ),
                ),
                "access_ids": f.One2many("ir.model.access", "model_id", "Access"),
                "rule_ids": f.One2many("ir.rule", "model_id", "Record Rules"),
                "state": f.Selection(
                    [("manual", "Custom Object"), ("base", "Base Object")],
                    "Type",
                    default="manual",
                    readonly=True,
                ),
                "transient": f.Boolean("Transient Model"),
                "abstract": f.Boolean("Abstract Model"),
                "is_mail_thread": f.Boolean(
                    "Has Mail Thread",
                    help="Whether this model supports messages and notifications.",
                ),
                "is_mail_activity": f.Boolean("Has Mail Activity"),
                "fold_name": f.Char("Fold Field"),
            },
        ),
        ModelDef(
            "ir.model.fields",
            "Fields",
            IrModelFields,
            order="name",
            rec_name="field_description",
            fields={
                "name": f.Char("Field Name", required=True, index=True),
                "model": f.Char("Model", required=True, index=True),
                "model_id": f.Many2one(
                    "ir.model", "Model", required=True, index=True, ondelete="cascade"
                ),
                "field_description": f.Char("Field Label", required=True, translate=True),
                "help": f.Text("Field Help", translate=True),
                "ttype": f.Selection([(t, t) for t in TTYPES], "Field Type", required=True),
                "relation": f.Char("Related Model"),
                "relation_field": f.Char("Relation Field"),
                "relation_table": f.Char("Relation Table"),
                "column1": f.Char("Column 1"),
                "column2": f.Char("Column 2"),
                "selection": f.Char("Selection Options"),
                "selection_ids": f.One2many(
                    "ir.model.fields.selection", "field_id", "Selection Options", copy=True
                ),
                "required": f.Boolean("Required"),
                "readonly": f.Boolean("Readonly"),
                "index": f.Boolean("Indexed"),
                "store": f.Boolean("Stored", default=True),
                "copied": f.Boolean("Copied"),
                "translate": f.Boolean("Translatable"),
                "size": f.Integer("Size"),
                "on_delete": f.Selection(ON_DELETE, "On Delete", default="set null"),
                "domain": f.Char("Domain", default="[]"),
                "state": f.Selection(
                    [("manual", "Custom Field"), ("base", "Base Field")],
                    "Type",
                    default="manual",
                    required=True,
                    readonly=True,
                ),
                "related": f.Char("Related Field Definition"),
                "compute": f.Text("Compute"),
                "depends": f.Char("Dependencies"),
                "currency_field": f.Char("Currency field"),
                "group_expand": f.Boolean("Expand Groups"),
                "tracking": f.Integer("Enable Ordered Tracking"),
            },
        ),
        ModelDef(
            "ir.model.fields.selection",
            "Fields Selection",
            IrModelFieldsSelection,
            order="sequence, id",
            fields={
                "field_id": f.Many2one(
                    "ir.model.fields", "Field", required=True, ondelete="cascade", index=True
                ),
                "value": f.Char("Value", required=True),
                "name": f.Char("Name", required=True, translate=True),
                "sequence": f.Integer("Sequence", default=1000),
            },
        ),
    ]


def create_tables(cr: sqlite3.Connection, registry: Registry) -> None:
    for model in registry:
        create_table(cr, model)
