"""Random domains against a straightforward Python reading of the reference's §5 rules.

The evaluator below is written from ``shared/reference/odoo19_rpc.md`` §5 alone and shares no
code with the SQL compiler: it walks records in Python. Hypothesis draws domains (every operator,
False/None/''/0 values, lists, ``=?``, negations, nested ``& | !``, dotted paths, ``any``,
``child_of``); the sandbox must return exactly the records the evaluator selects.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from orm_support import SUPERUSER, make_model

from console.sandbox.odoo.orm import Database, seed_small_dataset

# ---------------------------------------------------------------------- the dataset
MISSING = object()  # the key is left out of ``create``

POOLS: dict[str, list[Any]] = {
    "x_name": [MISSING, False, "", "alpha", "Alpha", "beta", "al", "ALPHA beta", "gamma"],
    "x_int": [MISSING, False, 0, 1, -3, 7, 42],
    "x_float": [MISSING, False, 0.0, 1.5, -2.0, 3.25],
    "x_flag": [MISSING, True, False],
    "x_date": [MISSING, False, "2024-01-15", "2024-02-29", "2023-12-31"],
    "x_when": [
        MISSING,
        False,
        "2024-01-15 10:00:00",
        "2024-01-15 00:00:00",
        "2024-01-16 00:00:00",
        "2023-12-31 23:59:59",
    ],
    "x_kind": [MISSING, False, "a", "b", "c"],
    "x_active": [True, True, True, False],
}
FIELD_TYPES = {
    "x_name": "char",
    "x_int": "int",
    "x_float": "float",
    "x_flag": "bool",
    "x_date": "date",
    "x_when": "datetime",
    "x_kind": "selection",
    "x_active": "bool",
    "x_partner_id": "m2o",
    "x_parent_id": "m2o",
    "x_tag_ids": "m2m",
}
TARGETS = {"x_partner_id": "partner", "x_parent_id": "probe", "x_tag_ids": "tag"}
PARTNER_FIELDS = {"name": "char", "is_company": "bool"}
TAG_FIELDS = {"name": "char"}
HAS_FALSY = {"char", "int", "float", "bool"}
TAG_NAMES = [("VIP", True), ("Gold", True), ("Old", False)]  # (name, active)


def _stored(kind: str, value: Any) -> Any:
    """What a written value reads back as, in raw form (None for NULL)."""
    if value is MISSING:
        return None
    if kind == "int":
        return int(value or 0)
    if kind == "float":
        return float(value or 0.0)
    if kind == "bool":
        return bool(value)
    return None if value is False else value


class World:
    """The probe records as stored, plus the partners and tags they point to."""

    def __init__(self, db: Database) -> None:
        self.db = db
        rng = random.Random(20240115)
        self.tags: dict[int, dict[str, Any]] = {}
        for name, active in TAG_NAMES:
            tag_id = db.call_kw(
                SUPERUSER, "res.partner.category", "create", [{"name": name, "active": active}], {}
            )
            self.tags[tag_id] = {"id": tag_id, "name": name, "active": active}
        self.partners = {
            row["id"]: row
            for row in db.call_kw(
                SUPERUSER,
                "res.partner",
                "search_read",
                [[]],
                {
                    "fields": ["name", "complete_name", "email", "ref", "is_company"],
                    "context": {"active_test": False},
                },
            )
        }
        self.records: dict[int, dict[str, Any]] = {}
        partner_ids = sorted(self.partners)
        for _ in range(45):
            vals: dict[str, Any] = {}
            record: dict[str, Any] = {}
            for name, pool in POOLS.items():
                value = rng.choice(pool)
                if value is not MISSING:
                    vals[name] = value
                record[name] = _stored(FIELD_TYPES[name], value)
            partner = rng.choice([MISSING, False, *partner_ids])
            if partner is not MISSING:
                vals["x_partner_id"] = partner
            record["x_partner_id"] = partner or None if partner is not MISSING else None
            parent = rng.choice([None, None, *self.records]) if self.records else None
            if parent:
                vals["x_parent_id"] = parent
            record["x_parent_id"] = parent
            tags = [t for t in self.tags if rng.random() < 0.35]
            vals["x_tag_ids"] = [(6, 0, tags)]
            record["x_tag_ids"] = tags
            record_id = db.call_kw(SUPERUSER, "x_probe", "create", [vals], {})
            record["id"] = record_id
            self.records[record_id] = record


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    db = Database("orm-domain-properties")
    seed_small_dataset(db)
    make_model(
        db,
        "x_probe",
        [
            {"name": "x_int", "ttype": "integer"},
            {"name": "x_float", "ttype": "float"},
            {"name": "x_flag", "ttype": "boolean"},
            {"name": "x_date", "ttype": "date"},
            {"name": "x_when", "ttype": "datetime"},
            {
                "name": "x_kind",
                "ttype": "selection",
                "selection": "[('a', 'A'), ('b', 'B'), ('c', 'C')]",
            },
            {"name": "x_active", "ttype": "boolean"},
            {"name": "x_partner_id", "ttype": "many2one", "relation": "res.partner"},
            {"name": "x_parent_id", "ttype": "many2one", "relation": "x_probe"},
            {"name": "x_tag_ids", "ttype": "many2many", "relation": "res.partner.category"},
        ],
    )
    yield World(db)
    db.close()


# ---------------------------------------------------------------------- the evaluator
Truth = bool | None  # None: unknown (a NULL compared with < > on a type with a falsy value)


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def _and(a: Truth, b: Truth) -> Truth:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: Truth, b: Truth) -> Truth:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _parse(domain: list[Any]) -> Any:
    """Prefix notation into nested tuples ('&', a, b) / ('|', a, b) / ('!', a) / leaf."""
    items = list(domain)
    position = 0

    def term() -> Any:
        nonlocal position
        item = items[position]
        position += 1
        if item in ("&", "|"):
            left = term()
            return (item, left, term())
        if item == "!":
            return ("!", term())
        return tuple(item)

    terms = []
    while position < len(items):
        terms.append(term())
    node: Any = ("true",)
    for t in terms:
        node = ("&", node, t)
    return node


def _unset(value: Any) -> bool:
    return value is None or value is False


class Evaluator:
    def __init__(self, world: World) -> None:
        self.world = world

    # the three models the probes reach
    def fields(self, model: str) -> dict[str, str]:
        if model == "partner":
            return PARTNER_FIELDS
        if model == "tag":
            return TAG_FIELDS
        return FIELD_TYPES

    def label(self, model: str, record: dict[str, Any]) -> str:
        return record["complete_name"] if model == "partner" else record.get("name") or ""

    def like_labels(self, model: str, record: dict[str, Any]) -> list[str]:
        """What an ilike on a relational value looks at (a partner also matches on email/ref)."""
        if model == "partner":
            return [v for v in (record["complete_name"], record["email"], record["ref"]) if v]
        return [self.label(model, record)]

    def linked(self, record: dict[str, Any], field: str) -> list[dict[str, Any]]:
        value = record[field]
        target = TARGETS[field]
        if field == "x_tag_ids":  # x2many values hide archived records
            return [self.world.tags[t] for t in value if self.world.tags[t]["active"]]
        if value is None:
            return []
        table = self.world.partners if target == "partner" else self.world.records
        return [table[value]]

    def search(self, domain: list[Any]) -> set[int]:
        node = _parse(domain)
        active_test = not any(
            isinstance(item, list | tuple) and item[0] == "x_active" for item in domain
        )
        return {
            rid
            for rid, record in self.world.records.items()
            if (not active_test or record["x_active"] is True)
            and self.eval(node, record, "probe") is True
        }

    def eval(self, node: Any, record: dict[str, Any], model: str) -> Truth:
        if node[0] == "true":
            return True
        if node[0] == "&":
            return _and(self.eval(node[1], record, model), self.eval(node[2], record, model))
        if node[0] == "|":
            return _or(self.eval(node[1], record, model), self.eval(node[2], record, model))
        if node[0] == "!":
            return _not(self.eval(node[1], record, model))
        return self.leaf(record, model, *node)

    def leaf(self, record: dict[str, Any], model: str, path: str, op: str, value: Any) -> Truth:
        if "." in path:
            head, rest = path.split(".", 1)
            target = TARGETS[head]
            return any(
                self.leaf(t, target, rest, op, value) is True for t in self.linked(record, head)
            )
        kind = self.fields(model)[path] if path != "id" else "id"
        if op == "=?":
            if not value:
                return True
            op = "="
        positive = True
        if op in ("=", "!="):
            value = (list(value) or [False]) if isinstance(value, list) else [value]
            positive, op = op == "=", "in"
        elif op in ("in", "not in"):
            value = list(value) if isinstance(value, list) else [value]
            positive, op = op == "in", "in"
        elif op.startswith("not "):
            positive, op = False, op[4:]
        if op in ("like", "ilike") and (_unset(value) or value == ""):
            return positive
        if op in ("=like", "=ilike") and (_unset(value) or value == ""):
            op, value = "in", [False]
        result = self.positive(record, model, path, kind, op, value)
        return result if positive else _not(result)

    def positive(
        self, record: dict[str, Any], model: str, path: str, kind: str, op: str, value: Any
    ) -> Truth:
        stored = record["id"] if kind == "id" else record.get(path)
        if op == "any":
            sub = _parse(value)
            target = TARGETS[path]
            return any(self.eval(sub, t, target) is True for t in self.linked(record, path))
        if op in ("child_of", "parent_of"):
            # a many2one to the model itself is the parent link: the record's own id is tested
            return self.hierarchy(record["id"], op, value)
        if op == "in":
            return self.member(record, path, kind, stored, value)
        if op in ("like", "ilike", "=like", "=ilike"):
            if kind in ("m2o", "m2m"):
                target = TARGETS[path]
                return any(
                    any(self.like(op, label, value) for label in self.like_labels(target, t))
                    for t in self.linked(record, path)
                )
            return stored is not None and self.like(op, str(stored), value)
        return self.compare(kind, stored, op, value)

    @staticmethod
    def like(op: str, stored: str, value: str) -> bool:
        if op == "like":
            return value in stored
        if op == "ilike":
            return value.lower() in stored.lower()
        if op == "=like":
            return stored == value
        return stored.lower() == value.lower()

    def member(
        self, record: dict[str, Any], path: str, kind: str, stored: Any, values: list[Any]
    ) -> Truth:
        unset = any(_unset(v) for v in values)
        rest = [v for v in values if not _unset(v)]
        if kind == "bool":
            truths = {bool(v) for v in values}
            if truths == {True, False}:
                return True
            return stored is True if truths == {True} else stored is not True
        if kind in ("int", "float"):
            unset = unset or any(v == 0 for v in rest)
            numbers = [float(v) for v in rest if v != 0]
            if stored is None or stored == 0:
                return unset
            return float(stored) in numbers
        if kind == "char":
            if stored is None:
                return unset
            if stored == "":
                return unset or "" in rest
            return stored in rest
        if kind == "m2o":
            if stored is None:
                return unset
            target = TARGETS[path]
            [linked_record] = self.linked(record, path)
            return stored in [v for v in rest if isinstance(v, int)] or self.label(
                target, linked_record
            ) in [v for v in rest if isinstance(v, str)]
        if kind == "m2m":
            target = TARGETS[path]
            tags = self.linked(record, path)
            if unset and not tags:
                return True
            return any(t["id"] in rest or self.label(target, t) in rest for t in tags)
        if kind == "datetime":
            rest = [f"{v} 00:00:00" if len(v) == 10 else v for v in rest]
        if stored is None:
            return unset
        return stored in rest

    @staticmethod
    def compare(kind: str, stored: Any, op: str, value: Any) -> Truth:
        if _unset(value):
            return False
        if kind == "datetime" and len(value) == 10:
            next_day = (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat()
            if op == ">":
                op, value = ">=", f"{next_day} 00:00:00"
            elif op == "<=":
                op, value = "<", f"{next_day} 00:00:00"
            else:
                value = f"{value} 00:00:00"
        if stored is None:
            return None if kind in HAS_FALSY else False
        if kind in ("int", "float"):
            value = float(value)
        result: bool = {
            "<": stored < value,
            "<=": stored <= value,
            ">": stored > value,
            ">=": stored >= value,
        }[op]
        return result

    def hierarchy(self, stored: Any, op: str, value: Any) -> bool:
        start = {v for v in (value if isinstance(value, list) else [value]) if not _unset(v)}
        if not start:
            return False
        records = self.world.records
        found = set(start)
        changed = True
        while changed:
            changed = False
            for rid, rec in records.items():
                if op == "child_of" and rec["x_parent_id"] in found and rid not in found:
                    found.add(rid)
                    changed = True
                if (
                    op == "parent_of"
                    and rid in found
                    and rec["x_parent_id"]
                    and rec["x_parent_id"] not in found
                ):
                    found.add(rec["x_parent_id"])
                    changed = True
        return stored in found


# ---------------------------------------------------------------------- domain strategies
def _values(pool: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([v for v in pool if v is not MISSING] + [None])


LIKE_WORDS = ["al", "Alpha", "ALPHA", "bet", "", False, None, "zz", "a b"]
PARTNER_WORDS = ["Azure", "deco", "Freeman", "Admin", "zzz", "", False]


def _scalar_leaf(path: str, kind: str, pool: list[Any]) -> st.SearchStrategy[list[Any]]:
    values = _values(pool)
    lists = st.lists(values, max_size=3)
    strategies = [
        st.tuples(st.just(path), st.sampled_from(["=", "!=", "=?"]), values),
        st.tuples(st.just(path), st.sampled_from(["=", "!=", "in", "not in"]), lists),
        st.tuples(st.just(path), st.sampled_from(["in", "not in"]), values),
    ]
    if kind != "bool":
        comparable = st.sampled_from(
            [v for v in pool if v is not MISSING]
            + (["2024-01-15", "2023-12-31"] if kind == "datetime" else [])
        )
        strategies.append(
            st.tuples(st.just(path), st.sampled_from(["<", "<=", ">", ">="]), comparable)
        )
    if kind == "char":
        strategies.append(
            st.tuples(
                st.just(path),
                st.sampled_from(
                    ["like", "not like", "ilike", "not ilike", "=like", "=ilike", "not =ilike"]
                ),
                st.sampled_from(LIKE_WORDS),
            )
        )
    if kind == "datetime":
        strategies.append(
            st.tuples(
                st.just(path),
                st.sampled_from(["=", "in"]),
                st.sampled_from(["2024-01-15", "2024-01-16"]),
            )
        )
    return st.one_of(strategies).map(list)


def _any_takes_a_list(leaf: list[Any]) -> bool:
    return isinstance(leaf[2], list) == str(leaf[1]).endswith("any")


def leaves(world: World) -> st.SearchStrategy[list[Any]]:
    partner_ids = sorted(world.partners)
    partner_names = [*[p["complete_name"] for p in world.partners.values()][:6], "Nobody"]
    probe_ids = sorted(world.records)
    tag_ids = sorted(world.tags)
    partner_values = st.sampled_from([*partner_ids[:8], *partner_names, False, None])
    tag_values = st.sampled_from([*tag_ids, "VIP", "Old", "Nope", False, None])
    strategies = [_scalar_leaf(name, FIELD_TYPES[name], POOLS[name]) for name in POOLS]
    strategies += [
        st.tuples(
            st.just("x_partner_id"),
            st.sampled_from(["=", "!=", "in", "not in"]),
            st.one_of(partner_values, st.lists(partner_values, max_size=3)),
        ).map(list),
        st.tuples(
            st.just("x_partner_id"),
            st.sampled_from(["ilike", "not ilike", "like"]),
            st.sampled_from(PARTNER_WORDS),
        ).map(list),
        st.tuples(
            st.just("x_partner_id"), st.sampled_from(["<", ">="]), st.sampled_from(partner_ids[:6])
        ).map(list),
        st.tuples(
            st.just("x_partner_id"),
            st.sampled_from(["any", "not any"]),
            st.sampled_from(
                [
                    [["is_company", "=", True]],
                    [["name", "ilike", "a"]],
                    [],
                    ["|", ["name", "=", "Deco Addict"], ["is_company", "=", False]],
                ]
            ),
        ).map(list),
        st.tuples(
            st.just("x_partner_id.name"),
            st.sampled_from(["=", "!=", "ilike", "not ilike"]),
            st.sampled_from(["Azure Interior", "Deco", False, ""]),
        ).map(list),
        st.tuples(
            st.just("x_partner_id.is_company"),
            st.sampled_from(["=", "!="]),
            st.sampled_from([True, False]),
        ).map(list),
        st.tuples(
            st.just("x_tag_ids"),
            st.sampled_from(["=", "!=", "in", "not in"]),
            st.one_of(tag_values, st.lists(tag_values, max_size=2)),
        ).map(list),
        st.tuples(
            st.just("x_tag_ids"),
            st.sampled_from(["ilike", "not ilike", "any", "not any"]),
            st.sampled_from(["vi", "Old", [["name", "=", "Gold"]], []]),
        )
        .map(list)
        .filter(_any_takes_a_list),
        st.tuples(
            st.just("x_tag_ids.name"),
            st.sampled_from(["=", "!=", "ilike"]),
            st.sampled_from(["VIP", "Old", "gol", False]),
        ).map(list),
        st.tuples(
            st.just("x_parent_id"),
            st.sampled_from(["=", "!=", "child_of", "parent_of"]),
            st.one_of(
                st.sampled_from([*probe_ids[:10], False]),
                st.lists(st.sampled_from(probe_ids[:10]), max_size=2),
            ),
        ).map(list),
        st.tuples(
            st.just("x_parent_id.x_int"),
            st.sampled_from(["=", "!=", ">", "<="]),
            st.sampled_from([0, 1, 7, False]),
        ).map(list),
        st.tuples(
            st.just("x_parent_id.x_name"),
            st.sampled_from(["=", "!=", "ilike", ">"]),
            st.sampled_from(["alpha", "al", "", False]),
        ).map(list),
    ]
    return st.one_of(strategies)


def expressions(world: World) -> st.SearchStrategy[list[Any]]:
    """One prefix-notation expression (a list that forms a single term)."""

    def extend(children: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[list[Any]]:
        return st.one_of(
            st.tuples(st.sampled_from(["&", "|"]), children, children).map(
                lambda t: [t[0], *t[1], *t[2]]
            ),
            children.map(lambda c: ["!", *c]),
        )

    return st.recursive(leaves(world).map(lambda leaf: [leaf]), extend, max_leaves=5)


def domains(world: World) -> st.SearchStrategy[list[Any]]:
    """A domain: one to three expressions, implicitly AND-ed."""
    return st.lists(expressions(world), min_size=0, max_size=3).map(
        lambda parts: [item for part in parts for item in part]
    )


# ---------------------------------------------------------------------- the property
@pytest.fixture(scope="module")
def evaluator(world: World) -> Evaluator:
    return Evaluator(world)


def test_child_of_on_id_needs_a_parent_id_field_which_custom_models_lack(world: World) -> None:
    with pytest.raises(ValueError, match="parent"):
        world.db.call_kw(SUPERUSER, "x_probe", "search", [[["id", "child_of", [1]]]], {})


def test_the_world_covers_unset_falsy_and_archived_values(world: World) -> None:
    records = world.records.values()
    for name in ("x_name", "x_int", "x_flag", "x_date", "x_kind"):
        assert any(r[name] is None for r in records), name
    assert any(r["x_name"] == "" for r in records)
    assert any(r["x_int"] == 0 for r in records)
    assert any(r["x_active"] is False for r in records)
    assert any(r["x_parent_id"] for r in records)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_search_returns_exactly_what_the_reference_rules_select(
    world: World, evaluator: Evaluator, data: st.DataObject
) -> None:
    domain = data.draw(domains(world), label="domain")
    found = world.db.call_kw(SUPERUSER, "x_probe", "search", [domain], {})
    assert sorted(found) == sorted(evaluator.search(domain)), domain


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_search_count_agrees_with_search(world: World, data: st.DataObject) -> None:
    domain = data.draw(domains(world), label="domain")
    ids = world.db.call_kw(SUPERUSER, "x_probe", "search", [domain], {})
    assert world.db.call_kw(SUPERUSER, "x_probe", "search_count", [domain], {}) == len(ids)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_negated_domain_selects_the_complement_unless_nulls_are_unknown(
    world: World, evaluator: Evaluator, data: st.DataObject
) -> None:
    expression = data.draw(expressions(world), label="expression")
    kept = set(world.db.call_kw(SUPERUSER, "x_probe", "search", [expression], {}))
    dropped = set(world.db.call_kw(SUPERUSER, "x_probe", "search", [["!", *expression]], {}))
    assert not kept & dropped
    unknown = {
        rid
        for rid, record in world.records.items()
        if evaluator.eval(_parse(expression), record, "probe") is None
    }
    active = (
        {rid for rid, record in world.records.items() if record["x_active"] is True}
        if not any(isinstance(i, list) and i[0] == "x_active" for i in expression)
        else set(world.records)
    )
    assert kept | dropped | unknown >= active
