"""Access rights (``ir.model.access``) and record rules (``ir.rule``) as Odoo 19 applies them.

* ACL: a user may do an operation on a model when some active ACL row of that model grants it
  to one of the user's groups (implied groups included) or to everyone (no group). No row means
  refusal, even for ``admin``; only the superuser bypasses.
* Rules: global rules (no groups) are intersected; the group rules of the user's groups are
  united; both results are AND-ed. ``domain_force`` is a Python expression, evaluated here by a
  small AST interpreter that knows ``user``, ``company_ids`` and ``company_id`` and nothing else.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from console.sandbox.odoo.exceptions import AccessError
from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.domains import And, Node, Or, parse_domain

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.environment import Env
    from console.sandbox.odoo.orm.models import BaseModel

MODES = ("read", "write", "create", "unlink")
_ACL_VERB = {"read": "access", "write": "modify", "create": "create", "unlink": "delete"}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"Invalid access mode: {mode!r}")
    return mode


# ---------------------------------------------------------------------- groups
def user_group_ids(env: Env, uid: int | None = None) -> frozenset[int]:
    """All groups of a user, implied groups included (``all_group_ids``)."""
    uid = env.uid if uid is None else uid
    key = ("groups", uid)
    cache = env.txn.security_cache
    if key not in cache:
        rows = env.execute(
            "WITH RECURSIVE g(id) AS (SELECT gid FROM res_groups_users_rel WHERE uid = ? "
            "UNION SELECT r.hid FROM res_groups_implied_rel r JOIN g ON r.gid = g.id) "
            "SELECT id FROM g",
            (uid,),
        ).fetchall()
        cache[key] = frozenset(row[0] for row in rows)
    groups: frozenset[int] = cache[key]
    return groups


def groups_implying(env: Env, group_ids: list[int]) -> list[int]:
    """The groups that are, or imply (transitively), one of ``group_ids``."""
    if not group_ids:
        return []
    marks = ",".join("?" * len(group_ids))
    rows = env.execute(
        f"WITH RECURSIVE g(id) AS (SELECT id FROM res_groups WHERE id IN ({marks}) "
        "UNION SELECT r.gid FROM res_groups_implied_rel r JOIN g ON r.hid = g.id) "
        "SELECT id FROM g",
        tuple(group_ids),
    ).fetchall()
    return [row[0] for row in rows]


# ---------------------------------------------------------------------- ACL
def check_model_access(model: BaseModel, mode: str, raise_exception: bool = True) -> bool:
    """``ir.model.access.check``: may the user do ``mode`` on this model at all?"""
    check_mode(mode)
    env = model.env
    if env.su:
        return True
    key = ("acl", env.uid, model._name, mode)
    cache = env.txn.security_cache
    if key not in cache:
        groups = sorted(user_group_ids(env))
        marks = ",".join("?" * len(groups)) or "NULL"
        row = env.execute(
            f"SELECT 1 FROM ir_model_access a JOIN ir_model m ON m.id = a.model_id "
            f"WHERE m.model = ? AND a.active = 1 AND a.perm_{mode} = 1 "
            f"AND (a.group_id IS NULL OR a.group_id IN ({marks})) LIMIT 1",
            (model._name, *groups),
        ).fetchone()
        cache[key] = row is not None
    allowed: bool = cache[key]
    if not allowed and raise_exception:
        raise acl_error(model, mode)
    return allowed


def acl_error(model: BaseModel, mode: str) -> AccessError:
    """Odoo's ACL refusal text, listing the groups that would be allowed."""
    rows = model.env.execute(
        f"SELECT DISTINCT g.full_name FROM ir_model_access a JOIN ir_model m ON m.id = a.model_id "
        f"JOIN res_groups g ON g.id = a.group_id WHERE m.model = ? AND a.active = 1 "
        f"AND a.perm_{mode} = 1 ORDER BY g.full_name",
        (model._name,),
    ).fetchall()
    header = (
        f"You are not allowed to {_ACL_VERB[mode]} '{model._def.description}' "
        f"({model._name}) records."
    )
    if rows:
        groups = "\n".join(f"\t- {row[0]}" for row in rows)
        group_info = f"This operation is allowed for the following groups:\n{groups}"
    else:
        group_info = "No group currently allows this operation."
    resolution = "Contact your administrator to request access if necessary."
    return AccessError(f"{header}\n\n{group_info}\n\n{resolution}")


# ---------------------------------------------------------------------- record rules
def rule_domain(model: BaseModel, mode: str) -> Node | None:
    """The record-rule restriction of ``mode`` for the user, or None when there is none."""
    env = model.env
    if env.su:
        return None
    key = ("rules", env.uid, model._name, mode, _context_key(env))
    cache = env.txn.security_cache
    if key in cache:
        cached: Node | None = cache[key]
        return cached
    rows = env.execute(
        f'SELECT r.id, r.domain_force, r."global" FROM ir_rule r '
        f"JOIN ir_model m ON m.id = r.model_id "
        f"WHERE m.model = ? AND r.active = 1 AND r.perm_{mode} = 1 ORDER BY r.id",
        (model._name,),
    ).fetchall()
    result: Node | None = None
    if rows:
        groups = user_group_ids(env)
        rule_groups: dict[int, set[int]] = {}
        ids = [row[0] for row in rows]
        marks = ",".join("?" * len(ids))
        for rule_id, group_id in env.execute(
            f"SELECT rule_group_id, group_id FROM rule_group_rel WHERE rule_group_id IN ({marks})",
            tuple(ids),
        ):
            rule_groups.setdefault(rule_id, set()).add(group_id)
        global_nodes: list[Node] = []
        group_nodes: list[Node] = []
        eval_context = rule_eval_context(env)
        for rule_id, domain_force, _is_global in rows:
            members = rule_groups.get(rule_id)
            if members and not members & groups:
                continue
            node = parse_domain(evaluate_domain(domain_force or "[]", eval_context))
            (group_nodes if members else global_nodes).append(node)
        nodes = list(global_nodes)
        if group_nodes:
            nodes.append(group_nodes[0] if len(group_nodes) == 1 else Or(tuple(group_nodes)))
        if nodes:
            result = nodes[0] if len(nodes) == 1 else And(tuple(nodes))
    cache[key] = result
    return result


def _context_key(env: Env) -> Any:
    allowed = env.context.get("allowed_company_ids")
    return tuple(allowed) if isinstance(allowed, list) else None


def rule_error(model: BaseModel, mode: str) -> AccessError:
    """Odoo 19's record-rule refusal text."""
    env = model.env
    row = env.execute(
        "SELECT p.name FROM res_users u JOIN res_partner p ON p.id = u.partner_id WHERE u.id = ?",
        (env.uid,),
    ).fetchone()
    user_name = row[0] if row else str(env.uid)
    return AccessError(
        "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\n"
        f"Sorry, {user_name} (id={env.uid}) doesn't have '{mode}' access to:\n"
        f"- {model._def.description} ({model._name})\n\n"
        "If you really, really need access, perhaps you can win over your friendly "
        "administrator with a batch of freshly baked cookies."
    )


def rule_eval_context(env: Env) -> dict[str, Any]:
    """The names a ``domain_force`` may use (Odoo 19's ``ir.rule._eval_context``)."""
    su_env = env.sudo().with_context({})
    return {
        "user": RecordProxy(su_env, "res.users", [env.uid]),
        "company_ids": env.user_company_ids(),
        "company_id": env.user_company_id() or False,
    }


# ---------------------------------------------------------------------- safe evaluation
class RecordProxy:
    """A read-only recordset for rule expressions: ``user.partner_id.id``,
    ``user.group_ids.ids``, iteration, ``len`` and truth value."""

    __slots__ = ("_env", "_ids", "_model")

    def __init__(self, env: Env, model: str, ids: list[int]) -> None:
        self._env = env
        self._model = model
        self._ids = ids

    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    @property
    def id(self) -> int | bool:
        if not self._ids:
            return False
        if len(self._ids) > 1:
            raise ValueError(f"Expected singleton: {self._model}{tuple(self._ids)}")
        return self._ids[0]

    def __iter__(self) -> Iterator[RecordProxy]:
        return (RecordProxy(self._env, self._model, [i]) for i in self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __bool__(self) -> bool:
        return bool(self._ids)

    def attribute(self, name: str) -> Any:
        if name in ("id", "ids"):
            return getattr(self, name)
        model = self._env[self._model]
        field = model._def.fields.get(name)
        if field is None or name == "password":
            raise AttributeError(f"'{self._model}' object has no attribute '{name}'")
        if not self._ids:
            if field.relational:
                return RecordProxy(self._env, field.comodel, [])
            return False
        [values] = model.browse([self.id]).read([name], load="_classic_write")
        value = values[name]
        if isinstance(field, f.Many2one):
            return RecordProxy(self._env, field.comodel, [value] if value else [])
        if field.relational:
            return RecordProxy(self._env, field.comodel, list(value))
        return value


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "list": list,
    "tuple": tuple,
    "set": set,
    "len": len,
    "bool": bool,
    "int": int,
    "str": str,
}


def evaluate_domain(expression: str, names: dict[str, Any]) -> Any:
    """Evaluate a ``domain_force`` without ``eval``: literals, names, attributes, comparisons,
    boolean logic, ``+``, conditional expressions and simple comprehensions only."""
    tree = ast.parse(expression.strip(), mode="eval")
    return _evaluate(tree.body, names)


def _evaluate(node: ast.AST, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List):
        return [_evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(e, names) for e in node.elts)
    if isinstance(node, ast.Set):
        return {_evaluate(e, names) for e in node.elts}
    if isinstance(node, ast.Dict):
        return {
            _evaluate(k, names): _evaluate(v, names)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        raise NameError(f"name '{node.id}' is not defined")
    if isinstance(node, ast.Attribute):
        target = _evaluate(node.value, names)
        if isinstance(target, RecordProxy):
            return target.attribute(node.attr)
        raise ValueError(f"attribute access on {type(target).__name__} is not allowed")
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, names)
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = _evaluate(value, names)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = _evaluate(value, names)
            if result:
                return result
        return result
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left, names), _evaluate(node.right, names))
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, names)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, names)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _evaluate(node.body if _evaluate(node.test, names) else node.orelse, names)
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, names)[_evaluate(node.slice, names)]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_evaluate(a, names) for a in node.args))
    if (
        isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp)
        and len(node.generators) == 1
    ):
        generator = node.generators[0]
        if not isinstance(generator.target, ast.Name) or generator.is_async:
            raise ValueError("only simple comprehensions are allowed")
        out = []
        for item in _evaluate(generator.iter, names):
            scope = {**names, generator.target.id: item}
            if all(_evaluate(cond, scope) for cond in generator.ifs):
                out.append(_evaluate(node.elt, scope))
        return set(out) if isinstance(node, ast.SetComp) else out
    raise ValueError(f"unsupported expression: {ast.dump(node)[:80]}")
