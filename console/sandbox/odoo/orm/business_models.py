"""The application models the product uses: products, sale orders and subscriptions
(``sale_subscription``), and helpdesk teams, stages and tickets (``helpdesk``).

Only the fields plausible for the product are present (reference §7); ``sale_subscription`` and
``helpdesk`` are Enterprise modules whose 19.0 layout is partly inferred.
"""

from __future__ import annotations

from typing import Any

from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.base_models import LIKE_OPERATORS
from console.sandbox.odoo.orm.mail import MailThread, thread_fields
from console.sandbox.odoo.orm.models import BaseModel, public
from console.sandbox.odoo.orm.query import Query
from console.sandbox.odoo.orm.registry import ModelDef
from console.sandbox.odoo.orm.sql import in_list

SUBSCRIPTION_STATES = [
    ("1_draft", "Quotation"),
    ("2_renewal", "Renewal Quotation"),
    ("3_progress", "In Progress"),
    ("4_paused", "Paused"),
    ("5_renewed", "Renewed"),
    ("6_churn", "Churned"),
    ("7_upsell", "Upsell"),
]
TICKET_PRIORITIES = [
    ("0", "Low priority"),
    ("1", "Medium priority"),
    ("2", "High priority"),
    ("3", "Urgent"),
]


def _env_company(model: BaseModel) -> Any:
    return model.env.user_company_id() or False


def _company_currency(model: BaseModel) -> Any:
    company = model.env.user_company_id()
    if not company:
        return False
    row = model.env.execute(
        "SELECT currency_id FROM res_company WHERE id = ?", (company,)
    ).fetchone()
    return row[0] if row and row[0] else False


# ---------------------------------------------------------------------- products
def _product_display_names(model: BaseModel, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    query = Query(model.env.registry, model._def)
    query.where.append(in_list(f"{query.alias}.id", ids))
    sql = query.select(
        f"{query.alias}.id",
        query.column_expr("default_code"),
        query.column_expr("name"),
        ordered=False,
    )
    return {
        row[0]: (f"[{row[1]}] {row[2]}" if row[1] else row[2]) or False
        for row in model.env.execute(sql.code, sql.params)
    }


def _product_search(operator: str, value: Any) -> list[Any]:
    if operator in LIKE_OPERATORS:
        return ["|", ("default_code", operator, value), ("name", operator, value)]
    return ["|", ("name", operator, value), ("default_code", operator, value)]


class ProductTemplate(MailThread):
    __slots__ = ()

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        return _product_display_names(self, ids)

    def _search_display_name(self, operator: str, value: Any) -> list[Any]:
        return _product_search(operator, value)

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        # a template created on its own gets its single variant, as in Odoo
        if self.env.context.get("delegating_model") == "product.product":
            return
        self.env["product.product"].sudo()._create(
            [{"product_tmpl_id": template_id} for template_id in self.ids]
        )

    def _copy_defaults(self, vals: dict[str, Any]) -> None:
        if vals.get("name"):
            vals["name"] = f"{vals['name']} (copy)"


class ProductProduct(MailThread):
    __slots__ = ()

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        return _product_display_names(self, ids)

    def _search_display_name(self, operator: str, value: Any) -> list[Any]:
        return _product_search(operator, value)


# ---------------------------------------------------------------------- sale
def _order_amount_compute(records: BaseModel) -> dict[int, Any]:
    if not records.ids:
        return {}
    sql = in_list("order_id", records.ids)
    totals = dict(
        records.env.execute(
            f"SELECT order_id, SUM(COALESCE(product_uom_qty, 0) * COALESCE(price_unit, 0)) "
            f"FROM sale_order_line WHERE {sql.code} AND display_type IS NULL GROUP BY order_id",
            sql.params,
        ).fetchall()
    )
    return {order_id: float(totals.get(order_id) or 0.0) for order_id in records.ids}


class SaleOrder(MailThread):
    __slots__ = ()

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        if vals.get("plan_id"):
            vals["is_subscription"] = True
        if vals.get("is_subscription") and not vals.get("subscription_state"):
            vals["subscription_state"] = "3_progress" if vals.get("state") == "sale" else "1_draft"

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        for order_id, vals in zip(self.ids, vals_list, strict=True):
            if not vals.get("name") or vals.get("name") == "New":
                self.env.execute(
                    "UPDATE sale_order SET name = ? WHERE id = ?", (f"S{order_id:05d}", order_id)
                )

    def _prepare_write_vals(self, vals: dict[str, Any]) -> None:
        if vals.get("plan_id"):
            vals.setdefault("is_subscription", True)

    def _post_write(self, vals: dict[str, Any]) -> None:
        if vals.get("state") == "sale":
            sql = in_list("id", self.ids)
            self.env.execute(
                "UPDATE sale_order SET subscription_state = '3_progress' WHERE is_subscription = 1 "
                f"AND (subscription_state IS NULL OR subscription_state IN ('1_draft', "
                f"'2_renewal')) AND {sql.code}",
                sql.params,
            )

    @public
    def action_confirm(self) -> bool:
        """Confirm quotations into sales orders (subscriptions start)."""
        self.write({"state": "sale"})
        return True

    @public
    def action_cancel(self) -> bool:
        """Cancel the orders."""
        self.write({"state": "cancel"})
        return True


def _line_subtotal_compute(records: BaseModel) -> dict[int, Any]:
    rows = records.sudo()._read_rows(records.ids, ["product_uom_qty", "price_unit"], None)
    return {row["id"]: row["product_uom_qty"] * row["price_unit"] for row in rows}


class SaleOrderLine(BaseModel):
    __slots__ = ()

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        product_id = vals.get("product_id")
        if not product_id:
            return
        product = self.env["product.product"].sudo()
        if not vals.get("name"):
            vals["name"] = product._display_names([product_id]).get(product_id) or False
        if "price_unit" not in vals:
            rows = product._read_rows([product_id], ["list_price"], None)
            vals["price_unit"] = rows[0]["list_price"] if rows else 0.0

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        if not ids:
            return {}
        sql = in_list("l.id", ids)
        return {
            row[0]: f"{row[1]} - {(row[2] or '').splitlines()[0] if row[2] else ''}"
            for row in self.env.execute(
                "SELECT l.id, o.name, l.name FROM sale_order_line l JOIN sale_order o "
                f"ON o.id = l.order_id WHERE {sql.code}",
                sql.params,
            )
        }


# ---------------------------------------------------------------------- helpdesk
def _default_team(model: BaseModel) -> Any:
    row = model.env.execute(
        "SELECT id FROM helpdesk_team WHERE active = 1 ORDER BY sequence, id LIMIT 1"
    ).fetchone()
    return row[0] if row else False


class HelpdeskTicket(MailThread):
    __slots__ = ()

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        rows = self.sudo()._read_rows(ids, ["name", "ticket_ref"], None)
        return {
            row["id"]: f"{row['name']} (#{row['ticket_ref']})" if row["ticket_ref"] else row["name"]
            for row in rows
        }

    def _search_display_name(self, operator: str, value: Any) -> list[Any]:
        if operator in LIKE_OPERATORS:
            return ["|", ("name", operator, value), ("ticket_ref", operator, value)]
        return [("name", operator, value)]

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        env = self.env
        team_id = vals.get("team_id")
        if team_id and not vals.get("stage_id"):
            vals["stage_id"] = self._first_stage(team_id)
        if not vals.get("stage_id"):
            row = env.execute(
                "SELECT id FROM helpdesk_stage ORDER BY sequence, id LIMIT 1"
            ).fetchone()
            vals["stage_id"] = row[0] if row else False
        if team_id and not vals.get("company_id"):
            row = env.execute(
                "SELECT company_id FROM helpdesk_team WHERE id = ?", (team_id,)
            ).fetchone()
            vals["company_id"] = row[0] if row and row[0] else False
        self._fill_partner_values(vals)
        if vals.get("user_id"):
            vals.setdefault("assign_date", env.txn.now)

    def _first_stage(self, team_id: int) -> Any:
        row = self.env.execute(
            "SELECT s.id FROM helpdesk_stage s JOIN team_stage_rel r ON r.stage_id = s.id "
            "WHERE r.helpdesk_team_id = ? ORDER BY s.sequence, s.id LIMIT 1",
            (team_id,),
        ).fetchone()
        return row[0] if row else False

    def _fill_partner_values(self, vals: dict[str, Any]) -> None:
        partner_id = vals.get("partner_id")
        if not partner_id:
            return
        rows = (
            self.env["res.partner"]
            .sudo()
            ._read_rows([partner_id], ["name", "email", "phone"], None)
        )
        if rows:
            for key in ("name", "email", "phone"):
                vals.setdefault(f"partner_{key}", rows[0][key])

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        sql = in_list("id", self.ids)
        self.env.execute(
            f"UPDATE helpdesk_ticket SET ticket_ref = CAST(id AS TEXT) "
            f"WHERE ticket_ref IS NULL AND {sql.code}",
            sql.params,
        )
        self._sync_close_date()

    def _prepare_write_vals(self, vals: dict[str, Any]) -> None:
        if vals.get("partner_id"):
            filled: dict[str, Any] = {"partner_id": vals["partner_id"]}
            self._fill_partner_values(filled)
            for key, value in filled.items():
                vals.setdefault(key, value)
        if vals.get("user_id"):
            vals.setdefault("assign_date", self.env.txn.now)

    def _post_write(self, vals: dict[str, Any]) -> None:
        if "stage_id" in vals:
            self._sync_close_date()

    def _sync_close_date(self) -> None:
        # a ticket is closed while it sits in a folded stage
        sql = in_list("t.id", self.ids)
        now = self.env.txn.now
        self.env.execute(
            "UPDATE helpdesk_ticket SET close_date = CASE WHEN (SELECT s.fold FROM helpdesk_stage s "
            "WHERE s.id = helpdesk_ticket.stage_id) = 1 THEN COALESCE(close_date, ?) ELSE NULL END "
            f"WHERE id IN (SELECT t.id FROM helpdesk_ticket t WHERE {sql.code})",
            (now, *sql.params),
        )


def definitions() -> list[ModelDef]:
    return [
        ModelDef(
            "product.template",
            "Product",
            ProductTemplate,
            module="product",
            order="name, id",
            mail_thread=True,
            fields={
                "name": f.Char("Name", required=True, index=True, translate=True),
                "default_code": f.Char("Internal Reference", index=True),
                "type": f.Selection(
                    [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")],
                    "Product Type",
                    required=True,
                    default="consu",
                ),
                "list_price": f.Float("Sales Price", default=1.0),
                "standard_price": f.Float("Cost"),
                "sale_ok": f.Boolean("Can be Sold", default=True),
                "purchase_ok": f.Boolean("Can be Purchased", default=True),
                "recurring_invoice": f.Boolean("Subscription Product"),
                "active": f.Boolean("Active", default=True),
                "description_sale": f.Text("Sales Description", translate=True),
                "company_id": f.Many2one("res.company", "Company", index=True),
                "product_variant_ids": f.One2many("product.product", "product_tmpl_id", "Products"),
                **thread_fields(),
            },
        ),
        ModelDef(
            "product.product",
            "Product Variant",
            ProductProduct,
            module="product",
            order="default_code, name, id",
            inherits={"product.template": "product_tmpl_id"},
            mail_thread=True,
            fields={
                "product_tmpl_id": f.Many2one(
                    "product.template",
                    "Product Template",
                    required=True,
                    ondelete="cascade",
                    delegate=True,
                    index=True,
                    copy=False,
                ),
                "active": f.Boolean("Active", default=True),
                "barcode": f.Char("Barcode", copy=False),
                **thread_fields(),
            },
        ),
        ModelDef(
            "sale.subscription.plan",
            "Subscription Plan",
            BaseModel,
            module="sale_subscription",
            order="sequence, id",
            fields={
                "name": f.Char("Name", required=True, translate=True),
                "sequence": f.Integer("Sequence", default=10),
                "billing_period_value": f.Integer("Duration", required=True, default=1),
                "billing_period_unit": f.Selection(
                    [("week", "Weeks"), ("month", "Months"), ("year", "Years")],
                    "Unit",
                    required=True,
                    default="month",
                ),
                "active": f.Boolean("Active", default=True),
                "company_id": f.Many2one("res.company", "Company"),
            },
        ),
        ModelDef(
            "sale.order",
            "Sales Order",
            SaleOrder,
            module="sale",
            order="date_order desc, id desc",
            mail_thread=True,
            fields={
                "name": f.Char(
                    "Order Reference", required=True, index=True, copy=False, default="New"
                ),
                "partner_id": f.Many2one("res.partner", "Customer", required=True, index=True),
                "user_id": f.Many2one("res.users", "Salesperson", default=lambda m: m.env.uid),
                "company_id": f.Many2one(
                    "res.company", "Company", required=True, index=True, default=_env_company
                ),
                "currency_id": f.Many2one("res.currency", "Currency", default=_company_currency),
                "state": f.Selection(
                    [
                        ("draft", "Quotation"),
                        ("sent", "Quotation Sent"),
                        ("sale", "Sales Order"),
                        ("cancel", "Cancelled"),
                    ],
                    "Status",
                    readonly=True,
                    copy=False,
                    index=True,
                    default="draft",
                ),
                "date_order": f.Datetime(
                    "Order Date", required=True, copy=False, default=lambda m: m.env.txn.now
                ),
                "client_order_ref": f.Char("Customer Reference", copy=False),
                "note": f.Html("Terms and conditions"),
                "order_line": f.One2many("sale.order.line", "order_id", "Order Lines", copy=True),
                "amount_untaxed": f.Monetary("Untaxed Amount", compute=_order_amount_compute),
                "amount_total": f.Monetary("Total", compute=_order_amount_compute),
                "is_subscription": f.Boolean("Recurring", index=True),
                "plan_id": f.Many2one("sale.subscription.plan", "Recurring Plan", index=True),
                "subscription_state": f.Selection(
                    SUBSCRIPTION_STATES, "Subscription Status", index=True, copy=False
                ),
                "start_date": f.Date("Start Date"),
                "next_invoice_date": f.Date("Date of Next Invoice", copy=False),
                "end_date": f.Date("End Date"),
                "first_contract_date": f.Date("First Contract Date"),
                "recurring_monthly": f.Monetary(
                    "Monthly Recurring Revenue", compute=_order_amount_compute
                ),
                "origin_order_id": f.Many2one("sale.order", "First contract", index=True),
                **thread_fields(),
            },
        ),
        ModelDef(
            "sale.order.line",
            "Sales Order Line",
            SaleOrderLine,
            module="sale",
            order="order_id, sequence, id",
            fields={
                "order_id": f.Many2one(
                    "sale.order", "Order Reference", required=True, ondelete="cascade", index=True
                ),
                "sequence": f.Integer("Sequence", default=10),
                "product_id": f.Many2one("product.product", "Product", ondelete="restrict"),
                "name": f.Text("Description", required=True),
                "product_uom_qty": f.Float("Quantity", default=1.0),
                "price_unit": f.Float("Unit Price"),
                "price_subtotal": f.Monetary("Subtotal", compute=_line_subtotal_compute),
                "display_type": f.Selection(
                    [("line_section", "Section"), ("line_note", "Note")], "Display Type"
                ),
            },
        ),
        ModelDef(
            "helpdesk.team",
            "Helpdesk Team",
            MailThread,
            module="helpdesk",
            order="sequence, name",
            mail_thread=True,
            fields={
                "name": f.Char("Helpdesk Team", required=True, translate=True),
                "description": f.Html("About Team"),
                "sequence": f.Integer("Sequence", default=10),
                "active": f.Boolean("Active", default=True),
                "company_id": f.Many2one(
                    "res.company", "Company", required=True, default=_env_company
                ),
                "member_ids": f.Many2many(
                    "res.users",
                    "helpdesk_team_res_users_rel",
                    "helpdesk_team_id",
                    "res_users_id",
                    "Team Members",
                ),
                "stage_ids": f.Many2many(
                    "helpdesk.stage", "team_stage_rel", "helpdesk_team_id", "stage_id", "Stages"
                ),
                "ticket_ids": f.One2many("helpdesk.ticket", "team_id", "Tickets"),
                "use_sla": f.Boolean("SLA Policies"),
                "color": f.Integer("Color Index"),
                **thread_fields(),
            },
        ),
        ModelDef(
            "helpdesk.stage",
            "Helpdesk Stage",
            BaseModel,
            module="helpdesk",
            order="sequence, id",
            fields={
                "name": f.Char("Stage Name", required=True, translate=True),
                "description": f.Text(translate=True),
                "sequence": f.Integer("Sequence", default=10),
                "fold": f.Boolean(
                    "Folded in Kanban", help="Tickets in a folded stage are considered as closed."
                ),
                "active": f.Boolean("Active", default=True),
                "team_ids": f.Many2many(
                    "helpdesk.team",
                    "team_stage_rel",
                    "stage_id",
                    "helpdesk_team_id",
                    "Helpdesk Teams",
                ),
            },
        ),
        ModelDef(
            "helpdesk.tag",
            "Helpdesk Tags",
            BaseModel,
            module="helpdesk",
            order="name",
            fields={
                "name": f.Char("Tag Name", required=True, translate=True),
                "color": f.Integer("Color"),
            },
        ),
        ModelDef(
            "helpdesk.ticket.type",
            "Helpdesk Ticket Type",
            BaseModel,
            module="helpdesk",
            order="sequence, name",
            fields={
                "name": f.Char("Type", required=True, translate=True),
                "sequence": f.Integer(default=10),
            },
        ),
        ModelDef(
            "helpdesk.ticket",
            "Helpdesk Ticket",
            HelpdeskTicket,
            module="helpdesk",
            order="priority desc, id desc",
            mail_thread=True,
            fields={
                "name": f.Char("Subject", required=True, index=True),
                "description": f.Html("Description"),
                "ticket_ref": f.Char("Ticket IDs Sequence", copy=False, readonly=True, index=True),
                "team_id": f.Many2one(
                    "helpdesk.team", "Helpdesk Team", index=True, default=_default_team
                ),
                "user_id": f.Many2one("res.users", "Assigned to", index=True),
                "partner_id": f.Many2one("res.partner", "Customer", index=True),
                "partner_name": f.Char("Customer Name"),
                "partner_email": f.Char("Customer Email"),
                "partner_phone": f.Char("Customer Phone"),
                "priority": f.Selection(TICKET_PRIORITIES, "Priority", default="0"),
                "stage_id": f.Many2one(
                    "helpdesk.stage", "Stage", index=True, ondelete="restrict", copy=False
                ),
                "kanban_state": f.Selection(
                    [("normal", "In Progress"), ("done", "Ready"), ("blocked", "Blocked")],
                    "Kanban State",
                    default="normal",
                    copy=False,
                ),
                "tag_ids": f.Many2many(
                    "helpdesk.tag",
                    "helpdesk_tag_helpdesk_ticket_rel",
                    "helpdesk_ticket_id",
                    "helpdesk_tag_id",
                    "Tags",
                ),
                "ticket_type_id": f.Many2one("helpdesk.ticket.type", "Type"),
                "company_id": f.Many2one("res.company", "Company", index=True),
                "active": f.Boolean("Active", default=True),
                "close_date": f.Datetime("Close date", copy=False),
                "assign_date": f.Datetime("First assignment date", copy=False),
                "closed_by_partner": f.Boolean("Closed by Partner", copy=False),
                "color": f.Integer("Color"),
                **thread_fields(),
            },
        ),
    ]
