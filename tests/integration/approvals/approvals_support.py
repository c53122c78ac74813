"""The approvals world: a sandbox Odoo with the small world and the Pulseway stand-in, served
on loopback, with a fault injector in front of the stand-in (HTTP 500s, lost answers)."""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass, field
from typing import Any

import odoorpc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.domain.retry import RetryPolicy
from console.sandbox.odoo.orm import SUPERUSER_ID
from console.sandbox.world import World
from console.sandbox.world_loader import SERVICE_LOGIN, SERVICE_PASSWORD

TOKEN_ID = "sandbox-token-id"
TOKEN_SECRET = "sandbox-token-secret"
PARTNER = "res.partner"


@dataclass
class Rule:
    method: str
    path_part: str
    times: int
    status: int | None = None  # answer this instead of passing the request on
    lose_answer_for: float | None = None  # pass on, then hold the answer back this long


class FaultInjector:
    """ASGI middleware: records every request that reaches the stand-in and injects faults.

    ``fail`` answers with an error envelope *without* passing the request on (nothing happens
    in Pulseway); ``lose_answer`` passes the request on (it takes effect) and holds the answer
    back longer than the client waits — the "did it go through?" case retries must survive.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.rules: list[Rule] = []
        self.reached: list[tuple[str, str]] = []  # requests the stand-in handled
        self.failed: list[tuple[str, str]] = []  # requests answered by a fault

    def fail(self, method: str, path_part: str, *, status: int = 500, times: int = 1) -> None:
        self.rules.append(Rule(method, path_part.lower(), times, status=status))

    def lose_answer(self, method: str, path_part: str, seconds: float, *, times: int = 1) -> None:
        self.rules.append(Rule(method, path_part.lower(), times, lose_answer_for=seconds))

    def count(self, method: str, path_part: str) -> int:
        """Requests of ``method`` whose path contains ``path_part`` that reached the stand-in."""
        return sum(1 for m, p in self.reached if m == method and path_part.lower() in p)

    def _rule(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.times > 0 and rule.method == method and rule.path_part in path:
                rule.times -= 1
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"].lower()
        rule = self._rule(method, path)
        if rule is not None and rule.status is not None:
            self.failed.append((method, path))
            body = (
                b'{"Data":null,"Meta":{"ResponseCode":%d,"ErrorMessage":"Injected failure"}}'
                % rule.status
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": rule.status,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        self.reached.append((method, path))
        if rule is None or rule.lose_answer_for is None:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(rule.lose_answer_for)
        for message in held:
            await send(message)


@dataclass
class Served:
    """Everything a test talks to."""

    world: World
    database: Any
    odoo_url: str
    pulseway_url: str  # …/v3
    faults: FaultInjector
    standin: Any  # PulsewayStandIn (app.state.pulseway)
    _clients: dict[str, odoorpc.ODOO] = field(default_factory=dict)

    def client(self, login: str) -> odoorpc.ODOO:
        """odoorpc logged in as ``login`` (password = login, as in the demo world)."""
        if login not in self._clients:
            from urllib.parse import urlparse

            parsed = urlparse(self.odoo_url)
            client = odoorpc.ODOO(parsed.hostname, port=parsed.port, timeout=30)
            client.login("psa", login, login)
            self._clients[login] = client
        return self._clients[login]

    def sudo(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call the ORM in-process as the superuser (checks that bypass access rules)."""
        return self.database.call_kw(SUPERUSER_ID, model, method, list(args), kwargs)

    def service_account(self) -> tuple[str, str]:
        """The world's relay service account (psa.group_service, as DESIGN §6 asks): not
        narrowed by the console's record rules, so it sees companies no SA has yet."""
        self.client(SERVICE_LOGIN)  # it exists and signs in
        return SERVICE_LOGIN, SERVICE_PASSWORD

    def partner(self, partner_id: int) -> dict[str, Any]:
        [row] = self.sudo(
            PARTNER,
            "read",
            [partner_id],
            fields=["name", "x_pulseway_sync_state", "x_pulseway_org_id", "x_sa_client_ids"],
        )
        return dict(row)

    def partner_id(self, name: str) -> int:
        [partner_id] = self.sudo(PARTNER, "search", [["name", "=", name]])
        return int(partner_id)

    def chatter(self, partner_id: int) -> list[str]:
        """The partner's chatter messages as plain text, oldest first."""
        rows = self.sudo(
            "mail.message",
            "search_read",
            [["model", "=", PARTNER], ["res_id", "=", partner_id]],
            fields=["body"],
            order="id asc",
        )
        return [html.unescape(re.sub(r"<[^>]+>", "", str(r["body"]))) for r in rows]

    def stamp(self, org_id: int) -> str | None:
        """The "Odoo Partner ID" custom field value on an organization in the stand-in."""
        org = self.world.pulseway.organizations[org_id]
        field_id = next(
            f.id for f in self.world.pulseway.custom_fields.values() if f.name == "Odoo Partner ID"
        )
        return org.custom_fields.get(field_id)


def instant_retries(attempts: int = 3) -> RetryPolicy:
    """A retry policy that does not wait (the sleeps are recorded, not slept)."""

    async def no_sleep(_seconds: float) -> None:
        await asyncio.sleep(0)

    return RetryPolicy(max_attempts=attempts, base_delay=0.01, sleep=no_sleep)
