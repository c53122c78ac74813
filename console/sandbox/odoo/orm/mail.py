"""Chatter: ``mail.thread``'s ``message_post`` and the ``mail.message`` model behind it."""

from __future__ import annotations

from typing import Any

from console.sandbox.odoo.orm import fields as f
from console.sandbox.odoo.orm.models import BaseModel, normalize_ids, public
from console.sandbox.odoo.orm.registry import ModelDef

MESSAGE_TYPES = [
    ("email", "Incoming Email"),
    ("comment", "Comment"),
    ("notification", "System notification"),
    ("auto_comment", "Automated Targeted Notification"),
    ("user_notification", "User Specific Notification"),
    ("email_outgoing", "Outgoing Email"),
]


def escape_html(text: str) -> str:
    """``markupsafe.escape``: what Odoo does to a plain-text body posted over RPC."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def _message_ids_compute(records: BaseModel) -> dict[int, Any]:
    if not records.ids:
        return {}
    marks = ",".join("?" * len(records.ids))
    values: dict[int, list[int]] = {}
    for res_id, message_id in records.env.execute(
        f"SELECT res_id, id FROM mail_message WHERE model = ? AND res_id IN ({marks}) "
        "ORDER BY id DESC",
        (records._name, *records.ids),
    ):
        values.setdefault(res_id, []).append(message_id)
    return values


def _message_ids_search(model: BaseModel, operator: str, value: Any) -> list[Any]:
    messages = model.env["mail.message"]
    if operator == "any":
        domain = [("model", "=", model._name), *(value or [])]
    elif operator == "in":
        ids = [v for v in value if v]
        if len(ids) != len(value):
            has = messages._search([("model", "=", model._name)])
            res_ids = {r["res_id"] for r in messages.sudo()._read_rows(has, ["res_id"], None)}
            return ["!", ("id", "in", sorted(res_ids))]
        domain = [("model", "=", model._name), ("id", "in", ids)]
    else:
        raise ValueError(f"Operator {operator!r} is not supported on message_ids")
    found = messages._search(domain)
    rows = messages.sudo()._read_rows(found, ["res_id"], None)
    return [("id", "in", sorted({row["res_id"] for row in rows if row["res_id"]}))]


def thread_fields() -> dict[str, f.Field]:
    """Fields every ``mail.thread`` model gets."""
    return {
        "message_ids": f.One2many(
            "mail.message",
            "res_id",
            "Messages",
            compute=_message_ids_compute,
            search=_message_ids_search,
        ),
    }


class MailThread(BaseModel):
    """``mail.thread``: records with a chatter."""

    __slots__ = ()
    #: the access needed on the document to post on it (Odoo's ``_mail_post_access``)
    _mail_post_access = "write"

    @public
    def message_post(
        self,
        *,
        body: Any = "",
        subject: Any = None,
        message_type: str = "notification",
        email_from: Any = None,
        author_id: Any = None,
        parent_id: Any = False,
        subtype_xmlid: Any = None,
        subtype_id: Any = False,
        partner_ids: Any = None,
        attachments: Any = None,
        attachment_ids: Any = None,
        body_is_html: bool = False,
        **kwargs: Any,
    ) -> BaseModel:
        """Post a message in the chatter of one record; the new ``mail.message``."""
        self.ensure_one()
        self.check_access(self._mail_post_access)
        if message_type not in {key for key, _label in MESSAGE_TYPES}:
            raise ValueError(f"Wrong value for mail.message.message_type: {message_type!r}")
        env = self.env
        text = "" if body is None or body is False else str(body)
        html = text if body_is_html else escape_html(text)
        if not subtype_id:
            subtype = env.ref(subtype_xmlid or "mail.mt_note", raise_if_not_found=False)
            subtype_id = subtype.ids[0] if subtype else False
        if not author_id:
            row = env.execute(
                "SELECT partner_id FROM res_users WHERE id = ?", (env.uid,)
            ).fetchone()
            author_id = row[0] if row else False
        record_name = self.sudo()._display_names(self.ids).get(self.ids[0], False)
        vals = {
            "model": self._name,
            "res_id": self.ids[0],
            "body": html,
            "subject": subject or False,
            "message_type": message_type,
            "subtype_id": subtype_id,
            "author_id": author_id,
            "email_from": email_from or False,
            "parent_id": parent_id or False,
            "record_name": record_name,
            "partner_ids": [(6, 0, normalize_ids(partner_ids or []))],
        }
        # Odoo creates the message as superuser once the document access is checked
        return env["mail.message"].sudo()._create([vals]).with_env(env)


class MailMessage(BaseModel):
    __slots__ = ()

    def _display_names(self, ids: list[int]) -> dict[int, Any]:
        rows = self.sudo()._read_rows(ids, ["subject", "record_name"], None)
        return {row["id"]: row["subject"] or row["record_name"] or False for row in rows}


def definitions() -> list[ModelDef]:
    return [
        ModelDef(
            "mail.message",
            "Message",
            MailMessage,
            module="mail",
            order="id desc",
            rec_name="subject",
            fields={
                "subject": f.Char("Subject"),
                "body": f.Html("Contents", default=""),
                "model": f.Char("Related Document Model", index=True),
                "res_id": f.Integer("Related Document ID", index=True),
                "record_name": f.Char("Message Record Name"),
                "message_type": f.Selection(
                    MESSAGE_TYPES, "Type", required=True, default="comment"
                ),
                "subtype_id": f.Many2one("mail.message.subtype", "Subtype", ondelete="set null"),
                "author_id": f.Many2one("res.partner", "Author", ondelete="set null"),
                "email_from": f.Char("From"),
                "date": f.Datetime("Date", default=lambda m: m.env.txn.now),
                "parent_id": f.Many2one("mail.message", "Parent Message", ondelete="set null"),
                "partner_ids": f.Many2many(
                    "res.partner",
                    "mail_message_res_partner_rel",
                    "mail_message_id",
                    "res_partner_id",
                    "Recipients",
                ),
            },
        ),
        ModelDef(
            "mail.message.subtype",
            "Message subtypes",
            BaseModel,
            module="mail",
            order="sequence, id",
            fields={
                "name": f.Char("Message Type", required=True, translate=True),
                "description": f.Text("Description", translate=True),
                "internal": f.Boolean("Internal Only"),
                "default": f.Boolean("Default", default=True),
                "sequence": f.Integer("Sequence", default=1),
                "res_model": f.Char("Model"),
                "hidden": f.Boolean("Hidden"),
            },
        ),
    ]
