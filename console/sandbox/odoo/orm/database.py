"""A sandbox database: one SQLite connection, its registry, and the entry points the wire layer
calls (``authenticate``, ``call_kw``, ``call_json2`` ...).

Calls are serialized by a lock and each one is a transaction, committed when it returns and
rolled back entirely when it raises, so concurrent clients never lose writes.
"""

from __future__ import annotations

import hashlib
import inspect
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from console.sandbox.odoo.exceptions import AccessError, UnknownMethod, UnknownModel, UserError
from console.sandbox.odoo.orm import credentials as cred
from console.sandbox.odoo.orm.base_models import ResUsersApikeys
from console.sandbox.odoo.orm.environment import SUPERUSER_ID, Env, Transaction
from console.sandbox.odoo.orm.models import BaseModel
from console.sandbox.odoo.orm.registry import Registry
from console.sandbox.odoo.orm.runtime_schema import (
    create_tables,
    insert_model_rows,
    load_manual_schema,
)
from console.sandbox.odoo.orm.seed import seed_base, seed_core
from console.sandbox.odoo.orm.sql import unicode_ilike
from console.sandbox.odoo.orm.standard_models import standard_registry


def _private_method_error(model: str, method: str) -> AccessError:
    return AccessError(f"Private methods (such as '{model}.{method}') cannot be called remotely.")


def _public_method(records: BaseModel, model: str, method: str) -> Callable[..., Any]:
    """The RPC-callable function named ``method`` of a model, like Odoo's ``get_public_method``."""
    if method.startswith("_"):
        raise _private_method_error(model, method)
    function: Callable[..., Any] | None = getattr(type(records), method, None)
    if function is None or not callable(function) or not getattr(function, "_rpc", False):
        raise UnknownMethod(model, method)
    return function


def _secret_key(uid: int | None, secret: str) -> tuple[int | None, bytes]:
    # verified secrets are remembered by digest, not in clear
    return uid, hashlib.sha256(secret.encode("utf-8")).digest()


class Database:
    """An Odoo 19 database stand-in on SQLite (a file, or memory when ``path`` is None)."""

    def __init__(self, name: str, path: str | None = None, *, seed: bool = True) -> None:
        self.name = name
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None
        )
        self._conn.create_function("odoo_ilike", 2, unicode_ilike, deterministic=True)
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=OFF")  # the ORM applies Odoo's ondelete rules
        self._conn.execute("PRAGMA cache_size=-32000")
        #: verified (uid, password digest) -> True; cleared when credentials change
        self._verified: dict[tuple[int | None, bytes], int] = {}
        self.registry: Registry = standard_registry()
        is_new = (
            self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ir_model'"
            ).fetchone()
            is None
        )
        if is_new:
            self._initialize(seed)
        else:
            with self._lock:
                create_tables(self._conn, self.registry)  # columns added by newer sandboxes
                load_manual_schema(self._conn, self.registry)

    # ------------------------------------------------------------------ lifecycle
    def _initialize(self, seed: bool) -> None:
        with self.environment(SUPERUSER_ID) as env:
            create_tables(self._conn, self.registry)
            insert_model_rows(env, list(self.registry))
            seed_core(env)
            if seed:
                seed_base(env)

    def _reload_registry(self) -> None:
        registry = standard_registry()
        load_manual_schema(self._conn, registry)
        self.registry = registry

    def backdate(self, model: str, created: Mapping[int, str]) -> None:
        """Set ``create_date`` of records (id -> ``YYYY-MM-DD HH:MM:SS``) for seeding a world
        that has a past. Odoo sets ``create_date`` itself and no RPC can change it; this is the
        sandbox's own escape hatch, in-process only (never reachable over the wire)."""
        table = self.registry[model].table
        with self._transaction():
            self._conn.executemany(
                f'UPDATE "{table}" SET create_date = ? WHERE id = ?',
                [(stamp, record_id) for record_id, stamp in created.items()],
            )

    def close(self) -> None:
        """Close the connection (the file keeps everything committed)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        with self._lock:
            txn = Transaction(self._conn, self.registry)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield txn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if txn.schema_changed:
                    self._reload_registry()
                raise
            else:
                self._conn.execute("COMMIT")
                if txn.credentials_changed:
                    self._verified.clear()

    @contextmanager
    def environment(
        self, uid: int = SUPERUSER_ID, context: dict[str, Any] | None = None
    ) -> Iterator[Env]:
        """An environment for Python callers (seeding, tests): one transaction, committed at
        the end of the ``with`` block, rolled back on an exception."""
        with self._transaction() as txn:
            yield Env(txn, uid, context or {})

    # ------------------------------------------------------------------ credentials
    def authenticate(self, login: str, password: str) -> int | None:
        """The uid of an active user whose password (or one of whose API keys) is ``password``."""
        if not login or not password:
            return None
        with self.environment(SUPERUSER_ID) as env:
            row = env.execute(
                "SELECT id FROM res_users WHERE login = ? AND active = 1", (login,)
            ).fetchone()
            if row is None:
                return None
            uid = int(row[0])
            if not self._verify(env, uid, password):
                return None
            env.execute("UPDATE res_users SET login_date = ? WHERE id = ?", (env.txn.now, uid))
            return uid

    def check_credentials(self, uid: int, password: str) -> bool:
        """Whether ``password`` (or an API key) is valid for the active user ``uid``."""
        if not password or not isinstance(uid, int):
            return False
        key = _secret_key(uid, password)
        with self._lock:
            if key in self._verified:
                return True
            with self.environment(SUPERUSER_ID) as env:
                row = env.execute(
                    "SELECT 1 FROM res_users WHERE id = ? AND active = 1", (uid,)
                ).fetchone()
                ok = row is not None and self._verify(env, uid, password)
            if ok:
                self._verified[key] = uid
            return ok

    def api_key_uid(self, key: str) -> int | None:
        """The user a JSON-2 bearer API key belongs to, or None."""
        if not key:
            return None
        cache_key = _secret_key(None, key)
        with self._lock:
            if cache_key in self._verified:
                return self._verified[cache_key]
            with self.environment(SUPERUSER_ID) as env:
                uid = env.typed("res.users.apikeys", ResUsersApikeys)._check_credentials(key)
            if uid is not None:
                self._verified[cache_key] = uid
            return uid

    @staticmethod
    def _verify(env: Env, uid: int, secret: str) -> bool:
        row = env.execute("SELECT password FROM res_users WHERE id = ?", (uid,)).fetchone()
        if row is not None and cred.verify_secret(secret, row[0]):
            return True
        keys = env.typed("res.users.apikeys", ResUsersApikeys)
        return keys._check_credentials(secret, uid) is not None

    def generate_api_key(self, uid: int, name: str = "API key") -> str:
        """A new API key for ``uid`` (what the preferences wizard hands out)."""
        with self.environment(SUPERUSER_ID) as env:
            return env.typed("res.users.apikeys", ResUsersApikeys)._generate(uid, name)

    # ------------------------------------------------------------------ RPC entry points
    def call_kw(
        self, uid: int, model: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        """Odoo's ``call_kw`` in one transaction; the result is JSON-able."""
        with self._transaction() as txn:
            if model not in txn.registry:
                raise UnknownModel(model)
            kwargs = dict(kwargs or {})
            context = kwargs.pop("context", None) or {}
            if not isinstance(context, dict):
                raise TypeError(f"context must be a dictionary, not {type(context).__name__}")
            env = Env(txn, uid, context)
            records = env[model]
            function = _public_method(records, model, method)
            args = list(args or [])
            if getattr(function, "_api_model", False):
                result = function(records, *args, **kwargs)
            else:
                ids, rest = args[0], args[1:]  # IndexError without ids, as in Odoo
                result = function(records.browse(ids), *rest, **kwargs)
            if isinstance(result, BaseModel):
                if method == "create" and args and isinstance(args[0], dict):
                    return result.ids[0] if result.ids else False
                return result.ids
            return result

    def call_json2(self, uid: int, model: str, method: str, params: dict[str, Any]) -> Any:
        """Odoo 19's JSON-2 call: named parameters, ``ids`` and ``context`` apart."""
        with self._transaction() as txn:
            if model not in txn.registry:
                raise UnknownModel(model)
            params = dict(params)
            ids = params.pop("ids", None)
            context = params.pop("context", None) or {}
            if not isinstance(context, dict):
                raise UserError("context must be a JSON object")
            env = Env(txn, uid, context)
            records = env[model]
            function = _public_method(records, model, method)
            if getattr(function, "_api_model", False):
                if ids:
                    raise UserError(f"cannot call {model}.{method} with ids")
                target = records
            else:
                target = records.browse(ids or [])
            try:
                bound = inspect.signature(function).bind(target, **params)
            except TypeError as exc:
                raise UserError(str(exc)) from exc
            result = function(*bound.args, **bound.kwargs)
            if isinstance(result, BaseModel):
                return result.ids
            return result
