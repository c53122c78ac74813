"""What ``psa provision`` would change: a pure diff between the Schema and what Odoo reports.

:func:`compute_plan` takes the declared :class:`~console.domain.schema.Schema` and an
:class:`OdooState` (the rows a few batched reads brought back from ``ir.model``,
``ir.model.fields``, ``ir.model.fields.selection``, ``ir.model.data``, ``res.groups``,
``ir.model.access``, ``ir.rule``, ``ir.default`` and the SA membership data) and returns a
:class:`Plan`: the changes provision can make, in the order it makes them, and the problems it
must leave to a person (a field of the wrong type, a stock app that is missing, an SA tree
deeper than the record rules reach). ``psa doctor`` reports both; ``--dry-run`` prints the
changes. Nothing here does I/O, so every decision is unit-testable on plain rows.

External ids: everything provision creates gets one in module ``psa`` (Odoo's own naming:
``model_x_sa``, ``field_x_sa__x_name``, ``selection__x_sa_membership__x_role__manager``, the
group xmlids of the schema, the access-right names, ``rule_<slug of the rule name>``,
``default_<model>__<field>``). Records are found by their xmlid first and by their natural key
(model name, field name, group name, access/rule name on the model) second; a record found the
second way is *adopted* (its xmlid is registered), which is also how a run interrupted between
creating a record and registering its xmlid completes on the next run without duplicates.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from console.domain.names import groups_for_roles
from console.domain.schema import (
    PERMISSIONS,
    PROVISIONED_GROUP_MODULE,
    AccessSpec,
    FieldDefault,
    FieldSpec,
    GroupSpec,
    ModelSpec,
    RuleSpec,
    Schema,
    SelectionOption,
)
from console.domain.scope import sa_hierarchy_problems

#: Module of every external id provision registers.
MODULE: Final = PROVISIONED_GROUP_MODULE
#: The field Odoo's mail module adds to every mail.thread model; its presence means "has chatter".
MAIL_THREAD_MARKER: Final = "message_ids"
#: Odoo apps the product needs, by technical name, with the name users see in Apps.
REQUIRED_MODULES: Final[Mapping[str, str]] = {
    "helpdesk": "Helpdesk",
    "sale_subscription": "Subscriptions",
}
#: ir.module.module states in which a module's models and fields are loaded.
INSTALLED_STATES: Final = frozenset({"installed", "to upgrade"})


# --------------------------------------------------------------------------------------------
# What Odoo reported
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelRow:
    """An ``ir.model`` row."""

    id: int
    model: str
    name: str
    order: str
    info: str
    state: str


@dataclass(frozen=True, slots=True)
class FieldRow:
    """An ``ir.model.fields`` row (the attributes provision declares)."""

    id: int
    model: str
    name: str
    string: str
    ttype: str
    relation: str
    relation_field: str
    required: bool
    index: bool
    copied: bool
    help: str
    on_delete: str
    domain: str
    state: str


@dataclass(frozen=True, slots=True)
class SelectionRow:
    """An ``ir.model.fields.selection`` row: one value of a selection field."""

    id: int
    field_id: int
    value: str
    label: str
    sequence: int


@dataclass(frozen=True, slots=True)
class XmlIdRow:
    """An ``ir.model.data`` row."""

    id: int
    module: str
    name: str
    model: str
    res_id: int

    @property
    def xmlid(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A ``res.groups`` row."""

    id: int
    name: str
    implied_ids: frozenset[int]
    comment: str


@dataclass(frozen=True, slots=True)
class AccessRow:
    """An ``ir.model.access`` row; ``model`` is the technical model name."""

    id: int
    name: str
    model: str
    group_id: int | None
    perms: tuple[bool, bool, bool, bool]  # read, write, create, unlink (PERMISSIONS order)
    active: bool


@dataclass(frozen=True, slots=True)
class RuleRow:
    """An ``ir.rule`` row; ``model`` is the technical model name."""

    id: int
    name: str
    model: str
    group_ids: frozenset[int]
    domain_force: str
    perms: tuple[bool, bool, bool, bool]
    active: bool


@dataclass(frozen=True, slots=True)
class DefaultRow:
    """A global ``ir.default`` row (no user, company or condition)."""

    id: int
    field_id: int
    json_value: str


@dataclass(frozen=True, slots=True)
class ModuleRow:
    """An ``ir.module.module`` row."""

    name: str
    state: str


@dataclass
class OdooState:
    """Everything provision compares with the schema, as Odoo reported it.

    ``sa_parents`` / ``memberships`` / ``user_role_groups`` are None when they could not be read
    (the SA models do not exist yet); the plan then skips the checks that need them.
    """

    models: dict[str, ModelRow] = field(default_factory=dict)
    fields: dict[tuple[str, str], FieldRow] = field(default_factory=dict)
    selections: dict[int, list[SelectionRow]] = field(default_factory=dict)
    xmlids: dict[str, XmlIdRow] = field(default_factory=dict)
    groups: dict[int, GroupRow] = field(default_factory=dict)
    access: list[AccessRow] = field(default_factory=list)
    rules: list[RuleRow] = field(default_factory=list)
    defaults: dict[int, DefaultRow] = field(default_factory=dict)
    modules: dict[str, ModuleRow] = field(default_factory=dict)
    #: SA id -> parent SA id
    sa_parents: dict[int, int | None] | None = None
    #: (user id, role) of every x_sa_membership row
    memberships: list[tuple[int, str]] | None = None
    #: user id -> ids of the SA role groups they hold directly (users holding none are absent)
    user_role_groups: dict[int, frozenset[int]] | None = None
    #: the user who read all this (the record rules narrow what a console user reads)
    reader_uid: int | None = None

    def xmlid_target(self, xmlid: str, model: str) -> int | None:
        """The record id an xmlid names, when it names a record of ``model``."""
        row = self.xmlids.get(xmlid)
        if row is None or row.model != model:
            return None
        return row.res_id


# --------------------------------------------------------------------------------------------
# What to change
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One missing or different piece, as ``psa doctor`` lists it."""

    subject: str  # "field x_client_asset.x_status"
    issue: str  # "is missing"
    #: whether ``psa provision`` fixes it (otherwise a person must, as ``issue`` says)
    fixable: bool = True

    def __str__(self) -> str:
        return f"{self.subject} {self.issue}"


@dataclass(frozen=True, kw_only=True)
class Change:
    """One write provision makes; subclasses carry what the apply step needs."""

    #: what ``--dry-run`` prints ("create field x_client_asset.x_status (selection)")
    summary: str
    #: what ``psa doctor`` reports for the same difference
    problem: Problem


@dataclass(frozen=True, kw_only=True)
class CreateModel(Change):
    """``ir.model.create`` with the model's non-relational fields inline (as Studio does).

    Inline creation is also what lets ``order = "x_name"`` validate: Odoo checks the order
    against the fields the model has when it is created.
    """

    spec: ModelSpec
    inline_fields: tuple[FieldSpec, ...]


@dataclass(frozen=True, kw_only=True)
class UpdateModel(Change):
    """``ir.model.write`` of the attributes that differ."""

    model_id: int
    spec: ModelSpec
    values: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CreateField(Change):
    """``ir.model.fields.create``; one2many ones only after every many2one exists."""

    spec: FieldSpec


@dataclass(frozen=True, kw_only=True)
class UpdateField(Change):
    """``ir.model.fields.write`` of the attributes that differ."""

    field_id: int
    spec: FieldSpec
    values: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CreateSelectionValue(Change):
    """A missing value of an existing selection field."""

    field_id: int
    spec: FieldSpec
    option: SelectionOption
    sequence: int


@dataclass(frozen=True, kw_only=True)
class UpdateSelectionValue(Change):
    """A selection value whose label or position differs."""

    selection_id: int
    spec: FieldSpec
    option: SelectionOption
    values: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class SetDefault(Change):
    """A global ``ir.default`` for a field; ``default_id`` set when one exists with another value."""

    spec: FieldSpec
    default_id: int | None


@dataclass(frozen=True, kw_only=True)
class CreateGroup(Change):
    """A ``res.groups`` record with its implied groups (xmlids, resolved when applying)."""

    spec: GroupSpec


@dataclass(frozen=True, kw_only=True)
class UpdateGroup(Change):
    """Name, comment or implied groups of an existing psa group."""

    group_id: int
    spec: GroupSpec
    values: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CreateAccess(Change):
    """An ``ir.model.access`` record."""

    spec: AccessSpec


@dataclass(frozen=True, kw_only=True)
class UpdateAccess(Change):
    """An access right whose model, group, permissions or active flag differ."""

    access_id: int
    spec: AccessSpec


@dataclass(frozen=True, kw_only=True)
class CreateRule(Change):
    """An ``ir.rule`` record."""

    spec: RuleSpec


@dataclass(frozen=True, kw_only=True)
class UpdateRule(Change):
    """A record rule whose domain, groups, permissions or active flag differ."""

    rule_id: int
    spec: RuleSpec


@dataclass(frozen=True, kw_only=True)
class DeleteStale(Change):
    """An access right or rule registered under ``psa`` that the schema no longer declares.

    Only these two kinds are ever deleted: they hold no data, and a stale one would keep
    granting (or narrowing) access the schema no longer means.
    """

    model: str  # "ir.model.access" or "ir.rule"
    record_id: int
    xmlid: str


@dataclass(frozen=True, kw_only=True)
class RegisterXmlId(Change):
    """Adopt an existing record under a ``psa`` xmlid (``ir.model.data``)."""

    name: str
    model: str
    res_id: int


@dataclass(frozen=True, kw_only=True)
class SyncUserGroups(Change):
    """Give or take SA role groups (xmlids) so a user's groups follow their memberships."""

    user_id: int
    add: frozenset[str]
    remove: frozenset[str]


@dataclass(frozen=True)
class Plan:
    """The changes provision makes (in apply order) and what it leaves to a person."""

    changes: tuple[Change, ...]
    manual: tuple[Problem, ...]
    #: remarks on the check itself (not problems of the database)
    notes: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        """Nothing to create or change (manual problems may remain)."""
        return not self.changes

    def problems(self) -> list[Problem]:
        """Everything ``psa doctor`` reports: the fixable differences, then the manual ones."""
        return [change.problem for change in self.changes] + list(self.manual)

    def of_type(self, kind: type[Change]) -> list[Any]:
        """The changes of one kind, in plan order."""
        return [change for change in self.changes if isinstance(change, kind)]


# --------------------------------------------------------------------------------------------
# External ids
# --------------------------------------------------------------------------------------------


def model_xmlid(model: str) -> str:
    """``model_x_client_asset`` (Odoo's naming for ir.model records)."""
    return f"model_{_underscored(model)}"


def field_xmlid(model: str, name: str) -> str:
    """``field_helpdesk_ticket__x_sa_id`` (Odoo's naming for ir.model.fields records)."""
    return f"field_{_underscored(model)}__{name}"


def selection_xmlid(model: str, name: str, value: str) -> str:
    """``selection__x_sa_membership__x_role__manager`` (Odoo's naming for selection values)."""
    return f"selection__{_underscored(model)}__{name}__{_slug(value)}"


def default_xmlid(model: str, name: str) -> str:
    """``default_x_client_asset__x_status``."""
    return f"default_{_underscored(model)}__{name}"


def access_xmlid(spec: AccessSpec) -> str:
    """The access right's own name (they are identifiers already)."""
    return _slug(spec.name)


def rule_xmlid(spec: RuleSpec) -> str:
    """``rule_`` and the rule name in lower case with ``_`` for anything else."""
    return f"rule_{_slug(spec.name)}"


def _underscored(model: str) -> str:
    return model.replace(".", "_")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# --------------------------------------------------------------------------------------------
# Values as Odoo stores them
# --------------------------------------------------------------------------------------------


def field_values(spec: FieldSpec) -> dict[str, Any]:
    """The ``ir.model.fields`` values of a custom field, as Studio sends them."""
    values: dict[str, Any] = {
        "name": spec.name,
        "field_description": spec.string,
        "ttype": spec.ttype,
        "required": spec.required,
        "index": spec.index,
        "copied": spec.copied,
        "help": spec.help or False,
    }
    if spec.relation:
        values["relation"] = spec.relation
    if spec.ttype == "many2one":
        values["on_delete"] = spec.on_delete or "set null"
    if spec.relation_field:
        values["relation_field"] = spec.relation_field
    if spec.domain:
        values["domain"] = spec.domain
    if spec.selection:
        values["selection_ids"] = [
            [0, 0, {"value": option.value, "name": option.label, "sequence": sequence}]
            for sequence, option in enumerate(spec.selection)
        ]
    return values


def model_values(spec: ModelSpec) -> dict[str, Any]:
    """The ``ir.model`` values of a custom model (without ``field_id``)."""
    values: dict[str, Any] = {
        "name": spec.description,
        "model": spec.name,
        "state": "manual",
        "order": spec.order or "id",
        "info": spec.info or False,
    }
    if spec.mail_thread:
        values["is_mail_thread"] = True
    return values


def perms_of(spec: AccessSpec | RuleSpec) -> tuple[bool, bool, bool, bool]:
    """The four permissions in :data:`PERMISSIONS` order."""
    return (spec.perm_read, spec.perm_write, spec.perm_create, spec.perm_unlink)


def perm_values(perms: tuple[bool, bool, bool, bool]) -> dict[str, bool]:
    """``{"perm_read": …, …}``; all four always, since ir.rule defaults them to True."""
    return {f"perm_{name}": value for name, value in zip(PERMISSIONS, perms, strict=True)}


def default_json(value: FieldDefault) -> str:
    """An ``ir.default.json_value``."""
    return json.dumps(value)


def same_expression(stored: str | None, declared: str | None) -> bool:
    """Whether two Python expressions (domains as Odoo stores them) are the same code.

    Compared as syntax trees, so re-indenting a rule in Odoo's UI is not a difference.
    """
    left, right = (stored or "[]").strip(), (declared or "[]").strip()
    try:
        return ast.dump(ast.parse(left, mode="eval")) == ast.dump(ast.parse(right, mode="eval"))
    except SyntaxError:
        return left == right


def _same_default(stored: str, declared: FieldDefault) -> bool:
    try:
        value = json.loads(stored)
    except ValueError:
        return False
    return type(value) is type(declared) and value == declared


# --------------------------------------------------------------------------------------------
# The diff
# --------------------------------------------------------------------------------------------


class _Planner:
    """Builds one plan; methods append to ``changes`` / ``manual`` in apply order."""

    def __init__(self, schema: Schema, state: OdooState) -> None:
        self.schema = schema
        self.state = state
        self.changes: list[Change] = []
        self.manual: list[Problem] = []
        self.notes: list[str] = []
        #: models that exist or will: the custom ones always will, stock ones only if present
        self.available_models = {
            spec.name for spec in schema.models if spec.custom or spec.name in state.models
        }

    # ------------------------------------------------------------------ helpers
    def change(self, change: Change) -> None:
        self.changes.append(change)

    def needs_person(self, subject: str, issue: str) -> None:
        self.manual.append(Problem(subject, issue, fixable=False))

    def adopt(self, subject: str, name: str, model: str, res_id: int) -> None:
        """Register ``psa.<name>`` for an existing record unless it is already registered."""
        xmlid = f"{MODULE}.{name}"
        if self.state.xmlid_target(xmlid, model) == res_id:
            return
        self.change(
            RegisterXmlId(
                summary=f"register {subject} as {xmlid}",
                problem=Problem(subject, f"is not registered as {xmlid}"),
                name=name,
                model=model,
                res_id=res_id,
            )
        )

    def group_id(self, xmlid: str) -> int | None:
        """The id of a group xmlid (psa or stock), when the group exists."""
        return group_id_of(self.schema, self.state, xmlid)

    def check_stock_groups(self) -> None:
        referenced: set[str] = set()
        for group in self.schema.groups:
            referenced.update(group.implied)
        for access in self.schema.access:
            if access.group:
                referenced.add(access.group)
        for rule in self.schema.rules:
            referenced.update(rule.groups)
        for xmlid in sorted(referenced):
            if not xmlid.startswith(MODULE + ".") and self.group_id(xmlid) is None:
                self.needs_person(
                    f"group {xmlid}",
                    "does not exist in this database (the product's access rights refer to it)",
                )

    # ------------------------------------------------------------------ modules
    def modules(self) -> None:
        self.manual.extend(module_problems(self.state.modules))

    # ------------------------------------------------------------------ models and fields
    def models(self) -> None:
        for spec in self.schema.models:
            row = self.state.models.get(spec.name)
            if row is None:
                if spec.stock:
                    self.needs_person(
                        f"model {spec.name} ({spec.description})",
                        "is missing: install the Odoo app that provides it",
                    )
                    continue
                inline = tuple(f for f in spec.custom_fields if not f.relational)
                self.change(
                    CreateModel(
                        summary=f"create model {spec.name} ({spec.description})"
                        + (f" with {_count(len(inline), 'field')}" if inline else ""),
                        problem=Problem(f"model {spec.name}", "is missing"),
                        spec=spec,
                        inline_fields=inline,
                    )
                )
                continue
            if spec.custom:
                self._compare_model(spec, row)
                self.adopt(f"model {spec.name}", model_xmlid(spec.name), "ir.model", row.id)

    def _compare_model(self, spec: ModelSpec, row: ModelRow) -> None:
        values: dict[str, Any] = {}
        differences: list[str] = []
        if row.name != spec.description:
            values["name"] = spec.description
            differences.append(f"its name is {row.name!r}, not {spec.description!r}")
        wanted_order = spec.order or "id"
        if (row.order or "id").replace(" ", "") != wanted_order.replace(" ", ""):
            values["order"] = wanted_order
            differences.append(f"it is ordered by {row.order!r}, not {wanted_order!r}")
        if (row.info or "") != (spec.info or ""):
            values["info"] = spec.info or False
            differences.append("its description differs")
        if spec.mail_thread and (spec.name, MAIL_THREAD_MARKER) not in self.state.fields:
            values["is_mail_thread"] = True
            differences.append("it has no chatter (mail thread)")
        if values:
            self.change(
                UpdateModel(
                    summary=f"update model {spec.name}: {'; '.join(differences)}",
                    problem=Problem(f"model {spec.name}", "differs: " + "; ".join(differences)),
                    model_id=row.id,
                    spec=spec,
                    values=values,
                )
            )

    def fields(self) -> None:
        created: list[FieldSpec] = []
        for spec in self.schema.custom_fields_in_creation_order():
            if spec.model not in self.available_models:
                continue  # the stock model is missing; already reported
            row = self.state.fields.get((spec.model, spec.name))
            if row is None:
                if spec.model not in self.state.models and not spec.relational:
                    continue  # created inline with its model
                created.append(spec)
                continue
            self._compare_field(spec, row)
        for spec in created:
            self.change(
                CreateField(
                    summary=f"create field {spec.model}.{spec.name} ({_describe_type(spec)})",
                    problem=Problem(f"field {spec.model}.{spec.name}", "is missing"),
                    spec=spec,
                )
            )
        for model in self.schema.models:
            if not model.stock or model.name not in self.state.models:
                continue
            for spec in model.fields:
                if spec.stock:
                    self._check_stock_field(spec)

    def _check_stock_field(self, spec: FieldSpec) -> None:
        subject = f"field {spec.model}.{spec.name}"
        row = self.state.fields.get((spec.model, spec.name))
        if row is None:
            self.needs_person(
                subject,
                "is missing; the product reads it from the stock Odoo app (check the app "
                "and its version)",
            )
            return
        if not self._same_shape(spec, row, subject):
            return
        if spec.selection:
            present = {s.value for s in self.state.selections.get(row.id, [])}
            missing = [v for v in spec.selection_values if v not in present]
            if missing:
                self.needs_person(
                    subject, f"has no selection value(s) {', '.join(map(repr, missing))}"
                )

    def _same_shape(self, spec: FieldSpec, row: FieldRow, subject: str) -> bool:
        """Type and relation, which Odoo cannot change on an existing field."""
        if row.ttype != spec.ttype:
            self.needs_person(
                subject,
                f"is a {row.ttype} field, the product needs {spec.ttype}; Odoo cannot change "
                "a field's type: rename or remove it in Odoo, then run psa provision",
            )
            return False
        if spec.relational and row.relation != spec.relation:
            self.needs_person(
                subject,
                f"points to {row.relation or 'nothing'}, the product needs {spec.relation}; "
                "Odoo cannot change a relation: rename or remove it, then run psa provision",
            )
            return False
        if spec.ttype == "one2many" and row.relation_field != spec.relation_field:
            self.needs_person(
                subject,
                f"is the inverse of {row.relation_field or 'nothing'}, the product needs "
                f"{spec.relation_field}: rename or remove it, then run psa provision",
            )
            return False
        return True

    def _compare_field(self, spec: FieldSpec, row: FieldRow) -> None:
        subject = f"field {spec.model}.{spec.name}"
        if not self._same_shape(spec, row, subject):
            return
        values: dict[str, Any] = {}
        differences: list[str] = []

        def differs(key: str, wanted: Any, found: Any, what: str) -> None:
            if wanted != found:
                values[key] = wanted if wanted != "" else False
                differences.append(f"{what} is {found!r}, not {wanted!r}")

        differs("field_description", spec.string, row.string, "label")
        differs("required", spec.required, row.required, "required")
        if spec.ttype not in ("one2many", "many2many"):
            differs("index", spec.index, row.index, "index")
        differs("copied", spec.copied, row.copied, "copied")
        if (spec.help or "") != (row.help or ""):
            values["help"] = spec.help or False
            differences.append("help text differs")
        if spec.ttype == "many2one":
            differs("on_delete", spec.on_delete or "set null", row.on_delete, "on_delete")
        if spec.relational and not same_expression(row.domain, spec.domain):
            values["domain"] = spec.domain or "[]"
            differences.append(f"domain is {row.domain!r}, not {spec.domain or '[]'!r}")
        if values:
            self.change(
                UpdateField(
                    summary=f"update {subject}: {'; '.join(differences)}",
                    problem=Problem(subject, "differs: " + "; ".join(differences)),
                    field_id=row.id,
                    spec=spec,
                    values=values,
                )
            )
        self.adopt(subject, field_xmlid(spec.model, spec.name), "ir.model.fields", row.id)
        if spec.selection:
            self._compare_selection(spec, row)

    def _compare_selection(self, spec: FieldSpec, row: FieldRow) -> None:
        existing = {s.value: s for s in self.state.selections.get(row.id, [])}
        subject = f"selection value {spec.model}.{spec.name}"
        for sequence, option in enumerate(spec.selection):
            found = existing.get(option.value)
            where = f"{subject} {option.value!r}"
            if found is None:
                self.change(
                    CreateSelectionValue(
                        summary=f"add {where} ({option.label})",
                        problem=Problem(where, "is missing"),
                        field_id=row.id,
                        spec=spec,
                        option=option,
                        sequence=sequence,
                    )
                )
                continue
            values: dict[str, Any] = {}
            differences: list[str] = []
            if found.label != option.label:
                values["name"] = option.label
                differences.append(f"label is {found.label!r}, not {option.label!r}")
            if found.sequence != sequence:
                values["sequence"] = sequence
                differences.append(f"position is {found.sequence}, not {sequence}")
            if values:
                self.change(
                    UpdateSelectionValue(
                        summary=f"update {where}: {'; '.join(differences)}",
                        problem=Problem(where, "differs: " + "; ".join(differences)),
                        selection_id=found.id,
                        spec=spec,
                        option=option,
                        values=values,
                    )
                )
            self.adopt(
                where,
                selection_xmlid(spec.model, spec.name, option.value),
                "ir.model.fields.selection",
                found.id,
            )
        for value in existing:
            if value not in spec.selection_values:
                self.needs_person(
                    f"{subject} {value!r}",
                    "is not declared by the product; provision does not delete selection "
                    "values (records may hold it): remove it in Odoo once no record uses it",
                )

    def defaults(self) -> None:
        for model in self.schema.models:
            if model.name not in self.available_models:
                continue
            for spec in model.custom_fields:
                if spec.default is None:
                    continue
                subject = f"default of {spec.model}.{spec.name}"
                row = self.state.fields.get((spec.model, spec.name))
                current = self.state.defaults.get(row.id) if row else None
                if current is not None and _same_default(current.json_value, spec.default):
                    self.adopt(
                        subject, default_xmlid(spec.model, spec.name), "ir.default", current.id
                    )
                    continue
                wanted = default_json(spec.default)
                issue = (
                    f"is not set (should be {wanted})"
                    if current is None
                    else f"is {current.json_value}, not {wanted}"
                )
                self.change(
                    SetDefault(
                        summary=f"set {subject} to {wanted}",
                        problem=Problem(subject, issue),
                        spec=spec,
                        default_id=current.id if current else None,
                    )
                )

    # ------------------------------------------------------------------ security
    def groups(self) -> None:
        for spec in self.schema.provisioned_groups:
            subject = f"group {spec.xmlid}"
            group_id = self.group_id(spec.xmlid)
            row = self.state.groups.get(group_id) if group_id is not None else None
            if row is None:
                self.change(
                    CreateGroup(
                        summary=f"create group {spec.xmlid} ({spec.name})",
                        problem=Problem(subject, "is missing"),
                        spec=spec,
                    )
                )
                continue
            values: dict[str, Any] = {}
            differences: list[str] = []
            if row.name != spec.name:
                values["name"] = spec.name
                differences.append(f"name is {row.name!r}, not {spec.name!r}")
            if (row.comment or "") != (spec.comment or ""):
                values["comment"] = spec.comment or False
                differences.append("comment differs")
            implied = [self.group_id(x) for x in spec.implied]
            wanted = frozenset(i for i in implied if i is not None)
            if None in implied or row.implied_ids != wanted:
                values["implied_ids"] = spec.implied  # xmlids, resolved when applying
                differences.append(
                    f"implied groups are not exactly {', '.join(spec.implied) or 'none'}"
                )
            if values:
                self.change(
                    UpdateGroup(
                        summary=f"update {subject}: {'; '.join(differences)}",
                        problem=Problem(subject, "differs: " + "; ".join(differences)),
                        group_id=row.id,
                        spec=spec,
                        values=values,
                    )
                )
            self.adopt(subject, spec.local_name, "res.groups", row.id)

    def access(self) -> None:
        declared: set[str] = set()
        for spec in self.schema.access:
            if spec.model not in self.available_models:
                continue
            name = access_xmlid(spec)
            declared.add(name)
            subject = f"access right {spec.name}"
            row = self._find(
                self.state.access, f"{MODULE}.{name}", "ir.model.access", spec.name, spec.model
            )
            if row is None:
                self.change(
                    CreateAccess(
                        summary=f"create {subject} ({spec.model}, {spec.group or 'everyone'}: "
                        f"{_perm_text(perms_of(spec))})",
                        problem=Problem(subject, "is missing"),
                        spec=spec,
                    )
                )
                continue
            differences = []
            if row.model != spec.model:
                differences.append(f"applies to {row.model}, not {spec.model}")
            wanted_group = self.group_id(spec.group) if spec.group else None
            if row.group_id != wanted_group or (spec.group and wanted_group is None):
                differences.append(f"is not given to {spec.group or 'everyone'}")
            if row.perms != perms_of(spec):
                differences.append(
                    f"grants {_perm_text(row.perms)}, not {_perm_text(perms_of(spec))}"
                )
            if not row.active:
                differences.append("is archived")
            if differences:
                self.change(
                    UpdateAccess(
                        summary=f"update {subject}: {'; '.join(differences)}",
                        problem=Problem(subject, "differs: " + "; ".join(differences)),
                        access_id=row.id,
                        spec=spec,
                    )
                )
            self.adopt(subject, name, "ir.model.access", row.id)
        self._stale("ir.model.access", "access right", declared, self.state.access)

    def rules(self) -> None:
        declared: set[str] = set()
        for spec in self.schema.rules:
            if spec.model not in self.available_models:
                continue
            name = rule_xmlid(spec)
            declared.add(name)
            subject = f"record rule {spec.name!r}"
            row = self._find(self.state.rules, f"{MODULE}.{name}", "ir.rule", spec.name, spec.model)
            if row is None:
                self.change(
                    CreateRule(
                        summary=f"create {subject} on {spec.model}",
                        problem=Problem(subject, "is missing"),
                        spec=spec,
                    )
                )
                continue
            differences = []
            if row.model != spec.model:
                differences.append(f"applies to {row.model}, not {spec.model}")
            wanted = [self.group_id(g) for g in spec.groups]
            if None in wanted or row.group_ids != frozenset(i for i in wanted if i is not None):
                differences.append(f"is not given to exactly {', '.join(spec.groups) or 'all'}")
            if not same_expression(row.domain_force, spec.domain_force):
                differences.append("its domain differs")
            if row.perms != perms_of(spec):
                differences.append(
                    f"applies to {_perm_text(row.perms)}, not {_perm_text(perms_of(spec))}"
                )
            if not row.active:
                differences.append("is archived")
            if differences:
                self.change(
                    UpdateRule(
                        summary=f"update {subject}: {'; '.join(differences)}",
                        problem=Problem(subject, "differs: " + "; ".join(differences)),
                        rule_id=row.id,
                        spec=spec,
                    )
                )
            self.adopt(subject, name, "ir.rule", row.id)
        self._stale("ir.rule", "record rule", declared, self.state.rules)

    def _find(
        self,
        rows: Iterable[AccessRow | RuleRow],
        xmlid: str,
        model: str,
        name: str,
        target_model: str,
    ) -> Any:
        """A row by xmlid, else an unregistered row with the same name on the same model."""
        by_id = {row.id: row for row in rows}
        target = self.state.xmlid_target(xmlid, model)
        if target is not None and target in by_id:
            return by_id[target]
        registered = {r.res_id for r in self.state.xmlids.values() if r.model == model}
        return next(
            (
                row
                for row in by_id.values()
                if row.name == name and row.model == target_model and row.id not in registered
            ),
            None,
        )

    def _stale(
        self, model: str, what: str, declared: set[str], rows: Iterable[AccessRow | RuleRow]
    ) -> None:
        by_id = {row.id: row for row in rows}
        for row in self.state.xmlids.values():
            if row.module != MODULE or row.model != model or row.name in declared:
                continue
            record = by_id.get(row.res_id)
            if record is None:
                continue
            self.change(
                DeleteStale(
                    summary=f"delete {what} {record.name!r} ({row.xmlid}): no longer declared",
                    problem=Problem(
                        f"{what} {record.name!r}", f"({row.xmlid}) is no longer declared"
                    ),
                    model=model,
                    record_id=record.id,
                    xmlid=row.xmlid,
                )
            )

    # ------------------------------------------------------------------ data
    def user_groups(self) -> None:
        memberships = self.state.memberships
        holders = self.state.user_role_groups
        if memberships is None or holders is None:
            return
        role_groups = {g.xmlid: self.group_id(g.xmlid) for g in self.schema.groups if g.role}
        xmlid_of = {gid: xmlid for xmlid, gid in role_groups.items() if gid is not None}
        if self.state.reader_uid in holders:
            self.notes.append(
                "This login holds an SA role group, so the record rules hide SAs and "
                "memberships outside its own SAs from this check; run it as an administrator "
                "without SA memberships to check every SA."
            )
        roles: dict[int, set[str]] = {}
        for user, role in memberships:
            roles.setdefault(user, set()).add(role)
        for user in sorted(set(roles) | set(holders)):
            held = frozenset(xmlid_of[g] for g in holders.get(user, frozenset()) if g in xmlid_of)
            try:
                wanted = groups_for_roles(self.schema, roles.get(user, ()))
            except ValueError as exc:
                self.needs_person(
                    f"user {user}", f"has an SA membership with an unknown role: {exc}"
                )
                continue
            add, remove = role_group_changes(self.schema, held, wanted)
            if not add and not remove:
                continue
            parts = []
            if add:
                parts.append(f"lacks {', '.join(sorted(add))}")
            if remove:
                parts.append(f"holds {', '.join(sorted(remove))} without the membership role")
            text = "; ".join(parts)
            self.change(
                SyncUserGroups(
                    summary=f"sync groups of user {user} with their SA memberships: {text}",
                    problem=Problem(f"user {user}", f"{text} (SA memberships decide)"),
                    user_id=user,
                    add=add,
                    remove=remove,
                )
            )

    def hierarchy(self) -> None:
        if self.state.sa_parents is None:
            return
        for message in sa_hierarchy_problems(
            self.state.sa_parents, max_levels=self.schema.sa_max_levels
        ):
            self.needs_person("SA hierarchy:", message)


def module_problems(modules: Mapping[str, ModuleRow]) -> list[Problem]:
    """The required apps that are not installed (``ir.module.module`` rows by name)."""
    problems = []
    for name, label in REQUIRED_MODULES.items():
        row = modules.get(name)
        subject = f"app {label} ({name})"
        if row is None:
            problems.append(
                Problem(
                    subject,
                    "is not available on this server: it is an Odoo Enterprise app",
                    fixable=False,
                )
            )
        elif row.state not in INSTALLED_STATES:
            problems.append(
                Problem(
                    subject,
                    f"is not installed (state: {row.state}); install it from Odoo's Apps menu",
                    fixable=False,
                )
            )
    return problems


def group_id_of(schema: Schema, state: OdooState, xmlid: str) -> int | None:
    """The id of group ``xmlid`` in Odoo, when it exists.

    Found through its external id; a psa group without one (a run interrupted before it
    registered the xmlid, or a group made by hand) is found by its declared name, unless that
    group is registered under another xmlid.
    """
    row = state.xmlids.get(xmlid)
    if row is not None and row.model == "res.groups" and row.res_id in state.groups:
        return row.res_id
    if not xmlid.startswith(MODULE + ".") or not schema.has_group(xmlid):
        return None
    name = schema.group(xmlid).name
    taken = {
        r.res_id for r in state.xmlids.values() if r.model == "res.groups" and r.xmlid != xmlid
    }
    return next((g.id for g in state.groups.values() if g.name == name and g.id not in taken), None)


def role_group_changes(
    schema: Schema, held: frozenset[str], wanted: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """Role groups (xmlids) to add and remove so ``held`` grants exactly what ``wanted`` does.

    Compared through implication: a dispatcher who also holds the technician group directly
    (which dispatcher implies) is in step; a technician holding the dispatcher group is not.
    """
    wanted_closure = implied_closure(schema, wanted)
    remove = frozenset(x for x in held if x not in wanted_closure)
    kept_closure = implied_closure(schema, held - remove)
    add = frozenset(x for x in wanted if x not in kept_closure)
    return add, remove


def implied_closure(schema: Schema, xmlids: Iterable[str]) -> frozenset[str]:
    """The groups and every psa group they imply."""
    found: set[str] = set()
    pending = list(xmlids)
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        if schema.has_group(current):
            pending.extend(schema.group(current).implied)
    return frozenset(found)


def compute_plan(schema: Schema, state: OdooState) -> Plan:
    """The changes that bring Odoo in line with ``schema``, in the order they must be applied.

    Order: models (with their non-relational fields), many2one and other fields, one2many
    fields (their inverse must exist), selection values, defaults, groups, access rights,
    record rules, external ids of adopted records, users' role groups.
    """
    planner = _Planner(schema, state)
    planner.modules()
    planner.check_stock_groups()
    planner.models()
    planner.fields()
    planner.defaults()
    planner.groups()
    planner.access()
    planner.rules()
    planner.user_groups()
    planner.hierarchy()
    order = (
        CreateModel,
        UpdateModel,
        CreateField,
        UpdateField,
        CreateSelectionValue,
        UpdateSelectionValue,
        SetDefault,
        CreateGroup,
        UpdateGroup,
        CreateAccess,
        UpdateAccess,
        CreateRule,
        UpdateRule,
        DeleteStale,
        RegisterXmlId,
        SyncUserGroups,
    )
    rank = {kind: position for position, kind in enumerate(order)}
    changes = sorted(
        planner.changes,
        key=lambda c: (rank[type(c)], isinstance(c, CreateField) and c.spec.ttype == "one2many"),
    )
    return Plan(tuple(changes), tuple(planner.manual), tuple(planner.notes))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _describe_type(spec: FieldSpec) -> str:
    if spec.relation:
        return f"{spec.ttype} → {spec.relation}"
    return spec.ttype


def _perm_text(perms: tuple[bool, bool, bool, bool]) -> str:
    granted = [name for name, value in zip(PERMISSIONS, perms, strict=True) if value]
    return "/".join(granted) or "nothing"
