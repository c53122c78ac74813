"""The served SA world the access tests share, with one odoorpc client per login."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import odoorpc

from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.sa_fixture import SaWorldIds


@dataclass
class SaWorld:
    """The served world: ids by kind and key, and a logged-in odoorpc client per login."""

    url: str
    host: str
    port: int
    db_name: str
    database: Database
    ids: SaWorldIds
    _clients: dict[str, odoorpc.ODOO] = field(default_factory=dict)

    def client(self, login: str) -> odoorpc.ODOO:
        """An odoorpc client logged in as ``login`` (password = login)."""
        if login not in self._clients:
            client = odoorpc.ODOO(self.host, port=self.port, timeout=30)
            client.login(self.db_name, login, login)
            self._clients[login] = client
        return self._clients[login]

    def uid(self, login: str) -> int:
        return self.ids["users"][login]

    def search(self, login: str, model: str, domain: list[Any]) -> set[int]:
        """What ``login`` finds with ``domain`` over the wire."""
        ids: list[int] = self.client(login).execute_kw(model, "search", [domain])
        return set(ids)

    def search_unrestricted(self, model: str, domain: list[Any]) -> set[int]:
        """What the domain matches with no access rules at all (the superuser, in-process)."""
        ids: list[int] = self.database.call_kw(SUPERUSER_ID, model, "search", [domain], {})
        return set(ids)

    def keys(self, kind: str, ids: set[int]) -> set[str]:
        """The world keys of ``ids`` (ids the world did not create show as ``#<id>``)."""
        by_id = {record_id: key for key, record_id in self.ids[kind].items()}
        return {by_id.get(record_id, f"#{record_id}") for record_id in ids}
