"""The Odoo names product code uses, as typed constants checked against ``schema.toml``.

``resources/odoo/schema.toml`` is the source of every model and field name; this module is the
code's view of it, so that a pane, the relay or a rule writes ``ClientAsset.PULSEWAY_ID``
rather than a string literal. :func:`missing_names` lists every constant here that the schema
does not declare, and ``console.odoo.schema.load_schema`` refuses a schema for which it is not
empty, so the two cannot drift apart silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from console.domain.schema import Schema


class ClientAsset:
    """``x_client_asset``: a managed device (seed T008)."""

    MODEL: Final = "x_client_asset"
    NAME: Final = "x_name"
    SERIAL_NUMBER: Final = "x_serial_number"
    PARTNER: Final = "x_partner_id"
    ASSIGNED_CONTACT: Final = "x_assigned_user_id"
    PULSEWAY_ID: Final = "x_pulseway_id"
    OS_INFO: Final = "x_os_info"
    LAST_AUDIT: Final = "x_last_audit"
    SUBSCRIPTION_ACTIVE: Final = "x_subscription_active"
    STATUS: Final = "x_status"
    LAST_SEEN: Final = "x_last_seen"
    PULSEWAY_GROUP: Final = "x_pulseway_group"
    PULSEWAY_ORG_ID: Final = "x_pulseway_org_id"
    TICKETS: Final = "x_ticket_ids"


class HelpdeskTicket:
    """``helpdesk.ticket`` with the product's additions."""

    MODEL: Final = "helpdesk.ticket"
    NAME: Final = "name"
    DESCRIPTION: Final = "description"
    PARTNER: Final = "partner_id"
    ASSIGNED_USER: Final = "user_id"
    TEAM: Final = "team_id"
    PRIORITY: Final = "priority"
    STAGE: Final = "stage_id"
    ASSET: Final = "x_asset_id"
    SA: Final = "x_sa_id"
    ALERT_KEY: Final = "x_alert_key"
    ALERT_COUNT: Final = "x_alert_count"
    RELAY_SEQ: Final = "x_relay_seq"


class SaleOrder:
    """``sale.order``: subscriptions carry the managed-seat line."""

    MODEL: Final = "sale.order"
    NAME: Final = "name"
    PARTNER: Final = "partner_id"
    ASSIGNED_USER: Final = "user_id"
    STATE: Final = "state"
    IS_SUBSCRIPTION: Final = "is_subscription"
    LINES: Final = "order_line"
    SA: Final = "x_sa_id"


class SaleOrderLine:
    """``sale.order.line``."""

    MODEL: Final = "sale.order.line"
    ORDER: Final = "order_id"
    PRODUCT: Final = "product_id"
    QUANTITY: Final = "product_uom_qty"


class Partner:
    """``res.partner``: clients; visibility through :class:`SaClient` edges."""

    MODEL: Final = "res.partner"
    NAME: Final = "name"
    IS_COMPANY: Final = "is_company"
    PARENT: Final = "parent_id"
    PARTNER_SHARE: Final = "partner_share"
    PULSEWAY_ORG_ID: Final = "x_pulseway_org_id"
    PULSEWAY_SYNC_STATE: Final = "x_pulseway_sync_state"
    SA_ASSIGNMENTS: Final = "x_sa_client_ids"


class ServicedAccount:
    """``x_sa``: the visibility and tenancy boundary (seed 003)."""

    MODEL: Final = "x_sa"
    NAME: Final = "x_name"
    PARENT: Final = "x_parent_id"
    ACTIVE: Final = "x_active"
    CHILDREN: Final = "x_child_ids"
    MEMBERSHIPS: Final = "x_membership_ids"
    CLIENTS: Final = "x_client_ids"


class SaMembership:
    """``x_sa_membership``: a user's role in one SA."""

    MODEL: Final = "x_sa_membership"
    USER: Final = "x_user_id"
    SA: Final = "x_sa_id"
    ROLE: Final = "x_role"


class SaClient:
    """``x_sa_client``: the assignment edge of a partner to an SA, with its actor."""

    MODEL: Final = "x_sa_client"
    SA: Final = "x_sa_id"
    PARTNER: Final = "x_partner_id"
    USER: Final = "x_user_id"


class PulsewayGroupMap:
    """``x_pulseway_group_map``: a Pulseway organization/group resolved once to a partner."""

    MODEL: Final = "x_pulseway_group_map"
    NAME: Final = "x_name"
    PULSEWAY_ORG_ID: Final = "x_pulseway_org_id"
    PARTNER: Final = "x_partner_id"
    RESOLVED_BY: Final = "x_resolved_by"
    RESOLVED_AT: Final = "x_resolved_at"


class Role(StrEnum):
    """``x_sa_membership.x_role`` values."""

    TECHNICIAN = "technician"
    DISPATCHER = "dispatcher"
    MANAGER = "manager"


class AssetStatus(StrEnum):
    """``x_client_asset.x_status`` values (seed T016)."""

    ACTIVE = "active"
    DECOMMISSIONED = "decommissioned"


class PulsewaySyncState(StrEnum):
    """``res.partner.x_pulseway_sync_state`` values (seed T012 as a reviewed action)."""

    PENDING = "pending"
    APPROVED = "approved"
    SYNCED = "synced"
    FAILED = "failed"
    SKIPPED = "skipped"


#: Every namespace above; :func:`missing_names` checks each of their constants.
MODEL_NAMESPACES: Final[tuple[type, ...]] = (
    ClientAsset,
    HelpdeskTicket,
    SaleOrder,
    SaleOrderLine,
    Partner,
    ServicedAccount,
    SaMembership,
    SaClient,
    PulsewayGroupMap,
)

#: Selection enums and the field whose values they mirror.
SELECTION_ENUMS: Final[tuple[tuple[str, str, type[StrEnum]], ...]] = (
    (SaMembership.MODEL, SaMembership.ROLE, Role),
    (ClientAsset.MODEL, ClientAsset.STATUS, AssetStatus),
    (Partner.MODEL, Partner.PULSEWAY_SYNC_STATE, PulsewaySyncState),
)


def field_constants(namespace: type) -> dict[str, str]:
    """The field-name constants of a namespace class (upper-case attributes except ``MODEL``)."""
    return {
        attribute: value
        for attribute, value in vars(namespace).items()
        if attribute.isupper() and attribute != "MODEL" and isinstance(value, str)
    }


def missing_names(schema: Schema) -> tuple[str, ...]:
    """Every name used by the code that ``schema`` does not declare, as readable messages."""
    problems: list[str] = []
    for namespace in MODEL_NAMESPACES:
        model_name: str = vars(namespace)["MODEL"]
        if not schema.has_model(model_name):
            problems.append(f"{namespace.__name__}.MODEL: model {model_name!r} is not declared")
            continue
        model = schema.model(model_name)
        for attribute, field_name in field_constants(namespace).items():
            if not model.has_field(field_name):
                problems.append(
                    f"{namespace.__name__}.{attribute}: {model_name} declares no field "
                    f"{field_name!r}"
                )
    for model_name, field_name, enum in SELECTION_ENUMS:
        if not schema.has_model(model_name) or not schema.model(model_name).has_field(field_name):
            continue  # already reported above
        declared = set(schema.field(model_name, field_name).selection_values)
        for member in enum:
            if member.value not in declared:
                problems.append(
                    f"{enum.__name__}.{member.name}: {model_name}.{field_name} has no "
                    f"selection value {member.value!r}"
                )
    return tuple(problems)


def groups_for_roles(schema: Schema, roles: Iterable[str]) -> frozenset[str]:
    """Group xmlids a user must hold for SA membership ``roles`` (implied groups excluded).

    Provisioning uses this to keep res.groups in step with x_sa_membership: record rules that
    cannot reach a membership from the record (the unmatched queue) decide by group.
    """
    result: set[str] = set()
    for role in roles:
        group = schema.group_for_role(role)
        if group is None:
            raise ValueError(f"no group is declared for SA role {role!r}")
        result.add(group.xmlid)
    return frozenset(result)
