"""Who is asking: console sessions (Odoo login → SA scope → bearer token) and the admin token.

``POST /api/session`` hands a login and password to a :class:`SessionAuthority`. The one that
talks to Odoo checks the password with Odoo itself (``common.login``), then reads the user's
Serviced Account memberships with the relay's own service account, because an ordinary user
may not be allowed to read ``x_sa_membership``. The result is a :class:`Principal`; the relay
gives out a random bearer token bound to it (kept in memory, expiring) and filters the stream
through :meth:`Principal.can_see`.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx

#: Roles of ``x_sa_membership.x_role``; dispatchers and managers also see unmatched events.
TECHNICIAN: Final = "technician"
DISPATCHER: Final = "dispatcher"
MANAGER: Final = "manager"
ROLES_SEEING_UNMATCHED: Final = frozenset({DISPATCHER, MANAGER})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller and what it may see.

    ``sa_ids`` is the full scope (a manager role already extended to the SA's descendants).
    ``all_sas`` is for the admin token, and for every user while Odoo has no SA model yet
    (nothing to scope by, as in Odoo itself). ``sees_unmatched``: events with no SA.
    """

    login: str
    uid: int
    name: str
    sa_ids: tuple[int, ...]
    roles: tuple[str, ...]
    sees_unmatched: bool
    all_sas: bool = False

    def can_see(self, event_sa_ids: Iterable[int]) -> bool:
        """Whether an event stamped with ``event_sa_ids`` (empty: unmatched) is visible."""
        sa_ids = tuple(event_sa_ids)
        if not sa_ids:
            return self.sees_unmatched
        return self.all_sas or not set(sa_ids).isdisjoint(self.sa_ids)

    def can_act_in(self, sa_id: int) -> bool:
        """Whether this caller may stamp or assign ``sa_id``."""
        return self.all_sas or sa_id in self.sa_ids

    @property
    def scope_key(self) -> tuple[bool, bool, frozenset[int]]:
        """Callers with equal keys see exactly the same events (the hub filters once per key)."""
        return (self.all_sas, self.sees_unmatched, frozenset(self.sa_ids))

    def to_json(self) -> dict[str, Any]:
        """JSON form returned with a new session."""
        return {
            "login": self.login,
            "uid": self.uid,
            "name": self.name,
            "sa_ids": list(self.sa_ids),
            "roles": list(self.roles),
            "sees_unmatched": self.sees_unmatched,
            "all_sas": self.all_sas,
        }


#: The principal of a bearer equal to PSA_RELAY_ADMIN_TOKEN (operators, the NOC wall).
ADMIN: Final = Principal(
    login="admin-token",
    uid=0,
    name="Relay administrator",
    sa_ids=(),
    roles=("admin",),
    sees_unmatched=True,
    all_sas=True,
)


class SessionRefused(Exception):
    """A login the relay cannot turn into a session; ``str()`` is meant for the user.

    ``status`` is the HTTP status ``POST /api/session`` answers with: 401 wrong credentials,
    403 no SA membership, 503 Odoo not configured or not reachable.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SessionAuthority(Protocol):
    """Turns a login and password into a :class:`Principal`."""

    async def open_session(self, login: str, password: str) -> Principal:
        """Verify the credentials and resolve the scope; raises :class:`SessionRefused`."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class NoOdooAuthority:
    """The authority of a relay without Odoo settings: ingest works, sessions do not."""

    MESSAGE: Final = (
        "This relay has no Odoo connection configured, so it cannot check logins. Set "
        "PSA_ODOO_URL, PSA_ODOO_DB, PSA_ODOO_USER and PSA_ODOO_PASSWORD (the relay's service "
        "account) or the [odoo] section of its config file, then restart it."
    )

    async def open_session(self, login: str, password: str) -> Principal:
        """Always refuses, with a message that says what to configure."""
        raise SessionRefused(503, self.MESSAGE)

    async def aclose(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True, slots=True)
class Membership:
    """One ``x_sa_membership`` row: a user's role in one SA."""

    sa_id: int
    role: str


def resolve_scope(
    memberships: Iterable[Membership], parents: Mapping[int, int | None]
) -> tuple[tuple[int, ...], tuple[str, ...], bool]:
    """``(sa_ids, roles, sees_unmatched)`` of a user from their memberships.

    A manager role on an SA extends to all its descendants (``parents`` maps each SA to its
    ``x_parent_id``); other roles cover their own SA only. Unknown roles grant the SA but no
    extra rights.
    """
    children: dict[int, list[int]] = {}
    for sa_id, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(sa_id)
    scope: set[int] = set()
    roles: set[str] = set()
    for membership in memberships:
        roles.add(membership.role)
        scope.add(membership.sa_id)
        if membership.role == MANAGER:
            pending = list(children.get(membership.sa_id, ()))
            while pending:
                child = pending.pop()
                if child not in scope:
                    scope.add(child)
                    pending.extend(children.get(child, ()))
    return tuple(sorted(scope)), tuple(sorted(roles)), bool(roles & ROLES_SEEING_UNMATCHED)


class OdooRpcFailed(Exception):
    """Odoo answered a JSON-RPC call with an error object."""


class OdooSessionAuthority:
    """Checks logins against Odoo over JSON-RPC and resolves SA scope with a service account."""

    def __init__(
        self,
        url: str,
        db: str,
        service_user: str,
        service_password: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.db = db
        self._service_user = service_user
        self._service_password = service_password
        self._service_uid: int | None = None
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._ids = itertools.count(1)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def _call(self, service: str, method: str, *args: Any) -> Any:
        request = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(self._ids),
        }
        try:
            response = await self._client.post(f"{self.url}/jsonrpc", json=request)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SessionRefused(
                503,
                f"Cannot reach Odoo at {self.url} to check the login ({exc}). Try again "
                "later; if it persists, check the relay's PSA_ODOO_URL.",
            ) from exc
        if not isinstance(answer, dict):
            raise SessionRefused(503, f"Odoo at {self.url} sent an unexpected answer")
        error = answer.get("error")
        if error is not None:
            data = error.get("data") if isinstance(error, dict) else None
            message = data.get("message") if isinstance(data, dict) else None
            raise OdooRpcFailed(str(message or error))
        return answer.get("result")

    async def _execute(
        self, uid: int, password: str, model: str, method: str, *args: Any, **kwargs: Any
    ) -> Any:
        return await self._call(
            "object", "execute_kw", self.db, uid, password, model, method, list(args), kwargs
        )

    async def _service(self) -> int:
        if self._service_uid is None:
            uid = await self._call(
                "common", "login", self.db, self._service_user, self._service_password
            )
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise SessionRefused(
                    503,
                    f"Odoo refuses the relay's service account {self._service_user!r} on "
                    f"database {self.db!r}; fix PSA_ODOO_USER / PSA_ODOO_PASSWORD on the relay.",
                )
            self._service_uid = uid
        return self._service_uid

    async def open_session(self, login: str, password: str) -> Principal:
        """Verify ``login``/``password`` with Odoo and resolve the user's SA scope."""
        if not login or not password:
            raise SessionRefused(401, "Enter your Odoo login and password.")
        try:
            uid = await self._call("common", "login", self.db, login, password)
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise SessionRefused(401, "Odoo refused this login and password.")
            users = await self._execute(uid, password, "res.users", "read", [uid], fields=["name"])
            name = str(users[0]["name"]) if users else login
            service_uid = await self._service()
            return await self._principal(service_uid, login, uid, name)
        except OdooRpcFailed as exc:
            raise SessionRefused(503, f"Odoo could not resolve this session: {exc}") from exc

    async def _principal(self, service_uid: int, login: str, uid: int, name: str) -> Principal:
        svc = self._service_password
        has_sa_model = await self._execute(
            service_uid, svc, "ir.model", "search_count", [("model", "=", "x_sa_membership")]
        )
        if not has_sa_model:
            # No SA governance provisioned yet: Odoo itself scopes nothing, so neither do we.
            return Principal(login, uid, name, (), (), sees_unmatched=True, all_sas=True)
        rows = await self._execute(
            service_uid,
            svc,
            "x_sa_membership",
            "search_read",
            [("x_user_id", "=", uid)],
            fields=["x_sa_id", "x_role"],
        )
        memberships = [
            Membership(_many2one_id(row["x_sa_id"]), str(row.get("x_role") or TECHNICIAN))
            for row in rows
            if _many2one_id(row.get("x_sa_id"))
        ]
        if not memberships:
            raise SessionRefused(
                403,
                f"{login} has no Serviced Account membership, so there is nothing to show. "
                "Ask a manager to add you to an SA in Odoo.",
            )
        parents: dict[int, int | None] = {}
        if any(m.role == MANAGER for m in memberships):
            sas = await self._execute(
                service_uid, svc, "x_sa", "search_read", [], fields=["x_parent_id"]
            )
            parents = {int(r["id"]): _many2one_id(r.get("x_parent_id")) or None for r in sas}
        sa_ids, roles, sees_unmatched = resolve_scope(memberships, parents)
        return Principal(login, uid, name, sa_ids, roles, sees_unmatched)


def _many2one_id(value: object) -> int:
    """The id of a many2one value as Odoo reads it (``[id, name]``, ``id`` or ``False``)."""
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A bearer token and when it stops working (epoch seconds)."""

    token: str
    expires_at: float


class SessionStore(Protocol):
    """Where sessions live: the relay's event store, shared by all its processes/instances."""

    async def save_session(
        self, token_hash: str, principal: Mapping[str, Any], expires_at: float
    ) -> None: ...

    async def load_session(self, token_hash: str) -> tuple[dict[str, Any], float] | None: ...

    async def delete_session(self, token_hash: str) -> None: ...


def principal_from_json(data: Mapping[str, Any]) -> Principal:
    """The inverse of :meth:`Principal.to_json`."""
    return Principal(
        login=str(data["login"]),
        uid=int(data["uid"]),
        name=str(data["name"]),
        sa_ids=tuple(int(s) for s in data["sa_ids"]),
        roles=tuple(str(r) for r in data["roles"]),
        sees_unmatched=bool(data["sees_unmatched"]),
        all_sas=bool(data.get("all_sas", False)),
    )


def token_hash(token: str) -> str:
    """What the store keeps instead of the token: a leaked database grants no session."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionTokens:
    """Random bearer tokens bound to principals, expiring after ``ttl_seconds``.

    Kept in the relay's store (hashed), not in process memory, because every process of a
    multi-worker relay and every instance behind a load balancer must accept a token any of
    them issued; a side effect is that consoles stay logged in across a relay restart.
    """

    def __init__(
        self, store: SessionStore, ttl_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._store = store
        self._clock = clock

    async def issue(self, principal: Principal) -> IssuedToken:
        """A new token for ``principal``."""
        token = secrets.token_urlsafe(32)
        expires_at = self._clock() + self.ttl_seconds
        await self._store.save_session(token_hash(token), principal.to_json(), expires_at)
        return IssuedToken(token, expires_at)

    async def lookup(self, token: str) -> Principal | None:
        """The principal of a live token, or None (unknown or expired)."""
        found = await self._store.load_session(token_hash(token))
        if found is None:
            return None
        data, expires_at = found
        if self._clock() >= expires_at:
            return None
        return principal_from_json(data)

    async def revoke(self, token: str) -> None:
        """Forget ``token``."""
        await self._store.delete_session(token_hash(token))
