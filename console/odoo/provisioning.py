"""``psa provision`` and ``psa doctor``: the product's Odoo schema, created and checked over RPC.

Provision works as Odoo Studio does over RPC (no module): it creates the ``x_`` models and
fields, selection values, defaults, the ``psa`` groups, access rights and record rules of
``resources/odoo/schema.toml``, registers an external id in module ``psa`` for each, and keeps
users' SA role groups in step with their ``x_sa_membership`` rows (record rules are attached to
groups). It runs in three parts:

1. **preflight**: the user must be a Settings administrator and the Helpdesk and Subscriptions
   apps must be installed (``ir.module.module`` state), otherwise it refuses with a message;
2. **read**: a few batched ``search_read`` calls, issued concurrently, bring back everything to
   compare (:func:`read_state`); the diff itself is pure (:mod:`console.odoo.provisioning_plan`);
3. **apply**: one ``create`` per kind of record in dependency order (models with their plain
   fields, many2one fields, one2many fields, selection values, defaults, groups layer by layer,
   access rights, rules, external ids), a ``write`` per differing record.

A second run finds nothing to do and says "up to date"; ``--dry-run`` prints the plan; ``psa
doctor`` lists every missing or different piece and exits 0 only when there is none. RPCs are
counted and reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, TextIO

from console.domain.names import SaMembership, ServicedAccount, groups_for_roles
from console.domain.schema import PERMISSIONS, Schema, SchemaError
from console.odoo import errors
from console.odoo.provisioning_plan import (
    MAIL_THREAD_MARKER,
    MODULE,
    REQUIRED_MODULES,
    AccessRow,
    Change,
    CreateAccess,
    CreateField,
    CreateGroup,
    CreateModel,
    CreateRule,
    CreateSelectionValue,
    DefaultRow,
    DeleteStale,
    FieldRow,
    GroupRow,
    ModelRow,
    ModuleRow,
    OdooState,
    Plan,
    Problem,
    RegisterXmlId,
    RuleRow,
    SelectionRow,
    SetDefault,
    SyncUserGroups,
    UpdateAccess,
    UpdateField,
    UpdateGroup,
    UpdateModel,
    UpdateRule,
    UpdateSelectionValue,
    XmlIdRow,
    access_xmlid,
    compute_plan,
    default_json,
    default_xmlid,
    field_values,
    field_xmlid,
    group_id_of,
    model_values,
    model_xmlid,
    module_problems,
    perm_values,
    perms_of,
    role_group_changes,
    rule_xmlid,
    selection_xmlid,
)

__all__ = [
    "GroupSync",
    "Problem",
    "ProvisionFailed",
    "ProvisionRefused",
    "ProvisionReport",
    "RpcCaller",
    "RpcGateway",
    "doctor",
    "provision",
    "read_state",
    "run_doctor",
    "run_provision",
    "sync_user_groups",
]

log = logging.getLogger(__name__)

#: The group whose members may change Odoo's data model (Settings administrators).
ADMIN_GROUP: Final = "base.group_system"
#: OS keyring service under which the console stores passwords (console/ui/login.py).
KEYRING_SERVICE: Final = "psa-console"
EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_CANNOT_RUN: Final = 2

_NO_ARCHIVED: Final = {"active_test": False}
#: ir.model.fields columns provision compares.
_FIELD_COLUMNS: Final = (
    "model", "name", "field_description", "ttype", "relation", "relation_field", "required",
    "index", "copied", "help", "on_delete", "domain", "state",
)  # fmt: skip
_PERM_COLUMNS: Final = tuple(f"perm_{name}" for name in PERMISSIONS)


class _User(Protocol):
    @property
    def uid(self) -> int: ...


class RpcCaller(Protocol):
    """Anything that makes Odoo RPC calls (``execute_kw``)."""

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any: ...


class RpcGateway(RpcCaller, Protocol):
    """What provisioning needs from a connection: :class:`~console.odoo.gateway.OdooGateway`
    has it, and so does the sandbox's in-process adapter."""

    @property
    def user(self) -> _User | None: ...

    def operation(self, name: str) -> contextlib.AbstractContextManager[None]: ...


class ProvisionRefused(errors.OdooGatewayError):
    """Provision (or doctor) cannot run here: the user is no administrator, or apps are missing."""


class ProvisionFailed(errors.OdooGatewayError):
    """Odoo refused one of provision's writes; what was done before it stays done."""


@dataclass(frozen=True)
class ProvisionReport:
    """What a provision run did (or, in a dry run, would do)."""

    dry_run: bool
    #: the changes applied, or planned in a dry run, in order
    changes: tuple[Change, ...]
    #: differences provision does not fix; a person must (see each message)
    manual: tuple[Problem, ...]
    #: RPCs this run made, reads included
    rpc_count: int
    #: remarks on the run itself
    notes: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        """Nothing needed creating or changing."""
        return not self.changes

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        rpcs = _plural(self.rpc_count, "RPC")
        out: list[str] = []
        if self.up_to_date:
            out.append(f"Up to date: nothing to create or change ({rpcs}).")
        elif self.dry_run:
            out.append(
                f"Dry run: {_plural(len(self.changes), 'change')} planned, nothing written "
                f"({rpcs}):"
            )
        else:
            out.append(f"Applied {_plural(len(self.changes), 'change')} ({rpcs}):")
        out.extend(f"  + {change.summary}" for change in self.changes)
        if self.manual:
            out.append("Needs a person (provision does not change these):")
            out.extend(f"  ! {problem}" for problem in self.manual)
        out.extend(f"Note: {note}" for note in self.notes)
        return out


@dataclass(frozen=True)
class GroupSync:
    """What :func:`sync_user_groups` changed on one user (group xmlids)."""

    user_id: int
    added: frozenset[str]
    removed: frozenset[str]

    @property
    def changed(self) -> bool:
        """Whether any group was given or taken."""
        return bool(self.added or self.removed)


class _CountingRpc:
    """Counts this run's RPCs, independently of the gateway's own per-operation statistics."""

    def __init__(self, gateway: RpcGateway) -> None:
        self.gateway = gateway
        self.count = 0

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return await self.gateway.call(model, method, *args, **kwargs)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


async def provision(
    gateway: RpcGateway, schema: Schema, *, dry_run: bool = False
) -> ProvisionReport:
    """Create or fix everything ``schema`` declares; idempotent.

    Raises :class:`ProvisionRefused` when the user is not an administrator or the Helpdesk /
    Subscriptions apps are not installed, :class:`ProvisionFailed` when Odoo refuses a write
    (run again once the cause is fixed: it resumes), and the gateway's errors otherwise.
    """
    rpc = _CountingRpc(gateway)
    with gateway.operation("provision"):
        uid = await _require_admin(rpc, gateway)
        modules = await _read_modules(rpc)
        missing = module_problems(modules)
        if missing:
            raise ProvisionRefused(
                "Cannot provision: " + "; ".join(map(str, missing)) + ". Then run psa "
                "provision again."
            )
        state = await read_state(rpc, schema, modules=modules, reader_uid=uid)
        plan = compute_plan(schema, state)
        if not dry_run and plan.changes:
            await _Applier(rpc, schema, state).apply(plan)
    return ProvisionReport(dry_run, plan.changes, plan.manual, rpc.count, plan.notes)


async def doctor(gateway: RpcGateway, schema: Schema) -> list[Problem]:
    """Every missing or different piece, in the order provision would fix them, then the ones
    a person must fix (missing apps, fields of the wrong type, SAs deeper than the rules reach).

    An empty list means all is right. Raises :class:`ProvisionRefused` when the user is not an
    administrator (the checks read Odoo's technical models).
    """
    return (await _diagnose(_CountingRpc(gateway), gateway, schema)).problems()


async def sync_user_groups(gateway: RpcGateway, schema: Schema, user_id: int) -> GroupSync:
    """Give or take the SA role groups of ``user_id`` so they match their memberships' roles.

    Record rules are attached to groups (``psa.group_technician`` narrows a console user to
    their SAs; ``psa.group_dispatcher`` opens the unmatched queue), so a membership added or
    removed must be followed by this call. The caller needs the right to change users' groups
    (an administrator, or the relay's service account if it was given that right).
    Three reads, concurrently, and at most one write.
    """
    role_groups = [group for group in schema.groups if group.role]
    with gateway.operation("sync user groups"):
        xmlid_rows, membership_rows, user_rows = await asyncio.gather(
            gateway.call(
                "ir.model.data",
                "search_read",
                [
                    ("module", "=", MODULE),
                    ("model", "=", "res.groups"),
                    ("name", "in", [group.local_name for group in role_groups]),
                ],
                fields=["name", "res_id"],
            ),
            gateway.call(
                SaMembership.MODEL,
                "search_read",
                [(SaMembership.USER, "=", user_id)],
                fields=[SaMembership.ROLE],
            ),
            gateway.call(
                "res.users",
                "search_read",
                [("id", "=", user_id)],
                fields=["group_ids"],
                context=_NO_ARCHIVED,
            ),
        )
        if not user_rows:
            raise errors.RecordGone(f"User {user_id} does not exist in Odoo.")
        ids = {f"{MODULE}.{row['name']}": int(row["res_id"]) for row in xmlid_rows}
        unknown = [group.xmlid for group in role_groups if group.xmlid not in ids]
        if unknown:
            raise errors.SchemaMismatch(
                f"Odoo has no group {', '.join(unknown)}: run psa provision for this database."
            )
        xmlid_of = {gid: xmlid for xmlid, gid in ids.items()}
        held = frozenset(xmlid_of[g] for g in user_rows[0]["group_ids"] if g in xmlid_of)
        roles = {row[SaMembership.ROLE] for row in membership_rows if row[SaMembership.ROLE]}
        wanted = groups_for_roles(schema, roles)
        add, remove = role_group_changes(schema, held, wanted)
        if add or remove:
            commands = [[4, ids[x]] for x in sorted(add)] + [[3, ids[x]] for x in sorted(remove)]
            await gateway.call("res.users", "write", [user_id], {"group_ids": commands})
    return GroupSync(user_id, add, remove)


# --------------------------------------------------------------------------------------------
# Preflight
# --------------------------------------------------------------------------------------------


async def _require_admin(rpc: _CountingRpc, gateway: RpcGateway) -> int:
    user = gateway.user
    if user is None:
        raise errors.SessionExpired("Not signed in to Odoo.")
    if not await rpc.call("res.users", "has_group", [user.uid], ADMIN_GROUP):
        raise ProvisionRefused(
            "This Odoo user is not an administrator (Settings access, group "
            f"{ADMIN_GROUP}); models, fields, access rights and record rules can only be "
            "created and checked by one. Run again with an administrator's login (--user)."
        )
    return user.uid


async def _read_modules(rpc: _CountingRpc) -> dict[str, ModuleRow]:
    rows = await rpc.call(
        "ir.module.module",
        "search_read",
        [("name", "in", sorted(REQUIRED_MODULES))],
        fields=["name", "state"],
    )
    return {row["name"]: ModuleRow(row["name"], row["state"]) for row in rows}


async def _diagnose(rpc: _CountingRpc, gateway: RpcGateway, schema: Schema) -> Plan:
    with gateway.operation("doctor"):
        uid = await _require_admin(rpc, gateway)
        modules = await _read_modules(rpc)
        state = await read_state(rpc, schema, modules=modules, reader_uid=uid)
    return compute_plan(schema, state)


# --------------------------------------------------------------------------------------------
# Reading what Odoo has
# --------------------------------------------------------------------------------------------


def _many2one_id(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool) and value:
        return value
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _perms(row: Mapping[str, Any]) -> tuple[bool, bool, bool, bool]:
    read, write, create, unlink = (bool(row[f"perm_{name}"]) for name in PERMISSIONS)
    return (read, write, create, unlink)


def _stock_group_modules(schema: Schema) -> dict[str, set[str]]:
    """Group xmlids the schema refers to, by module (psa ones included)."""
    referenced: set[str] = {group.xmlid for group in schema.groups}
    for group in schema.groups:
        referenced.update(group.implied)
    referenced.update(access.group for access in schema.access if access.group)
    for rule in schema.rules:
        referenced.update(rule.groups)
    by_module: dict[str, set[str]] = {}
    for xmlid in referenced:
        module, _, name = xmlid.partition(".")
        by_module.setdefault(module, set()).add(name)
    return by_module


def _xmlid_domain(schema: Schema) -> list[Any]:
    """Everything registered under ``psa``, plus the stock groups the schema names."""
    branches: list[list[Any]] = [[("module", "=", MODULE)]]
    for module, names in sorted(_stock_group_modules(schema).items()):
        if module != MODULE:
            branches.append(["&", ("module", "=", module), ("name", "in", sorted(names))])
    domain: list[Any] = ["|"] * (len(branches) - 1)
    for branch in branches:
        domain.extend(branch)
    return domain


async def read_state(
    rpc: RpcCaller,
    schema: Schema,
    *,
    modules: Mapping[str, ModuleRow] | None = None,
    reader_uid: int | None = None,
) -> OdooState:
    """Everything provision compares, in two waves of concurrent ``search_read`` calls.

    Wave one: ``ir.model``, ``ir.model.fields``, ``ir.model.fields.selection``,
    ``ir.model.data``, ``res.groups``, ``ir.model.access``, ``ir.rule``, ``ir.default``. Wave two
    (only once the SA models exist): the SA tree, the memberships and the users holding role
    groups.
    """
    model_names = sorted(spec.name for spec in schema.models)
    field_names = sorted(
        {spec.name for model in schema.models for spec in model.fields} | {MAIL_THREAD_MARKER}
    )
    selection_fields = [s for m in schema.models for s in m.fields if s.selection]
    default_fields = [s for m in schema.models for s in m.custom_fields if s.default is not None]
    governed = sorted({a.model for a in schema.access} | {r.model for r in schema.rules})
    (
        model_rows,
        field_rows,
        selection_rows,
        xmlid_rows,
        group_rows,
        access_rows,
        rule_rows,
        default_rows,
    ) = await asyncio.gather(
        rpc.call(
            "ir.model",
            "search_read",
            [("model", "in", model_names)],
            fields=["model", "name", "order", "info", "state"],
        ),
        rpc.call(
            "ir.model.fields",
            "search_read",
            [("model", "in", model_names), ("name", "in", field_names)],
            fields=list(_FIELD_COLUMNS),
        ),
        rpc.call(
            "ir.model.fields.selection",
            "search_read",
            [
                ("field_id.model", "in", sorted({s.model for s in selection_fields})),
                ("field_id.name", "in", sorted({s.name for s in selection_fields})),
            ],
            fields=["field_id", "value", "name", "sequence"],
        ),
        rpc.call(
            "ir.model.data",
            "search_read",
            _xmlid_domain(schema),
            fields=["module", "name", "model", "res_id"],
        ),
        rpc.call("res.groups", "search_read", [], fields=["name", "implied_ids", "comment"]),
        rpc.call(
            "ir.model.access",
            "search_read",
            [("model_id.model", "in", governed)],
            fields=["name", "model_id", "group_id", *_PERM_COLUMNS, "active"],
            context=_NO_ARCHIVED,
        ),
        rpc.call(
            "ir.rule",
            "search_read",
            [("model_id.model", "in", governed)],
            fields=["name", "model_id", "groups", "domain_force", *_PERM_COLUMNS, "active"],
            context=_NO_ARCHIVED,
        ),
        rpc.call(
            "ir.default",
            "search_read",
            [
                ("field_id.model", "in", sorted({s.model for s in default_fields})),
                ("field_id.name", "in", sorted({s.name for s in default_fields})),
            ],
            fields=["field_id", "json_value", "user_id", "company_id", "condition"],
        ),
    )
    state = OdooState(modules=dict(modules or {}), reader_uid=reader_uid)
    for row in model_rows:
        state.models[row["model"]] = ModelRow(
            id=row["id"],
            model=row["model"],
            name=_text(row["name"]),
            order=_text(row["order"]),
            info=_text(row["info"]),
            state=_text(row["state"]),
        )
    model_of = {row.id: name for name, row in state.models.items()}
    for row in field_rows:
        state.fields[(row["model"], row["name"])] = FieldRow(
            id=row["id"],
            model=row["model"],
            name=row["name"],
            string=_text(row["field_description"]),
            ttype=row["ttype"],
            relation=_text(row["relation"]),
            relation_field=_text(row["relation_field"]),
            required=bool(row["required"]),
            index=bool(row["index"]),
            copied=bool(row["copied"]),
            help=_text(row["help"]),
            on_delete=_text(row["on_delete"]),
            domain=_text(row["domain"]),
            state=_text(row["state"]),
        )
    for row in selection_rows:
        field_id = _many2one_id(row["field_id"])
        if field_id is not None:
            state.selections.setdefault(field_id, []).append(
                SelectionRow(row["id"], field_id, row["value"], _text(row["name"]), row["sequence"])
            )
    for row in xmlid_rows:
        xmlid = XmlIdRow(row["id"], row["module"], row["name"], row["model"], int(row["res_id"]))
        state.xmlids[xmlid.xmlid] = xmlid
    for row in group_rows:
        state.groups[row["id"]] = GroupRow(
            row["id"], _text(row["name"]), frozenset(row["implied_ids"]), _text(row["comment"])
        )
    for row in access_rows:
        model_id = _many2one_id(row["model_id"])
        state.access.append(
            AccessRow(
                id=row["id"],
                name=_text(row["name"]),
                model=model_of.get(model_id or 0, ""),
                group_id=_many2one_id(row["group_id"]),
                perms=_perms(row),
                active=bool(row["active"]),
            )
        )
    for row in rule_rows:
        model_id = _many2one_id(row["model_id"])
        state.rules.append(
            RuleRow(
                id=row["id"],
                name=_text(row["name"]),
                model=model_of.get(model_id or 0, ""),
                group_ids=frozenset(row["groups"]),
                domain_force=_text(row["domain_force"]),
                perms=_perms(row),
                active=bool(row["active"]),
            )
        )
    for row in default_rows:
        field_id = _many2one_id(row["field_id"])
        if field_id is None or row["user_id"] or row["company_id"] or row["condition"]:
            continue  # only the global default is provision's
        state.defaults[field_id] = DefaultRow(row["id"], field_id, _text(row["json_value"]))
    await _read_memberships(rpc, schema, state)
    return state


async def _read_memberships(rpc: RpcCaller, schema: Schema, state: OdooState) -> None:
    """Wave two: SA tree, memberships, users holding role groups (when the models exist)."""
    has = state.fields.__contains__
    calls: dict[str, Any] = {}
    if has((ServicedAccount.MODEL, ServicedAccount.PARENT)):
        calls["tree"] = rpc.call(
            ServicedAccount.MODEL,
            "search_read",
            [],
            fields=[ServicedAccount.PARENT],
            context=_NO_ARCHIVED,
        )
    role_group_ids = [
        gid
        for gid in (group_id_of(schema, state, g.xmlid) for g in schema.groups if g.role)
        if gid is not None
    ]
    if has((SaMembership.MODEL, SaMembership.USER)) and has(
        (SaMembership.MODEL, SaMembership.ROLE)
    ):
        calls["memberships"] = rpc.call(
            SaMembership.MODEL,
            "search_read",
            [],
            fields=[SaMembership.USER, SaMembership.ROLE],
        )
        if role_group_ids:
            calls["holders"] = rpc.call(
                "res.users",
                "search_read",
                [("group_ids", "in", role_group_ids)],
                fields=["group_ids"],
                context=_NO_ARCHIVED,
            )
    if not calls:
        return
    results = dict(zip(calls, await asyncio.gather(*calls.values()), strict=True))
    if "tree" in results:
        state.sa_parents = {
            row["id"]: _many2one_id(row[ServicedAccount.PARENT]) for row in results["tree"]
        }
    if "memberships" in results:
        state.memberships = [
            (user, row[SaMembership.ROLE])
            for row in results["memberships"]
            if (user := _many2one_id(row[SaMembership.USER])) is not None and row[SaMembership.ROLE]
        ]
        wanted = set(role_group_ids)
        state.user_role_groups = {
            row["id"]: frozenset(g for g in row["group_ids"] if g in wanted)
            for row in results.get("holders", [])
        }


# --------------------------------------------------------------------------------------------
# Applying a plan
# --------------------------------------------------------------------------------------------


class _Applier:
    """Applies a plan: one ``create`` per kind, a ``write`` per differing record."""

    def __init__(self, rpc: _CountingRpc, schema: Schema, state: OdooState) -> None:
        self.rpc = rpc
        self.schema = schema
        self.state = state
        self.model_ids = {name: row.id for name, row in state.models.items()}
        self.field_ids = {key: row.id for key, row in state.fields.items()}
        referenced = {g.xmlid for g in schema.groups} | {
            x for g in schema.groups for x in g.implied
        }
        referenced |= {a.group for a in schema.access if a.group}
        referenced |= {x for r in schema.rules for x in r.groups}
        self.group_ids: dict[str, int] = {}
        for xmlid in referenced:
            gid = group_id_of(schema, state, xmlid)
            if gid is not None:
                self.group_ids[xmlid] = gid
        #: (name in module psa, model, res_id) of records to register
        self.pending_xmlids: list[tuple[str, str, int]] = []
        self.step = ""

    async def apply(self, plan: Plan) -> None:
        try:
            await self._models(plan)
            await self._fields(plan)
            await self._selections(plan)
            await self._defaults(plan)
            await self._groups(plan)
            await self._access(plan)
            await self._rules(plan)
            await self._stale(plan)
            await self._xmlids(plan)
            await self._users(plan)
        except errors.OdooGatewayError as exc:
            if isinstance(exc, ProvisionFailed):
                raise
            happened = (
                f"Lost Odoo while trying to {self.step}"
                if isinstance(exc, errors.ServerUnreachable | errors.SessionExpired)
                else f"Odoo refused to {self.step}"
            )
            raise ProvisionFailed(
                f"{happened}: {exc.message} Nothing after this step was written; fix the "
                "cause and run psa provision again (it resumes where it stopped).",
                detail=exc.detail,
                odoo_name=exc.odoo_name,
            ) from exc

    async def _create(self, model: str, values: list[dict[str, Any]]) -> list[int]:
        ids = await self.rpc.call(model, "create", values)
        return [ids] if isinstance(ids, int) else [int(i) for i in ids]

    # ------------------------------------------------------------------ models and fields
    async def _models(self, plan: Plan) -> None:
        creates: list[CreateModel] = plan.of_type(CreateModel)
        if creates:
            self.step = f"create the models {', '.join(c.spec.name for c in creates)}"
            values = []
            for change in creates:
                entry = model_values(change.spec)
                entry["field_id"] = [[0, 0, field_values(f)] for f in change.inline_fields]
                values.append(entry)
            ids = await self._create("ir.model", values)
            for change, model_id in zip(creates, ids, strict=True):
                self.model_ids[change.spec.name] = model_id
                self.pending_xmlids.append((model_xmlid(change.spec.name), "ir.model", model_id))
            self.step = "read back the fields created with the new models"
            rows = await self.rpc.call(
                "ir.model.fields",
                "search_read",
                [("model_id", "in", ids)],
                fields=["model", "name"],
            )
            by_key = {(row["model"], row["name"]): row["id"] for row in rows}
            for change in creates:
                for spec in change.inline_fields:
                    field_id = by_key[(spec.model, spec.name)]
                    self.field_ids[(spec.model, spec.name)] = field_id
                    self.pending_xmlids.append(
                        (field_xmlid(spec.model, spec.name), "ir.model.fields", field_id)
                    )
        for update in plan.of_type(UpdateModel):
            self.step = f"update the model {update.spec.name}"
            await self.rpc.call("ir.model", "write", [update.model_id], update.values)

    async def _fields(self, plan: Plan) -> None:
        creates: list[CreateField] = plan.of_type(CreateField)
        # many2one (and plain fields of existing models) first: a one2many needs its inverse
        for batch in (
            [c for c in creates if c.spec.ttype != "one2many"],
            [c for c in creates if c.spec.ttype == "one2many"],
        ):
            if not batch:
                continue
            self.step = "create the fields " + ", ".join(
                f"{c.spec.model}.{c.spec.name}" for c in batch
            )
            values = [
                {**field_values(c.spec), "model_id": self.model_ids[c.spec.model]} for c in batch
            ]
            ids = await self._create("ir.model.fields", values)
            for change, field_id in zip(batch, ids, strict=True):
                key = (change.spec.model, change.spec.name)
                self.field_ids[key] = field_id
                self.pending_xmlids.append((field_xmlid(*key), "ir.model.fields", field_id))
        for update in plan.of_type(UpdateField):
            self.step = f"update the field {update.spec.model}.{update.spec.name}"
            await self.rpc.call("ir.model.fields", "write", [update.field_id], update.values)

    async def _selections(self, plan: Plan) -> None:
        creates: list[CreateSelectionValue] = plan.of_type(CreateSelectionValue)
        if creates:
            self.step = "add selection values"
            ids = await self._create(
                "ir.model.fields.selection",
                [
                    {
                        "field_id": c.field_id,
                        "value": c.option.value,
                        "name": c.option.label,
                        "sequence": c.sequence,
                    }
                    for c in creates
                ],
            )
            for change, selection_id in zip(creates, ids, strict=True):
                name = selection_xmlid(change.spec.model, change.spec.name, change.option.value)
                self.pending_xmlids.append((name, "ir.model.fields.selection", selection_id))
        for update in plan.of_type(UpdateSelectionValue):
            self.step = f"update the selection value {update.option.value!r}"
            await self.rpc.call(
                "ir.model.fields.selection", "write", [update.selection_id], update.values
            )
        # Values of new selection fields were created with their field: register them too.
        new_specs = [
            spec
            for change in plan.of_type(CreateModel)
            for spec in change.inline_fields
            if spec.selection
        ] + [change.spec for change in plan.of_type(CreateField) if change.spec.selection]
        if new_specs:
            self.step = "read back the new selection values"
            field_ids = {self.field_ids[(s.model, s.name)]: s for s in new_specs}
            rows = await self.rpc.call(
                "ir.model.fields.selection",
                "search_read",
                [("field_id", "in", sorted(field_ids))],
                fields=["field_id", "value"],
            )
            for row in rows:
                spec = field_ids[_many2one_id(row["field_id"]) or 0]
                name = selection_xmlid(spec.model, spec.name, row["value"])
                self.pending_xmlids.append((name, "ir.model.fields.selection", row["id"]))

    async def _defaults(self, plan: Plan) -> None:
        changes: list[SetDefault] = [
            c for c in plan.of_type(SetDefault) if c.spec.default is not None
        ]
        creates = [c for c in changes if c.default_id is None]
        if creates:
            self.step = "set the field defaults"
            ids = await self._create(
                "ir.default",
                [
                    {
                        "field_id": self.field_ids[(c.spec.model, c.spec.name)],
                        "json_value": _json_default(c),
                    }
                    for c in creates
                ],
            )
            for change, default_id in zip(creates, ids, strict=True):
                name = default_xmlid(change.spec.model, change.spec.name)
                self.pending_xmlids.append((name, "ir.default", default_id))
        for change in changes:
            if change.default_id is not None:
                self.step = f"update the default of {change.spec.model}.{change.spec.name}"
                await self.rpc.call(
                    "ir.default",
                    "write",
                    [change.default_id],
                    {"json_value": _json_default(change)},
                )

    # ------------------------------------------------------------------ security
    def _groups_command(self, xmlids: Iterable[str]) -> list[Any]:
        return [[6, 0, sorted(self.group_ids[x] for x in xmlids)]]

    async def _groups(self, plan: Plan) -> None:
        pending: list[CreateGroup] = plan.of_type(CreateGroup)
        # Layer by layer: a group is created once every group it implies exists.
        while pending:
            layer = [c for c in pending if all(x in self.group_ids for x in c.spec.implied)]
            if not layer:
                missing = sorted({x for c in pending for x in c.spec.implied} - set(self.group_ids))
                raise ProvisionFailed(
                    f"Cannot create {', '.join(c.spec.xmlid for c in pending)}: the implied "
                    f"group(s) {', '.join(missing)} do not exist in this database."
                )
            self.step = "create the groups " + ", ".join(c.spec.xmlid for c in layer)
            ids = await self._create(
                "res.groups",
                [
                    {
                        "name": c.spec.name,
                        "comment": c.spec.comment or False,
                        "implied_ids": self._groups_command(c.spec.implied),
                    }
                    for c in layer
                ],
            )
            for change, group_id in zip(layer, ids, strict=True):
                self.group_ids[change.spec.xmlid] = group_id
                self.pending_xmlids.append((change.spec.local_name, "res.groups", group_id))
            pending = [c for c in pending if c not in layer]
        for update in plan.of_type(UpdateGroup):
            self.step = f"update the group {update.spec.xmlid}"
            values = dict(update.values)
            if "implied_ids" in values:
                values["implied_ids"] = self._groups_command(update.spec.implied)
            await self.rpc.call("res.groups", "write", [update.group_id], values)

    def _access_values(self, change: CreateAccess | UpdateAccess) -> dict[str, Any]:
        spec = change.spec
        return {
            "name": spec.name,
            "model_id": self.model_ids[spec.model],
            "group_id": self.group_ids[spec.group] if spec.group else False,
            **perm_values(perms_of(spec)),
        }

    async def _access(self, plan: Plan) -> None:
        creates: list[CreateAccess] = plan.of_type(CreateAccess)
        if creates:
            self.step = "create the access rights"
            ids = await self._create(
                "ir.model.access", [self._access_values(change) for change in creates]
            )
            for change, access_id in zip(creates, ids, strict=True):
                self.pending_xmlids.append(
                    (access_xmlid(change.spec), "ir.model.access", access_id)
                )
        for update in plan.of_type(UpdateAccess):
            self.step = f"update the access right {update.spec.name}"
            values = {**self._access_values(update), "active": True}
            await self.rpc.call("ir.model.access", "write", [update.access_id], values)

    def _rule_values(self, change: CreateRule | UpdateRule) -> dict[str, Any]:
        spec = change.spec
        return {
            "name": spec.name,
            "model_id": self.model_ids[spec.model],
            "domain_force": spec.domain_force,
            "groups": self._groups_command(spec.groups),
            **perm_values(perms_of(spec)),
        }

    async def _rules(self, plan: Plan) -> None:
        creates: list[CreateRule] = plan.of_type(CreateRule)
        if creates:
            self.step = "create the record rules"
            ids = await self._create("ir.rule", [self._rule_values(change) for change in creates])
            for change, rule_id in zip(creates, ids, strict=True):
                self.pending_xmlids.append((rule_xmlid(change.spec), "ir.rule", rule_id))
        for update in plan.of_type(UpdateRule):
            self.step = f"update the record rule {update.spec.name!r}"
            values = {**self._rule_values(update), "active": True}
            await self.rpc.call("ir.rule", "write", [update.rule_id], values)

    async def _stale(self, plan: Plan) -> None:
        by_model: dict[str, list[int]] = {}
        for change in plan.of_type(DeleteStale):
            by_model.setdefault(change.model, []).append(change.record_id)
        for model, ids in by_model.items():
            self.step = f"delete {model} records the schema no longer declares"
            await self.rpc.call(model, "unlink", ids)

    async def _xmlids(self, plan: Plan) -> None:
        wanted = list(self.pending_xmlids)
        wanted += [(c.name, c.model, c.res_id) for c in plan.of_type(RegisterXmlId)]
        creates: list[dict[str, Any]] = []
        for name, model, res_id in wanted:
            existing = self.state.xmlids.get(f"{MODULE}.{name}")
            if existing is None:
                creates.append({"module": MODULE, "name": name, "model": model, "res_id": res_id})
            elif (existing.model, existing.res_id) != (model, res_id):
                # the xmlid outlived its record (deleted by hand): point it at the new one
                self.step = f"re-point {MODULE}.{name}"
                await self.rpc.call(
                    "ir.model.data", "write", [existing.id], {"model": model, "res_id": res_id}
                )
        if creates:
            self.step = "register the external ids"
            await self._create("ir.model.data", creates)

    async def _users(self, plan: Plan) -> None:
        # Users needing the same change share one write (typically: all new technicians).
        same_change: dict[tuple[frozenset[str], frozenset[str]], list[int]] = {}
        for change in plan.of_type(SyncUserGroups):
            same_change.setdefault((change.add, change.remove), []).append(change.user_id)
        for (add, remove), user_ids in same_change.items():
            self.step = f"update the groups of users {', '.join(map(str, user_ids))}"
            commands = [[4, self.group_ids[x]] for x in sorted(add)]
            commands += [[3, self.group_ids[x]] for x in sorted(remove)]
            await self.rpc.call("res.users", "write", user_ids, {"group_ids": commands})


def _json_default(change: SetDefault) -> str:
    assert change.spec.default is not None  # the plan sets defaults only where declared
    return default_json(change.spec.default)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


class ConnectionSettingsError(ValueError):
    """A connection setting or the password is missing; the message says where to give it."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and as whom ``psa provision`` / ``psa doctor`` connect."""

    url: str
    db: str
    login: str
    password: str = ""

    def __repr__(self) -> str:  # never print the password
        return f"ConnectionSettings(url={self.url!r}, db={self.db!r}, login={self.login!r})"


def keyring_password(url: str, db: str, login: str) -> str | None:
    """The password the console remembered for this connection, or None (no keyring, no entry)."""
    try:
        import keyring

        password: str | None = keyring.get_password(KEYRING_SERVICE, f"{login}@{db}@{url}")
    except Exception as exc:  # no usable backend on this machine
        log.info("keyring unavailable: %s", exc)
        return None
    return password


def connection_settings(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> ConnectionSettings:
    """Options first, then ``PSA_ODOO_URL`` / ``PSA_ODOO_DB`` / ``PSA_ODOO_USER``; the password
    from ``PSA_ODOO_PASSWORD`` or the OS keyring, never from the command line."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    missing: list[str] = []
    for key, option, variable in (
        ("url", "--url", "PSA_ODOO_URL"),
        ("db", "--db", "PSA_ODOO_DB"),
        ("login", "--user", "PSA_ODOO_USER"),
    ):
        value = getattr(args, key if key != "login" else "user", None) or env.get(variable) or ""
        if not value.strip():
            missing.append(f"{option} (or {variable})")
        values[key] = value.strip()
    if missing:
        raise ConnectionSettingsError(f"Missing {', '.join(missing)}.")
    password = env.get("PSA_ODOO_PASSWORD") or keyring_password(
        values["url"], values["db"], values["login"]
    )
    if not password:
        raise ConnectionSettingsError(
            f"No password for {values['login']} on database {values['db']} at {values['url']}: "
            "set PSA_ODOO_PASSWORD, or store it in the OS keyring (service "
            f"{KEYRING_SERVICE!r}, key {values['login']}@{values['db']}@{values['url']!r}), "
            'e.g. by ticking "Remember password" when signing in with psa console. Passwords '
            "are never taken from the command line."
        )
    return ConnectionSettings(values["url"], values["db"], values["login"], password)


def run_provision(args: argparse.Namespace) -> int:
    """``psa provision``: 0 when done or up to date, 1 when a person must fix something
    provision cannot, 2 when it could not run (connection, rights, missing apps)."""
    return _run(args, dry_run=bool(getattr(args, "dry_run", False)), check_only=False)


def run_doctor(args: argparse.Namespace) -> int:
    """``psa doctor``: 0 only when everything is in place, 1 when something is missing or
    different (each listed), 2 when it could not check."""
    return _run(args, dry_run=False, check_only=True)


def _run(
    args: argparse.Namespace,
    *,
    dry_run: bool,
    check_only: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    command = "psa doctor" if check_only else "psa provision"
    try:
        settings = connection_settings(args)
        from console.odoo.schema import load_schema

        schema = load_schema()
    except (ConnectionSettingsError, SchemaError) as exc:
        print(f"{command}: {exc}", file=err)
        return EXIT_CANNOT_RUN
    try:
        lines, code = asyncio.run(_command(settings, schema, dry_run, check_only))
    except errors.OdooGatewayError as exc:
        print(f"{command}: {exc}", file=err)
        if exc.detail:
            log.debug("%s failed: %s", command, exc.detail)
        return EXIT_CANNOT_RUN
    for line in lines:
        print(line, file=out)
    return code


async def _command(
    settings: ConnectionSettings, schema: Schema, dry_run: bool, check_only: bool
) -> tuple[list[str], int]:
    from console.odoo.gateway import OdooGateway

    gateway = await OdooGateway.connect(
        settings.url, settings.db, settings.login, settings.password
    )
    try:
        header = f"Odoo {gateway.endpoint.url}, database {settings.db}, as {settings.login}"
        if check_only:
            rpc = _CountingRpc(gateway)
            plan = await _diagnose(rpc, gateway, schema)
            lines = [header, *doctor_lines(plan.problems(), rpc.count)]
            lines += [f"Note: {note}" for note in plan.notes]
            return lines, (EXIT_PROBLEMS if plan.problems() else EXIT_OK)
        report = await provision(gateway, schema, dry_run=dry_run)
        return [header, *report.lines()], (EXIT_PROBLEMS if report.manual else EXIT_OK)
    finally:
        gateway.close()


def doctor_lines(problems: Sequence[Problem], rpc_count: int) -> list[str]:
    """``psa doctor``'s report."""
    rpcs = _plural(rpc_count, "RPC")
    if not problems:
        return [
            f"All right: every model, field, group, access right and rule is in place ({rpcs})."
        ]
    fixable = sum(1 for p in problems if p.fixable)
    lines = [f"{_plural(len(problems), 'problem')} found ({rpcs}):"]
    lines += [f"  {'-' if p.fixable else '!'} {p}" for p in problems]
    if fixable == len(problems):
        lines.append("Run psa provision to fix them.")
    elif fixable:
        lines.append(
            f"psa provision fixes the {fixable} marked '-'; a person must fix the ones marked '!'."
        )
    else:
        lines.append("A person must fix these; psa provision does not change them.")
    return lines


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
