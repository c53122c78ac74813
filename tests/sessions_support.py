"""A relay SessionAuthority with fixed users, for tests that do not need Odoo logins."""

from __future__ import annotations

from console.relay.sessions import Principal, SessionRefused


class StaticAuthority:
    """Fixed console users: login -> (password, principal)."""

    def __init__(self, users: dict[str, tuple[str, Principal]]) -> None:
        self.users = users

    async def open_session(self, login: str, password: str) -> Principal:
        entry = self.users.get(login)
        if entry is None or entry[0] != password:
            raise SessionRefused(401, "Odoo refused this login and password.")
        return entry[1]

    async def aclose(self) -> None:
        return None
