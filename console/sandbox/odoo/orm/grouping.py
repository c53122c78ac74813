"""Grouped reads: Odoo 19's ``formatted_read_group`` and the deprecated ``read_group``.

Both are one ``GROUP BY`` statement on top of the search query (domain, active filter, record
rules). Dates and datetimes group by ``day``/``week``/``month``/``quarter``/``year`` (``month``
when no granularity is given), in UTC: the sandbox ignores the context timezone here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.domains import And, Constant, Leaf, Node, Not, Or, parse_domain
from console.sandbox.odoo.orm.query import Query, invalid_order
from console.sandbox.odoo.orm.sql import FALSE, TRUE, Sql, and_, or_, quote

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.models import BaseModel

GRANULARITIES = ("day", "week", "month", "quarter", "year")
AGGREGATES: dict[str, str] = {
    "sum": "SUM({})",
    "avg": "AVG({})",
    "max": "MAX({})",
    "min": "MIN({})",
    "count": "COUNT({})",
    "count_distinct": "COUNT(DISTINCT {})",
    "bool_and": "MIN(COALESCE({}, 0))",
    "bool_or": "MAX(COALESCE({}, 0))",
    "array_agg": "json_group_array({})",
    "array_agg_distinct": "json_group_array(DISTINCT {})",
    "recordset": "json_group_array(DISTINCT {})",
}


@dataclass
class GroupBy:
    spec: str
    field: f.Field
    granularity: str | None
    expr: str
    #: alias of the comodel row when grouping on a relational field (for its order)
    comodel_alias: str | None = None


@dataclass
class Aggregate:
    key: str
    field: f.Field | None
    function: str
    expr: str


def _period_expr(column: str, granularity: str) -> str:
    if granularity == "day":
        return f"date({column})"
    if granularity == "week":  # PostgreSQL's date_trunc('week'): the Monday
        return f"date({column}, 'weekday 0', '-6 days')"
    if granularity == "month":
        return f"date({column}, 'start of month')"
    if granularity == "quarter":
        return (
            f"printf('%s-%02d-01', strftime('%Y', {column}), "
            f"((CAST(strftime('%m', {column}) AS INTEGER) - 1) / 3) * 3 + 1)"
        )
    return f"date({column}, 'start of year')"


def _period_end(start: dt.date, granularity: str) -> dt.date:
    if granularity == "day":
        return start + dt.timedelta(days=1)
    if granularity == "week":
        return start + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    month_index = start.month - 1 + months
    return dt.date(start.year + month_index // 12, month_index % 12 + 1, 1)


def _period_label(start: dt.date, granularity: str) -> str:
    if granularity == "day":
        return start.strftime("%d %b %Y")
    if granularity == "week":
        return f"W{start.isocalendar()[1]} {start.isocalendar()[0]}"
    if granularity == "month":
        return f"{calendar.month_name[start.month]} {start.year}"
    if granularity == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


def _group_by(model: BaseModel, query: Query, spec: Any) -> GroupBy:
    if not isinstance(spec, str):
        raise ValueError(f"Invalid groupby specification {spec!r}")
    name, _, granularity = spec.strip().partition(":")
    field = model._def.fields.get(name)
    if field is None:
        raise ValueError(f"Invalid field {name!r} on model {model._name!r}")
    if isinstance(field, f.Date | f.Datetime):
        granularity = granularity or "month"
        if granularity not in GRANULARITIES:
            raise ValueError(f"Granularity {granularity!r} is not supported")
    elif granularity:
        raise ValueError(f"Granularity {granularity!r} is not supported on field {field}")
    if isinstance(field, f.Many2many) and field.inherited_from is None and field.compute is None:
        rel = query.aliases.new()
        query.joins.append(
            f"LEFT JOIN {quote(field.relation)} {rel} "
            f"ON {rel}.{quote(field.column1)} = {query.alias}.id"
        )
        expr = f"{rel}.{quote(field.column2)}"
        comodel = model.env.registry[field.comodel]
        joined = query.aliases.new()
        query.joins.append(f"LEFT JOIN {quote(comodel.table)} {joined} ON {joined}.id = {expr}")
        return GroupBy(spec, field, None, expr, joined)
    owner, _alias = (
        query.field_location(model._def, query.alias, name)
        if field.inherited_from
        else (model._def, query.alias)
    )
    if not owner.fields[name].has_column:
        raise ValueError(
            f"Field {field} is not a stored field, only stored fields (regular or "
            "many2many) are valid for the 'groupby' parameter"
        )
    expr = query.column_expr(name)
    if isinstance(field, f.Date | f.Datetime):
        assert granularity
        return GroupBy(spec, field, granularity, _period_expr(expr, granularity))
    if isinstance(field, f.Boolean):
        return GroupBy(spec, field, None, f"COALESCE({expr}, 0)")
    if isinstance(field, f.Many2one):
        location = owner.fields[name]
        joined = query.join_many2one(
            _alias if field.inherited_from else query.alias, location, name
        )
        return GroupBy(spec, field, None, expr, joined)
    return GroupBy(spec, field, None, expr)


def _aggregate(model: BaseModel, query: Query, spec: Any, legacy: bool) -> Aggregate | None:
    if not isinstance(spec, str):
        raise ValueError(f"Invalid aggregate specification {spec!r}")
    spec = spec.strip()
    if spec == "__count":
        return Aggregate("__count", None, "count", "COUNT(*)")
    key = spec
    function: str | None
    if legacy and "(" in spec and spec.endswith(")"):
        # read_group's "alias:function(field)"
        key, _, rest = spec.partition(":")
        function, _, name = rest[:-1].partition("(")
    elif ":" in spec:
        name, _, function = spec.partition(":")
        if legacy:
            key = name
    else:
        name, function = spec, None
    field = model._def.fields.get(name)
    if field is None:
        raise ValueError(f"Invalid field {name!r} on model {model._name!r}")
    if function is None:
        function = field.aggregator
        if function is None:
            return None  # read_group ignores fields without an aggregator
    if function not in AGGREGATES:
        raise ValueError(f"Invalid aggregation function {function!r}.")
    if field.name == "id":
        expr = f"{query.alias}.id"
    else:
        owner, _alias = (
            query.field_location(model._def, query.alias, name)
            if field.inherited_from
            else (model._def, query.alias)
        )
        if not owner.fields[name].has_column:
            raise ValueError(f"Cannot aggregate field {field}: it is not stored")
        expr = query.column_expr(name)
    return Aggregate(key, field, function, AGGREGATES[function].format(expr))


def _having_sql(node: Node, aggregates: dict[str, Aggregate], negate: bool = False) -> Sql:
    if isinstance(node, Constant):
        return TRUE if node.value != negate else FALSE
    if isinstance(node, Not):
        return _having_sql(node.child, aggregates, not negate)
    if isinstance(node, And | Or):
        parts = [_having_sql(child, aggregates, negate) for child in node.children]
        return and_(parts) if isinstance(node, And) != negate else or_(parts)
    assert isinstance(node, Leaf)
    aggregate = aggregates.get(node.path)
    if aggregate is None:
        raise ValueError(f"Invalid field {node.path!r} in 'having': aggregate it first")
    op, value = node.operator, node.value
    if op in ("=", "!=") and isinstance(value, list | tuple):
        op = "in" if op == "=" else "not in"
    if op in ("in", "not in"):
        values = list(value) if isinstance(value, list | tuple) else [value]
        marks = ", ".join("?" * len(values)) or "NULL"
        sql = Sql(f"{aggregate.expr} IN ({marks})", tuple(values))
        return sql.wrap("NOT (", ")") if (op == "not in") != negate else sql
    if op not in ("=", "!=", "<", "<=", ">", ">="):
        raise ValueError(f"Invalid operator {op!r} in 'having'")
    sql = Sql(f"{aggregate.expr} {op} ?", (value,))
    return sql.wrap("NOT (", ")") if negate else sql


@dataclass
class GroupedRows:
    groupbys: list[GroupBy]
    aggregates: list[Aggregate]
    rows: list[tuple[Any, ...]]


def _run(
    model: BaseModel,
    domain: Any,
    groupby: list[Any],
    aggregate_specs: list[Any],
    having: Any,
    offset: Any,
    limit: Any,
    order: Any,
    legacy: bool,
) -> GroupedRows:
    query = model._build_query(domain)
    query.order_by = []
    groupbys = [_group_by(model, query, spec) for spec in groupby]
    aggregates: list[Aggregate] = []
    for spec in aggregate_specs:
        aggregate = _aggregate(model, query, spec, legacy)
        if aggregate is not None and aggregate.key not in {a.key for a in aggregates}:
            aggregates.append(aggregate)
    count = Aggregate("__count", None, "count", "COUNT(*)")
    by_key = {a.key: a for a in aggregates}
    by_key.setdefault("__count", count)
    exprs = [g.expr for g in groupbys] + [count.expr] + [a.expr for a in aggregates]
    where = query.where_clause()
    code = f"SELECT {', '.join(exprs) or '1'} FROM {query.from_clause()} WHERE {where.code}"
    params = list(where.params)
    if groupbys:
        code += " GROUP BY " + ", ".join(g.expr for g in groupbys)
    having_node = parse_domain(having or [])
    if having_node != Constant(True):
        having_sql = _having_sql(having_node, by_key)
        code += f" HAVING {having_sql.code}"
        params.extend(having_sql.params)
    order_terms = _order_terms(model, query, groupbys, by_key, order)
    if order_terms:
        code += " ORDER BY " + ", ".join(order_terms)
    if limit or offset:
        code += " LIMIT ? OFFSET ?"
        params.extend([int(limit) if limit else -1, int(offset or 0)])
    rows = model.env.execute(code, params).fetchall()
    return GroupedRows(groupbys, aggregates, rows)


def _order_terms(
    model: BaseModel,
    query: Query,
    groupbys: list[GroupBy],
    aggregates: dict[str, Aggregate],
    order: Any,
) -> list[str]:
    registry = model.env.registry
    terms: list[tuple[str, bool]] = []
    if order:
        if not isinstance(order, str):
            raise invalid_order(str(order))
        for part in order.split(","):
            words = part.split()
            if (
                not words
                or len(words) > 2
                or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
            ):
                raise invalid_order(order)
            terms.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    else:
        terms = [(g.spec, False) for g in groupbys]
    out: list[str] = []
    for key, descending in terms:
        direction = "DESC" if descending else "ASC"
        group = next((g for g in groupbys if key in (g.spec, g.field.name)), None)
        if group is not None:
            if group.comodel_alias is not None:
                comodel = registry[group.field.comodel]
                sub = query.order_terms(
                    comodel, group.comodel_alias, comodel.order or "id", reverse=descending, depth=1
                )
                out.extend(sub)
            else:
                nulls = "FIRST" if descending else "LAST"
                out.append(f"{group.expr} {direction} NULLS {nulls}")
            continue
        aggregate = aggregates.get(key)
        if aggregate is None:
            aggregate = next(
                (a for a in aggregates.values() if a.field is not None and a.field.name == key),
                None,
            )
        if aggregate is not None:
            out.append(f"{aggregate.expr} {direction}")
            continue
        raise ValueError(
            f"Invalid field {key!r} on model {model._name!r}: order by a groupby or an aggregate"
        )
    return out


def _labels(model: BaseModel, grouped: GroupedRows) -> dict[int, dict[int, Any]]:
    """Display names of the relational group values, per groupby position."""
    labels: dict[int, dict[int, Any]] = {}
    for index, group in enumerate(grouped.groupbys):
        if group.field.relational:
            ids = sorted({row[index] for row in grouped.rows if row[index]})
            comodel = model.env[group.field.comodel].sudo()
            labels[index] = comodel._display_names(ids)
    return labels


def _period_bounds(group: GroupBy, value: Any) -> tuple[str, str, dt.date]:
    start = dt.date.fromisoformat(value)
    assert group.granularity
    end = _period_end(start, group.granularity)
    if isinstance(group.field, f.Datetime):
        return f"{start.isoformat()} 00:00:00", f"{end.isoformat()} 00:00:00", start
    return start.isoformat(), end.isoformat(), start


def _group_domain(group: GroupBy, value: Any) -> list[Any]:
    name = group.field.name
    if value is None:
        return [(name, "=", False)]
    if group.granularity:
        start, end, _ = _period_bounds(group, value)
        return [(name, ">=", start), (name, "<", end)]
    if isinstance(group.field, f.Boolean):
        return [(name, "=", bool(value))]
    return [(name, "=", value)]


def _aggregate_value(aggregate: Aggregate, value: Any) -> Any:
    if aggregate.function in ("array_agg", "array_agg_distinct", "recordset"):
        return [v for v in json.loads(value or "[]") if v is not None]
    if aggregate.function in ("bool_and", "bool_or"):
        return bool(value)
    if aggregate.function in ("count", "count_distinct"):
        return int(value or 0)
    if value is None:
        return 0 if aggregate.function == "sum" else False
    return value


def _plain_value(field: f.Field, value: Any) -> Any:
    if isinstance(field, f.Boolean):
        return bool(value)
    return False if value is None else value


def formatted_read_group(
    model: BaseModel,
    domain: Any,
    groupby: Any,
    aggregates: Any,
    having: Any,
    offset: Any,
    limit: Any,
    order: Any,
) -> list[dict[str, Any]]:
    """Odoo 19's ``formatted_read_group`` result: one dict per group with the groupby values,
    the requested aggregates and ``__extra_domain``."""
    groupby_list = [groupby] if isinstance(groupby, str) else list(groupby or [])
    aggregate_list = [aggregates] if isinstance(aggregates, str) else list(aggregates or [])
    grouped = _run(
        model, domain, groupby_list, aggregate_list, having, offset, limit, order, legacy=False
    )
    labels = _labels(model, grouped)
    width = len(grouped.groupbys)
    out = []
    for row in grouped.rows:
        group_dict: dict[str, Any] = {}
        extra: list[Any] = []
        for index, group in enumerate(grouped.groupbys):
            value = row[index]
            extra.extend(_group_domain(group, value))
            if value is None:
                group_dict[group.spec] = False
            elif group.field.relational:
                group_dict[group.spec] = [value, labels[index].get(value, False)]
            elif group.granularity:
                start, _end, day = _period_bounds(group, value)
                group_dict[group.spec] = [start, _period_label(day, group.granularity)]
            else:
                group_dict[group.spec] = _plain_value(group.field, value)
        for offset_index, aggregate in enumerate(grouped.aggregates):
            group_dict[aggregate.key] = _aggregate_value(aggregate, row[width + 1 + offset_index])
        group_dict["__extra_domain"] = extra
        out.append(group_dict)
    return out


def read_group(
    model: BaseModel,
    domain: Any,
    fields: Any,
    groupby: Any,
    offset: Any,
    limit: Any,
    orderby: Any,
    lazy: bool,
) -> list[dict[str, Any]]:
    """The pre-19 ``read_group`` result shape (``<field>_count`` or ``__count``, ``__domain``,
    ``__context``, ``__range``)."""
    groupby_list = [groupby] if isinstance(groupby, str) else list(groupby or [])
    used = groupby_list[:1] if lazy else groupby_list
    group_fields = {spec.partition(":")[0] for spec in groupby_list if isinstance(spec, str)}
    field_specs = [
        spec
        for spec in (fields or [])
        if isinstance(spec, str) and spec.partition(":")[0] not in group_fields
    ]
    grouped = _run(
        model, domain, used, field_specs, (), offset, limit, orderby or None, legacy=True
    )
    labels = _labels(model, grouped)
    width = len(grouped.groupbys)
    base_domain = list(domain or [])
    count_key = f"{used[0].partition(':')[0]}_count" if lazy and used else "__count"
    out = []
    for row in grouped.rows:
        group_dict: dict[str, Any] = {}
        leaves: list[Any] = []
        ranges: dict[str, Any] = {}
        for index, group in enumerate(grouped.groupbys):
            value = row[index]
            leaves.extend(_group_domain(group, value))
            if value is None:
                group_dict[group.spec] = False
                if group.granularity:
                    ranges[group.spec] = False
            elif group.field.relational:
                group_dict[group.spec] = [value, labels[index].get(value, False)]
            elif group.granularity:
                start, end, day = _period_bounds(group, value)
                group_dict[group.spec] = _period_label(day, group.granularity)
                ranges[group.spec] = {"from": start, "to": end}
            else:
                group_dict[group.spec] = _plain_value(group.field, value)
        group_dict[count_key] = row[width]
        for offset_index, aggregate in enumerate(grouped.aggregates):
            group_dict[aggregate.key] = _aggregate_value(aggregate, row[width + 1 + offset_index])
        group_dict["__domain"] = [*leaves, *base_domain]
        if ranges:
            group_dict["__range"] = ranges
        if lazy and len(groupby_list) > 1:
            group_dict["__context"] = {"group_by": groupby_list[1:]}
        out.append(group_dict)
    return out
