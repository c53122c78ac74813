"""SA role groups follow SA memberships: ``sync_user_groups``, and doctor/provision for all."""

from __future__ import annotations

from typing import Any

from provisioning_support import connect, create_user, run, su, user_group_xmlids

from console.domain.schema import Schema
from console.odoo.provisioning import GroupSync, doctor, provision, sync_user_groups


def sync(odoo: Any, schema: Schema, uid: int) -> GroupSync:
    async def scenario() -> GroupSync:
        gateway = await connect(odoo)
        try:
            return await sync_user_groups(gateway, schema, uid)
        finally:
            gateway.close()

    return run(scenario)


def add_membership(odoo: Any, uid: int, role: str) -> int:
    sa = su(odoo, "x_sa", "create", {"x_name": f"SA of {uid}"})
    membership: int = su(
        odoo, "x_sa_membership", "create", {"x_user_id": uid, "x_sa_id": sa, "x_role": role}
    )
    return membership


def test_a_dispatcher_membership_gives_the_dispatcher_group(
    provisioned_odoo: Any, schema: Schema
) -> None:
    uid = create_user(provisioned_odoo, "dana")
    add_membership(provisioned_odoo, uid, "dispatcher")

    result = sync(provisioned_odoo, schema, uid)

    assert result == GroupSync(uid, frozenset({"psa.group_dispatcher"}), frozenset())
    assert user_group_xmlids(provisioned_odoo, uid) == {"psa.group_dispatcher"}


def test_a_role_changed_to_technician_trades_the_dispatcher_group(
    provisioned_odoo: Any, schema: Schema
) -> None:
    uid = create_user(provisioned_odoo, "dana")
    membership = add_membership(provisioned_odoo, uid, "dispatcher")
    sync(provisioned_odoo, schema, uid)
    su(provisioned_odoo, "x_sa_membership", "write", [membership], {"x_role": "technician"})

    result = sync(provisioned_odoo, schema, uid)

    assert result.added == {"psa.group_technician"}
    assert result.removed == {"psa.group_dispatcher"}
    assert user_group_xmlids(provisioned_odoo, uid) == {"psa.group_technician"}


def test_a_user_without_memberships_loses_the_role_groups(
    provisioned_odoo: Any, schema: Schema
) -> None:
    uid = create_user(provisioned_odoo, "dana")
    membership = add_membership(provisioned_odoo, uid, "manager")
    sync(provisioned_odoo, schema, uid)
    su(provisioned_odoo, "x_sa_membership", "unlink", [membership])

    result = sync(provisioned_odoo, schema, uid)

    assert result.removed == {"psa.group_manager"}
    assert user_group_xmlids(provisioned_odoo, uid) == set()


def test_a_user_in_step_is_left_alone(provisioned_odoo: Any, schema: Schema) -> None:
    uid = create_user(provisioned_odoo, "dana")
    add_membership(provisioned_odoo, uid, "technician")
    sync(provisioned_odoo, schema, uid)

    assert not sync(provisioned_odoo, schema, uid).changed


def test_doctor_reports_a_member_without_role_groups_and_provision_fixes_it(
    provisioned_odoo: Any, schema: Schema
) -> None:
    uid = create_user(provisioned_odoo, "dana")
    add_membership(provisioned_odoo, uid, "manager")

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        gateway = await connect(provisioned_odoo)
        try:
            before = [str(p) for p in await doctor(gateway, schema)]
            report = await provision(gateway, schema)
            after = [str(p) for p in await doctor(gateway, schema)]
            return before, [c.summary for c in report.changes], after
        finally:
            gateway.close()

    before, applied, after = run(scenario)
    assert before == [f"user {uid} lacks psa.group_manager (SA memberships decide)"]
    assert applied == [
        f"sync groups of user {uid} with their SA memberships: lacks psa.group_manager"
    ]
    assert after == []
    assert user_group_xmlids(provisioned_odoo, uid) == {"psa.group_manager"}
