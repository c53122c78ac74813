"""The Odoo schema this product needs, as typed data, and its validation.

``resources/odoo/schema.toml`` declares every model, field, group, access right and record rule;
``console.odoo.schema.load_schema`` reads it and hands the parsed mapping to :func:`parse_schema`,
which refuses anything Odoo (or Studio over RPC) would refuse later, with a message naming the
exact entry. Nothing here does I/O.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from console.domain.search_domain import (
    Domain,
    DomainError,
    normalize_domain,
)

#: ir.model.fields.ttype values accepted by Odoo 19 (reference §6).
FIELD_TYPES: Final = frozenset(
    {
        "binary", "boolean", "char", "date", "datetime", "float", "html", "integer", "json",
        "many2many", "many2one", "many2one_reference", "monetary", "one2many", "properties",
        "properties_definition", "reference", "selection", "text",
    }
)  # fmt: skip
RELATIONAL_TYPES: Final = frozenset({"many2one", "one2many", "many2many"})
ON_DELETE_VALUES: Final = frozenset({"set null", "cascade", "restrict"})
PERMISSIONS: Final = ("read", "write", "create", "unlink")
#: Fields every Odoo model has without declaring them.
MAGIC_FIELDS: Final = frozenset({"id", "display_name", "create_date", "write_date"})
#: Names a record rule's domain_force may use (Odoo 19's ir.rule eval context, minus `time`).
RULE_CONTEXT_NAMES: Final = frozenset({"user", "company_ids", "company_id"})
#: Domain operators of Odoo 19 (reference §5).
DOMAIN_OPERATORS: Final = frozenset(
    {
        "=", "!=", ">", ">=", "<", "<=", "=?", "in", "not in", "like", "not like", "ilike",
        "not ilike", "=like", "=ilike", "child_of", "parent_of", "any", "not any",
    }
)  # fmt: skip

_MODEL_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_XMLID = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
#: Provision creates groups in this module; other xmlids must already exist in Odoo.
PROVISIONED_GROUP_MODULE: Final = "psa"

FieldDefault = str | int | float | bool


class SchemaError(ValueError):
    """The schema declaration is invalid; the message names the offending entry."""


class SchemaLookupError(LookupError):
    """Code asked the schema for a model, field or group it does not declare."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, slots=True)
class SelectionOption:
    """One value of a selection field, with the label users see."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: custom (``x_…``, created by provision) or stock (only checked)."""

    model: str
    name: str
    ttype: str
    string: str
    relation: str | None = None
    relation_field: str | None = None
    selection: tuple[SelectionOption, ...] = ()
    index: bool = False
    required: bool = False
    copied: bool = True
    help: str = ""
    on_delete: str | None = None
    domain: str | None = None
    default: FieldDefault | None = None
    stock: bool = False

    @property
    def custom(self) -> bool:
        """True for fields provision creates (as opposed to stock fields it only checks)."""
        return not self.stock

    @property
    def relational(self) -> bool:
        """many2one, one2many or many2many."""
        return self.ttype in RELATIONAL_TYPES

    @property
    def selection_values(self) -> tuple[str, ...]:
        """The stored values of a selection field, in declared order."""
        return tuple(option.value for option in self.selection)

    def label_of(self, value: str) -> str:
        """The user-facing label of a selection value."""
        for option in self.selection:
            if option.value == value:
                return option.label
        raise SchemaLookupError(f"{self.model}.{self.name} has no selection value {value!r}")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model: custom (``x_…``) or stock, with the fields the product relies on."""

    name: str
    description: str
    fields: tuple[FieldSpec, ...] = ()
    stock: bool = False
    order: str | None = None
    info: str = ""
    mail_thread: bool = False
    _by_name: dict[str, FieldSpec] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._by_name.update((spec.name, spec) for spec in self.fields)

    @property
    def custom(self) -> bool:
        """True for models provision creates (``x_…``)."""
        return not self.stock

    @property
    def custom_fields(self) -> tuple[FieldSpec, ...]:
        """Fields provision creates on this model."""
        return tuple(spec for spec in self.fields if spec.custom)

    def has_field(self, name: str) -> bool:
        """Whether ``name`` is declared on this model."""
        return name in self._by_name

    def field(self, name: str) -> FieldSpec:
        """The declared field ``name``; raises :class:`SchemaLookupError` if undeclared."""
        try:
            return self._by_name[name]
        except KeyError:
            raise SchemaLookupError(
                f"field {name!r} is not declared on {self.name} in resources/odoo/schema.toml"
            ) from None


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A res.groups record: created by provision when its module is ``psa``."""

    xmlid: str
    name: str
    implied: tuple[str, ...] = ()
    role: str | None = None
    comment: str = ""

    @property
    def module(self) -> str:
        """The xmlid's module part (``psa`` for groups provision creates)."""
        return self.xmlid.split(".", 1)[0]

    @property
    def local_name(self) -> str:
        """The xmlid without its module (the ir.model.data name)."""
        return self.xmlid.split(".", 1)[1]


@dataclass(frozen=True, slots=True)
class AccessSpec:
    """An ir.model.access record. ``group`` None would make it global (none are)."""

    name: str
    model: str
    group: str | None
    perm_read: bool = False
    perm_write: bool = False
    perm_create: bool = False
    perm_unlink: bool = False


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """An ir.rule record; ``domain_force`` is the Odoo expression stored verbatim."""

    name: str
    model: str
    groups: tuple[str, ...]
    domain_force: str
    perm_read: bool = False
    perm_write: bool = False
    perm_create: bool = False
    perm_unlink: bool = False

    @property
    def is_global(self) -> bool:
        """Global rules (no groups) are AND-ed for everyone; group rules are OR-ed."""
        return not self.groups

    def domain(
        self, user_id: int, *, company_ids: Sequence[int] = (), company_id: int | None = None
    ) -> Domain:
        """The domain this rule yields for user ``user_id``, as Odoo's ir.rule would compute it.

        Evaluated without ``eval``: only literals, ``user.id``, ``company_ids`` and
        ``company_id`` are understood (the same subset :func:`parse_schema` admits).
        """
        context = _RuleContext(user_id, tuple(company_ids), company_id)
        value = _evaluate_rule_expression(_parse_rule_expression(self.domain_force), context)
        if not isinstance(value, list | tuple):
            raise SchemaError(f"rule {self.name!r}: domain_force is not a list")
        return normalize_domain(value)


@dataclass(frozen=True, slots=True)
class Schema:
    """Everything the product needs from Odoo, validated."""

    version: int
    models: tuple[ModelSpec, ...]
    groups: tuple[GroupSpec, ...] = ()
    access: tuple[AccessSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    sa_max_levels: int = 1
    _models: dict[str, ModelSpec] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _groups: dict[str, GroupSpec] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._models.update((spec.name, spec) for spec in self.models)
        self._groups.update((spec.xmlid, spec) for spec in self.groups)

    def has_model(self, name: str) -> bool:
        """Whether model ``name`` is declared."""
        return name in self._models

    def model(self, name: str) -> ModelSpec:
        """The declared model ``name``; raises :class:`SchemaLookupError` if undeclared."""
        try:
            return self._models[name]
        except KeyError:
            raise SchemaLookupError(
                f"model {name!r} is not declared in resources/odoo/schema.toml"
            ) from None

    def field(self, model: str, name: str) -> FieldSpec:
        """Shorthand for ``schema.model(model).field(name)``."""
        return self.model(model).field(name)

    def has_group(self, xmlid: str) -> bool:
        """Whether group ``xmlid`` is declared (stock groups never are)."""
        return xmlid in self._groups

    def group(self, xmlid: str) -> GroupSpec:
        """The declared group ``xmlid``; raises :class:`SchemaLookupError` if undeclared."""
        try:
            return self._groups[xmlid]
        except KeyError:
            raise SchemaLookupError(f"group {xmlid!r} is not declared") from None

    def group_for_role(self, role: str) -> GroupSpec | None:
        """The group given directly to holders of SA membership role ``role``, if any."""
        return next((spec for spec in self.groups if spec.role == role), None)

    @property
    def custom_models(self) -> tuple[ModelSpec, ...]:
        """Models provision creates (``x_…``)."""
        return tuple(spec for spec in self.models if spec.custom)

    @property
    def provisioned_groups(self) -> tuple[GroupSpec, ...]:
        """Groups provision creates (module ``psa``)."""
        return tuple(g for g in self.groups if g.module == PROVISIONED_GROUP_MODULE)

    def custom_fields_in_creation_order(self) -> tuple[FieldSpec, ...]:
        """Custom fields in an order Odoo accepts: a one2many only after its inverse many2one.

        Models must all exist before any field (relations may point forward).
        """
        fields = [spec for model in self.models for spec in model.custom_fields]
        return tuple(
            [spec for spec in fields if spec.ttype != "one2many"]
            + [spec for spec in fields if spec.ttype == "one2many"]
        )

    def rules_for(self, model: str) -> tuple[RuleSpec, ...]:
        """Record rules on ``model``."""
        return tuple(rule for rule in self.rules if rule.model == model)

    def access_for(self, model: str) -> tuple[AccessSpec, ...]:
        """Access rights on ``model``."""
        return tuple(entry for entry in self.access if entry.model == model)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


class _Table:
    """A TOML table being read: tracks its location and refuses keys nobody consumed."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise SchemaError(f"{where}: expected a table, got {type(data).__name__}")
        self.where = where
        self._data: dict[str, Any] = dict(data)
        self._seen: set[str] = set()

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any, required: bool) -> Any:
        self._seen.add(key)
        if key not in self._data:
            if required:
                raise SchemaError(f"{self.where or 'schema'}: missing required key {key!r}")
            return default
        value = self._data[key]
        # bool is an int subclass; never accept true where a number is meant.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise SchemaError(f"{self._at(key)}: expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise SchemaError(
                f"{self._at(key)}: expected {_kind_name(kind)}, got {type(value).__name__}"
            )
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value: str | None = self._get(key, str, default, required)
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        if not value.strip():
            raise SchemaError(f"{self._at(key)}: must not be empty")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value: bool = self._get(key, bool, default, False)
        return value

    def integer(self, key: str, default: int | None = None, *, required: bool = False) -> int:
        value: int = self._get(key, int, default, required)
        return value

    def array(self, key: str) -> list[Any]:
        value: list[Any] = self._get(key, list, [], False)
        return value

    def raw(self, key: str) -> Any:
        self._seen.add(key)
        return self._data.get(key)

    def tables(self, key: str) -> Iterator[_Table]:
        for index, item in enumerate(self.array(key)):
            yield _Table(item, f"{self._at(key)}[{index}]")

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise SchemaError(f"{self.where or 'schema'}: unknown key(s) {', '.join(unknown)}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", bool: "a boolean", int: "an integer", list: "an array"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def parse_schema(data: Mapping[str, Any]) -> Schema:
    """Validate the mapping read from ``schema.toml`` and return it as a :class:`Schema`.

    Raises :class:`SchemaError` naming the offending entry for: unknown keys, unknown ttypes,
    relational fields without (or with an undeclared) relation, one2many without a matching
    inverse many2one, selections without values or with a default outside them, custom models
    or fields not named ``x_…`` (Studio's rule over RPC), duplicate names, unknown groups, and
    record rules whose domain_force uses anything beyond literals and ``user.id`` or names a
    field path that does not resolve through the declared models.
    """
    top = _Table(data, "")
    version = top.integer("schema_version", required=True)
    if version != 1:
        raise SchemaError(f"schema_version {version} is not supported (expected 1)")
    hierarchy = _Table(top.raw("hierarchy") or {}, "hierarchy")
    max_levels = hierarchy.integer("max_levels", 1)
    hierarchy.finish()
    if max_levels < 1:
        raise SchemaError("hierarchy.max_levels: must be at least 1")

    models = tuple(_parse_model(table) for table in top.tables("models"))
    groups = tuple(_parse_group(table) for table in top.tables("groups"))
    access = tuple(_parse_access(table) for table in top.tables("access"))
    rules = tuple(_parse_rule(table) for table in top.tables("rules"))
    top.finish()

    schema = Schema(
        version=version,
        models=models,
        groups=groups,
        access=access,
        rules=rules,
        sa_max_levels=max_levels,
    )
    _check_unique((m.name for m in models), "model")
    _check_unique((g.xmlid for g in groups), "group")
    _check_unique((a.name for a in access), "access right")
    _check_unique((r.name for r in rules), "record rule")
    _check_relations(schema)
    _check_groups(schema)
    for entry in access:
        _check_model_and_groups(schema, f"access[{entry.name}]", entry.model, _groups_of(entry))
    for rule in rules:
        _check_model_and_groups(schema, f"rules[{rule.name}]", rule.model, rule.groups)
        _check_rule_domain(schema, rule)
    return schema


def _groups_of(entry: AccessSpec) -> tuple[str, ...]:
    return (entry.group,) if entry.group else ()


def _check_unique(names: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SchemaError(f"{what} {name!r} is declared twice")
        seen.add(name)


def _parse_model(table: _Table) -> ModelSpec:
    name = table.required_text("model")
    where = f"models[{name}]"
    table.where = where
    stock = table.flag("stock")
    if not _MODEL_NAME.match(name):
        raise SchemaError(f"{where}: model names use only a-z, 0-9, '_' and '.'")
    if stock and name.startswith("x_"):
        raise SchemaError(f"{where}: an x_ model is custom; drop `stock = true`")
    if not stock and not name.startswith("x_"):
        raise SchemaError(
            f"{where}: custom models created over RPC must be named x_… (Studio rule); "
            "mark models Odoo already has with `stock = true`"
        )
    description = table.required_text("name")
    order = table.text("order")
    info = table.text("info", "") or ""
    mail_thread = table.flag("mail_thread")
    fields = tuple(_parse_field(name, stock, sub) for sub in table.tables("fields"))
    table.finish()
    _check_unique((f"{name}.{spec.name}" for spec in fields), "field")
    spec = ModelSpec(
        name=name,
        description=description,
        fields=fields,
        stock=stock,
        order=order,
        info=info,
        mail_thread=mail_thread,
    )
    if order is not None:
        for part in order.split(","):
            words = part.split()
            if not words or (words[0] not in MAGIC_FIELDS and not spec.has_field(words[0])):
                raise SchemaError(f"{where}.order: {part.strip()!r} names no declared field")
    return spec


def _parse_field(model: str, model_is_stock: bool, table: _Table) -> FieldSpec:
    name = table.required_text("name")
    where = f"models[{model}].fields[{name}]"
    table.where = where
    stock = table.flag("stock")
    if not _FIELD_NAME.match(name) or len(name) > 63:
        raise SchemaError(f"{where}: field names are lower-case identifiers of at most 63 chars")
    if stock:
        if not model_is_stock:
            raise SchemaError(f"{where}: a custom model has no stock fields beyond id/display_name")
        if name.startswith("x_"):
            raise SchemaError(f"{where}: an x_ field is custom; drop `stock = true`")
    elif not name.startswith("x_"):
        raise SchemaError(
            f"{where}: custom fields created over RPC must be named x_… (Studio rule); "
            "mark fields Odoo already has with `stock = true`"
        )
    ttype = table.required_text("ttype")
    if ttype not in FIELD_TYPES:
        raise SchemaError(
            f"{where}: unknown ttype {ttype!r} (one of {', '.join(sorted(FIELD_TYPES))})"
        )
    string = table.required_text("string")
    relation = table.text("relation")
    relation_field = table.text("relation_field")
    on_delete = table.text("on_delete")
    required = table.flag("required")
    selection = _parse_selection(table.array("selection"), where)
    if ttype == "selection" and not selection:
        raise SchemaError(f"{where}: selection field without values")
    default = table.raw("default")
    spec = FieldSpec(
        model=model,
        name=name,
        ttype=ttype,
        string=string,
        relation=relation,
        relation_field=relation_field,
        selection=selection,
        index=table.flag("index"),
        required=required,
        copied=table.flag("copied", True),
        help=table.text("help", "") or "",
        on_delete=on_delete,
        domain=table.text("domain"),
        default=_check_default(default, ttype, selection, where),
        stock=stock,
    )
    table.finish()

    if spec.relational and not relation:
        raise SchemaError(f"{where}: {ttype} field needs a relation (the comodel)")
    if not spec.relational and relation:
        raise SchemaError(f"{where}: only relational fields have a relation")
    if ttype == "one2many" and not relation_field:
        raise SchemaError(f"{where}: one2many field needs relation_field (the inverse many2one)")
    if ttype != "one2many" and relation_field:
        raise SchemaError(f"{where}: only one2many fields have a relation_field")
    if ttype != "selection" and selection:
        raise SchemaError(f"{where}: only selection fields have selection values")
    if on_delete is not None:
        if ttype != "many2one":
            raise SchemaError(f"{where}: on_delete applies to many2one fields only")
        if on_delete not in ON_DELETE_VALUES:
            raise SchemaError(f"{where}: on_delete must be one of {sorted(ON_DELETE_VALUES)}")
        if required and on_delete == "set null":
            raise SchemaError(f"{where}: a required many2one cannot be on_delete 'set null'")
    if spec.domain is not None:
        _check_domain_literal(spec.domain, where)
    return spec


def _parse_selection(items: list[Any], where: str) -> tuple[SelectionOption, ...]:
    options: list[SelectionOption] = []
    for item in items:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(part, str) and part for part in item)
        ):
            raise SchemaError(f"{where}.selection: each entry is [value, label], got {item!r}")
        if any(option.value == item[0] for option in options):
            raise SchemaError(f"{where}.selection: value {item[0]!r} is listed twice")
        options.append(SelectionOption(item[0], item[1]))
    return tuple(options)


def _check_default(
    default: object, ttype: str, selection: tuple[SelectionOption, ...], where: str
) -> FieldDefault | None:
    if default is None:
        return None
    expected: dict[str, type | tuple[type, ...]] = {
        "boolean": bool, "char": str, "text": str, "selection": str,
        "integer": int, "float": (int, float),
    }  # fmt: skip
    kind = expected.get(ttype)
    if kind is None:
        raise SchemaError(f"{where}.default: defaults are supported for {sorted(expected)} only")
    if not isinstance(default, kind) or (isinstance(default, bool) and ttype != "boolean"):
        raise SchemaError(f"{where}.default: {default!r} does not fit a {ttype} field")
    if ttype == "selection" and default not in {o.value for o in selection}:
        raise SchemaError(f"{where}.default: {default!r} is not one of the selection values")
    assert isinstance(default, str | int | float | bool)
    return default


def _check_domain_literal(text: str, where: str) -> None:
    """A field's UI domain: a literal list whose leaves may name form fields (left unchecked)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise SchemaError(f"{where}.domain: not a Python expression: {exc.msg}") from None
    if not isinstance(tree.body, ast.List):
        raise SchemaError(f"{where}.domain: must be a list")


def _parse_group(table: _Table) -> GroupSpec:
    xmlid = table.required_text("xmlid")
    where = f"groups[{xmlid}]"
    table.where = where
    if not _XMLID.match(xmlid):
        raise SchemaError(f"{where}: an xmlid is module.name")
    if not xmlid.startswith(PROVISIONED_GROUP_MODULE + "."):
        raise SchemaError(
            f"{where}: declare only groups provision creates (module {PROVISIONED_GROUP_MODULE!r}); "
            "stock groups are referenced by xmlid"
        )
    implied = table.array("implied")
    if not all(isinstance(item, str) for item in implied):
        raise SchemaError(f"{where}.implied: expected group xmlids")
    spec = GroupSpec(
        xmlid=xmlid,
        name=table.required_text("name"),
        implied=tuple(implied),
        role=table.text("role"),
        comment=table.text("comment", "") or "",
    )
    table.finish()
    return spec


def _parse_perms(table: _Table, where: str) -> dict[str, bool]:
    perms = table.array("perms")
    if not perms:
        raise SchemaError(f"{where}.perms: at least one of {', '.join(PERMISSIONS)}")
    unknown = [p for p in perms if p not in PERMISSIONS]
    if unknown:
        raise SchemaError(f"{where}.perms: unknown permission(s) {unknown!r}")
    return {f"perm_{p}": p in perms for p in PERMISSIONS}


def _parse_access(table: _Table) -> AccessSpec:
    name = table.required_text("name")
    where = f"access[{name}]"
    table.where = where
    spec = AccessSpec(
        name=name,
        model=table.required_text("model"),
        group=table.text("group"),
        **_parse_perms(table, where),
    )
    table.finish()
    return spec


def _parse_rule(table: _Table) -> RuleSpec:
    name = table.required_text("name")
    where = f"rules[{name}]"
    table.where = where
    groups = table.array("groups")
    if not all(isinstance(item, str) for item in groups):
        raise SchemaError(f"{where}.groups: expected group xmlids")
    spec = RuleSpec(
        name=name,
        model=table.required_text("model"),
        groups=tuple(groups),
        domain_force=table.required_text("domain_force"),
        **_parse_perms(table, where),
    )
    table.finish()
    return spec


def _check_relations(schema: Schema) -> None:
    relational = [(model, spec) for model in schema.models for spec in model.fields]
    for model, spec in relational:
        if spec.relation is not None and not schema.has_model(spec.relation):
            raise SchemaError(
                f"models[{model.name}].fields[{spec.name}]: relation {spec.relation!r} is not "
                "declared; declare it (with `stock = true` if Odoo has it) so provision and "
                "doctor know it"
            )
    # Inverses only once every comodel is known to exist.
    for model, spec in relational:
        if spec.ttype != "one2many":
            continue
        assert spec.relation is not None and spec.relation_field is not None
        comodel = schema.model(spec.relation)
        inverse = (
            comodel.field(spec.relation_field) if comodel.has_field(spec.relation_field) else None
        )
        if inverse is None or inverse.ttype != "many2one" or inverse.relation != model.name:
            raise SchemaError(
                f"models[{model.name}].fields[{spec.name}]: relation_field "
                f"{spec.relation_field!r} must be a many2one on {spec.relation} pointing back "
                f"to {model.name}"
            )


def _check_groups(schema: Schema) -> None:
    roles: set[str] = set()
    for group in schema.groups:
        for implied in group.implied:
            _check_group_reference(schema, f"groups[{group.xmlid}].implied", implied)
        if group.role is not None:
            if group.role in roles:
                raise SchemaError(f"groups[{group.xmlid}]: role {group.role!r} has two groups")
            roles.add(group.role)
    # Implication must be acyclic, or Odoo's group closure never ends.
    for group in schema.groups:
        seen: set[str] = set()
        pending = list(group.implied)
        while pending:
            current = pending.pop()
            if current == group.xmlid:
                raise SchemaError(f"groups[{group.xmlid}]: implies itself through {sorted(seen)}")
            if current in seen or not schema.has_group(current):
                continue
            seen.add(current)
            pending.extend(schema.group(current).implied)


def _check_group_reference(schema: Schema, where: str, xmlid: str) -> None:
    if not _XMLID.match(xmlid):
        raise SchemaError(f"{where}: {xmlid!r} is not a module.name xmlid")
    if xmlid.startswith(PROVISIONED_GROUP_MODULE + ".") and not schema.has_group(xmlid):
        raise SchemaError(f"{where}: group {xmlid!r} is not declared under [[groups]]")


def _check_model_and_groups(schema: Schema, where: str, model: str, groups: Sequence[str]) -> None:
    if not schema.has_model(model):
        raise SchemaError(f"{where}: model {model!r} is not declared")
    for xmlid in groups:
        _check_group_reference(schema, f"{where}.groups", xmlid)


# --------------------------------------------------------------------------------------------
# Record-rule expressions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RuleContext:
    user_id: int
    company_ids: tuple[int, ...]
    company_id: int | None


def _parse_rule_expression(text: str) -> ast.expr:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise SchemaError(f"domain_force is not a Python expression: {exc.msg}") from None


def _evaluate_rule_expression(node: ast.expr, context: _RuleContext) -> object:
    """Evaluate the literal subset of Python a portable domain_force may use.

    Real Odoo evaluates domain_force with safe_eval and a full ``user`` recordset; the sandbox
    and this module accept only what both can compile into a plain domain, so a rule that
    works here works on both.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool | None):
        return node.value
    if isinstance(node, ast.List):
        return [_evaluate_rule_expression(item, context) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate_rule_expression(item, context) for item in node.elts)
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and (node.value.id, node.attr) == ("user", "id")
    ):
        return context.user_id
    if isinstance(node, ast.Name):
        if node.id == "company_ids":
            return list(context.company_ids)
        if node.id == "company_id":
            return context.company_id if context.company_id is not None else False
    raise SchemaError(
        f"domain_force may use only literals, user.id, company_ids and company_id; "
        f"found {ast.unparse(node)!r}"
    )


def _check_rule_domain(schema: Schema, rule: RuleSpec) -> None:
    where = f"rules[{rule.name}].domain_force"
    try:
        domain = rule.domain(1, company_ids=(1,), company_id=1)
    except (SchemaError, DomainError) as exc:
        raise SchemaError(f"{where}: {exc}") from None
    _check_domain_paths(schema, rule.model, domain, where)


def _check_domain_paths(schema: Schema, model: str, domain: Domain, where: str) -> None:
    for term in domain:
        if isinstance(term, str):
            continue
        left, operator, value = term
        if isinstance(left, int):
            continue  # TRUE_LEAF / FALSE_LEAF, already shape-checked by normalize_domain
        if operator not in DOMAIN_OPERATORS:
            raise SchemaError(f"{where}: invalid operator {operator!r} in {term!r}")
        target = _resolve_path(schema, model, left, where)
        if operator in ("any", "not any"):
            if target is None or not target.relational:
                raise SchemaError(f"{where}: {operator!r} needs a relational field: {term!r}")
            assert target.relation is not None
            if not isinstance(value, list | tuple):
                raise SchemaError(f"{where}: {operator!r} needs a sub-domain: {term!r}")
            try:
                subdomain = normalize_domain(value)
            except DomainError as exc:
                raise SchemaError(f"{where}: {exc}") from None
            _check_domain_paths(schema, target.relation, subdomain, where)


def _resolve_path(schema: Schema, model: str, path: str, where: str) -> FieldSpec | None:
    """Walk a dotted field path; the last field's spec (None for magic fields like id)."""
    current = schema.model(model)
    parts = path.split(".")
    spec: FieldSpec | None = None
    for position, part in enumerate(parts):
        if part in MAGIC_FIELDS and not current.has_field(part):
            if position != len(parts) - 1:
                raise SchemaError(f"{where}: {path!r} cannot traverse {part!r}")
            return None
        if not current.has_field(part):
            raise SchemaError(
                f"{where}: {path!r}: {current.name} declares no field {part!r} "
                "(declare stock fields a rule relies on with `stock = true`)"
            )
        spec = current.field(part)
        if position != len(parts) - 1:
            if not spec.relational or spec.relation is None:
                raise SchemaError(f"{where}: {path!r}: {part!r} is not relational")
            current = schema.model(spec.relation)
    return spec
