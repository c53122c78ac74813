"""The schema declaration: parse_schema's validation, load_schema, and the shipped file."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from console.domain.names import (
    ClientAsset,
    HelpdeskTicket,
    Partner,
    Role,
    groups_for_roles,
    missing_names,
)
from console.domain.schema import Schema, SchemaError, SchemaLookupError, parse_schema
from console.odoo.schema import default_schema_path, load_schema

# ---- parse_schema on a minimal declaration ------------------------------------------------


def minimal() -> dict[str, Any]:
    """A small valid declaration each test breaks in one way."""
    return {
        "schema_version": 1,
        "models": [
            {
                "model": "res.partner",
                "name": "Contact",
                "stock": True,
                "fields": [
                    {"name": "name", "ttype": "char", "string": "Name", "stock": True},
                    {
                        "name": "x_thing_ids",
                        "ttype": "one2many",
                        "string": "Things",
                        "relation": "x_thing",
                        "relation_field": "x_partner_id",
                    },
                ],
            },
            {
                "model": "x_thing",
                "name": "Thing",
                "fields": [
                    {"name": "x_name", "ttype": "char", "string": "Name"},
                    {
                        "name": "x_partner_id",
                        "ttype": "many2one",
                        "string": "Partner",
                        "relation": "res.partner",
                    },
                    {
                        "name": "x_state",
                        "ttype": "selection",
                        "string": "State",
                        "selection": [["new", "New"], ["done", "Done"]],
                        "default": "new",
                    },
                ],
            },
        ],
        "groups": [{"xmlid": "psa.group_a", "name": "A", "implied": ["base.group_user"]}],
        "access": [
            {"name": "access_thing", "model": "x_thing", "group": "psa.group_a", "perms": ["read"]}
        ],
        "rules": [
            {
                "name": "mine",
                "model": "x_thing",
                "groups": ["psa.group_a"],
                "perms": ["read"],
                "domain_force": "[('x_partner_id.name', '=', 'x'), ('id', '!=', user.id)]",
            }
        ],
    }


def thing_field(data: dict[str, Any], name: str) -> dict[str, Any]:
    fields: list[dict[str, Any]] = data["models"][1]["fields"]
    return next(f for f in fields if f["name"] == name)


def test_minimal_declaration_parses() -> None:
    schema = parse_schema(minimal())
    assert schema.field("x_thing", "x_state").selection_values == ("new", "done")
    assert schema.field("x_thing", "x_state").default == "new"


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(minimal())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: thing_field(d, "x_name").update(ttype="string"), "unknown ttype 'string'"),
        (lambda d: thing_field(d, "x_partner_id").pop("relation"), "needs a relation"),
        (
            lambda d: thing_field(d, "x_partner_id").update(relation="res.bank"),
            "relation 'res.bank' is not declared",
        ),
        (
            lambda d: thing_field(d, "x_state").update(selection=[]),
            "selection field without values",
        ),
        (lambda d: thing_field(d, "x_state").update(default="gone"), "not one of the selection"),
        (lambda d: d["models"][1].update(model="thing"), "must be named x_"),
        (lambda d: thing_field(d, "x_name").update(name="name"), "must be named x_"),
        (
            lambda d: d["models"][0]["fields"][0].update(name="x_name"),
            "an x_ field is custom; drop `stock = true`",
        ),
        (
            lambda d: d["models"][0]["fields"][1].update(relation_field="x_name"),
            "must be a many2one on x_thing pointing back to res.partner",
        ),
        (
            lambda d: thing_field(d, "x_partner_id").update(required=True, on_delete="set null"),
            "cannot be on_delete 'set null'",
        ),
        (lambda d: thing_field(d, "x_name").update(indexed=True), "unknown key(s) indexed"),
        (lambda d: thing_field(d, "x_name").update(required="yes"), "expected a boolean"),
        (
            lambda d: d["models"][1]["fields"].append(dict(thing_field(d, "x_name"))),
            "declared twice",
        ),
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (
            lambda d: d["access"][0].update(perms=["read", "delete"]),
            "unknown permission(s) ['delete']",
        ),
        (lambda d: d["access"][0].update(group="psa.group_b"), "'psa.group_b' is not declared"),
        (
            lambda d: d["groups"][0].update(implied=["psa.group_a"]),
            "implies itself",
        ),
        (
            lambda d: d["groups"].append({"xmlid": "base.group_x", "name": "X"}),
            "declare only groups provision creates",
        ),
    ],
)
def test_invalid_declarations_are_refused_with_the_reason(change: Any, message: str) -> None:
    with pytest.raises(SchemaError) as raised:
        parse_schema(broken(change))
    assert message in str(raised.value)


def test_errors_name_the_offending_field() -> None:
    with pytest.raises(SchemaError, match=r"models\[x_thing\]\.fields\[x_name\]"):
        parse_schema(broken(lambda d: thing_field(d, "x_name").update(ttype="string")))


@pytest.mark.parametrize(
    ("domain_force", "message"),
    [
        ("[('x_partner_id', '=', user.partner_id.id)]", "found 'user.partner_id.id'"),
        (
            "[('id', 'in', user.x_membership_ids.filtered(lambda m: m).ids)]",
            "may use only literals, user.id",
        ),
        ("[('id', '=', time.time())]", "may use only literals"),
        ("[('x_partner_id.nope', '=', 1)]", "res.partner declares no field 'nope'"),
        ("[('x_name.x_other', '=', 1)]", "'x_name' is not relational"),
        ("[('x_name', 'any', [])]", "'any' needs a relational field"),
        ("[('x_name', 'resembles', 1)]", "invalid operator 'resembles'"),
        ("['&', ('x_name', '=', 1)]", "malformed domain"),
        ("[('x_name', '=', 1)", "not a Python expression"),
        ("('x_name', '=', 1)", "malformed domain"),
        ("'everything'", "not a list"),
    ],
)
def test_rule_domains_must_be_portable_plain_domains(domain_force: str, message: str) -> None:
    with pytest.raises(SchemaError) as raised:
        parse_schema(broken(lambda d: d["rules"][0].update(domain_force=domain_force)))
    assert message in str(raised.value)


def test_rule_sub_domains_are_checked_against_the_comodel() -> None:
    domain_force = "[('x_partner_id', 'any', [('x_name', '=', 1)])]"
    with pytest.raises(SchemaError, match=r"res\.partner declares no field 'x_name'"):
        parse_schema(broken(lambda d: d["rules"][0].update(domain_force=domain_force)))


def test_rule_domain_substitutes_the_user_id() -> None:
    rule = parse_schema(minimal()).rules[0]
    assert rule.domain(42) == ["&", ("x_partner_id.name", "=", "x"), ("id", "!=", 42)]


def test_unknown_names_raise_a_lookup_error_that_points_at_the_schema_file() -> None:
    schema = parse_schema(minimal())
    with pytest.raises(SchemaLookupError, match=r"x_nope.*x_thing.*schema\.toml"):
        schema.model("x_thing").field("x_nope")
    with pytest.raises(SchemaLookupError, match="model 'x_nope' is not declared"):
        schema.model("x_nope")


def test_one2many_fields_are_created_after_their_inverse() -> None:
    order = [spec.name for spec in parse_schema(minimal()).custom_fields_in_creation_order()]
    assert order.index("x_partner_id") < order.index("x_thing_ids")


# ---- load_schema --------------------------------------------------------------------------


def test_load_schema_reports_a_missing_file_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SchemaError, match=r"nope\.toml: schema file not found"):
        load_schema(missing)


def test_load_schema_reports_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("schema_version = = 1\n")
    with pytest.raises(SchemaError, match="not valid TOML"):
        load_schema(path)


def test_load_schema_refuses_a_schema_lacking_a_name_the_code_uses(tmp_path: Path) -> None:
    text = default_schema_path().read_text()
    path = tmp_path / "schema.toml"
    path.write_text(text.replace('name = "x_last_seen"', 'name = "x_last_seen_online"'))
    with pytest.raises(SchemaError, match=r"ClientAsset\.LAST_SEEN: x_client_asset declares"):
        load_schema(path)


def test_load_schema_reads_the_default_file_once() -> None:
    assert load_schema() is load_schema()


# ---- the shipped schema.toml ---------------------------------------------------------------


def test_every_name_the_code_uses_is_declared(schema: Schema) -> None:
    assert missing_names(schema) == ()


def test_custom_models_and_fields_follow_the_studio_naming_rule(schema: Schema) -> None:
    for model in schema.custom_models:
        assert model.name.startswith("x_")
    for model in schema.models:
        for spec in model.custom_fields:
            assert spec.name.startswith("x_"), f"{model.name}.{spec.name}"


def test_ticket_asset_field_only_offers_the_customers_assets(schema: Schema) -> None:
    spec = schema.field(HelpdeskTicket.MODEL, HelpdeskTicket.ASSET)
    assert spec.relation == ClientAsset.MODEL
    assert spec.domain == "[('x_partner_id', '=', partner_id)]"


def test_assets_are_looked_up_by_an_indexed_pulseway_id(schema: Schema) -> None:
    assert schema.field(ClientAsset.MODEL, ClientAsset.PULSEWAY_ID).index


def test_partner_sync_states_are_the_documented_five(schema: Schema) -> None:
    spec = schema.field(Partner.MODEL, Partner.PULSEWAY_SYNC_STATE)
    assert spec.selection_values == ("pending", "approved", "synced", "failed", "skipped")


def test_every_membership_role_has_a_group(schema: Schema) -> None:
    assert groups_for_roles(schema, list(Role)) == {
        "psa.group_technician",
        "psa.group_dispatcher",
        "psa.group_manager",
    }


def test_groups_for_an_unknown_role_is_an_error(schema: Schema) -> None:
    with pytest.raises(ValueError, match="no group is declared for SA role 'owner'"):
        groups_for_roles(schema, ["owner"])


def test_every_record_rule_depends_on_the_user(schema: Schema) -> None:
    for rule in schema.rules:
        if rule.name == "PSA: unassigned companies awaiting approval":
            continue  # the approvals rule is the same for every manager, by design
        if rule.name == "PSA: unmatched Pulseway groups":
            continue  # unmatched rows belong to no SA: every dispatcher sees them
        assert rule.domain(7) != rule.domain(8), rule.name


def test_every_record_rule_narrows_only_console_users(schema: Schema) -> None:
    for rule in schema.rules:
        assert rule.groups and all(g.startswith("psa.group_") for g in rule.groups), rule.name


def test_shipped_file_is_plain_toml_without_the_loader() -> None:
    # Other tools (packaging, docs) may read it directly: keep it plain TOML.
    with default_schema_path().open("rb") as stream:
        assert tomllib.load(stream)["schema_version"] == 1
