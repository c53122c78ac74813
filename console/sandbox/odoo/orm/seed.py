"""Seed data: what a fresh Odoo 19 with ``helpdesk`` and ``sale_subscription`` holds, plus a small
demo dataset for the first ``./dev demo``.

Ids follow Odoo's: the company's partner is 1, OdooBot (``base.partner_root``) 2, the
administrator's partner 3; ``__system__`` is user 1 (inactive) and ``admin`` user 2.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from console.sandbox.odoo.orm.base_models import ResUsersApikeys
from console.sandbox.odoo.orm.environment import SUPERUSER_ID, Env
from console.sandbox.odoo.orm.runtime_schema import add_xmlid

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.database import Database

ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"
#: The seeded API key of ``admin`` (JSON-2 bearer, or as a password on the other protocols).
ADMIN_API_KEY = "5c3f9d2e8b7a41f0a6d4c2e9b1f7a3d5e8c0b6a2"
DEMO_LOGIN = "demo"
DEMO_PASSWORD = "demo"

#: ``(xmlid, name, privilege, implied xmlids)``
GROUPS: list[tuple[str, str, str | None, list[str]]] = [
    ("base.group_user", "Internal User", None, []),
    ("base.group_portal", "Portal", None, []),
    ("base.group_public", "Public", None, []),
    ("base.group_erp_manager", "Access Rights", "Administration", ["base.group_user"]),
    ("base.group_system", "Settings", "Administration", ["base.group_erp_manager"]),
    ("helpdesk.group_helpdesk_user", "User", "Helpdesk", ["base.group_user"]),
    (
        "helpdesk.group_helpdesk_manager",
        "Administrator",
        "Helpdesk",
        ["helpdesk.group_helpdesk_user"],
    ),
    ("sales_team.group_sale_salesman", "User: Own Documents Only", "Sales", ["base.group_user"]),
    (
        "sales_team.group_sale_salesman_all_leads",
        "User: All Documents",
        "Sales",
        ["sales_team.group_sale_salesman"],
    ),
    (
        "sales_team.group_sale_manager",
        "Administrator",
        "Sales",
        ["sales_team.group_sale_salesman_all_leads"],
    ),
]

ADMIN_GROUPS = [
    "base.group_user",
    "base.group_system",
    "base.group_erp_manager",
    "helpdesk.group_helpdesk_manager",
    "sales_team.group_sale_manager",
]

#: ``(model, group xmlid or None for everyone, read, write, create, unlink)``
ACCESS_RIGHTS: list[tuple[str, str | None, int, int, int, int]] = [
    ("res.partner", "base.group_user", 1, 1, 1, 1),
    ("res.partner", "base.group_portal", 1, 0, 0, 0),
    ("res.partner", "base.group_public", 1, 0, 0, 0),
    ("res.partner.category", "base.group_user", 1, 0, 0, 0),
    ("res.partner.category", "base.group_system", 1, 1, 1, 1),
    ("res.users", "base.group_user", 1, 0, 0, 0),
    ("res.users", "base.group_erp_manager", 1, 1, 1, 1),
    ("res.groups", "base.group_user", 1, 0, 0, 0),
    ("res.groups", "base.group_erp_manager", 1, 1, 1, 1),
    ("res.groups.privilege", "base.group_user", 1, 0, 0, 0),
    ("res.groups.privilege", "base.group_erp_manager", 1, 1, 1, 1),
    ("res.company", None, 1, 0, 0, 0),
    ("res.company", "base.group_erp_manager", 1, 1, 1, 1),
    ("res.currency", None, 1, 0, 0, 0),
    ("res.currency", "base.group_system", 1, 1, 1, 1),
    ("ir.model", "base.group_user", 1, 0, 0, 0),
    ("ir.model", "base.group_system", 1, 1, 1, 1),
    ("ir.model.fields", "base.group_user", 1, 0, 0, 0),
    ("ir.model.fields", "base.group_system", 1, 1, 1, 1),
    ("ir.model.fields.selection", "base.group_user", 1, 0, 0, 0),
    ("ir.model.fields.selection", "base.group_system", 1, 1, 1, 1),
    ("ir.model.access", "base.group_user", 1, 0, 0, 0),
    ("ir.model.access", "base.group_system", 1, 1, 1, 1),
    ("ir.rule", "base.group_user", 1, 0, 0, 0),
    ("ir.rule", "base.group_system", 1, 1, 1, 1),
    ("ir.model.data", "base.group_user", 1, 0, 0, 0),
    ("ir.model.data", "base.group_system", 1, 1, 1, 1),
    ("ir.config_parameter", "base.group_system", 1, 1, 1, 1),
    ("ir.default", "base.group_system", 1, 1, 1, 1),
    ("ir.default", "base.group_user", 1, 0, 0, 0),
    ("ir.module.module", "base.group_user", 1, 0, 0, 0),
    ("ir.module.module", "base.group_system", 1, 1, 1, 1),
    ("mail.message", "base.group_user", 1, 1, 1, 1),
    ("mail.message", "base.group_portal", 1, 0, 0, 0),
    ("mail.message.subtype", "base.group_user", 1, 0, 0, 0),
    ("mail.message.subtype", "base.group_system", 1, 1, 1, 1),
    ("product.template", "base.group_user", 1, 0, 0, 0),
    ("product.template", "sales_team.group_sale_manager", 1, 1, 1, 1),
    ("product.product", "base.group_user", 1, 0, 0, 0),
    ("product.product", "sales_team.group_sale_manager", 1, 1, 1, 1),
    ("sale.subscription.plan", "base.group_user", 1, 0, 0, 0),
    ("sale.subscription.plan", "sales_team.group_sale_manager", 1, 1, 1, 1),
    ("sale.order", "sales_team.group_sale_salesman", 1, 1, 1, 0),
    ("sale.order", "sales_team.group_sale_manager", 1, 1, 1, 1),
    ("sale.order.line", "sales_team.group_sale_salesman", 1, 1, 1, 1),
    ("sale.order.line", "sales_team.group_sale_manager", 1, 1, 1, 1),
    ("helpdesk.team", "helpdesk.group_helpdesk_user", 1, 0, 0, 0),
    ("helpdesk.team", "helpdesk.group_helpdesk_manager", 1, 1, 1, 1),
    ("helpdesk.stage", "helpdesk.group_helpdesk_user", 1, 0, 0, 0),
    ("helpdesk.stage", "helpdesk.group_helpdesk_manager", 1, 1, 1, 1),
    ("helpdesk.tag", "helpdesk.group_helpdesk_user", 1, 1, 1, 0),
    ("helpdesk.tag", "helpdesk.group_helpdesk_manager", 1, 1, 1, 1),
    ("helpdesk.ticket.type", "helpdesk.group_helpdesk_user", 1, 0, 0, 0),
    ("helpdesk.ticket.type", "helpdesk.group_helpdesk_manager", 1, 1, 1, 1),
    ("helpdesk.ticket", "helpdesk.group_helpdesk_user", 1, 1, 1, 1),
    ("helpdesk.ticket", "helpdesk.group_helpdesk_manager", 1, 1, 1, 1),
]

#: ``(name, model, domain_force, group xmlids)`` — the multi-company and sales rules of a
#: stock database
RECORD_RULES: list[tuple[str, str, str, list[str]]] = [
    (
        "res.partner company",
        "res.partner",
        "['|', ('company_id', '=', False), ('company_id', 'in', company_ids)]",
        [],
    ),
    ("Sales Order multi-company", "sale.order", "[('company_id', 'in', company_ids)]", []),
    (
        "Personal Orders",
        "sale.order",
        "['|', ('user_id', '=', user.id), ('user_id', '=', False)]",
        ["sales_team.group_sale_salesman"],
    ),
    ("All Orders", "sale.order", "[(1, '=', 1)]", ["sales_team.group_sale_salesman_all_leads"]),
    ("Helpdesk Team multi-company", "helpdesk.team", "[('company_id', 'in', company_ids)]", []),
    (
        "Helpdesk Ticket multi-company",
        "helpdesk.ticket",
        "['|', ('company_id', '=', False), ('company_id', 'in', company_ids)]",
        [],
    ),
]

#: ``(name, shortdesc, state, application)``
MODULES: list[tuple[str, str, str, bool]] = [
    ("base", "Base", "installed", False),
    ("web", "Web", "installed", False),
    ("rpc", "RPC", "installed", False),
    ("mail", "Discuss", "installed", True),
    ("product", "Products & Pricelists", "installed", False),
    ("sales_team", "Sales Teams", "installed", False),
    ("sale", "Sales", "installed", False),
    ("sale_management", "Sales", "installed", True),
    ("sale_subscription", "Subscriptions", "installed", True),
    ("helpdesk", "Helpdesk", "installed", True),
    ("crm", "CRM", "uninstalled", True),
    ("project", "Project", "uninstalled", True),
    ("account", "Invoicing", "uninstalled", True),
    ("web_studio", "Studio", "uninstalled", True),
]

HELPDESK_STAGES = [
    ("stage_new", "New", 0, False),
    ("stage_in_progress", "In Progress", 1, False),
    ("stage_solved", "Solved", 2, True),
    ("stage_cancelled", "Cancelled", 3, True),
]


def _create(
    env: Env, model: str, vals: dict[str, Any], xmlid: str | None = None, noupdate: bool = True
) -> int:
    record_id = env[model]._create([vals]).ids[0]
    if xmlid:
        module, _, name = xmlid.partition(".")
        add_xmlid(env, module, name, model, record_id, noupdate)
    return record_id


def _ref(env: Env, xmlid: str) -> int:
    record = env.ref(xmlid)
    assert record is not None
    return record.ids[0]


def seed_core(env: Env) -> None:
    """What every database needs: currencies, the main company and ``__system__``."""
    usd = _create(
        env,
        "res.currency",
        {"name": "USD", "full_name": "United States dollar", "symbol": "$", "position": "before"},
        "base.USD",
    )
    _create(env, "res.currency", {"name": "EUR", "full_name": "Euro", "symbol": "€"}, "base.EUR")
    company = _create(
        env,
        "res.company",
        {"name": "YourCompany", "currency_id": usd, "email": "info@yourcompany.com"},
        "base.main_company",
    )
    partner = env.execute("SELECT partner_id FROM res_company WHERE id = ?", (company,)).fetchone()[
        0
    ]
    add_xmlid(env, "base", "main_partner", "res.partner", partner, True)
    root = _create(
        env,
        "res.users",
        {
            "name": "OdooBot",
            "login": "__system__",
            "active": False,
            "company_id": company,
            "email": "odoobot@example.com",
            "tz": "Europe/Brussels",
            "lang": "en_US",
            "group_ids": [],
        },
        "base.user_root",
    )
    assert root == SUPERUSER_ID, "__system__ must be user 1"
    root_partner = env.execute("SELECT partner_id FROM res_users WHERE id = ?", (root,)).fetchone()[
        0
    ]
    add_xmlid(env, "base", "partner_root", "res.partner", root_partner, True)


def seed_base(env: Env) -> None:
    """Groups, the administrator, ACLs, rules, modules and the helpdesk/subscription data."""
    privileges: dict[str, int] = {}
    for xmlid, name, privilege, implied in GROUPS:
        vals: dict[str, Any] = {"name": name}
        if privilege:
            if privilege not in privileges:
                privileges[privilege] = _create(env, "res.groups.privilege", {"name": privilege})
            vals["privilege_id"] = privileges[privilege]
        vals["implied_ids"] = [(6, 0, [_ref(env, x) for x in implied])]
        _create(env, "res.groups", vals, xmlid)
    company = _ref(env, "base.main_company")
    env["res.users"].browse([SUPERUSER_ID])._write(
        {"group_ids": [(6, 0, [_ref(env, "base.group_user"), _ref(env, "base.group_system")])]}
    )
    admin = _create(
        env,
        "res.users",
        {
            "name": "Mitchell Admin",
            "login": ADMIN_LOGIN,
            "password": ADMIN_PASSWORD,
            "email": "admin@yourcompany.example.com",
            "company_id": company,
            "tz": "Europe/Brussels",
            "lang": "en_US",
            "group_ids": [(6, 0, [_ref(env, x) for x in ADMIN_GROUPS])],
        },
        "base.user_admin",
    )
    assert admin == 2, "admin must be user 2"
    admin_partner = env.execute(
        "SELECT partner_id FROM res_users WHERE id = ?", (admin,)
    ).fetchone()[0]
    add_xmlid(env, "base", "partner_admin", "res.partner", admin_partner, True)
    env.typed("res.users.apikeys", ResUsersApikeys)._generate(
        admin, "Sandbox seeded key", key=ADMIN_API_KEY
    )

    model_ids = dict(env.execute("SELECT model, id FROM ir_model").fetchall())
    for model, group, read, write, create, unlink in ACCESS_RIGHTS:
        group_id = _ref(env, group) if group else False
        suffix = group.split(".")[1] if group else "all"
        _create(
            env,
            "ir.model.access",
            {
                "name": f"access_{model.replace('.', '_')}_{suffix}",
                "model_id": model_ids[model],
                "group_id": group_id,
                "perm_read": read,
                "perm_write": write,
                "perm_create": create,
                "perm_unlink": unlink,
            },
        )
    for name, model, domain, groups in RECORD_RULES:
        _create(
            env,
            "ir.rule",
            {
                "name": name,
                "model_id": model_ids[model],
                "domain_force": domain,
                "groups": [(6, 0, [_ref(env, g) for g in groups])],
            },
        )
    for name, shortdesc, state, application in MODULES:
        _create(
            env,
            "ir.module.module",
            {
                "name": name,
                "shortdesc": shortdesc,
                "state": state,
                "application": application,
                "latest_version": "19.0.1.0",
            },
            f"base.module_{name}",
        )
    for key, value in (
        ("web.base.url", "http://localhost:8069"),
        ("database.uuid", str(uuid.uuid4())),
        ("database.create_date", env.txn.now),
    ):
        _create(env, "ir.config_parameter", {"key": key, "value": value})

    _create(
        env,
        "mail.message.subtype",
        {"name": "Discussions", "internal": False, "default": True, "sequence": 0},
        "mail.mt_comment",
    )
    _create(
        env,
        "mail.message.subtype",
        {"name": "Note", "internal": True, "default": False, "sequence": 100},
        "mail.mt_note",
    )

    stage_ids = [
        _create(
            env,
            "helpdesk.stage",
            {"name": name, "sequence": sequence, "fold": fold},
            f"helpdesk.{xmlid}",
        )
        for xmlid, name, sequence, fold in HELPDESK_STAGES
    ]
    team = _create(
        env,
        "helpdesk.team",
        {
            "name": "Customer Care",
            "company_id": company,
            "member_ids": [(6, 0, [admin])],
            "stage_ids": [(6, 0, stage_ids)],
        },
        "helpdesk.helpdesk_team1",
    )
    add_xmlid(env, "helpdesk", "support_team", "helpdesk.team", team, True)
    for name in ("Alert", "Security", "Hardware"):
        _create(env, "helpdesk.tag", {"name": name})

    _create(
        env,
        "sale.subscription.plan",
        {"name": "Monthly", "billing_period_value": 1, "billing_period_unit": "month"},
        "sale_subscription.subscription_plan_month",
    )
    _create(
        env,
        "sale.subscription.plan",
        {"name": "Yearly", "billing_period_value": 1, "billing_period_unit": "year"},
        "sale_subscription.subscription_plan_year",
    )
    template = _create(
        env,
        "product.template",
        {
            "name": "Managed Seat",
            "default_code": "SEAT",
            "type": "service",
            "list_price": 25.0,
            "recurring_invoice": True,
            "description_sale": "One managed endpoint, billed monthly",
        },
        "product.managed_seat_product_template",
    )
    variant = env.execute(
        "SELECT id FROM product_product WHERE product_tmpl_id = ?", (template,)
    ).fetchone()[0]
    add_xmlid(env, "product", "managed_seat_product", "product.product", variant, True)


#: companies of the small dataset: ``(name, email, [contact names], seats or None)``
SMALL_COMPANIES: list[tuple[str, str, list[str], int | None]] = [
    ("Azure Interior", "azure.interior@example.com", ["Brandon Freeman", "Nicole Ford"], 12),
    ("Deco Addict", "deco.addict@example.com", ["Addison Olson", "Douglas Fletcher"], 5),
    ("Gemini Furniture", "gemini.furniture@example.com", ["Edwin Hansen", "Jesse Brown"], 3),
    ("Lumber Inc", "lumber-inv92@example.com", ["Lorraine Douglas"], None),
]

SMALL_TICKETS: list[tuple[str, str, str, str]] = [
    ("Alert: Disk space low on AZ-FS01", "Azure Interior", "2", "stage_new"),
    ("Alert: Backup failed on DECO-DC01", "Deco Addict", "2", "stage_in_progress"),
    ("Printer offline in the showroom", "Gemini Furniture", "1", "stage_new"),
    ("New laptop for Nicole Ford", "Azure Interior", "0", "stage_in_progress"),
    ("VPN drops every hour", "Deco Addict", "1", "stage_solved"),
    ("Phishing e-mail reported", "Lumber Inc", "3", "stage_new"),
]


def seed_small_dataset(db: Database) -> None:
    """A handful of company partners with contacts, monthly managed-seat subscriptions, some
    helpdesk tickets and a demo technician (``demo``/``demo``) for the first ``./dev demo``."""
    with db.environment(SUPERUSER_ID) as env:
        _create(
            env,
            "res.users",
            {
                "name": "Marc Demo",
                "login": DEMO_LOGIN,
                "password": DEMO_PASSWORD,
                "email": "mark.brown23@example.com",
                "tz": "Europe/Brussels",
                "lang": "en_US",
                "company_id": _ref(env, "base.main_company"),
                "group_ids": [
                    (
                        6,
                        0,
                        [
                            _ref(env, "base.group_user"),
                            _ref(env, "helpdesk.group_helpdesk_user"),
                            _ref(env, "sales_team.group_sale_salesman"),
                        ],
                    )
                ],
            },
            "base.user_demo",
        )
        seat = _ref(env, "product.managed_seat_product")
        plan = _ref(env, "sale_subscription.subscription_plan_month")
        partners: dict[str, int] = {}
        for name, email, contacts, seats in SMALL_COMPANIES:
            company = _create(
                env,
                "res.partner",
                {"name": name, "is_company": True, "email": email, "customer_rank": 1},
            )
            partners[name] = company
            for contact in contacts:
                _create(
                    env,
                    "res.partner",
                    {
                        "name": contact,
                        "parent_id": company,
                        "type": "contact",
                        "email": f"{contact.lower().replace(' ', '.')}@example.com",
                    },
                )
            if seats is not None:
                _create(
                    env,
                    "sale.order",
                    {
                        "partner_id": company,
                        "user_id": 2,
                        "state": "sale",
                        "is_subscription": True,
                        "plan_id": plan,
                        "start_date": env.txn.now[:10],
                        "order_line": [(0, 0, {"product_id": seat, "product_uom_qty": seats})],
                    },
                )
        team = _ref(env, "helpdesk.support_team")
        for subject, partner, priority, stage in SMALL_TICKETS:
            _create(
                env,
                "helpdesk.ticket",
                {
                    "name": subject,
                    "partner_id": partners[partner],
                    "priority": priority,
                    "team_id": team,
                    "stage_id": _ref(env, f"helpdesk.{stage}"),
                    "description": f"{subject}.\nReported by {partner}.",
                },
            )
