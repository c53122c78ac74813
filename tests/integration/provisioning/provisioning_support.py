"""Helpers for the provisioning tests: connections, a recording gateway, superuser shortcuts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from console.odoo.gateway import OdooGateway
from console.sandbox.odoo.orm import SUPERUSER_ID

T = TypeVar("T")

#: ORM methods that change data
WRITE_METHODS = frozenset({"create", "write", "unlink"})


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run one async scenario to completion."""

    async def main() -> T:
        return await factory()

    return asyncio.run(main())


async def connect(odoo: Any, login: str = "admin", password: str = "admin") -> OdooGateway:
    """A gateway logged in to the sandbox over real HTTP."""
    return await OdooGateway.connect(odoo.url, odoo.db_name, login, password)


class RecordingGateway:
    """Passes calls through to a gateway and remembers ``(model, method)`` of each."""

    def __init__(self, gateway: OdooGateway) -> None:
        self.gateway = gateway
        self.calls: list[tuple[str, str]] = []

    @property
    def user(self) -> Any:
        return self.gateway.user

    def operation(self, name: str) -> contextlib.AbstractContextManager[None]:
        return self.gateway.operation(name)

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((model, method))
        return await self.gateway.call(model, method, *args, **kwargs)

    @property
    def writes(self) -> list[tuple[str, str]]:
        """The calls that changed something."""
        return [call for call in self.calls if call[1] in WRITE_METHODS]


def su(odoo: Any, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """``call_kw`` as the superuser, in-process: what a test does behind provision's back."""
    return odoo.database.call_kw(SUPERUSER_ID, model, method, list(args), kwargs)


def su_ids(odoo: Any, model: str, domain: list[Any]) -> list[int]:
    """Ids matching ``domain`` as the superuser, archived ones included."""
    ids: list[int] = su(odoo, model, "search", domain, context={"active_test": False})
    return ids


def field_id(odoo: Any, model: str, name: str) -> int:
    """The ``ir.model.fields`` id of ``model.name``."""
    [found] = su_ids(odoo, "ir.model.fields", [("model", "=", model), ("name", "=", name)])
    return found


def create_user(odoo: Any, login: str, *, name: str | None = None) -> int:
    """An internal user whose password is its login."""
    uid: int = su(
        odoo,
        "res.users",
        "create",
        {"name": name or login.title(), "login": login, "password": login},
    )
    return uid


def user_group_xmlids(odoo: Any, uid: int, module: str = "psa") -> set[str]:
    """The ``module`` groups ``uid`` holds directly, as xmlids."""
    [user] = su(odoo, "res.users", "read", [uid], ["group_ids"])
    rows = su(
        odoo,
        "ir.model.data",
        "search_read",
        [
            ("module", "=", module),
            ("model", "=", "res.groups"),
            ("res_id", "in", user["group_ids"]),
        ],
        fields=["name"],
    )
    return {f"{module}.{row['name']}" for row in rows}
