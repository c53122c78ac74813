"""The environment of one call: cursor, registry, user, context and superuser flag.

Like Odoo's ``api.Environment``, an :class:`Env` is cheap to derive (``sudo()``,
``with_context()``); all the environments of one RPC call share one :class:`Transaction`, which
holds what may be cached for the duration of that call only.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import TYPE_CHECKING, Any, TypeVar

from console.sandbox.odoo.orm.registry import Registry

if TYPE_CHECKING:
    from console.sandbox.odoo.orm.models import BaseModel

SUPERUSER_ID = 1
M = TypeVar("M", bound="BaseModel")


class Transaction:
    """What the environments of one call share: the cursor, the registry and call-local caches."""

    def __init__(self, cr: sqlite3.Connection, registry: Registry) -> None:
        self.cr = cr
        self.registry = registry
        #: one timestamp per transaction, like PostgreSQL's ``now()`` that Odoo stamps with
        self.now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        #: group memberships, ACL answers and rule domains; cleared when security data changes
        self.security_cache: dict[Any, Any] = {}
        #: set when the call changed models or fields (the registry is rebuilt on rollback)
        self.schema_changed = False
        #: set when passwords, API keys, logins or user activity changed (drops verified logins)
        self.credentials_changed = False


class Env:
    """Who calls, with which context, and whether access checks apply."""

    __slots__ = ("context", "su", "txn", "uid")

    def __init__(
        self,
        txn: Transaction,
        uid: int,
        context: dict[str, Any] | None = None,
        su: bool | None = None,
    ) -> None:
        self.txn = txn
        self.uid = uid
        self.context: dict[str, Any] = dict(context or {})
        self.su = (uid == SUPERUSER_ID) if su is None else su

    @property
    def cr(self) -> sqlite3.Connection:
        return self.txn.cr

    @property
    def registry(self) -> Registry:
        return self.txn.registry

    def __contains__(self, model: str) -> bool:
        return model in self.txn.registry

    def __getitem__(self, model: str) -> BaseModel:
        definition = self.txn.registry[model]
        return definition.cls(self, definition, ())

    def typed(self, model: str, cls: type[M]) -> M:
        """``self[model]`` as its model-specific class (for its internal methods)."""
        records = self[model]
        if not isinstance(records, cls):
            raise TypeError(f"{model} is a {type(records).__name__}, not a {cls.__name__}")
        return records

    def sudo(self, flag: bool = True) -> Env:
        return Env(self.txn, self.uid, self.context, su=flag)

    def with_context(self, context: dict[str, Any] | None = None, **overrides: Any) -> Env:
        new_context = dict(self.context if context is None else context)
        new_context.update(overrides)
        return Env(self.txn, self.uid, new_context, su=self.su)

    def execute(self, code: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Cursor:
        return self.txn.cr.execute(code, params)

    # ------------------------------------------------------------------ the current user
    @property
    def user(self) -> BaseModel:
        return self["res.users"].browse([self.uid])

    def user_company_ids(self) -> list[int]:
        """``env.companies.ids``: the user's companies, narrowed by ``allowed_company_ids``."""
        key = ("companies", self.uid)
        cache = self.txn.security_cache
        if key not in cache:
            rows = self.execute(
                "SELECT cid FROM res_company_users_rel WHERE user_id = ? ORDER BY cid", (self.uid,)
            ).fetchall()
            cache[key] = [row[0] for row in rows]
        companies: list[int] = list(cache[key])
        allowed = self.context.get("allowed_company_ids")
        if isinstance(allowed, list) and allowed:
            narrowed = [cid for cid in allowed if cid in companies]
            if narrowed:
                return narrowed
        return companies

    def user_company_id(self) -> int | None:
        """``env.company.id``: the first allowed company, else the user's main company."""
        allowed = self.context.get("allowed_company_ids")
        companies = self.user_company_ids()
        if isinstance(allowed, list) and allowed and companies:
            return companies[0]
        row = self.execute("SELECT company_id FROM res_users WHERE id = ?", (self.uid,)).fetchone()
        if row and row[0]:
            return int(row[0])
        return companies[0] if companies else None

    def ref(self, xmlid: str, raise_if_not_found: bool = True) -> BaseModel | None:
        """The record of an external id such as ``base.main_company``."""
        module, _, name = xmlid.partition(".")
        row = self.execute(
            "SELECT model, res_id FROM ir_model_data WHERE module = ? AND name = ?", (module, name)
        ).fetchone()
        if row is None or row[0] not in self.txn.registry:
            if raise_if_not_found:
                raise ValueError(f"External ID not found in the system: {xmlid}")
            return None
        return self[row[0]].browse([row[1]])
