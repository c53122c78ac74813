"""Recordsets and the ORM methods Odoo exposes over RPC.

A :class:`BaseModel` is a model bound to an environment and a list of ids, like an Odoo
recordset, without a record cache: every method is one or a few batch SQL statements. Methods
marked :func:`public` or :func:`api_model` are the ones ``call_kw`` and JSON-2 may call; their
Python signatures are Odoo 19's, so bad arguments fail the way they fail in Odoo.
"""

from __future__ import annotations

import copy as copy_module
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Self, TypeVar

from console.sandbox.odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from console.sandbox.odoo.orm import access, row_format
from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.domains import (
    DomainCompiler,
    Leaf,
    Node,
    and_nodes,
    mentions_field,
    parse_domain,
)
from console.sandbox.odoo.orm.query import Aliases, Query
from console.sandbox.odoo.orm.registry import LOG_ACCESS_FIELDS, MAGIC_FIELDS, ModelDef
from console.sandbox.odoo.orm.sql import Sql, in_list, quote

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.environment import Env

F = TypeVar("F", bound=Callable[..., Any])

#: models whose changes invalidate cached group memberships, ACL answers and rule domains
SECURITY_MODELS = frozenset({"res.groups", "res.users", "ir.model.access", "ir.rule"})
#: models whose changes invalidate verified credentials
CREDENTIAL_MODELS = frozenset({"res.users", "res.users.apikeys"})


def public(method: F) -> F:
    """Expose a record method over RPC (``args[0]`` are the ids)."""
    method._rpc = True  # type: ignore[attr-defined]
    return method


def api_model(method: F) -> F:
    """Expose a model method over RPC (``@api.model``: no ids)."""
    method._rpc = True  # type: ignore[attr-defined]
    method._api_model = True  # type: ignore[attr-defined]
    return method


def not_null_error(model: ModelDef, field: f.Field) -> ValidationError:
    """What Odoo reports for a NOT NULL violation (a missing required value)."""
    return ValidationError(
        "The operation cannot be completed:\n"
        "- Create/update: a mandatory field is not set.\n"
        "- Delete: another model requires the record being deleted. If possible, archive it "
        "instead.\n\n"
        f"Model: {model.description} ({model.name})\n"
        f"Field: {field.string} ({field.name})\n"
    )


def foreign_key_error(model: ModelDef, field: f.Field) -> ValidationError:
    """What Odoo reports for a foreign key violation."""
    return ValidationError(
        "The operation cannot be completed: another model requires the record being deleted. "
        "If possible, archive it instead.\n\n"
        f"Model: {model.description} ({model.name})\n"
        f"Constraint: {model.table}_{field.name}_fkey\n"
    )


def normalize_ids(ids: Any) -> list[int]:
    """Ids as ``browse`` takes them over RPC: an int, or a list/tuple of ints."""
    if ids is None or ids is False:
        return []
    if isinstance(ids, int) and not isinstance(ids, bool):
        return [ids]
    if isinstance(ids, list | tuple):
        out = []
        for value in ids:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Invalid record id {value!r}: ids must be integers")
            out.append(value)
        return out
    raise TypeError(f"Invalid ids {ids!r}: expected an integer or a list of integers")


def normalize_commands(value: Any) -> list[tuple[int, int, Any]]:
    """x2many commands in their long form; a plain list of ids means SET."""
    if value is None or value is False:
        return [(5, 0, None)]
    if not isinstance(value, list | tuple):
        raise ValueError(f"Wrong value for an x2many field: {value!r}")
    if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [(6, 0, list(value))]
    commands = []
    for command in value:
        if (
            not isinstance(command, list | tuple)
            or not command
            or command[0] not in range(7)
            or isinstance(command[0], bool)
        ):
            raise ValueError(f"Invalid x2many command {command!r}")
        code = int(command[0])
        record_id = command[1] if len(command) > 1 else 0
        payload = command[2] if len(command) > 2 else None
        if code in (1, 2, 3, 4) and (isinstance(record_id, bool) or not isinstance(record_id, int)):
            raise ValueError(f"Invalid x2many command {command!r}: the record id must be an int")
        if code in (0, 1) and not isinstance(payload, dict):
            raise ValueError(f"Invalid x2many command {command!r}: values must be a dict")
        if code == 6:
            payload = normalize_ids(payload or [])
        commands.append((code, record_id or 0, payload))
    return commands


class BaseModel:
    """A recordset of one model in one environment."""

    __slots__ = ("_def", "env", "ids")

    def __init__(self, env: Env, definition: ModelDef, ids: Any = ()) -> None:
        self.env = env
        self._def = definition
        self.ids: list[int] = list(ids)

    # ------------------------------------------------------------------ recordset basics
    @property
    def _name(self) -> str:
        return self._def.name

    def browse(self, ids: Any) -> Self:
        return type(self)(self.env, self._def, normalize_ids(ids))

    def with_env(self, env: Env) -> Self:
        return type(self)(env, self._def, self.ids)

    def sudo(self, flag: bool = True) -> Self:
        return self.with_env(self.env.sudo(flag))

    def with_context(self, context: dict[str, Any] | None = None, **overrides: Any) -> Self:
        return self.with_env(self.env.with_context(context, **overrides))

    def __iter__(self) -> Iterator[Self]:
        for record_id in self.ids:
            yield type(self)(self.env, self._def, [record_id])

    def __len__(self) -> int:
        return len(self.ids)

    def __bool__(self) -> bool:
        return bool(self.ids)

    def __repr__(self) -> str:
        return f"{self._name}{tuple(self.ids)}"

    @property
    def id(self) -> int | bool:
        return self.ids[0] if len(self.ids) == 1 else False

    def ensure_one(self) -> Self:
        if len(self.ids) != 1:
            raise ValueError(f"Expected singleton: {self!r}")
        return self

    def _field(self, name: str) -> f.Field:
        field = self._def.fields.get(name)
        if field is None:
            raise ValueError(f"Invalid field {name!r} on model {self._name!r}")
        return field

    def _value(self, name: str) -> Any:
        """The stored value of one field of a singleton, in ``_classic_write`` form."""
        self.ensure_one()
        rows = self.sudo()._read_rows(self.ids, [name], "_classic_write")
        return rows[0][name] if rows else False

    # ------------------------------------------------------------------ access
    def _check_model_access(self, mode: str, raise_exception: bool = True) -> bool:
        return access.check_model_access(self, mode, raise_exception)

    def _rules(self, mode: str) -> Node | None:
        return access.rule_domain(self, mode)

    def _existing_ids(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        table = quote(self._def.table)
        sql = in_list("id", sorted(set(ids)))
        return {
            row[0]
            for row in self.env.execute(f"SELECT id FROM {table} WHERE {sql.code}", sql.params)
        }

    def _rule_allowed_ids(self, ids: list[int], mode: str) -> set[int]:
        """Among existing ``ids``, those the record rules of ``mode`` let the user reach."""
        node = self._rules(mode)
        if node is None:
            return self._existing_ids(ids)
        query = Query(self.env.registry, self._def)
        query.where.append(in_list(f"{query.alias}.id", sorted(set(ids))))
        compiler = DomainCompiler(query.aliases)
        query.where.append(compiler.compile(self.sudo(), node, query.alias))
        sql = query.select(f"{query.alias}.id", ordered=False)
        return {row[0] for row in self.env.execute(sql.code, sql.params)}

    def _check_records(self, mode: str, missing: str = "ignore") -> list[int]:
        """Existing ids of this recordset, after record rules; AccessError when a rule hides
        one, MissingError for deleted ones when ``missing == 'raise'``."""
        ids = self.ids
        existing = self._existing_ids(ids)
        if not self.env.su and existing:
            allowed = self._rule_allowed_ids(sorted(existing), mode)
            if allowed != existing:
                raise access.rule_error(self, mode)
        gone = [i for i in dict.fromkeys(ids) if i not in existing]
        if gone and missing == "raise":
            raise MissingError(
                "One of the records you are trying to modify has already been deleted "
                f"(Document type: {self._def.description}).\n\n"
                f"(Records: {tuple(gone)!r}, User: {self.env.uid})"
            )
        return [i for i in dict.fromkeys(ids) if i in existing]

    # ------------------------------------------------------------------ queries
    def _with_active(self, node: Node, active_test: bool | None) -> Node:
        if active_test is None:
            active_test = bool(self.env.context.get("active_test", True))
        active = self._def.active_name
        if active_test and active and not mentions_field(node, active):
            return and_nodes(node, Leaf(active, "=", True, (active, "=", True)))
        return node

    def _subquery(
        self, node: Node, aliases: Aliases, active_test: bool | None = None, select: str = "id"
    ) -> Sql:
        """``SELECT <select> FROM table WHERE node`` (with active filter and read rules), for
        ``any`` and hierarchy conditions of another statement."""
        query = Query(self.env.registry, self._def, aliases)
        compiler = DomainCompiler(aliases)
        query.where.append(
            compiler.compile(self, self._with_active(node, active_test), query.alias)
        )
        if select != "id":
            query.where.append(Sql(f"{query.alias}.{quote(select)} IS NOT NULL"))
        rules = self._rules("read")
        if rules is not None:
            query.where.append(compiler.compile(self.sudo(), rules, query.alias))
        return query.select(f"{query.alias}.{quote(select)}", ordered=False)

    def _build_query(
        self,
        domain: Any,
        order: str | None = None,
        limit: Any = None,
        offset: Any = 0,
        active_test: bool | None = None,
        mode: str = "read",
    ) -> Query:
        """The SELECT of a search: domain, active filter, record rules, order, paging."""
        query = Query(self.env.registry, self._def)
        node = self._with_active(parse_domain(domain), active_test)
        compiler = DomainCompiler(query.aliases)
        query.where.append(compiler.compile(self, node, query.alias))
        rules = self._rules(mode)
        if rules is not None:
            query.where.append(compiler.compile(self.sudo(), rules, query.alias))
        query.set_order(order or None)
        query.limit = int(limit) if limit else None
        query.offset = int(offset) if offset else 0
        return query

    def _search(
        self,
        domain: Any,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        active_test: bool | None = None,
    ) -> list[int]:
        query = self._build_query(domain, order or None, limit, offset, active_test)
        sql = query.select(f"{query.alias}.id")
        return [row[0] for row in self.env.execute(sql.code, sql.params)]

    # ------------------------------------------------------------------ reading
    def _validated_field_names(self, fields: Any) -> list[str]:
        if not fields:
            return [name for name in self._def.fields if name != "id"]
        if isinstance(fields, str):
            fields = [fields]
        names = []
        for name in fields:
            if not isinstance(name, str):
                raise ValueError(f"Invalid field {name!r} on model {self._name!r}")
            self._field(name)
            if name != "id" and name not in names:
                names.append(name)
        return names

    def _read_rows(self, ids: list[int], names: list[str], load: Any) -> list[dict[str, Any]]:
        """``read`` without access checks: one dict per existing id, in the order of ``ids``."""
        if not ids:
            return []
        unique = sorted(set(ids))
        query = Query(self.env.registry, self._def)
        query.where.append(in_list(f"{query.alias}.id", unique))
        rows = self._fetch(query, names, load, ordered=False)
        by_id = {row["id"]: row for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def _fetch(
        self, query: Query, names: list[str], load: Any, ordered: bool = True
    ) -> list[dict[str, Any]]:
        """Run ``query`` selecting ``names`` and format the rows as ``read`` does."""
        fields = self._def.fields
        classic = load == "_classic_read"
        exprs = [f"{query.alias}.id"]
        columns: list[tuple[str, int, f.Field]] = []
        delegated: dict[tuple[str, str], list[str]] = {}
        later: list[tuple[str, f.Field]] = []
        inline_display_name = self._inline_display_name()
        for name in names:
            field = fields[name]
            location = field
            if name == "display_name" and inline_display_name is not None:
                # the display name is a column of this very table: no second query
                exprs.append(query.column_expr(inline_display_name))
                columns.append((name, len(exprs) - 1, fields[inline_display_name]))
                continue
            if field.inherited_from is not None:
                owner, _alias = query.field_location(self._def, query.alias, name)
                location = owner.fields[name]
            if location.has_column:
                exprs.append(query.column_expr(name))
                columns.append((name, len(exprs) - 1, location))
            elif field.inherited_from is not None:
                parent_model, link = field.inherited_from
                delegated.setdefault((parent_model, link), []).append(name)
            else:
                later.append((name, field))
        link_index: dict[str, int] = {}
        for _parent_model, link in delegated:
            exprs.append(f"{query.alias}.{quote(link)}")
            link_index[link] = len(exprs) - 1
        sql = query.select(*exprs, ordered=ordered)
        rows = self.env.execute(sql.code, sql.params).fetchall()
        if not rows:
            return []

        # side tables the formatter looks values up in, and the layout that uses them
        tables: list[dict[Any, Any]] = []
        layout: dict[str, tuple[str, str, int, int]] = {}
        for name, index, field in columns:
            if isinstance(field, f.Many2one):
                if classic:
                    targets = sorted({row[index] for row in rows if row[index]})
                    tables.append(self.env[field.comodel].sudo()._display_names(targets))
                    layout[name] = (name, "m2o", index, len(tables) - 1)
                else:
                    layout[name] = (name, "raw_id", index, 0)
            else:
                layout[name] = (name, field.read_kind, index, 0)
        for (parent_model, link), parent_names in delegated.items():
            index = link_index[link]
            parent_ids = sorted({row[index] for row in rows if row[index]})
            parent_rows = self.env[parent_model]._read_rows(parent_ids, parent_names, load)
            tables.append({r["id"]: r for r in parent_rows})
            for name in parent_names:
                layout[name] = (name, "delegated", index, len(tables) - 1)
        if later:
            records = self.browse([row[0] for row in rows])
        for name, field in later:
            many = isinstance(field, f.One2many | f.Many2many)
            if field.compute is not None:
                values = field.compute(records)
                if isinstance(field, f.Many2one) and classic:
                    labels = (
                        self.env[field.comodel]
                        .sudo()
                        ._display_names(sorted({v for v in values.values() if v}))
                    )
                    values = {
                        k: [v, labels.get(v, False)] if v else False for k, v in values.items()
                    }
            elif many:
                values = records._x2many_values(field, records.ids)
            else:
                values = {}
            tables.append(values)
            layout[name] = (name, "maplist" if many else "map", 0, len(tables) - 1)
        fmt = row_format.formatter(tuple(layout[name] for name in names), len(tables))
        return fmt(rows, *tables)

    def _inline_display_name(self) -> str | None:
        """The column ``display_name`` is, when the model does not compute it otherwise."""
        rec_name = self._def.rec_name
        if rec_name is None or type(self)._display_names is not BaseModel._display_names:
            return None
        field = self._def.fields.get(rec_name)
        if field is None or not field.has_column or field.relational:
            return None
        return rec_name

    def _x2many_values(self, field: f.Field, ids: list[int]) -> dict[int, list[int]]:
        """Linked ids per record, in the comodel's order, archived comodel rows hidden."""
        comodel = self.env[field.comodel]
        query = Query(self.env.registry, comodel._def)
        node = comodel._with_active(parse_domain([]), None)
        compiler = DomainCompiler(query.aliases)
        alias = query.alias
        if isinstance(field, f.One2many):
            owner = f"{alias}.{quote(field.inverse_name)}"
        else:
            assert isinstance(field, f.Many2many)
            rel = query.aliases.new()
            query.joins.append(
                f"JOIN {quote(field.relation)} {rel} ON {rel}.{quote(field.column2)} = {alias}.id"
            )
            owner = f"{rel}.{quote(field.column1)}"
        query.where.append(in_list(owner, sorted(set(ids))))
        query.where.append(compiler.compile(comodel, node, alias))
        query.set_order(None)
        sql = query.select(owner, f"{alias}.id")
        values: dict[int, list[int]] = {}
        for owner_id, target_id in self.env.execute(sql.code, sql.params):
            values.setdefault(owner_id, []).append(target_id)
        return values

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        """``display_name`` of records (no access check; many2one reads use it as sudo)."""
        if not ids:
            return {}
        rec_name = self._def.rec_name
        if not rec_name:
            return {i: f"{self._name},{i}" for i in ids}
        query = Query(self.env.registry, self._def)
        query.where.append(in_list(f"{query.alias}.id", ids))
        sql = query.select(f"{query.alias}.id", query.column_expr(rec_name), ordered=False)
        return {
            row[0]: (row[1] if row[1] is not None else False)
            for row in self.env.execute(sql.code, sql.params)
        }

    def _search_display_name(self, operator: str, value: Any) -> list[Any]:
        """The domain ``display_name <operator> value`` stands for (positive operators)."""
        rec_name = self._def.rec_name
        if not rec_name:
            return [("id", "=", 0)]
        return [(rec_name, operator, value)]

    # ------------------------------------------------------------------ writing: helpers
    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        """Model-specific completion of one record's values before insertion."""

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        """Model-specific work after the records were inserted (recomputations, side models)."""

    def _prepare_write_vals(self, vals: dict[str, Any]) -> None:
        """Model-specific validation of the values of a write."""

    def _post_write(self, vals: dict[str, Any]) -> None:
        """Model-specific work after a write."""

    def _pre_unlink(self) -> None:
        """Model-specific checks and cleanup before deletion."""

    def _copy_defaults(self, vals: dict[str, Any]) -> None:
        """Model-specific changes to the values of a copy (e.g. ``name (copy)``)."""

    def _write_plan(self) -> dict[str, tuple[str, f.Field]]:
        """How each field's written value is handled: ``column``, ``x2many``, ``parent``,
        ``inverse`` or ``ignore`` (cached per model until its fields change)."""
        cache = self._def.cache
        plan: dict[str, tuple[str, f.Field]] | None = cache.get("write_plan")
        if plan is None:
            plan = {}
            for name, field in self._def.fields.items():
                if name == "id" or name in LOG_ACCESS_FIELDS:
                    kind = "ignore"
                elif field.inherited_from is not None:
                    kind = "parent"
                elif isinstance(field, f.One2many | f.Many2many):
                    kind = "x2many" if field.compute is None else "ignore"
                elif field.has_column:
                    kind = "column"
                elif field.inverse is not None:
                    kind = "inverse"
                else:
                    kind = "ignore"  # a computed field without inverse: Odoo ignores it too
                plan[name] = (kind, field)
            cache["write_plan"] = plan
        return plan

    def _ir_defaults(self) -> dict[str, Any]:
        """Global ``ir.default`` values for this model (no user, company or condition), as
        Odoo applies them on create; cached for the duration of one call."""
        cache = self.env.txn.security_cache
        key = ("ir.default", self._name)
        if key not in cache:
            values: dict[str, Any] = {}
            if "ir.default" in self.env.registry.models:
                rows = self.env.execute(
                    "SELECT f.name, d.json_value FROM ir_default d"
                    " JOIN ir_model_fields f ON f.id = d.field_id"
                    " WHERE f.model = ? AND d.user_id IS NULL AND d.company_id IS NULL"
                    " AND COALESCE(d.condition, '') = '' ORDER BY d.id",
                    (self._name,),
                ).fetchall()
                for name, raw in rows:
                    try:
                        values[name] = json.loads(raw)
                    except (TypeError, ValueError):
                        continue  # Odoo ignores an undecodable default too
            cache[key] = values
        result: dict[str, Any] = cache[key]
        return result

    def _default_values(self, vals: dict[str, Any]) -> dict[str, Any]:
        """``vals`` completed with context ``default_<field>`` keys and field defaults."""
        fields = self._def.fields
        for name in vals:
            if name not in fields:
                raise ValueError(f"Invalid field {name!r} on model {self._name!r}")
        result = dict(vals)
        # a given parent record keeps its values: no defaults for the fields it provides
        given_parents = {parent for parent, link in self._def.inherits.items() if vals.get(link)}

        def wanted(name: str) -> bool:
            field = fields.get(name)
            if field is None or name in result or name in MAGIC_FIELDS:
                return False
            return field.inherited_from is None or field.inherited_from[0] not in given_parents

        for key, value in self.env.context.items():
            if key.startswith("default_") and wanted(key[8:]):
                result[key[8:]] = value
        for name, value in self._ir_defaults().items():
            if wanted(name):
                result[name] = copy_module.copy(value)
        defaults: list[tuple[str, Any]] | None = self._def.cache.get("defaults")
        if defaults is None:
            defaults = [(n, fld.default) for n, fld in fields.items() if fld.default is not None]
            self._def.cache["defaults"] = defaults
        for name, default in defaults:
            if wanted(name):
                result[name] = default(self) if callable(default) else copy_module.copy(default)
        return result

    def _split_values(
        self, vals: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
        """(column values, x2many commands, delegated values per parent, inverse values)."""
        plan = self._write_plan()
        columns: dict[str, Any] = {}
        x2many: dict[str, Any] = {}
        parents: dict[str, dict[str, Any]] = {}
        inverses: dict[str, Any] = {}
        for name, value in vals.items():
            entry = plan.get(name)
            if entry is None:
                raise ValueError(f"Invalid field {name!r} on model {self._name!r}")
            kind, field = entry
            if kind == "column":
                columns[name] = field.convert_to_column(value)
            elif kind == "x2many":
                x2many[name] = value
            elif kind == "parent":
                assert field.inherited_from is not None
                parents.setdefault(field.inherited_from[0], {})[name] = value
            elif kind == "inverse":
                field.convert_to_column(value)  # validates, e.g. a selection key
                inverses[name] = value
        return columns, x2many, parents, inverses

    def _check_many2one_targets(self, rows: list[dict[str, Any]]) -> None:
        """Foreign key check of the many2one values of rows about to be written."""
        for name, field in self._def.fields.items():
            if not isinstance(field, f.Many2one) or not field.has_column:
                continue
            if name in LOG_ACCESS_FIELDS:
                continue  # set by the ORM itself
            wanted = {row[name] for row in rows if row.get(name) is not None}
            if wanted and len(self.env[field.comodel]._existing_ids(sorted(wanted))) != len(wanted):
                raise foreign_key_error(self._def, field)

    def _invalidate_caches(self) -> None:
        if self._name in SECURITY_MODELS:
            self.env.txn.security_cache.clear()
        if self._name in CREDENTIAL_MODELS:
            self.env.txn.credentials_changed = True

    # ------------------------------------------------------------------ writing: core
    def _create(self, vals_list: list[dict[str, Any]]) -> BaseModel:
        """Insert records (defaults, delegation, x2many commands, hooks); no access checks."""
        env = self.env
        definition = self._def
        now = env.txn.now
        required = [fld for fld in definition.column_fields() if fld.required and fld.name != "id"]
        prepared: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        final_vals = []
        for raw_vals in vals_list:
            if not isinstance(raw_vals, dict):
                raise ValueError(f"create() expects a dict of values, got {raw_vals!r}")
            vals = self._default_values(raw_vals)
            self._prepare_create_vals(vals)
            columns, x2many, parents, inverses = self._split_values(vals)
            for parent_model, link in definition.inherits.items():
                parent_vals = parents.get(parent_model, {})
                parent = env[parent_model].with_context(delegating_model=self._name)
                if not columns.get(link):
                    columns[link] = parent.create([parent_vals]).ids[0]
                elif parent_vals:
                    parent.browse([columns[link]]).write(parent_vals)
            for field in required:
                if columns.get(field.name) is None:
                    raise not_null_error(definition, field)
            columns.update(create_uid=env.uid, create_date=now, write_uid=env.uid, write_date=now)
            prepared.append((columns, x2many, inverses))
            final_vals.append(vals)
        self._check_many2one_targets([columns for columns, _x, _i in prepared])
        statements: dict[tuple[str, ...], str] = {}
        new_ids: list[int] = []
        for columns, _x2many, _inverses in prepared:
            names = tuple(columns)
            sql = statements.get(names)
            if sql is None:
                sql = statements[names] = (
                    f"INSERT INTO {quote(definition.table)} "
                    f"({', '.join(quote(n) for n in names)}) "
                    f"VALUES ({', '.join('?' * len(names))}) RETURNING id"
                )
            new_ids.append(env.execute(sql, list(columns.values())).fetchone()[0])
        for new_id, (_columns, x2many, inverses) in zip(new_ids, prepared, strict=True):
            if not x2many and not inverses:
                continue
            record = self.browse([new_id])
            for name, commands in x2many.items():
                record._write_x2many(definition.fields[name], commands)
            for name, value in inverses.items():
                inverse = definition.fields[name].inverse
                assert inverse is not None
                inverse(record, value)
        records = self.browse(new_ids)
        records._post_create(final_vals)
        self._invalidate_caches()
        return records

    def _write(self, vals: dict[str, Any]) -> None:
        """Update the records (delegation, x2many commands, hooks); no access checks."""
        env = self.env
        definition = self._def
        self._prepare_write_vals(vals)
        columns, x2many, parents, inverses = self._split_values(vals)
        for parent_model, link in definition.inherits.items():
            parent_vals = parents.get(parent_model)
            if not parent_vals:
                continue
            sql = in_list("id", self.ids)
            parent_ids = [
                row[0]
                for row in env.execute(
                    f"SELECT DISTINCT {quote(link)} FROM {quote(definition.table)} "
                    f"WHERE {sql.code}",
                    sql.params,
                )
                if row[0]
            ]
            env[parent_model].browse(parent_ids).write(parent_vals)
        for name, value in columns.items():
            field = definition.fields[name]
            if field.required and value is None:
                raise not_null_error(definition, field)
        self._check_many2one_targets([columns])
        columns.update(write_uid=env.uid, write_date=env.txn.now)
        names = list(columns)
        where = in_list("id", self.ids)
        env.execute(
            f"UPDATE {quote(definition.table)} SET "
            f"{', '.join(f'{quote(n)} = ?' for n in names)} WHERE {where.code}",
            [*(columns[n] for n in names), *where.params],
        )
        for name, commands in x2many.items():
            self._write_x2many(definition.fields[name], commands)
        for name, value in inverses.items():
            inverse = definition.fields[name].inverse
            assert inverse is not None
            inverse(self, value)
        self._post_write(vals)
        self._invalidate_caches()

    def _write_x2many(self, field: f.Field, value: Any) -> None:
        commands = normalize_commands(value)
        comodel = self.env[field.comodel]
        if isinstance(field, f.One2many):
            self._write_one2many(field, comodel, commands)
        else:
            assert isinstance(field, f.Many2many)
            self._write_many2many(field, comodel, commands)

    def _write_one2many(
        self, field: f.One2many, comodel: BaseModel, commands: list[tuple[int, int, Any]]
    ) -> None:
        inverse = field.inverse_name
        inverse_field = comodel._def.fields[inverse]
        drops_delete = inverse_field.required or getattr(inverse_field, "ondelete", "") == "cascade"

        def drop(ids: list[int]) -> None:
            if not ids:
                return
            if drops_delete:
                comodel.browse(ids).unlink()
            else:
                comodel.browse(ids).write({inverse: False})

        def current(record_id: int) -> list[int]:
            return [
                row[0]
                for row in self.env.execute(
                    f"SELECT id FROM {quote(comodel._def.table)} WHERE {quote(inverse)} = ?",
                    (record_id,),
                )
            ]

        for record_id in self.ids:
            for code, target, payload in commands:
                if code == 0:
                    comodel.create([{**payload, inverse: record_id}])
                elif code == 1:
                    comodel.browse([target]).write(payload)
                elif code == 2:
                    comodel.browse([target]).unlink()
                elif code == 3:
                    if target in current(record_id):
                        drop([target])
                elif code == 4:
                    comodel.browse([target]).write({inverse: record_id})
                elif code == 5:
                    drop(current(record_id))
                elif code == 6:
                    keep = set(payload)
                    drop([i for i in current(record_id) if i not in keep])
                    if payload:
                        comodel.browse(payload).write({inverse: record_id})

    def _write_many2many(
        self, field: f.Many2many, comodel: BaseModel, commands: list[tuple[int, int, Any]]
    ) -> None:
        rel, c1, c2 = quote(field.relation), quote(field.column1), quote(field.column2)
        execute = self.env.execute

        def link(record_id: int, targets: list[int]) -> None:
            if not targets:
                return
            missing = set(targets) - comodel._existing_ids(targets)
            if missing:
                raise foreign_key_error(self._def, field)
            self.env.txn.cr.executemany(
                f"INSERT OR IGNORE INTO {rel} ({c1}, {c2}) VALUES (?, ?)",
                [(record_id, t) for t in targets],
            )

        for record_id in self.ids:
            for code, target, payload in commands:
                if code == 0:
                    link(record_id, comodel.create([payload]).ids)
                elif code == 1:
                    comodel.browse([target]).write(payload)
                elif code == 2:
                    comodel.browse([target]).unlink()
                elif code == 3:
                    execute(f"DELETE FROM {rel} WHERE {c1} = ? AND {c2} = ?", (record_id, target))
                elif code == 4:
                    link(record_id, [target])
                elif code == 5:
                    execute(f"DELETE FROM {rel} WHERE {c1} = ?", (record_id,))
                elif code == 6:
                    execute(f"DELETE FROM {rel} WHERE {c1} = ?", (record_id,))
                    link(record_id, list(dict.fromkeys(payload)))
        if self._name in SECURITY_MODELS or comodel._name in SECURITY_MODELS:
            self.env.txn.security_cache.clear()

    def _unlink(self) -> None:
        """Delete the records with Odoo's ``ondelete`` rules; no access checks."""
        self._pre_unlink()
        delete_rows(self.env, self._def, self.ids, set())
        self._invalidate_caches()

    # ================================================================== RPC methods
    @api_model
    def search(
        self, domain: Any, offset: Any = 0, limit: Any = None, order: Any = None
    ) -> BaseModel:
        """Ids of the records matching ``domain``."""
        self._check_model_access("read")
        return self.browse(self._search(domain, offset, limit, order))

    @api_model
    def search_count(self, domain: Any, limit: Any = None) -> int:
        """Number of records matching ``domain`` (at most ``limit`` when given)."""
        self._check_model_access("read")
        query = self._build_query(domain, None, limit, 0)
        query.order_by = []
        sql = query.select(f"{query.alias}.id", ordered=False)
        row = self.env.execute(f"SELECT COUNT(*) FROM ({sql.code})", sql.params).fetchone()
        return int(row[0])

    @api_model
    def search_read(
        self,
        domain: Any = None,
        fields: Any = None,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        load: Any = "_classic_read",
    ) -> list[dict[str, Any]]:
        """``search`` then ``read`` in one statement."""
        self._check_model_access("read")
        names = self._validated_field_names(fields)
        query = self._build_query(domain, order or None, limit, offset)
        return self._fetch(query, names, load)

    @public
    def read(self, fields: Any = None, load: Any = "_classic_read") -> list[dict[str, Any]]:
        """Field values of the records; deleted ids are left out."""
        self._check_model_access("read")
        names = self._validated_field_names(fields)
        self._check_records("read")
        return self._read_rows(self.ids, names, load)

    @api_model
    def create(self, vals_list: Any) -> BaseModel:
        """New records from a dict or a list of dicts."""
        if isinstance(vals_list, dict):
            vals_list = [vals_list]
        if not isinstance(vals_list, list):
            raise ValueError(f"create() expects a dict or a list of dicts, got {vals_list!r}")
        self._check_model_access("create")
        records = self._create(vals_list)
        if not self.env.su and records.ids:
            allowed = records._rule_allowed_ids(records.ids, "create")
            if len(allowed) != len(set(records.ids)):
                raise access.rule_error(self, "create")
        return records

    @public
    def write(self, vals: Any) -> bool:
        """Update the records; True."""
        if not isinstance(vals, dict):
            raise ValueError(f"write() expects a dict of values, got {vals!r}")
        self._check_model_access("write")
        for name in vals:
            self._field(name)
        if not self.ids:
            return True
        self._check_records("write", missing="raise")
        self._write(dict(vals))
        return True

    @public
    def unlink(self) -> bool:
        """Delete the records (already deleted ones are ignored); True."""
        self._check_model_access("unlink")
        existing = self._check_records("unlink")
        if existing:
            self.browse(existing)._unlink()
        return True

    @public
    def copy(self, default: Any = None) -> BaseModel:
        """Duplicate each record, with ``default`` overriding copied values."""
        if default is not None and not isinstance(default, dict):
            raise ValueError(f"copy() expects a dict of default values, got {default!r}")
        self._check_model_access("read")
        self._check_records("read")
        new_ids: list[int] = []
        for record in self:
            vals = record._copy_data(dict(default or {}))
            new_ids.extend(self.create([vals]).ids)
        return self.browse(new_ids)

    def _copy_data(self, default: dict[str, Any]) -> dict[str, Any]:
        names = [
            name
            for name, field in self._def.fields.items()
            if field.copy
            and name not in MAGIC_FIELDS
            and name not in default
            and not (isinstance(field, f.Many2one) and field.delegate)
            and (field.store or field.inherited_from is not None or field.inverse)
        ]
        rows = self.sudo()._read_rows(self.ids, names, "_classic_write")
        if not rows:
            raise MissingError(
                f"Record does not exist or has been deleted.\n"
                f"(Record: {self!r}, User: {self.env.uid})"
            )
        vals: dict[str, Any] = {}
        for name in names:
            field = self._def.fields[name]
            value = rows[0][name]
            if isinstance(field, f.One2many):
                comodel = self.env[field.comodel]
                children = []
                for child in comodel.browse(value):
                    child_vals = child._copy_data({})
                    child_vals.pop(field.inverse_name, None)
                    children.append((0, 0, child_vals))
                vals[name] = children
            elif isinstance(field, f.Many2many):
                vals[name] = [(6, 0, value)]
            else:
                vals[name] = value
        vals.update(default)
        self._copy_defaults(vals)
        return vals

    @public
    def exists(self) -> BaseModel:
        """The records of this recordset that still exist."""
        existing = self._existing_ids(self.ids)
        return self.browse([i for i in dict.fromkeys(self.ids) if i in existing])

    @public
    def has_access(self, operation: str) -> bool:
        """Whether the user may do ``operation`` on all these records."""
        access.check_mode(operation)
        try:
            self.check_access(operation)
        except AccessError:
            return False
        return True

    @public
    def check_access(self, operation: str) -> None:
        """AccessError unless the user may do ``operation`` on all these records."""
        access.check_mode(operation)
        self._check_model_access(operation)
        self._check_records(operation)

    @api_model
    def check_access_rights(self, operation: str, raise_exception: bool = True) -> bool:
        """Odoo 17's model-level ACL check (kept for older clients)."""
        return self._check_model_access(access.check_mode(operation), raise_exception)

    @public
    def check_access_rule(self, operation: str) -> None:
        """Odoo 17's record-rule check (kept for older clients)."""
        self._check_records(access.check_mode(operation))

    @api_model
    def fields_get(self, allfields: Any = None, attributes: Any = None) -> dict[str, Any]:
        """Field descriptions, optionally only some fields and some attributes."""
        wanted = set(allfields) if allfields else None
        attrs = set(attributes) if attributes else None
        result: dict[str, Any] = {}
        for name, field in self._def.fields.items():
            if wanted is not None and name not in wanted:
                continue
            description = field.describe()
            if attrs is not None:
                description = {k: v for k, v in description.items() if k in attrs}
            result[name] = description
        return result

    @api_model
    def default_get(self, fields: Any) -> dict[str, Any]:
        """Default values of the given fields (context ``default_<field>`` first)."""
        if isinstance(fields, str):
            fields = [fields]
        result: dict[str, Any] = {}
        context = self.env.context
        ir_defaults = self._ir_defaults()
        for name in fields or []:
            field = self._def.fields.get(name)
            if field is None:
                continue
            key = f"default_{name}"
            if key in context:
                result[name] = context[key]
            elif name in ir_defaults:
                result[name] = copy_module.copy(ir_defaults[name])
            elif field.default is not None:
                default = field.default
                result[name] = default(self) if callable(default) else copy_module.copy(default)
        return result

    @api_model
    def name_search(
        self, name: Any = "", domain: Any = None, operator: str = "ilike", limit: Any = 100
    ) -> list[list[Any]]:
        """``[[id, display_name], ...]`` of records whose display name matches ``name``."""
        self._check_model_access("read")
        node = parse_domain(domain or [])
        if name or operator not in ("ilike", "like", "=ilike", "=like"):
            node = and_nodes(
                node, Leaf("display_name", operator, name, ("display_name", operator, name))
            )
        ids = self._search(node, 0, limit, None)
        labels = self.sudo()._display_names(ids)
        return [[i, labels.get(i, False)] for i in ids]

    @api_model
    def name_create(self, name: str) -> list[Any]:
        """Create a record from its name alone: ``[id, display_name]``."""
        rec_name = self._def.rec_name
        if not rec_name:
            raise UserError(f"Cannot execute name_create, no _rec_name defined on {self._name}")
        record = self.create([{rec_name: name}])
        new_id = record.ids[0]
        return [new_id, self.sudo()._display_names([new_id]).get(new_id, False)]

    @api_model
    def read_group(
        self,
        domain: Any,
        fields: Any,
        groupby: Any,
        offset: Any = 0,
        limit: Any = None,
        orderby: Any = False,
        lazy: bool = True,
    ) -> list[dict[str, Any]]:
        """Deprecated in 19 but still served: grouped counts and aggregates."""
        from console.sandbox.odoo.orm.grouping import read_group

        self._check_model_access("read")
        return read_group(self, domain, fields, groupby, offset, limit, orderby, lazy)

    @api_model
    def formatted_read_group(
        self,
        domain: Any = None,
        groupby: Any = (),
        aggregates: Any = (),
        having: Any = (),
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
    ) -> list[dict[str, Any]]:
        """Odoo 19's grouping API."""
        from console.sandbox.odoo.orm.grouping import formatted_read_group

        self._check_model_access("read")
        return formatted_read_group(self, domain, groupby, aggregates, having, offset, limit, order)

    @api_model
    def web_read_group(
        self,
        domain: Any = None,
        groupby: Any = (),
        aggregates: Any = (),
        limit: Any = None,
        offset: Any = 0,
        order: Any = None,
        **_web_options: Any,
    ) -> dict[str, Any]:
        """The web client's grouping call: groups plus the total number of groups."""
        from console.sandbox.odoo.orm.grouping import formatted_read_group

        self._check_model_access("read")
        groups = formatted_read_group(self, domain, groupby, aggregates, (), offset, limit, order)
        length = len(groups) + (offset or 0)
        if limit and len(groups) == limit:
            length = len(formatted_read_group(self, domain, groupby, (), (), 0, None, order))
        return {"groups": groups, "length": length}


# ---------------------------------------------------------------------- deletion
def delete_rows(
    env: Env, definition: ModelDef, ids: list[int], visited: set[tuple[str, int]]
) -> None:
    """Delete rows as PostgreSQL would with Odoo's foreign keys: ``cascade`` deletes the
    referencing rows, ``set null`` clears them, ``restrict`` refuses; relation rows, external
    ids and chatter of the deleted records go too."""
    ids = [i for i in dict.fromkeys(ids) if (definition.name, i) not in visited]
    if not ids:
        return
    visited.update((definition.name, i) for i in ids)
    registry = env.registry
    for field in registry.referrers(definition.name):
        owner = registry.get(field.model_name)
        if owner is None:
            continue
        col = quote(field.name)
        sql = in_list(col, ids)
        referencing = [
            row[0]
            for row in env.execute(
                f"SELECT id FROM {quote(owner.table)} WHERE {sql.code}", sql.params
            )
            if (owner.name, row[0]) not in visited
        ]
        if not referencing:
            continue
        if field.ondelete == "cascade":
            delete_rows(env, owner, referencing, visited)
        elif field.ondelete == "restrict":
            raise foreign_key_error(owner, field)
        else:
            if field.required:
                raise not_null_error(owner, field)
            env.execute(
                f"UPDATE {quote(owner.table)} SET {col} = NULL WHERE {sql.code}", sql.params
            )
    for relation in registry.many2many_fields():
        if relation.model_name == definition.name:
            sql = in_list(quote(relation.column1), ids)
            env.execute(f"DELETE FROM {quote(relation.relation)} WHERE {sql.code}", sql.params)
        if relation.comodel == definition.name:
            sql = in_list(quote(relation.column2), ids)
            env.execute(f"DELETE FROM {quote(relation.relation)} WHERE {sql.code}", sql.params)
    sql = in_list("res_id", ids)
    env.execute(
        f"DELETE FROM ir_model_data WHERE model = ? AND {sql.code}", (definition.name, *sql.params)
    )
    if definition.mail_thread:
        env.execute(
            f"DELETE FROM mail_message WHERE model = ? AND {sql.code}",
            (definition.name, *sql.params),
        )
    sql = in_list("id", ids)
    env.execute(f"DELETE FROM {quote(definition.table)} WHERE {sql.code}", sql.params)
