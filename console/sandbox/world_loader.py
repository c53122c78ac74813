"""Load the Odoo side of the demo world into a provisioned sandbox database.

Provisioning (``console.odoo.provisioning``) creates the schema over RPC as it would on a real
Odoo; this module then writes the world's records as the superuser, in bulk ``create`` calls
(one per model and batch), so ``psa sandbox --size demo`` is up in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.domain.names import (
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    SaClient,
    SaleOrder,
    SaMembership,
    ServicedAccount,
    groups_for_roles,
)
from console.domain.schema import Schema
from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.world import OdooSide, World

BATCH = 2000
_STAGE_XMLIDS = {"new": "stage_new", "in_progress": "stage_in_progress"}


@dataclass
class LoadedWorld:
    """Database ids of what was loaded, by the world's keys."""

    sa: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    companies: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    assets: dict[str, int] = field(default_factory=dict)
    subscriptions: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)
    unmatched_groups: list[int] = field(default_factory=list)


def _odoo_datetime(moment: datetime | None) -> str | bool:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else False


def _batched(rows: Sequence[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield list(rows[start : start + BATCH])


class _Writer:
    def __init__(self, db: Database) -> None:
        self.db = db

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.db.call_kw(SUPERUSER_ID, model, method, list(args), kwargs)

    def create(self, model: str, rows: Sequence[dict[str, Any]]) -> list[int]:
        ids: list[int] = []
        for batch in _batched(rows):
            ids.extend(self.call(model, "create", batch))
        return ids

    def ref(self, xmlid: str) -> int:
        module, _, name = xmlid.partition(".")
        return int(self.call("ir.model.data", "check_object_reference", module, name, True)[1])


#: the relay's service account in the demo world (password = login, like the demo users)
SERVICE_LOGIN = "relay"
SERVICE_PASSWORD = "relay"


def counted_by_last_recount(side: OdooSide) -> frozenset[str]:
    """Asset keys the last (imagined) seat recount counted (``x_subscription_active``).

    Consistent with each subscription's seat quantity, so a billing preview of the demo explains
    its deltas: a subscription with fewer seats than active assets has its last-named active
    assets uncounted ("added since"); one with more seats counts some decommissioned assets
    ("decommissioned since"), as far as the partner has any.
    """
    by_company: dict[str, list[Any]] = {}
    for asset in side.assets:
        by_company.setdefault(asset.company_key, []).append(asset)
    counted: set[str] = set()
    for subscription in side.subscriptions:
        assets = sorted(by_company.get(subscription.company_key, ()), key=lambda a: a.name)
        active = [a.key for a in assets if a.status == "active"]
        gone = [a.key for a in assets if a.status != "active"]
        seats = max(0, subscription.managed_seats)
        counted.update(active[:seats])
        counted.update(gone[: max(0, seats - len(active))])
    return frozenset(counted)


def load_world(db: Database, world: World, schema: Schema) -> LoadedWorld:
    """Write ``world.odoo`` into ``db`` (already provisioned with ``schema``)."""
    side: OdooSide = world.odoo
    out = LoadedWorld()
    w = _Writer(db)

    for sa in side.serviced_accounts:  # parents come first in the world's order
        [out.sa[sa.key]] = w.create(
            ServicedAccount.MODEL,
            [
                {
                    ServicedAccount.NAME: sa.name,
                    ServicedAccount.PARENT: out.sa[sa.parent_key] if sa.parent_key else False,
                }
            ],
        )

    internal = [
        w.ref("base.group_user"),
        w.ref("helpdesk.group_helpdesk_user"),
        w.ref("sales_team.group_sale_salesman"),
    ]
    for user in side.users:
        role_groups = [w.ref(x) for x in sorted(groups_for_roles(schema, [user.role]))]
        existing = w.call(
            "res.users", "search", [["login", "=", user.login]], context={"active_test": False}
        )
        if existing:
            uid = existing[0]
            w.call(
                "res.users",
                "write",
                [uid],
                {
                    "name": user.name,
                    "email": user.email,
                    "password": user.password,
                    "group_ids": [[4, g] for g in internal + role_groups],
                },
            )
        else:
            [uid] = w.create(
                "res.users",
                [
                    {
                        "name": user.name,
                        "login": user.login,
                        "email": user.email,
                        "password": user.password,
                        "group_ids": [[6, 0, internal + role_groups]],
                    }
                ],
            )
        out.users[user.login] = uid
    # the relay's Odoo service account (DESIGN §5/§6): psa.group_service only, no console role
    # and no SA membership, so the record rules never narrow what its rules worker sees
    if not w.call("res.users", "search", [["login", "=", SERVICE_LOGIN]]):
        w.create(
            "res.users",
            [
                {
                    "name": "PSA Relay (service account)",
                    "login": SERVICE_LOGIN,
                    "password": SERVICE_PASSWORD,
                    "group_ids": [[6, 0, [w.ref("base.group_user"), w.ref("psa.group_service")]]],
                }
            ],
        )
    w.create(
        SaMembership.MODEL,
        [
            {
                SaMembership.USER: out.users[u.login],
                SaMembership.SA: out.sa[sa_key],
                SaMembership.ROLE: u.role,
            }
            for u in side.users
            for sa_key in _membership_sas(u.sa_key, u.role, side)
        ],
    )

    company_ids = w.create(
        Partner.MODEL,
        [
            {
                "name": c.name,
                "is_company": True,
                "email": c.email,
                "phone": c.phone,
                "street": c.street,
                "city": c.city,
                "zip": c.zip,
                "website": c.website,
                Partner.PULSEWAY_ORG_ID: c.pulseway_org_id or 0,
                Partner.PULSEWAY_SYNC_STATE: c.pulseway_sync_state,
            }
            for c in side.companies
        ],
    )
    out.companies = {c.key: i for c, i in zip(side.companies, company_ids, strict=True)}
    w.create(
        SaClient.MODEL,
        [
            {
                SaClient.SA: out.sa[c.sa_key],
                SaClient.PARTNER: out.companies[c.key],
                SaClient.USER: out.users.get(c.assigned_login, False),
            }
            for c in side.companies
        ],
    )

    contact_ids = w.create(
        Partner.MODEL,
        [
            {
                "name": p.name,
                "parent_id": out.companies[p.company_key],
                "email": p.email,
                "phone": p.phone,
                "function": p.function,
            }
            for p in side.contacts
        ],
    )
    out.contacts = {p.key: i for p, i in zip(side.contacts, contact_ids, strict=True)}

    counted = counted_by_last_recount(side)
    asset_ids = w.create(
        ClientAsset.MODEL,
        [
            {
                ClientAsset.NAME: a.name,
                ClientAsset.SERIAL_NUMBER: a.serial_number,
                ClientAsset.PARTNER: out.companies[a.company_key],
                ClientAsset.ASSIGNED_CONTACT: out.contacts.get(a.contact_key or "", False),
                ClientAsset.PULSEWAY_ID: a.pulseway_id,
                ClientAsset.OS_INFO: a.os_info,
                ClientAsset.LAST_AUDIT: _odoo_datetime(a.last_audit),
                ClientAsset.LAST_SEEN: _odoo_datetime(a.last_seen),
                ClientAsset.STATUS: a.status,
                ClientAsset.PULSEWAY_GROUP: a.pulseway_group,
                ClientAsset.PULSEWAY_ORG_ID: a.pulseway_org_id or 0,
                ClientAsset.SUBSCRIPTION_ACTIVE: a.key in counted,
            }
            for a in side.assets
        ],
    )
    out.assets = {a.key: i for a, i in zip(side.assets, asset_ids, strict=True)}

    seat_product = w.ref("product.managed_seat_product")
    order_ids = w.create(
        SaleOrder.MODEL,
        [
            {
                SaleOrder.NAME: s.name,
                SaleOrder.PARTNER: out.companies[s.company_key],
                SaleOrder.ASSIGNED_USER: out.users.get(s.user_login, False),
                SaleOrder.STATE: "sale",
                SaleOrder.IS_SUBSCRIPTION: True,
                SaleOrder.SA: out.sa[s.sa_key],
                SaleOrder.LINES: [
                    [
                        0,
                        0,
                        {
                            "product_id": seat_product,
                            "name": side.managed_seat_product.name,
                            "product_uom_qty": s.managed_seats,
                            "price_unit": s.price_unit,
                        },
                    ]
                ],
            }
            for s in side.subscriptions
        ],
    )
    out.subscriptions = {s.key: i for s, i in zip(side.subscriptions, order_ids, strict=True)}

    team = w.ref("helpdesk.support_team")
    stages = {k: w.ref(f"helpdesk.{x}") for k, x in _STAGE_XMLIDS.items()}
    ticket_ids = w.create(
        HelpdeskTicket.MODEL,
        [
            {
                HelpdeskTicket.NAME: t.name,
                HelpdeskTicket.DESCRIPTION: t.description,
                HelpdeskTicket.PARTNER: out.companies[t.company_key],
                HelpdeskTicket.ASSET: out.assets.get(t.asset_key or "", False),
                HelpdeskTicket.SA: out.sa[t.sa_key],
                HelpdeskTicket.ASSIGNED_USER: out.users.get(t.user_login or "", False),
                HelpdeskTicket.PRIORITY: t.priority,
                HelpdeskTicket.STAGE: stages[t.stage],
                HelpdeskTicket.TEAM: team,
                HelpdeskTicket.ALERT_KEY: t.alert_key or False,
                HelpdeskTicket.ALERT_COUNT: t.alert_count,
            }
            for t in side.tickets
        ],
    )
    out.tickets = {t.key: i for t, i in zip(side.tickets, ticket_ids, strict=True)}
    _backdate(
        db,
        HelpdeskTicket.MODEL,
        {out.tickets[t.key]: _odoo_datetime(t.created_at) for t in side.tickets},
    )

    w.create(
        PulsewayGroupMap.MODEL,
        [
            {
                PulsewayGroupMap.NAME: m.name,
                PulsewayGroupMap.PULSEWAY_ORG_ID: m.pulseway_org_id,
                PulsewayGroupMap.PARTNER: out.companies[m.company_key],
            }
            for m in side.group_mappings
        ],
    )
    out.unmatched_groups = w.create(
        PulsewayGroupMap.MODEL,
        [
            {
                PulsewayGroupMap.NAME: o.name,
                PulsewayGroupMap.PULSEWAY_ORG_ID: o.id,
            }
            for o in world.unmatched_organizations()
        ],
    )
    return out


def _membership_sas(sa_key: str, role: str, side: OdooSide) -> list[str]:
    """The SAs a world user is a member of. A manager's reach extends below its SA by the
    hierarchy rule (DESIGN §6); a dispatcher's does not, so the demo's root dispatcher desk is
    made a dispatcher of every SA below it too, which is how an MSP sets up a central desk."""
    if role != "dispatcher":
        return [sa_key]
    children: dict[str | None, list[str]] = {}
    for sa in side.serviced_accounts:
        children.setdefault(sa.parent_key, []).append(sa.key)
    found, pending = [sa_key], list(children.get(sa_key, []))
    while pending:
        current = pending.pop(0)
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def _backdate(db: Database, model: str, created: dict[int, Any]) -> None:
    """Give records their world creation time (Odoo sets create_date itself, so the sandbox
    offers a superuser-only escape hatch for seeding; see ``Database.backdate``)."""
    backdate = getattr(db, "backdate", None)
    if backdate is not None:
        backdate(model, created)
