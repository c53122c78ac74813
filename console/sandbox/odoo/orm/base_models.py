"""``base`` models: partners, users, groups, companies, currencies, API keys, external ids,
access rights, record rules, system parameters and installed modules."""

from __future__ import annotations

import zoneinfo
from typing import Any

from console.sandbox.odoo.exceptions import AccessError, UserError, ValidationError
from console.sandbox.odoo.orm import access
from console.sandbox.odoo.orm import credentials as cred
from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.domains import parse_domain
from console.sandbox.odoo.orm.environment import SUPERUSER_ID
from console.sandbox.odoo.orm.mail import MailThread, thread_fields
from console.sandbox.odoo.orm.models import BaseModel, api_model, public
from console.sandbox.odoo.orm.registry import ModelDef
from console.sandbox.odoo.orm.sql import in_list

LANGUAGES = [
    ("en_US", "English (US)"),
    ("en_GB", "English (UK)"),
    ("fr_FR", "French / Français"),
    ("de_DE", "German / Deutsch"),
    ("nl_NL", "Dutch / Nederlands"),
    ("es_ES", "Spanish / Español"),
]
TIMEZONES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]
PARTNER_TYPES = [
    ("contact", "Contact"),
    ("invoice", "Invoice Address"),
    ("delivery", "Delivery Address"),
    ("other", "Other Address"),
]
LIKE_OPERATORS = ("like", "ilike", "=like", "=ilike")


def _env_company(model: BaseModel) -> Any:
    return model.env.user_company_id() or False


def _xmlid_default(xmlid: str, many: bool = False) -> Any:
    def default(model: BaseModel) -> Any:
        record = model.env.ref(xmlid, raise_if_not_found=False)
        if record is None:
            return [] if many else False
        return [(6, 0, record.ids)] if many else record.ids[0]

    return default


# ---------------------------------------------------------------------- res.partner
def _company_type_compute(records: BaseModel) -> dict[int, Any]:
    rows = records.sudo()._read_rows(records.ids, ["is_company"], None)
    return {row["id"]: "company" if row["is_company"] else "person" for row in rows}


def _company_type_inverse(records: BaseModel, value: Any) -> None:
    records._write({"is_company": value == "company"})


class ResPartner(MailThread):
    __slots__ = ()

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        if not ids:
            return {}
        sql = in_list("id", ids)
        return {
            row[0]: row[1] or row[2] or False
            for row in self.env.execute(
                f"SELECT id, complete_name, name FROM res_partner WHERE {sql.code}", sql.params
            )
        }

    def _search_display_name(self, operator: str, value: Any) -> list[Any]:
        if operator in LIKE_OPERATORS:
            return [
                "|",
                "|",
                ("complete_name", operator, value),
                ("email", operator, value),
                ("ref", operator, value),
            ]
        return [("complete_name", operator, value)]

    def _prepare_write_vals(self, vals: dict[str, Any]) -> None:
        parent = vals.get("parent_id")
        if parent and self.ids:
            descendants = self.sudo()._search([("id", "child_of", self.ids)], active_test=False)
            if parent in descendants:
                raise ValidationError("You cannot create recursive Partner hierarchies.")

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        self._recompute_names()

    def _post_write(self, vals: dict[str, Any]) -> None:
        if {"name", "parent_id", "is_company", "type"} & set(vals):
            self._recompute_names()

    def _copy_defaults(self, vals: dict[str, Any]) -> None:
        if vals.get("name"):
            vals["name"] = f"{vals['name']} (copy)"

    def _recompute_names(self) -> None:
        """``complete_name`` and ``commercial_partner_id`` of these partners and descendants."""
        if not self.ids:
            return
        env = self.env
        marks = ",".join("?" * len(self.ids))
        rows = env.execute(
            f"WITH RECURSIVE d(id) AS (SELECT id FROM res_partner WHERE id IN ({marks}) "
            "UNION SELECT p.id FROM res_partner p JOIN d ON p.parent_id = d.id) "
            "SELECT p.id, p.name, p.parent_id, p.is_company, p.type FROM res_partner p "
            "JOIN d ON d.id = p.id",
            tuple(self.ids),
        ).fetchall()
        info = {row[0]: row for row in rows}
        type_labels = dict(PARTNER_TYPES)
        commercial: dict[int, int] = {}

        def load(partner_id: int) -> tuple[Any, ...] | None:
            if partner_id not in info:
                row = env.execute(
                    "SELECT id, name, parent_id, is_company, type FROM res_partner WHERE id = ?",
                    (partner_id,),
                ).fetchone()
                if row is None:
                    return None
                info[partner_id] = tuple(row)
            return tuple(info[partner_id])

        def commercial_of(partner_id: int, seen: frozenset[int] = frozenset()) -> int:
            if partner_id in commercial:
                return commercial[partner_id]
            row = load(partner_id)
            if row is None or row[3] or not row[2] or row[2] in seen:
                result = partner_id
            else:
                result = commercial_of(row[2], seen | {partner_id})
            commercial[partner_id] = result
            return result

        updates = []
        for partner_id, name, parent_id, is_company, partner_type in rows:
            complete = name or ""
            top = commercial_of(partner_id)
            if parent_id:
                if not complete and partner_type in type_labels and partner_type != "contact":
                    complete = type_labels[partner_type]
                if not is_company:
                    top_row = load(top) if top != partner_id else load(parent_id)
                    prefix = top_row[1] if top_row and top_row[1] else ""
                    complete = f"{prefix}, {complete}"
            updates.append((complete.strip() or None, top, partner_id))
        env.txn.cr.executemany(
            "UPDATE res_partner SET complete_name = ?, commercial_partner_id = ? WHERE id = ?",
            updates,
        )


# ---------------------------------------------------------------------- res.users
def _password_compute(records: BaseModel) -> dict[int, Any]:
    # never readable: blank for those who may change it, masked for the others
    readable = access.check_model_access(records, "write", raise_exception=False)
    return dict.fromkeys(records.ids, "" if readable else "********")


def _password_inverse(records: BaseModel, value: Any) -> None:
    if value is None or value is False or value == "":
        return
    hashed = cred.hash_secret(str(value))
    sql = in_list("id", records.ids)
    records.env.execute(
        f"UPDATE res_users SET password = ? WHERE {sql.code}", (hashed, *sql.params)
    )
    records.env.txn.credentials_changed = True


def _all_groups_compute(records: BaseModel) -> dict[int, Any]:
    return {uid: sorted(access.user_group_ids(records.env, uid)) for uid in records.ids}


def _all_groups_search(model: BaseModel, operator: str, value: Any) -> list[Any]:
    if operator != "in":
        raise ValueError(f"Operator {operator!r} is not supported on all_group_ids")
    group_ids = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return [("group_ids", "in", access.groups_implying(model.env, group_ids))]


class ResUsers(BaseModel):
    __slots__ = ()

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        login = vals.get("login")
        if login:
            self._check_login_unique(login)
        company = vals.get("company_id")
        if company:
            commands = vals.get("company_ids") or []
            listed = {
                c
                for cmd in commands
                if isinstance(cmd, list | tuple)
                for c in (
                    cmd[2] if cmd and cmd[0] == 6 else [cmd[1]] if cmd and cmd[0] == 4 else []
                )
            }
            if company not in listed:
                vals["company_ids"] = [*commands, (4, company)]

    def _check_login_unique(self, login: str) -> None:
        row = self.env.execute("SELECT id FROM res_users WHERE login = ?", (login,)).fetchone()
        if row and row[0] not in self.ids:
            raise ValidationError("You can not have two users with the same login!")

    def _prepare_write_vals(self, vals: dict[str, Any]) -> None:
        if vals.get("login"):
            if len(self.ids) > 1:
                raise ValidationError("You can not have two users with the same login!")
            self._check_login_unique(vals["login"])
        if "active" in vals and not vals["active"] and self.env.uid in self.ids:
            raise UserError("You cannot deactivate the user you're currently logged in as.")
        if {"login", "active"} & set(vals):
            self.env.txn.credentials_changed = True

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        self._recompute_share()

    def _post_write(self, vals: dict[str, Any]) -> None:
        if "group_ids" in vals:
            self._recompute_share()

    def _pre_unlink(self) -> None:
        if SUPERUSER_ID in self.ids:
            raise UserError(
                "You can not remove the admin user as it is used internally for "
                "resources created by Odoo (updates, module installation, ...)"
            )

    def _recompute_share(self) -> None:
        internal = self.env.ref("base.group_user", raise_if_not_found=False)
        if internal is None:
            return
        updates = [
            (0 if internal.ids[0] in access.user_group_ids(self.env, uid) else 1, uid)
            for uid in (self.ids or [])
        ]
        self.env.txn.cr.executemany("UPDATE res_users SET share = ? WHERE id = ?", updates)

    @api_model
    def context_get(self) -> dict[str, Any]:
        """The user's context: ``{"lang", "tz", "uid"}``."""
        [values] = self.sudo()._read_rows([self.env.uid], ["lang", "tz"], None) or [
            {"lang": False, "tz": False}
        ]
        return {"lang": values["lang"], "tz": values["tz"], "uid": self.env.uid}

    @public
    def has_group(self, group_ext_id: str) -> bool:
        """Whether the user (the current one when called without ids) is in a group."""
        uid = self.ids[0] if self.ids else self.env.uid
        group = self.env.ref(group_ext_id, raise_if_not_found=False)
        return group is not None and group.ids[0] in access.user_group_ids(self.env, uid)


class ResUsersApikeys(BaseModel):
    __slots__ = ()

    def _generate(self, user_id: int, name: str, key: str | None = None, scope: str = "rpc") -> str:
        """Store a new API key for ``user_id``; the key in clear (shown once, like Odoo)."""
        key = key or cred.new_api_key()
        record = self.sudo()._create(
            [
                {
                    "name": name,
                    "user_id": user_id,
                    "scope": scope,
                    "index": key[: cred.API_KEY_INDEX_LENGTH],
                }
            ]
        )
        self.env.execute(
            "UPDATE res_users_apikeys SET key = ? WHERE id = ?",
            (cred.hash_secret(key), record.ids[0]),
        )
        return key

    def _check_credentials(self, key: str, user_id: int | None = None) -> int | None:
        """The user id an API key belongs to, or None."""
        params: list[Any] = [key[: cred.API_KEY_INDEX_LENGTH], self.env.txn.now]
        extra = ""
        if user_id is not None:
            extra = " AND k.user_id = ?"
            params.append(user_id)
        for uid, hashed in self.env.execute(
            "SELECT k.user_id, k.key FROM res_users_apikeys k JOIN res_users u "
            'ON u.id = k.user_id WHERE k."index" = ? AND u.active = 1 AND '
            "(k.expiration_date IS NULL OR k.expiration_date >= ?)" + extra,
            params,
        ):
            if cred.verify_secret(key, hashed):
                return int(uid)
        return None


# ---------------------------------------------------------------------- res.groups
class ResGroups(BaseModel):
    __slots__ = ()

    def _search_display_name(self, operator: str, value: Any) -> list[Any]:
        if operator in LIKE_OPERATORS:
            return ["|", ("full_name", operator, value), ("name", operator, value)]
        return [("full_name", operator, value)]

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        self._recompute_full_name()
        self._recompute_shares()

    def _post_write(self, vals: dict[str, Any]) -> None:
        if {"name", "privilege_id"} & set(vals):
            self._recompute_full_name()
        if {"user_ids", "users", "implied_ids"} & set(vals):
            self._recompute_shares()

    def _recompute_full_name(self) -> None:
        sql = in_list("g.id", self.ids)
        self.env.execute(
            "UPDATE res_groups SET full_name = (SELECT CASE WHEN p.name IS NOT NULL "
            "THEN p.name || ' / ' || g.name ELSE g.name END FROM res_groups g "
            "LEFT JOIN res_groups_privilege p ON p.id = g.privilege_id "
            f"WHERE g.id = res_groups.id) WHERE id IN (SELECT g.id FROM res_groups g "
            f"WHERE {sql.code})",
            sql.params,
        )

    def _recompute_shares(self) -> None:
        users = self.env.typed("res.users", ResUsers)
        users.browse(
            [row[0] for row in self.env.execute("SELECT id FROM res_users")]
        )._recompute_share()


# ---------------------------------------------------------------------- res.company
class ResCompany(BaseModel):
    __slots__ = ()

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        if not vals.get("partner_id"):
            partner = (
                self.env["res.partner"]
                .sudo()
                ._create(
                    [
                        {
                            "name": vals.get("name") or False,
                            "is_company": True,
                            "email": vals.get("email") or False,
                            "phone": vals.get("phone") or False,
                        }
                    ]
                )
            )
            vals["partner_id"] = partner.ids[0]

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        for company_id, vals in zip(self.ids, vals_list, strict=True):
            self.env.execute(
                "UPDATE res_partner SET company_id = ? WHERE id = ?",
                (company_id, vals["partner_id"]),
            )

    def _post_write(self, vals: dict[str, Any]) -> None:
        synced: dict[str, Any] = {k: vals[k] for k in ("name", "email", "phone") if k in vals}
        if synced:
            partner_ids = [
                row["partner_id"] for row in self.sudo()._read_rows(self.ids, ["partner_id"], None)
            ]
            self.env["res.partner"].sudo().browse(partner_ids)._write(synced)


# ---------------------------------------------------------------------- ir.model.data
class IrModelData(BaseModel):
    __slots__ = ()

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        rows = self.sudo()._read_rows(ids, ["module", "name"], None)
        return {row["id"]: f"{row['module']}.{row['name']}" for row in rows}

    def _xmlid_lookup(self, xmlid: str) -> tuple[str, int]:
        module, _, name = xmlid.partition(".")
        row = self.env.execute(
            "SELECT model, res_id FROM ir_model_data WHERE module = ? AND name = ?", (module, name)
        ).fetchone()
        if row is None:
            raise ValueError(f"External ID not found in the system: {xmlid}")
        return row[0], row[1]

    @api_model
    def check_object_reference(
        self, module: str, xml_id: str, raise_on_access_error: bool = False
    ) -> list[Any]:
        """``[model, res_id]`` of an external id, ``[model, False]`` if the user cannot read
        the record (AccessError instead when ``raise_on_access_error``)."""
        model, res_id = self._xmlid_lookup(f"{module}.{xml_id}")
        if model in self.env and self.env[model].search([("id", "=", res_id)]):
            return [model, res_id]
        if raise_on_access_error:
            raise AccessError(
                f"Not enough access rights on the external ID {f'{module}.{xml_id}'!r}"
            )
        return [model, False]


# ---------------------------------------------------------------------- ir.model.access
class IrModelAccess(BaseModel):
    __slots__ = ()

    @api_model
    def check(self, model: str, mode: str = "read", raise_exception: bool = True) -> bool:
        """Whether the user has ``mode`` access on ``model`` (AccessError when refused and
        ``raise_exception``)."""
        if model not in self.env:
            raise ValueError(f"Invalid model: {model!r}")
        return access.check_model_access(self.env[model], access.check_mode(mode), raise_exception)


# ---------------------------------------------------------------------- ir.rule
class IrRule(BaseModel):
    __slots__ = ()

    def _post_create(self, vals_list: list[dict[str, Any]]) -> None:
        self._validate_rules()

    def _post_write(self, vals: dict[str, Any]) -> None:
        self._validate_rules()

    def _validate_rules(self) -> None:
        env = self.env
        sql = in_list("r.id", self.ids)
        rows = env.execute(
            "SELECT r.id, m.model, r.domain_force, r.active, r.perm_read, r.perm_write, "
            "r.perm_create, r.perm_unlink FROM ir_rule r JOIN ir_model m ON m.id = r.model_id "
            f"WHERE {sql.code}",
            sql.params,
        ).fetchall()
        context = access.rule_eval_context(env)
        for rule_id, model, domain_force, active, *perms in rows:
            if not any(perms):
                raise ValidationError("Rule must have at least one checked access right!")
            if model == "ir.rule":
                raise ValidationError("Rules can not be applied on the Record Rules model.")
            if active and domain_force and model in env:
                try:
                    domain = access.evaluate_domain(domain_force, context)
                    env[model].sudo()._build_query(parse_domain(domain), active_test=False)
                except Exception as exc:
                    raise ValidationError(f"Invalid domain: {exc}") from exc
            env.execute(
                'UPDATE ir_rule SET "global" = NOT EXISTS (SELECT 1 FROM rule_group_rel '
                "WHERE rule_group_id = ?) WHERE id = ?",
                (rule_id, rule_id),
            )


# ---------------------------------------------------------------------- ir.config_parameter
class IrConfigParameter(BaseModel):
    __slots__ = ()

    def _prepare_create_vals(self, vals: dict[str, Any]) -> None:
        key = vals.get("key")
        if (
            key
            and self.env.execute(
                "SELECT 1 FROM ir_config_parameter WHERE key = ?", (key,)
            ).fetchone()
        ):
            raise ValidationError("Key must be unique.")

    @api_model
    def get_param(self, key: str, default: Any = False) -> Any:
        """The value of a system parameter, or ``default``."""
        self._check_model_access("read")
        row = self.env.execute(
            "SELECT value FROM ir_config_parameter WHERE key = ?", (key,)
        ).fetchone()
        return row[0] if row else default

    @api_model
    def set_param(self, key: str, value: Any) -> Any:
        """Set (or, with a falsy value, delete) a system parameter; the previous value."""
        self._check_model_access("write")
        row = self.env.execute(
            "SELECT id, value FROM ir_config_parameter WHERE key = ?", (key,)
        ).fetchone()
        if row:
            record = self.browse([row[0]])
            if value is False or value is None:
                record._unlink()
            else:
                record._write({"value": str(value)})
            return row[1]
        if value is not False and value is not None:
            self._create([{"key": key, "value": str(value)}])
        return False


def _internal_partner_ids(env: Any) -> list[int]:
    """Partners of internal users (and of the superuser), as Odoo's partner_share sees them."""
    rows = env.execute(
        "SELECT DISTINCT partner_id FROM res_users WHERE (share = 0 OR share IS NULL)"
        " AND partner_id IS NOT NULL"
    ).fetchall()
    return sorted(row[0] for row in rows)


def _partner_share_compute(records: Any) -> dict[int, bool]:
    internal = set(_internal_partner_ids(records.env))
    return {record_id: record_id not in internal for record_id in records.ids}


def _partner_share_search(model: Any, operator: str, value: Any) -> list[Any]:
    values = value if isinstance(value, list | tuple) else [value]
    if operator in ("!=", "not in"):
        wanted = {True, False} - {bool(v) for v in values}
    elif operator in ("=", "in"):
        wanted = {bool(v) for v in values}
    else:
        raise ValueError(f"Invalid operator {operator!r} on res.partner.partner_share")
    internal = _internal_partner_ids(model.env)
    if wanted == {False}:
        return [("id", "in", internal)]
    if wanted == {True}:
        return [("id", "not in", internal)]
    return [] if wanted else [("id", "in", [])]


# ---------------------------------------------------------------------- definitions
def definitions() -> list[ModelDef]:
    return [
        ModelDef(
            "res.partner",
            "Contact",
            ResPartner,
            order="complete_name ASC, id DESC",
            mail_thread=True,
            fields={
                "name": f.Char("Name", index=True),
                "complete_name": f.Char("Complete Name", index=True, readonly=True),
                "is_company": f.Boolean(
                    "Is a Company",
                    default=False,
                    help="Check if the contact is a company, otherwise it is a person",
                ),
                "company_type": f.Selection(
                    [("person", "Person"), ("company", "Company")],
                    "Company Type",
                    compute=_company_type_compute,
                    inverse=_company_type_inverse,
                ),
                "parent_id": f.Many2one("res.partner", "Related Company", index=True),
                "child_ids": f.One2many(
                    "res.partner", "parent_id", "Contact", domain=[("active", "=", True)]
                ),
                "commercial_partner_id": f.Many2one(
                    "res.partner", "Commercial Entity", readonly=True, index=True
                ),
                "ref": f.Char("Reference", index=True),
                "active": f.Boolean("Active", default=True),
                "type": f.Selection(PARTNER_TYPES, "Address Type", default="contact"),
                "email": f.Char("Email"),
                "phone": f.Char("Phone"),
                "vat": f.Char("Tax ID", index=True),
                "website": f.Char("Website Link"),
                "street": f.Char("Street"),
                "street2": f.Char("Street2"),
                "zip": f.Char("Zip"),
                "city": f.Char("City"),
                "function": f.Char("Job Position"),
                "comment": f.Html("Notes"),
                "lang": f.Selection(
                    LANGUAGES, "Language", default=lambda m: m.env.context.get("lang") or "en_US"
                ),
                "tz": f.Selection(
                    TIMEZONES, "Timezone", default=lambda m: m.env.context.get("tz") or False
                ),
                "company_id": f.Many2one("res.company", "Company", index=True),
                "company_name": f.Char("Company Name"),
                "user_id": f.Many2one("res.users", "Salesperson"),
                "user_ids": f.One2many("res.users", "partner_id", "Users"),
                "category_id": f.Many2many(
                    "res.partner.category",
                    "res_partner_res_partner_category_rel",
                    "partner_id",
                    "category_id",
                    "Tags",
                ),
                "color": f.Integer("Color Index"),
                "customer_rank": f.Integer("Customer Rank", default=0),
                "supplier_rank": f.Integer("Supplier Rank", default=0),
                "employee": f.Boolean("Employee"),
                "partner_share": f.Boolean(
                    "Share Partner",
                    store=False,
                    compute=_partner_share_compute,
                    search=_partner_share_search,
                    help="Either customer (not a user), either shared user: the partner of "
                    "no internal user",
                ),
                **thread_fields(),
            },
        ),
        ModelDef(
            "res.partner.category",
            "Partner Tags",
            BaseModel,
            order="name, id",
            fields={
                "name": f.Char("Name", required=True, translate=True),
                "color": f.Integer("Color"),
                "parent_id": f.Many2one(
                    "res.partner.category", "Parent Category", ondelete="cascade"
                ),
                "active": f.Boolean("Active", default=True),
                "partner_ids": f.Many2many(
                    "res.partner",
                    "res_partner_res_partner_category_rel",
                    "category_id",
                    "partner_id",
                    "Partners",
                ),
            },
        ),
        ModelDef(
            "res.users",
            "User",
            ResUsers,
            order="name, login",
            inherits={"res.partner": "partner_id"},
            extra_columns={"password": "TEXT"},
            fields={
                "partner_id": f.Many2one(
                    "res.partner",
                    "Related Partner",
                    required=True,
                    ondelete="restrict",
                    delegate=True,
                    copy=False,
                ),
                "login": f.Char(
                    "Login", required=True, help="Used to log into the system", copy=False
                ),
                "password": f.Char(
                    "Password",
                    compute=_password_compute,
                    inverse=_password_inverse,
                    copy=False,
                    help="Keep empty if you don't want the user to be able to "
                    "connect on the system.",
                ),
                "active": f.Boolean("Active", default=True),
                "share": f.Boolean(
                    "Share User",
                    readonly=True,
                    help="External user with limited access, created only for "
                    "the purpose of sharing data.",
                ),
                "company_id": f.Many2one(
                    "res.company",
                    "Company",
                    required=True,
                    default=_env_company,
                    ondelete="restrict",
                ),
                "company_ids": f.Many2many(
                    "res.company", "res_company_users_rel", "user_id", "cid", "Companies"
                ),
                "group_ids": f.Many2many(
                    "res.groups",
                    "res_groups_users_rel",
                    "uid",
                    "gid",
                    "Groups",
                    default=_xmlid_default("base.group_user", many=True),
                ),
                "all_group_ids": f.Many2many(
                    "res.groups",
                    "res_groups_users_rel",
                    "uid",
                    "gid",
                    "Groups and implied groups",
                    compute=_all_groups_compute,
                    search=_all_groups_search,
                ),
                "login_date": f.Datetime("Latest authentication", readonly=True),
                "signature": f.Html("Email Signature"),
                "api_key_ids": f.One2many("res.users.apikeys", "user_id", "API Keys"),
            },
        ),
        ModelDef(
            "res.users.apikeys",
            "Users API Keys",
            ResUsersApikeys,
            order="id",
            extra_columns={"key": "TEXT"},
            fields={
                "name": f.Char("Description", required=True, readonly=True),
                "user_id": f.Many2one(
                    "res.users", "User", required=True, readonly=True, ondelete="cascade"
                ),
                "scope": f.Char("Scope", readonly=True),
                "index": f.Char("Index", size=cred.API_KEY_INDEX_LENGTH, index=True),
                "expiration_date": f.Datetime("Expiration Date", readonly=True),
            },
        ),
        ModelDef(
            "res.groups",
            "Access Groups",
            ResGroups,
            order="name",
            rec_name="full_name",
            fields={
                "name": f.Char("Name", required=True, translate=True),
                "full_name": f.Char("Group Name", readonly=True),
                "privilege_id": f.Many2one("res.groups.privilege", "Privilege", index=True),
                "implied_ids": f.Many2many(
                    "res.groups",
                    "res_groups_implied_rel",
                    "gid",
                    "hid",
                    "Inherits",
                    help="Users of this group automatically inherit those groups",
                ),
                "user_ids": f.Many2many("res.users", "res_groups_users_rel", "gid", "uid", "Users"),
                "users": f.Many2many(
                    "res.users", "res_groups_users_rel", "gid", "uid", "Users (pre-19 name)"
                ),
                "comment": f.Text("Comment", translate=True),
                "share": f.Boolean("Share Group"),
                "sequence": f.Integer("Sequence"),
            },
        ),
        ModelDef(
            "res.groups.privilege",
            "Privileges",
            BaseModel,
            order="sequence, name, id",
            fields={
                "name": f.Char("Name", required=True, translate=True),
                "description": f.Text("Description"),
                "sequence": f.Integer("Sequence", default=100),
            },
        ),
        ModelDef(
            "res.company",
            "Companies",
            ResCompany,
            order="sequence, name",
            fields={
                "name": f.Char("Company Name", required=True),
                "partner_id": f.Many2one(
                    "res.partner", "Partner", required=True, ondelete="restrict"
                ),
                "currency_id": f.Many2one(
                    "res.currency", "Currency", required=True, default=_xmlid_default("base.USD")
                ),
                "sequence": f.Integer("Sequence", default=10),
                "parent_id": f.Many2one("res.company", "Parent Company", index=True),
                "child_ids": f.One2many("res.company", "parent_id", "Branches"),
                "email": f.Char("Email"),
                "phone": f.Char("Phone"),
                "active": f.Boolean("Active", default=True),
                "user_ids": f.Many2many(
                    "res.users", "res_company_users_rel", "cid", "user_id", "Accepted Users"
                ),
            },
        ),
        ModelDef(
            "res.currency",
            "Currency",
            BaseModel,
            order="active desc, name",
            fields={
                "name": f.Char("Currency", required=True, size=3),
                "full_name": f.Char("Name"),
                "symbol": f.Char("Symbol", required=True),
                "rounding": f.Float("Rounding Factor", default=0.01),
                "decimal_places": f.Integer("Decimal Places", default=2),
                "position": f.Selection(
                    [("after", "After Amount"), ("before", "Before Amount")],
                    "Symbol Position",
                    default="after",
                ),
                "active": f.Boolean("Active", default=True),
            },
        ),
        ModelDef(
            "ir.model.data",
            "Model Data",
            IrModelData,
            order="module, model, name",
            fields={
                "name": f.Char("External Identifier", required=True),
                "module": f.Char("Module", required=True, default=""),
                "model": f.Char("Model Name", required=True),
                "res_id": f.Integer("Record ID", index=True),
                "noupdate": f.Boolean("Non Updatable", default=False),
            },
        ),
        ModelDef(
            "ir.model.access",
            "Model Access",
            IrModelAccess,
            order="model_id, group_id, name, id",
            fields={
                "name": f.Char("Name", required=True, index=True),
                "active": f.Boolean("Active", default=True),
                "model_id": f.Many2one("ir.model", "Model", required=True, ondelete="cascade"),
                "group_id": f.Many2one("res.groups", "Group", ondelete="restrict"),
                "perm_read": f.Boolean("Read Access", default=False),
                "perm_write": f.Boolean("Write Access", default=False),
                "perm_create": f.Boolean("Create Access", default=False),
                "perm_unlink": f.Boolean("Delete Access", default=False),
            },
        ),
        ModelDef(
            "ir.rule",
            "Record Rule",
            IrRule,
            order="model_id DESC, id",
            fields={
                "name": f.Char("Name", index=True),
                "active": f.Boolean("Active", default=True),
                "model_id": f.Many2one(
                    "ir.model", "Model", required=True, ondelete="cascade", index=True
                ),
                "groups": f.Many2many(
                    "res.groups", "rule_group_rel", "rule_group_id", "group_id", "Groups"
                ),
                "domain_force": f.Text("Domain"),
                "global": f.Boolean(
                    "Global",
                    readonly=True,
                    default=True,
                    help="If no group is specified the rule is global and applied to everyone",
                ),
                "perm_read": f.Boolean("Read", default=True),
                "perm_write": f.Boolean("Write", default=True),
                "perm_create": f.Boolean("Create", default=True),
                "perm_unlink": f.Boolean("Delete", default=True),
            },
        ),
        ModelDef(
            "ir.default",
            "Default Values",
            BaseModel,
            fields={
                "field_id": f.Many2one(
                    "ir.model.fields", "Field", required=True, ondelete="cascade", index=True
                ),
                "json_value": f.Char("Default Value (JSON format)", required=True),
                "user_id": f.Many2one("res.users", "User", ondelete="cascade", index=True),
                "company_id": f.Many2one("res.company", "Company", ondelete="cascade", index=True),
                "condition": f.Char("Condition"),
            },
        ),
        ModelDef(
            "ir.config_parameter",
            "System Parameter",
            IrConfigParameter,
            order="key",
            rec_name="key",
            fields={
                "key": f.Char("Key", required=True, index=True),
                "value": f.Text("Value", required=True),
            },
        ),
        ModelDef(
            "ir.module.module",
            "Module",
            BaseModel,
            order="application desc, sequence, name",
            rec_name="shortdesc",
            fields={
                "name": f.Char("Technical Name", required=True, index=True, readonly=True),
                "shortdesc": f.Char("Module Name", readonly=True, translate=True),
                "summary": f.Char("Summary", readonly=True, translate=True),
                "author": f.Char("Author", readonly=True),
                "latest_version": f.Char("Installed Version", readonly=True),
                "application": f.Boolean("Application", readonly=True),
                "sequence": f.Integer("Sequence", default=100),
                "state": f.Selection(
                    [
                        ("uninstallable", "Uninstallable"),
                        ("uninstalled", "Not Installed"),
                        ("installed", "Installed"),
                        ("to upgrade", "To be upgraded"),
                        ("to remove", "To be removed"),
                        ("to install", "To be installed"),
                    ],
                    "Status",
                    readonly=True,
                    index=True,
                    default="uninstalled",
                ),
            },
        ),
    ]
