"""SELECT statements of the ORM: table aliases, joins for delegated and ordering fields, ORDER BY.

Order strings follow Odoo: ``field[.path][:func] [asc|desc] [nulls first|nulls last]``, comma
separated; ordering by a many2one orders by the comodel's own ``_order``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.sandbox.odoo.exceptions import UserError
from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.sql import Sql, and_, quote

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.registry import ModelDef, Registry

ORDER_SPEC = re.compile(
    r"""^(\s*(?P<term>((?P<field>[a-z0-9_]+|"[a-z0-9_]+")(\.(?P<property>[a-z0-9_]+))?"""
    r"""(:(?P<func>[a-z_]+))?))(\s+(?P<direction>desc|asc))?"""
    r"""(\s+(?P<nulls>nulls\ first|nulls\ last))?\s*(,|$))+(?<!,)$""",
    re.IGNORECASE,
)
ORDER_TERM = re.compile(
    r"""^\s*(?P<field>[a-z0-9_]+|"[a-z0-9_]+")(\.(?P<property>[a-z0-9_]+))?(:(?P<func>[a-z_]+))?"""
    r"""(\s+(?P<direction>desc|asc))?(\s+(?P<nulls>nulls\ first|nulls\ last))?\s*$""",
    re.IGNORECASE,
)
#: how deep ordering by a many2one may follow comodel orders that are many2ones again
MAX_ORDER_DEPTH = 3


class Aliases:
    """Fresh table aliases for one statement and all its subqueries."""

    def __init__(self) -> None:
        self._next = 0

    def new(self) -> str:
        alias = f"t{self._next}"
        self._next += 1
        return alias


@dataclass(frozen=True)
class OrderTerm:
    field: str
    path: str | None
    func: str | None
    descending: bool
    nulls: str | None  # "FIRST" / "LAST" / None


def invalid_order(spec: str) -> UserError:
    return UserError(
        f'Invalid "order" specified ({spec}). A valid "order" specification is a '
        "comma-separated list of valid field names (optionally followed by asc/desc for the "
        "direction)"
    )


def parse_order(spec: str) -> list[OrderTerm]:
    """The terms of an order string; UserError when it does not parse."""
    if not ORDER_SPEC.match(spec):
        raise invalid_order(spec)
    terms = []
    for part in spec.split(","):
        match = ORDER_TERM.match(part)
        if match is None:
            raise invalid_order(spec)
        nulls = match.group("nulls")
        terms.append(
            OrderTerm(
                field=match.group("field").strip('"').lower()
                if match.group("field").startswith('"')
                else match.group("field"),
                path=match.group("property"),
                func=match.group("func"),
                descending=(match.group("direction") or "asc").lower() == "desc",
                nulls=nulls.split()[1].upper() if nulls else None,
            )
        )
    return terms


class Query:
    """``SELECT ... FROM table alias [LEFT JOIN ...] WHERE ... ORDER BY ... LIMIT ... OFFSET``."""

    def __init__(self, registry: Registry, model: ModelDef, aliases: Aliases | None = None) -> None:
        self.registry = registry
        self.model = model
        self.aliases = aliases or Aliases()
        self.alias = self.aliases.new()
        self.joins: list[str] = []
        self._joined: dict[tuple[str, str], str] = {}
        self.where: list[Sql] = []
        self.order_by: list[str] = []
        self.limit: int | None = None
        self.offset: int = 0

    # ------------------------------------------------------------------ joins
    def join_many2one(self, alias: str, field: f.Many2one | f.Field, column_name: str) -> str:
        """LEFT JOIN the comodel of a many2one column of ``alias``; the join is made once."""
        key = (alias, column_name)
        joined = self._joined.get(key)
        if joined is None:
            comodel = self.registry[field.comodel]
            joined = self.aliases.new()
            self.joins.append(
                f"LEFT JOIN {quote(comodel.table)} {joined} "
                f"ON {joined}.id = {alias}.{quote(column_name)}"
            )
            self._joined[key] = joined
        return joined

    def field_location(self, model: ModelDef, alias: str, name: str) -> tuple[ModelDef, str]:
        """The model and alias whose table holds ``name``, following ``_inherits`` joins."""
        field = model.fields[name]
        while field.inherited_from is not None:
            parent_name, link = field.inherited_from
            link_field = model.fields[link]
            alias = self.join_many2one(alias, link_field, link)
            model = self.registry[parent_name]
            field = model.fields[name]
        return model, alias

    def column_expr(
        self, name: str, model: ModelDef | None = None, alias: str | None = None
    ) -> str:
        """SQL expression of a stored (possibly delegated) field."""
        model = model or self.model
        alias = alias or self.alias
        model, alias = self.field_location(model, alias, name)
        return f"{alias}.{quote(name)}"

    # ------------------------------------------------------------------ ordering
    def set_order(self, spec: str | None, default_to_model: bool = True) -> None:
        """Fill ORDER BY from an order string (the model's ``_order`` when empty)."""
        if not spec:
            if not default_to_model:
                return
            spec = self.model.order or "id"
        terms = self.order_terms(self.model, self.alias, spec, reverse=False, depth=0)
        if not any(
            term == f"{self.alias}.id ASC" or term == f"{self.alias}.id DESC" for term in terms
        ):
            terms.append(f"{self.alias}.id ASC")  # a stable order for paging
        self.order_by = terms

    def order_terms(
        self, model: ModelDef, alias: str, spec: str, reverse: bool, depth: int
    ) -> list[str]:
        out: list[str] = []
        for term in parse_order(spec):
            field = model.fields.get(term.field)
            if field is None:
                raise ValueError(f"Invalid field {term.field!r} on model {model.name!r}")
            descending = term.descending != reverse
            out.extend(self._field_order(model, alias, field, term, descending, depth))
        return out

    def _field_order(
        self,
        model: ModelDef,
        alias: str,
        field: f.Field,
        term: OrderTerm,
        descending: bool,
        depth: int,
    ) -> list[str]:
        if field.name == "display_name" and model.rec_name and model.rec_name != "display_name":
            field = model.fields[model.rec_name]
        if field.inherited_from is not None:
            model, alias = self.field_location(model, alias, field.name)
            field = model.fields[field.name]
        if not field.has_column:
            return []  # Odoo cannot sort on non-stored fields either; the term is ignored
        expr = f"{alias}.{quote(field.name)}"
        if isinstance(field, f.Many2one):
            comodel = self.registry[field.comodel]
            joined = self.join_many2one(alias, field, field.name)
            if term.path:
                if term.path not in comodel.fields:
                    raise ValueError(f"Invalid field {term.path!r} on model {comodel.name!r}")
                sub = OrderTerm(term.path, None, None, descending, term.nulls)
                return self._field_order(
                    comodel, joined, comodel.fields[term.path], sub, descending, depth + 1
                )
            if depth < MAX_ORDER_DEPTH:
                terms = self.order_terms(
                    comodel, joined, comodel.order or "id", reverse=descending, depth=depth + 1
                )
                if term.nulls:
                    terms = [t.rsplit(" NULLS ", 1)[0] + f" NULLS {term.nulls}" for t in terms]
                return terms
            expr = f"{joined}.id"
        elif isinstance(field, f.Boolean):
            expr = f"COALESCE({expr}, 0)"
        direction = "DESC" if descending else "ASC"
        if field.name == "id":
            return [f"{expr} {direction}"]
        nulls = term.nulls or ("FIRST" if descending else "LAST")  # PostgreSQL's defaults
        return [f"{expr} {direction} NULLS {nulls}"]

    # ------------------------------------------------------------------ rendering
    def from_clause(self) -> str:
        parts = [f"{quote(self.model.table)} {self.alias}", *self.joins]
        return " ".join(parts)

    def where_clause(self) -> Sql:
        return and_(self.where)

    def select(self, *expressions: str, ordered: bool = True) -> Sql:
        """The full statement selecting ``expressions``."""
        where = self.where_clause()
        code = f"SELECT {', '.join(expressions)} FROM {self.from_clause()} WHERE {where.code}"
        params = list(where.params)
        if ordered and self.order_by:
            code += " ORDER BY " + ", ".join(self.order_by)
        if self.limit is not None or self.offset:
            code += " LIMIT ? OFFSET ?"
            params.extend([self.limit if self.limit is not None else -1, self.offset or 0])
        return Sql(code, tuple(params))
