"""``provision()`` against a fresh sandbox Odoo over real HTTP: creates, is idempotent, refuses."""

from __future__ import annotations

from typing import Any

import odoorpc
import pytest
from provisioning_support import (
    RecordingGateway,
    connect,
    create_user,
    field_id,
    run,
    su,
    su_ids,
)

from console.domain.schema import Schema
from console.odoo.provisioning import ProvisionRefused, ProvisionReport, doctor, provision
from console.odoo.provisioning_plan import RegisterXmlId
from console.sandbox.sa_fixture import provision_database

#: What a fresh database may cost: two preflight reads, one wave of eight reads, and about a
#: dozen batched creates. A run with nothing to do is reads only.
FRESH_RPC_BUDGET = 25
UP_TO_DATE_RPC_BUDGET = 15


def provision_as_admin(odoo: Any, schema: Schema, **options: Any) -> ProvisionReport:
    async def scenario() -> ProvisionReport:
        gateway = await connect(odoo)
        try:
            return await provision(gateway, schema, **options)
        finally:
            gateway.close()

    return run(scenario)


def doctor_as_admin(odoo: Any, schema: Schema) -> list[Any]:
    async def scenario() -> list[Any]:
        gateway = await connect(odoo)
        try:
            return await doctor(gateway, schema)
        finally:
            gateway.close()

    return run(scenario)


def test_provision_creates_everything_so_that_doctor_finds_nothing(
    fresh_odoo: Any, schema: Schema
) -> None:
    report = provision_as_admin(fresh_odoo, schema)

    assert report.changes and not report.manual
    assert doctor_as_admin(fresh_odoo, schema) == []


def test_second_run_writes_nothing_and_says_up_to_date(fresh_odoo: Any, schema: Schema) -> None:
    provision_as_admin(fresh_odoo, schema)

    async def second_run() -> tuple[ProvisionReport, RecordingGateway]:
        recording = RecordingGateway(await connect(fresh_odoo))
        try:
            return await provision(recording, schema), recording
        finally:
            recording.gateway.close()

    report, recording = run(second_run)
    assert report.up_to_date
    assert report.lines()[0].startswith("Up to date")
    assert recording.writes == []


def test_dry_run_lists_the_plan_and_writes_nothing(fresh_odoo: Any, schema: Schema) -> None:
    async def dry_run() -> tuple[ProvisionReport, RecordingGateway]:
        recording = RecordingGateway(await connect(fresh_odoo))
        try:
            return await provision(recording, schema, dry_run=True), recording
        finally:
            recording.gateway.close()

    report, recording = run(dry_run)
    assert recording.writes == []
    assert report.dry_run and not report.up_to_date
    lines = report.lines()
    assert lines[0].startswith("Dry run:")
    assert "  + create model x_client_asset (Client Asset) with 10 fields" in lines
    assert su_ids(fresh_odoo, "ir.model", [("model", "=", "x_client_asset")]) == []


def test_rpc_count_is_reported_and_stays_within_budget(fresh_odoo: Any, schema: Schema) -> None:
    async def two_runs() -> tuple[ProvisionReport, ProvisionReport, int]:
        gateway = await connect(fresh_odoo)
        try:
            first = await provision(gateway, schema)
            second = await provision(gateway, schema)
            return first, second, gateway.stats.counts["provision"]
        finally:
            gateway.close()

    first, second, counted_by_gateway = run(two_runs)
    assert first.rpc_count + second.rpc_count == counted_by_gateway
    assert first.rpc_count <= FRESH_RPC_BUDGET
    assert second.rpc_count <= UP_TO_DATE_RPC_BUDGET
    assert f"({second.rpc_count} RPCs)" in second.lines()[0]


def test_created_model_is_usable_with_its_declared_fields(fresh_odoo: Any, schema: Schema) -> None:
    provision_as_admin(fresh_odoo, schema)
    client = odoorpc.ODOO(fresh_odoo.host, port=fresh_odoo.port, timeout=30)
    client.login(fresh_odoo.db_name, "admin", "admin")

    fields = client.env["x_client_asset"].fields_get(
        ["x_name", "x_status", "x_partner_id", "x_ticket_ids"]
    )

    assert fields["x_name"]["string"] == "Hostname"
    assert fields["x_name"]["required"] is True
    assert fields["x_status"]["selection"] == [
        ["active", "Active"],
        ["decommissioned", "Decommissioned"],
    ]
    assert fields["x_partner_id"]["relation"] == "res.partner"
    assert fields["x_ticket_ids"]["relation"] == "helpdesk.ticket"


def test_everything_created_is_registered_under_the_psa_module(
    fresh_odoo: Any, schema: Schema
) -> None:
    provision_as_admin(fresh_odoo, schema)
    rows = su(fresh_odoo, "ir.model.data", "search_read", [("module", "=", "psa")], fields=["name"])
    names = {row["name"] for row in rows}

    assert {
        "model_x_client_asset",
        "field_x_client_asset__x_status",
        "field_helpdesk_ticket__x_sa_id",
        "selection__x_sa_membership__x_role__manager",
        "default_x_client_asset__x_status",
        "group_technician",
        "group_dispatcher",
        "access_x_sa_technician",
        "rule_psa_tickets_of_my_sas",
    } <= names
    assert len(names) == len(rows)


def test_refuses_a_user_without_admin_rights(fresh_odoo: Any, schema: Schema) -> None:
    create_user(fresh_odoo, "tech")

    async def scenario() -> None:
        gateway = await connect(fresh_odoo, "tech", "tech")
        try:
            await provision(gateway, schema)
        finally:
            gateway.close()

    with pytest.raises(ProvisionRefused, match="not an administrator"):
        run(scenario)
    assert su_ids(fresh_odoo, "ir.model", [("model", "=", "x_sa")]) == []


def test_refuses_when_helpdesk_is_uninstalled(fresh_odoo: Any, schema: Schema) -> None:
    [helpdesk] = su_ids(fresh_odoo, "ir.module.module", [("name", "=", "helpdesk")])
    su(fresh_odoo, "ir.module.module", "write", [helpdesk], {"state": "uninstalled"})

    with pytest.raises(ProvisionRefused, match=r"app Helpdesk \(helpdesk\) is not installed"):
        provision_as_admin(fresh_odoo, schema)
    assert su_ids(fresh_odoo, "ir.model", [("model", "=", "x_sa")]) == []


def test_recreates_a_field_deleted_in_odoo(provisioned_odoo: Any, schema: Schema) -> None:
    su(
        provisioned_odoo,
        "ir.model.fields",
        "unlink",
        [field_id(provisioned_odoo, "x_client_asset", "x_serial_number")],
    )

    report = provision_as_admin(provisioned_odoo, schema)

    assert [c.summary for c in report.changes] == [
        "create field x_client_asset.x_serial_number (char)"
    ]
    assert doctor_as_admin(provisioned_odoo, schema) == []


def test_restores_a_record_rule_edited_in_odoo(provisioned_odoo: Any, schema: Schema) -> None:
    [rule] = su_ids(provisioned_odoo, "ir.rule", [("name", "=", "PSA: tickets of my SAs")])
    su(provisioned_odoo, "ir.rule", "write", [rule], {"domain_force": "[(1, '=', 1)]"})

    report = provision_as_admin(provisioned_odoo, schema)

    assert [c.summary for c in report.changes] == [
        "update record rule 'PSA: tickets of my SAs': its domain differs"
    ]
    [stored] = su(provisioned_odoo, "ir.rule", "read", [rule], ["domain_force"])
    assert stored["domain_force"] == schema.rules_for("helpdesk.ticket")[0].domain_force


def test_interrupted_run_resumes_by_adopting_what_it_created(
    provisioned_odoo: Any, schema: Schema
) -> None:
    # A run cut off after creating records but before registering their external ids.
    su(provisioned_odoo, "ir.model.data", "unlink", su_ids(provisioned_odoo, "ir.model.data", [
        ("module", "=", "psa")
    ]))  # fmt: skip
    groups_before = su_ids(provisioned_odoo, "res.groups", [("name", "like", "PSA Console")])

    report = provision_as_admin(provisioned_odoo, schema)

    assert report.changes and all(isinstance(c, RegisterXmlId) for c in report.changes)
    assert su_ids(provisioned_odoo, "res.groups", [("name", "like", "PSA Console")]) == (
        groups_before
    )
    assert doctor_as_admin(provisioned_odoo, schema) == []


def test_deletes_an_access_right_the_schema_no_longer_declares(
    provisioned_odoo: Any, schema: Schema
) -> None:
    [model_id] = su_ids(provisioned_odoo, "ir.model", [("model", "=", "x_sa")])
    stale = su(
        provisioned_odoo,
        "ir.model.access",
        "create",
        {"name": "access_x_sa_everyone", "model_id": model_id, "perm_read": True},
    )
    su(
        provisioned_odoo,
        "ir.model.data",
        "create",
        {"module": "psa", "name": "access_x_sa_everyone", "model": "ir.model.access",
         "res_id": stale},
    )  # fmt: skip

    report = provision_as_admin(provisioned_odoo, schema)

    assert [c.summary for c in report.changes] == [
        "delete access right 'access_x_sa_everyone' (psa.access_x_sa_everyone): no longer declared"
    ]
    assert su_ids(provisioned_odoo, "ir.model.access", [("id", "=", stale)]) == []


def test_in_process_provisioning_matches_the_wire(fresh_odoo: Any, schema: Schema) -> None:
    report = provision_database(fresh_odoo.database, schema)

    assert report.changes
    assert doctor_as_admin(fresh_odoo, schema) == []
