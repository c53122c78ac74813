"""``doctor()``: every missing or different piece, named; nothing when all is right."""

from __future__ import annotations

from typing import Any

import pytest
from provisioning_support import connect, create_user, field_id, run, su, su_ids

from console.domain.schema import Schema
from console.odoo.provisioning import Problem, ProvisionRefused, doctor


def doctor_as(odoo: Any, schema: Schema, login: str = "admin") -> list[Problem]:
    async def scenario() -> list[Problem]:
        gateway = await connect(odoo, login, login)
        try:
            return await doctor(gateway, schema)
        finally:
            gateway.close()

    return run(scenario)


def texts(problems: list[Problem]) -> list[str]:
    return [str(problem) for problem in problems]


def selection_row(odoo: Any, model: str, name: str, value: str) -> int:
    [row] = su_ids(
        odoo,
        "ir.model.fields.selection",
        [("field_id", "=", field_id(odoo, model, name)), ("value", "=", value)],
    )
    return row


def test_a_fresh_database_lacks_everything_provision_creates(
    fresh_odoo: Any, schema: Schema
) -> None:
    problems = doctor_as(fresh_odoo, schema)

    assert "model x_client_asset is missing" in texts(problems)
    assert "group psa.group_technician is missing" in texts(problems)
    assert all(problem.fixable for problem in problems)


def test_finds_a_deleted_field(provisioned_odoo: Any, schema: Schema) -> None:
    su(
        provisioned_odoo,
        "ir.model.fields",
        "unlink",
        [field_id(provisioned_odoo, "helpdesk.ticket", "x_alert_key")],
    )

    assert texts(doctor_as(provisioned_odoo, schema)) == [
        "field helpdesk.ticket.x_alert_key is missing"
    ]


def test_finds_a_relabelled_selection_value(provisioned_odoo: Any, schema: Schema) -> None:
    row = selection_row(provisioned_odoo, "x_client_asset", "x_status", "decommissioned")
    su(provisioned_odoo, "ir.model.fields.selection", "write", [row], {"name": "Retired"})

    assert texts(doctor_as(provisioned_odoo, schema)) == [
        "selection value x_client_asset.x_status 'decommissioned' differs: label is "
        "'Retired', not 'Decommissioned'"
    ]


def test_finds_a_selection_value_removed_in_odoo(provisioned_odoo: Any, schema: Schema) -> None:
    row = selection_row(provisioned_odoo, "x_sa_membership", "x_role", "dispatcher")
    su(provisioned_odoo, "ir.model.fields.selection", "unlink", [row])

    assert texts(doctor_as(provisioned_odoo, schema)) == [
        "selection value x_sa_membership.x_role 'dispatcher' is missing"
    ]


def test_leaves_an_undeclared_selection_value_to_a_person(
    provisioned_odoo: Any, schema: Schema
) -> None:
    su(
        provisioned_odoo,
        "ir.model.fields.selection",
        "create",
        {
            "field_id": field_id(provisioned_odoo, "x_client_asset", "x_status"),
            "value": "lost",
            "name": "Lost",
            "sequence": 9,
        },
    )

    [problem] = doctor_as(provisioned_odoo, schema)

    assert not problem.fixable
    assert str(problem).startswith("selection value x_client_asset.x_status 'lost' is not declared")


def test_leaves_a_field_of_the_wrong_type_to_a_person(
    provisioned_odoo: Any, schema: Schema
) -> None:
    su(
        provisioned_odoo,
        "ir.model.fields",
        "unlink",
        [field_id(provisioned_odoo, "x_client_asset", "x_os_info")],
    )
    [model_id] = su_ids(provisioned_odoo, "ir.model", [("model", "=", "x_client_asset")])
    su(
        provisioned_odoo,
        "ir.model.fields",
        "create",
        {"model_id": model_id, "name": "x_os_info", "ttype": "integer", "field_description": "OS"},
    )

    [problem] = doctor_as(provisioned_odoo, schema)

    assert not problem.fixable
    assert str(problem).startswith(
        "field x_client_asset.x_os_info is a integer field, the product needs char"
    )


def test_reports_sas_deeper_than_the_record_rules_reach(
    provisioned_odoo: Any, schema: Schema
) -> None:
    parent: int | bool = False
    for level in range(1, schema.sa_max_levels + 2):
        parent = su(
            provisioned_odoo, "x_sa", "create", {"x_name": f"L{level}", "x_parent_id": parent}
        )

    problems = doctor_as(provisioned_odoo, schema)

    assert [p.fixable for p in problems] == [False]
    assert f"is at level {schema.sa_max_levels + 1}" in str(problems[0])


def test_lists_an_uninstalled_app_instead_of_refusing(
    provisioned_odoo: Any, schema: Schema
) -> None:
    [module] = su_ids(provisioned_odoo, "ir.module.module", [("name", "=", "sale_subscription")])
    su(provisioned_odoo, "ir.module.module", "write", [module], {"state": "uninstalled"})

    assert texts(doctor_as(provisioned_odoo, schema)) == [
        "app Subscriptions (sale_subscription) is not installed (state: uninstalled); install "
        "it from Odoo's Apps menu"
    ]


def test_refuses_a_user_without_admin_rights(fresh_odoo: Any, schema: Schema) -> None:
    create_user(fresh_odoo, "tech")

    with pytest.raises(ProvisionRefused, match="not an administrator"):
        doctor_as(fresh_odoo, schema, "tech")
