"""Odoo's domain language, parsed and compiled to SQLite WHERE clauses.

Negations are pushed down to the leaves while compiling, so each leaf emits the SQL of its
positive or of its negative form directly; every leaf's negative form spells out how NULL rows
behave. The semantics are those of ``odoo/orm/domains.py`` (19) as summarised in the sandbox
reference, §5:

* ``=``/``!=`` become ``in``/``not in``; "not set" (False/None) means NULL or the type's falsy
  value (``''``, ``0``, ``false``); ``!=``/``not in`` match NULL unless False is excluded;
* ``< <= > >=`` never match NULL; negated, they add ``IS NULL`` for types without a falsy value;
* dotted paths are ``any`` on the first field, so an empty many2one never matches them;
* strings on relational fields search the comodel by display name; ``child_of``/``parent_of``
  follow ``_parent_name``; ``active_test`` is applied by the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.sql import FALSE, TRUE, Sql, and_, in_list, or_, quote
from console.sandbox.odoo.orm.sql import glob_pattern as to_glob

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.models import BaseModel
    from console.sandbox.odoo.orm.query import Aliases

OPERATORS = frozenset(
    {
        "=",
        "!=",
        "<=",
        "<",
        ">",
        ">=",
        "=?",
        "=like",
        "=ilike",
        "like",
        "not like",
        "ilike",
        "not ilike",
        "in",
        "not in",
        "child_of",
        "parent_of",
        "any",
        "not any",
        "not =like",
        "not =ilike",
    }
)
OPERATOR_ALIASES = {"<>": "!=", "==": "="}
INVERSE_COMPARISON = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
LIKE_OPERATORS = frozenset({"like", "ilike", "=like", "=ilike"})


# ---------------------------------------------------------------------- domain tree
class Node:
    """A parsed domain."""


@dataclass(frozen=True)
class Constant(Node):
    value: bool


@dataclass(frozen=True)
class And(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    child: Node


@dataclass(frozen=True)
class Leaf(Node):
    path: str
    operator: str  # lowercase, aliases resolved
    value: Any
    #: the condition as written, for error messages
    raw: tuple[Any, ...]


@dataclass(frozen=True)
class IdIn(Node):
    """``id IN (<subquery>)``: produced internally by ``child_of``/``parent_of``."""

    subquery: Sql


TRUE_NODE = Constant(True)
FALSE_NODE = Constant(False)


def _condition(item: Sequence[Any]) -> Node:
    field_expr, operator, value = item
    raw = tuple(item)
    if field_expr in (1, True) and operator == "=" and value == 1:
        return TRUE_NODE
    if field_expr in (0, False) and operator == "=" and value == 1:
        return FALSE_NODE
    if not isinstance(field_expr, str) or not isinstance(operator, str):
        raise ValueError(f"Domain() invalid item in domain: {list(item)!r}")
    op = operator.lower()
    op = OPERATOR_ALIASES.get(op, op)
    if op not in OPERATORS:
        raise ValueError(f"Invalid operator in condition {raw!r}")
    return Leaf(field_expr, op, value, raw)


def parse_domain(domain: Any) -> Node:
    """The tree of a domain in Odoo's prefix list notation (implicit AND at the top)."""
    if isinstance(domain, Node):
        return domain
    if domain is None or domain is False:
        return TRUE_NODE
    if not isinstance(domain, list | tuple):
        raise ValueError(f"Domain() invalid argument type for domain: {domain!r}")
    stack: list[Node] = []
    try:
        for item in reversed(domain):
            if (
                isinstance(item, list | tuple)
                and len(item) == 3
                and not (isinstance(item[0], str) and item[0] in ("&", "|", "!"))
            ):
                stack.append(_condition(item))
            elif item == "&":
                stack.append(And((stack.pop(), stack.pop())))
            elif item == "|":
                stack.append(Or((stack.pop(), stack.pop())))
            elif item == "!":
                stack.append(Not(stack.pop()))
            else:
                raise ValueError(f"Domain() invalid item in domain: {item!r}")
    except IndexError:
        raise ValueError(f"Domain() malformed domain {domain!r}") from None
    if not stack:
        return TRUE_NODE
    if len(stack) == 1:
        return stack[0]
    return And(tuple(reversed(stack)))


def and_nodes(*nodes: Node) -> Node:
    kept = tuple(n for n in nodes if n != TRUE_NODE)
    if not kept:
        return TRUE_NODE
    return kept[0] if len(kept) == 1 else And(kept)


def mentions_field(node: Node, name: str) -> bool:
    """Whether a leaf of the domain is written on field ``name`` itself (no path)."""
    if isinstance(node, Leaf):
        return node.path == name
    if isinstance(node, And | Or):
        return any(mentions_field(child, name) for child in node.children)
    if isinstance(node, Not):
        return mentions_field(node.child, name)
    return False


# ---------------------------------------------------------------------- compilation
def _is_unset(value: Any) -> bool:
    return value is None or value is False


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def _next_day(date_text: str) -> str:
    day = dt.date.fromisoformat(date_text) + dt.timedelta(days=1)
    return f"{day.isoformat()} 00:00:00"


def _is_date_only(value: Any) -> bool:
    if isinstance(value, dt.datetime):
        return False
    if isinstance(value, dt.date):
        return True
    return isinstance(value, str) and len(value) == f.DATE_LENGTH


#: a part of a disjunction, compiled in positive (False) or negative (True) form
Part = Callable[[bool], Sql]


class DomainCompiler:
    """Compiles domain trees of one statement; subqueries share its table aliases."""

    def __init__(self, aliases: Aliases) -> None:
        self.aliases = aliases

    def compile(self, model: BaseModel, node: Node, alias: str, negate: bool = False) -> Sql:
        """SQL of ``node`` (or of its negation) on the table aliased ``alias``."""
        if isinstance(node, Constant):
            return TRUE if node.value != negate else FALSE
        if isinstance(node, Not):
            return self.compile(model, node.child, alias, not negate)
        if isinstance(node, And | Or):
            parts = [self.compile(model, child, alias, negate) for child in node.children]
            conjunction = isinstance(node, And) != negate
            return and_(parts) if conjunction else or_(parts)
        if isinstance(node, IdIn):
            return (
                (Sql(f"{alias}.id NOT IN (") if negate else Sql(f"{alias}.id IN ("))
                + node.subquery
                + Sql(")")
            )
        assert isinstance(node, Leaf)
        return self._leaf(model, node, alias, negate)

    # ------------------------------------------------------------------ leaves
    def _leaf(self, model: BaseModel, leaf: Leaf, alias: str, negate: bool) -> Sql:
        definition = model._def
        name, _, rest = leaf.path.partition(".")
        field = definition.fields.get(name)
        if field is None:
            raise ValueError(f"Invalid field {definition.name}.{name} in condition {leaf.raw!r}")
        op, value = leaf.operator, leaf.value
        if rest:
            if not field.relational:
                raise ValueError(
                    f"Invalid field {definition.name}.{leaf.path} in condition {leaf.raw!r}"
                )
            sub = Leaf(rest, op, value, (rest, leaf.raw[1], value))
            return self._any(model, field, sub, alias, negate)

        # operator normalisation (value-dependent)
        if op == "=?":
            if not value:
                return FALSE if negate else TRUE
            op = "="
        if op in ("=", "!="):
            if isinstance(value, list | tuple | set | frozenset):
                value = list(value) or [False]
            else:
                value = [value]
            op = "in" if op == "=" else "not in"
        elif op in ("in", "not in"):
            value = _as_list(value)
        if op.startswith("not "):
            op = op[4:]
            negate = not negate
        if op in ("like", "ilike") and (_is_unset(value) or value == ""):
            return FALSE if negate else TRUE
        if op in ("=like", "=ilike") and (_is_unset(value) or value == ""):
            op, value = "in", [False]

        if op == "any" and not field.relational:
            raise ValueError("Cannot use 'any' with non-relational fields")
        if field.inherited_from is not None:
            _parent_model, link = field.inherited_from
            sub = Leaf(name, op, value, leaf.raw)
            return self._any(model, definition.fields[link], sub, alias, negate, active_test=False)
        if field.compute is not None or (
            not field.has_column and field.type not in ("one2many", "many2many")
        ):
            if field.search is None:
                raise ValueError(f"Non-stored field {field} cannot be searched.")
            domain = field.search(model, op, value)
            return self.compile(model, parse_domain(domain), alias, negate)
        if op == "any":
            return self._any(model, field, parse_domain(value), alias, negate)
        if op in ("child_of", "parent_of"):
            return self._hierarchy(model, field, op, value, alias, negate)
        if isinstance(field, f.Many2one):
            return self._many2one(model, field, op, value, alias, negate, leaf)
        if isinstance(field, f.One2many | f.Many2many):
            return self._x2many(model, field, op, value, alias, negate)
        return self._scalar(field, op, value, f"{alias}.{quote(name)}", negate)

    # ------------------------------------------------------------------ scalars
    def _scalar(self, field: f.Field, op: str, value: Any, col: str, negate: bool) -> Sql:
        if op == "in":
            return self._scalar_in(field, value, col, negate)
        if op in LIKE_OPERATORS:
            return self._like(field, op, value, col, negate)
        if op in INVERSE_COMPARISON:
            return self._comparison(field, op, value, col, negate)
        raise ValueError(f"Invalid operator {op!r} for field {field}")

    def _scalar_in(self, field: f.Field, values: list[Any], col: str, negate: bool) -> Sql:
        is_id = field.name == "id"
        falsy = field.falsy_value
        if isinstance(field, f.Boolean):
            truth = {bool(v) for v in values}
            if truth == {True, False}:
                return FALSE if negate else TRUE
            if truth == {True}:
                return Sql(f"({col} IS NULL OR {col} != 1)") if negate else Sql(f"{col} = 1")
            values = [False]
        has_unset = any(_is_unset(v) for v in values)
        kept = [v for v in values if not _is_unset(v)]
        converted = [self._domain_value(field, v) for v in kept]
        if (
            falsy is not None
            and not is_id
            and any(v == falsy and not isinstance(v, str) for v in converted)
        ):
            # a numeric zero is "not set" too, like Python's ``False in [0]`` in Odoo
            has_unset = True
            converted = [v for v in converted if not (v == falsy and not isinstance(v, str))]
        parts: list[Part] = []
        if converted:

            def in_part(neg: bool) -> Sql:
                sql = in_list(col, converted)
                if not neg:
                    return sql
                if is_id:
                    return sql.wrap("NOT (", ")")
                return sql.wrap(f"({col} IS NULL OR NOT (", "))")

            parts.append(in_part)
        if has_unset and not is_id:

            def unset_part(neg: bool) -> Sql:
                if falsy is None:
                    return Sql(f"{col} IS NOT NULL") if neg else Sql(f"{col} IS NULL")
                if neg:
                    return Sql(f"({col} IS NOT NULL AND {col} != ?)", (falsy,))
                return Sql(f"({col} IS NULL OR {col} = ?)", (falsy,))

            parts.append(unset_part)
        return self._disjunction(parts, negate)

    @staticmethod
    def _disjunction(parts: list[Part], negate: bool) -> Sql:
        if negate:
            return and_([part(True) for part in parts])
        return or_([part(False) for part in parts])

    @staticmethod
    def _domain_value(field: f.Field, value: Any) -> Any:
        if isinstance(field, f.Datetime) and _is_date_only(value):
            return f"{f.to_date_string(value)} 00:00:00"
        if isinstance(field, f.Date) and isinstance(value, str):
            return f.to_date_string(value)
        if field.name == "id":
            return int(value)
        return field.convert_domain_value(value)

    def _comparison(self, field: f.Field, op: str, value: Any, col: str, negate: bool) -> Sql:
        if _is_unset(value) or isinstance(value, list | tuple):
            return TRUE if negate else FALSE
        if isinstance(field, f.Datetime) and _is_date_only(value):
            # a date against a datetime means the whole day
            day = f.to_date_string(value)
            assert day is not None
            if op == ">":
                op, value = ">=", _next_day(day)
            elif op == "<=":
                op, value = "<", _next_day(day)
            else:
                value = f"{day} 00:00:00"
        else:
            value = self._domain_value(field, value)
        if not negate:
            return Sql(f"{col} {op} ?", (value,))
        inverse = INVERSE_COMPARISON[op]
        if field.falsy_value is None and field.name != "id":
            return Sql(f"({col} {inverse} ? OR {col} IS NULL)", (value,))
        return Sql(f"{col} {inverse} ?", (value,))

    def _like(self, field: f.Field, op: str, value: Any, col: str, negate: bool) -> Sql:
        text = value if isinstance(value, str) else str(value)
        pattern = text if op.startswith("=") else f"%{text}%"
        if not isinstance(field, f.Char | f.Text | f.Html | f.Selection):
            col = f"CAST({col} AS TEXT)"
        if op in ("like", "=like"):
            expr = Sql(f"{col} GLOB ?", (to_glob(pattern),))
        elif pattern.isascii():
            # SQLite folds ASCII case only; that is exact for an ASCII pattern
            expr = Sql(f"{col} LIKE ? ESCAPE '\\'", (pattern,))
        else:
            expr = Sql(f"odoo_ilike({col}, ?)", (pattern,))
        if negate:
            return expr.wrap(f"({col} IS NULL OR NOT (", "))")
        return expr

    # ------------------------------------------------------------------ relational
    def _many2one(
        self,
        model: BaseModel,
        field: f.Many2one,
        op: str,
        value: Any,
        alias: str,
        negate: bool,
        leaf: Leaf,
    ) -> Sql:
        col = f"{alias}.{quote(field.name)}"
        if op in LIKE_OPERATORS:
            sub = Leaf("display_name", op, value, ("display_name", op, value))
            return self._any(model, field, sub, alias, negate, active_test=False)
        if op in INVERSE_COMPARISON:
            if isinstance(value, str):
                raise TypeError(f"Cannot compare many2one {field} with a string: {leaf.raw!r}")
            return self._comparison(field, op, value, col, negate)
        assert op == "in"
        ids = [v for v in value if not _is_unset(v) and not isinstance(v, str)]
        names = [v for v in value if isinstance(v, str)]
        parts: list[Part] = []
        if ids:
            converted = [int(v) for v in ids]

            def ids_part(neg: bool) -> Sql:
                sql = in_list(col, converted)
                return sql.wrap(f"({col} IS NULL OR NOT (", "))") if neg else sql

            parts.append(ids_part)
        if names:
            name_leaf = Leaf("display_name", "in", names, ("display_name", "in", names))
            parts.append(
                lambda neg: self._any(model, field, name_leaf, alias, neg, active_test=False)
            )
        if any(_is_unset(v) for v in value):
            parts.append(lambda neg: Sql(f"{col} IS NOT NULL") if neg else Sql(f"{col} IS NULL"))
        return self._disjunction(parts, negate)

    def _x2many(
        self, model: BaseModel, field: f.Field, op: str, value: Any, alias: str, negate: bool
    ) -> Sql:
        if op in LIKE_OPERATORS:
            sub = Leaf("display_name", op, value, ("display_name", op, value))
            return self._any(model, field, sub, alias, negate)
        if op in INVERSE_COMPARISON:
            sub = Leaf("id", op, value, ("id", op, value))
            return self._any(model, field, sub, alias, negate)
        assert op == "in"
        ids = [int(v) for v in value if not _is_unset(v) and not isinstance(v, str)]
        names = [v for v in value if isinstance(v, str)]
        parts: list[Part] = []
        if ids:
            id_leaf = Leaf("id", "in", ids, ("id", "in", ids))
            parts.append(lambda neg: self._any(model, field, id_leaf, alias, neg))
        if names:
            name_leaf = Leaf("display_name", "in", names, ("display_name", "in", names))
            parts.append(lambda neg: self._any(model, field, name_leaf, alias, neg))
        if any(_is_unset(v) for v in value):
            # "not set" on an x2many: no linked record at all
            parts.append(lambda neg: self._any(model, field, TRUE_NODE, alias, not neg))
        return self._disjunction(parts, negate)

    def _any(
        self,
        model: BaseModel,
        field: f.Field,
        sub: Node,
        alias: str,
        negate: bool,
        active_test: bool | None = None,
    ) -> Sql:
        """Some linked record of ``field`` matches ``sub`` (or none does, negated)."""
        comodel = model.env[field.comodel]
        if isinstance(field, f.Many2one):
            # many2one matches include archived targets
            subquery = comodel._subquery(
                sub, self.aliases, active_test=False if active_test is None else active_test
            )
            col = f"{alias}.{quote(field.name)}"
            if negate:
                return Sql(f"({col} IS NULL OR {col} NOT IN (") + subquery + Sql("))")
            return Sql(f"{col} IN (") + subquery + Sql(")")
        if isinstance(field, f.One2many):
            subquery = comodel._subquery(
                sub, self.aliases, active_test=active_test, select=field.inverse_name
            )
        elif isinstance(field, f.Many2many):
            inner = comodel._subquery(sub, self.aliases, active_test=active_test)
            rel = self.aliases.new()
            subquery = (
                Sql(
                    f"SELECT {rel}.{quote(field.column1)} FROM {quote(field.relation)} "
                    f"{rel} WHERE {rel}.{quote(field.column2)} IN ("
                )
                + inner
                + Sql(")")
            )
        else:
            raise ValueError("Cannot use 'any' with non-relational fields")
        keyword = "NOT IN" if negate else "IN"
        return Sql(f"{alias}.id {keyword} (") + subquery + Sql(")")

    def _hierarchy(
        self, model: BaseModel, field: f.Field, op: str, value: Any, alias: str, negate: bool
    ) -> Sql:
        """``child_of``/``parent_of``. On ``id``, or on a many2one to the model itself (which
        then is the parent link, as in ``('parent_id', 'child_of', id)``), the records' own ids
        are tested; on another relational field, its values in the comodel's hierarchy."""
        on_ids = field.name == "id" or (
            isinstance(field, f.Many2one) and field.comodel == model._name
        )
        if on_ids:
            comodel = model
            parent = model._def.parent_name if field.name == "id" else field.name
        elif field.relational:
            comodel = model.env[field.comodel]
            parent = comodel._def.parent_name
        else:
            raise ValueError(f"Invalid field {field} for operator {op!r}")
        if not parent:
            raise ValueError(
                f"Invalid field {comodel._name}.parent_id: operator {op!r} needs a parent field"
            )
        values = [v for v in _as_list(value) if not _is_unset(v)]
        if not values:
            return TRUE if negate else FALSE
        ids = [int(v) for v in values if not isinstance(v, str)]
        names = [v for v in values if isinstance(v, str)]
        start_nodes: list[Node] = []
        if ids:
            start_nodes.append(Leaf("id", "in", ids, ("id", "in", ids)))
        for name in names:
            start_nodes.append(Leaf("display_name", "ilike", name, ("display_name", "ilike", name)))
        start: Node = start_nodes[0] if len(start_nodes) == 1 else Or(tuple(start_nodes))
        start_sql = comodel._subquery(start, self.aliases, active_test=False)
        table = quote(comodel._def.table)
        hop = self.aliases.new()
        cte = self.aliases.new()
        parent_col = quote(parent)
        if op == "child_of":
            body = (
                Sql(f"WITH RECURSIVE {cte}(id) AS (")
                + start_sql
                + Sql(
                    f" UNION SELECT {hop}.id FROM {table} {hop} JOIN {cte} "
                    f"ON {hop}.{parent_col} = {cte}.id) SELECT id FROM {cte}"
                )
            )
        else:
            body = (
                Sql(f"WITH RECURSIVE {cte}(id) AS (")
                + start_sql
                + Sql(
                    f" UNION SELECT {hop}.{parent_col} FROM {table} {hop} JOIN {cte} "
                    f"ON {hop}.id = {cte}.id WHERE {hop}.{parent_col} IS NOT NULL) "
                    f"SELECT id FROM {cte}"
                )
            )
        if on_ids:
            return self.compile(model, IdIn(body), alias, negate)
        return self._any(model, field, IdIn(body), alias, negate, active_test=False)
