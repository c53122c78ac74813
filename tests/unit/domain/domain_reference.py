"""A deliberately small, independent Odoo domain evaluator for specification tests.

It evaluates prefix-notation domains over in-memory rows with Odoo's documented semantics
(reference §5) for the operators the product uses, and refuses anything else so a test cannot
pass by accident. It does its own parsing (implicit top-level AND included) rather than reusing
``console.domain.search_domain``, because that module is one of the things under test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from console.domain.schema import Schema


@dataclass(frozen=True)
class FieldInfo:
    kind: str  # "scalar", "many2one", "one2many"
    comodel: str | None = None
    inverse: str | None = None


@dataclass
class Rows:
    """Records per model: ``rows[model][id] = {field: value}``; relations as ids or None."""

    fields: dict[tuple[str, str], FieldInfo] = field(default_factory=dict)
    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def for_schema(cls, schema: Schema) -> Rows:
        infos: dict[tuple[str, str], FieldInfo] = {}
        for model in schema.models:
            for spec in model.fields:
                if spec.ttype == "many2one":
                    infos[model.name, spec.name] = FieldInfo("many2one", spec.relation)
                elif spec.ttype == "one2many":
                    infos[model.name, spec.name] = FieldInfo(
                        "one2many", spec.relation, spec.relation_field
                    )
        return cls(fields=infos)

    def add(self, model: str, record_id: int, **values: Any) -> None:
        self.rows.setdefault(model, {})[record_id] = values

    def ids(self, model: str) -> set[int]:
        return set(self.rows.get(model, {}))

    def info(self, model: str, name: str) -> FieldInfo:
        return self.fields.get((model, name), FieldInfo("scalar"))

    def value(self, model: str, record_id: int, name: str) -> Any:
        if name == "id":
            return record_id
        info = self.info(model, name)
        if info.kind == "one2many":
            assert info.comodel is not None and info.inverse is not None
            return sorted(
                rid
                for rid, row in self.rows.get(info.comodel, {}).items()
                if row.get(info.inverse) == record_id
            )
        return self.rows[model][record_id].get(name)

    def search(self, model: str, domain: Sequence[Any]) -> set[int]:
        return {rid for rid in self.ids(model) if matches(self, model, rid, domain)}


def _unset(value: Any) -> bool:
    # Odoo's "not set": NULL plus the type's falsy value (False, 0, '').
    return value is None or value is False or value == "" or value == 0


def _expression(
    rows: Rows, model: str, rid: int, terms: Sequence[Any], at: int
) -> tuple[bool, int]:
    term = terms[at]
    if term == "&" or term == "|":
        left, after = _expression(rows, model, rid, terms, at + 1)
        right, after = _expression(rows, model, rid, terms, after)
        return (left and right) if term == "&" else (left or right), after
    if term == "!":
        inner, after = _expression(rows, model, rid, terms, at + 1)
        return not inner, after
    if isinstance(term, str):
        raise ValueError(f"not an operator: {term!r}")
    return _leaf(rows, model, rid, tuple(term)), at + 1


def matches(rows: Rows, model: str, rid: int, domain: Sequence[Any]) -> bool:
    """Does record ``rid`` of ``model`` match ``domain`` (top-level expressions AND-ed)."""
    at = 0
    result = True
    while at < len(domain):
        value, at = _expression(rows, model, rid, domain, at)
        result = result and value
    return result


def _leaf(rows: Rows, model: str, rid: int, leaf: tuple[Any, ...]) -> bool:
    left, operator, value = leaf
    if left == 1 and operator == "=" and value == 1:
        return True
    if left == 0 and operator == "=" and value == 1:
        return False
    if "." in left:
        head, rest = left.split(".", 1)
        return _leaf(rows, model, rid, (head, "any", [(rest, operator, value)]))
    info = rows.info(model, left)
    stored = rows.value(model, rid, left)
    if operator == "any":
        if info.kind == "many2one":
            return stored is not None and matches(rows, info.comodel or "", stored, value)
        if info.kind == "one2many":
            return any(matches(rows, info.comodel or "", cid, value) for cid in stored)
        raise NotImplementedError(f"'any' on non-relational {model}.{left}")
    if info.kind == "one2many":
        if operator == "=" and value is False:
            return not stored
        if operator == "!=" and value is False:
            return bool(stored)
        raise NotImplementedError(f"{operator!r} on one2many {model}.{left}")
    if operator in ("=", "!="):
        equal = _unset(stored) if value is False else stored is not None and stored == value
        return equal if operator == "=" else not equal
    if operator in ("in", "not in"):
        assert isinstance(value, list | tuple)
        wanted = [v for v in value if v is not False]
        found = stored in wanted or (False in value and _unset(stored))
        return found if operator == "in" else not found
    raise NotImplementedError(f"operator {operator!r} is not in the reference evaluator")


def search(rows: Rows, model: str, domain: Sequence[Any]) -> set[int]:
    return rows.search(model, domain)


def scalar_rows(records: Sequence[Mapping[str, Any]], model: str = "thing") -> Rows:
    """Flat rows (no relations) numbered from 1, for algebra tests."""
    rows = Rows()
    for index, record in enumerate(records, start=1):
        rows.add(model, index, **record)
    return rows
