"""The rules worker's test world: the Northwind IT SA world served on loopback, a relay with
the worker signed in as a dedicated service account, and helpers to feed and wait."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import odoorpc

from console.domain.alerts import alert_dedupe_key
from console.relay.app import RelayApp
from console.relay.config import OdooServiceAccount, RelayConfig, RulesSettings
from console.relay.events import AppendResult, CursorStore, EventSink, IncomingEvent
from console.relay.rules_worker import RulesWorker
from console.relay.serving import BackgroundRelay
from console.relay.sessions import Principal
from console.relay.sqlite_store import SqliteEventStore
from console.relay.store import EventStore
from console.sandbox.odoo.orm import SUPERUSER_ID, Database
from console.sandbox.odoo.server import OdooServer
from console.sandbox.sa_fixture import build_sa_world
from console.sandbox.serving import BackgroundServer
from tests.sessions_support import StaticAuthority

SECRET = "rules-test-secret"
ADMIN_TOKEN = "rules-admin-token"
SERVICE_LOGIN = "psa-relay"

_notification_ids = itertools.count(50_000)
_device_numbers = itertools.count(1)


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def device_guid(number: int | None = None) -> str:
    """A Pulseway-style device id (mixed case, as Pulseway sends them)."""
    n = next(_device_numbers) if number is None else number
    return f"AbCd{n:04d}-0000-4000-8000-{n:012d}"


def seeded_device(number: int) -> str:
    """The Pulseway id of the SA world's asset number ``number`` (1-based, sa_fixture order)."""
    return f"00000000-0000-4000-8000-{number:012d}"


def device_event(
    kind: str,
    device_id: str,
    *,
    hostname: str,
    org_id: int | None,
    org_name: str,
    group_name: str = "Workstations",
    os: str = "Windows 11 Pro",
    serial: str | None = "SER-1",
    generation: int = 1,
) -> IncomingEvent:
    """A device event shaped as the Pulseway device poller emits it."""
    payload = {
        "device_id": device_id,
        "hostname": hostname,
        "serial": serial,
        "os": os,
        "os_version": "10.0.22631",
        "group_id": 7,
        "group_name": group_name,
        "site_id": 3,
        "site_name": "Main site",
        "organization_id": org_id,
        "organization_name": org_name,
        "last_seen_online": "2025-06-03T16:00:00Z",
        "detected_at": "2025-06-03T16:05:00Z",
    }
    return IncomingEvent(
        source="pulseway",
        kind=kind,
        external_id=f"{device_id.lower()}:{kind}:{hostname}:{os}:{org_id}:{generation}",
        title=hostname,
        device_id=device_id,
        payload=payload,
    )


def incident_event(
    kind: str,
    incident_id: int,
    *,
    account_id: int,
    account_name: str | None,
    title: str = "Suspicious PowerShell",
    raw: dict[str, Any] | None = None,
) -> IncomingEvent:
    """An incident event shaped as the RocketCyber poller emits it."""
    suffix = "opened" if kind == "incident.opened" else "resolved"
    return IncomingEvent(
        source="rocketcyber",
        kind=kind,
        external_id=f"{incident_id}:{suffix}",
        title=title,
        priority="Critical",
        dedupe_key=alert_dedupe_key("rocketcyber", f"incident:{incident_id}", title),
        payload={
            "incident_id": incident_id,
            "account_id": account_id,
            "account_name": account_name,
            "status": "open" if suffix == "opened" else "resolved",
            "title": title,
            "description": "Encoded command line seen",
            "remediation": "Isolate the machine",
            "event_count": 1,
            "raw": raw or {"id": incident_id},
        },
    )


class Injector:
    """A relay background job that lets the test thread append events to the relay's store."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sink: EventSink | None = None
        self.cursors: CursorStore | None = None

    async def job(self, sink: EventSink, cursors: CursorStore) -> None:
        self.loop, self.sink, self.cursors = asyncio.get_running_loop(), sink, cursors
        await asyncio.Event().wait()

    def run(self, coroutine_factory: Callable[[], Any], timeout: float = 20) -> Any:
        assert self.loop is not None
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(
            coroutine_factory(), self.loop
        )
        return future.result(timeout)

    def append(self, event: IncomingEvent) -> AppendResult:
        assert self.sink is not None
        sink = self.sink
        result: AppendResult = self.run(lambda: sink.append(event))
        return result


@dataclass
class RulesWorld:
    """The served SA world, the relay with its rules worker, and helpers."""

    odoo_url: str
    host: str
    port: int
    database: Database
    ids: dict[str, dict[str, int]]
    app: RelayApp
    worker: RulesWorker
    background: BackgroundRelay
    injector: Injector
    http: httpx.Client = field(init=False)
    _clients: dict[str, odoorpc.ODOO] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.background.url, timeout=30)

    # -- feeding ------------------------------------------------------------------------------
    def post_alert(
        self,
        device: str,
        title: str = "Low disk space",
        *,
        priority: str = "Critical",
        message: str = "Free space on C: is below 9%.",
    ) -> int:
        body = json.dumps(
            {
                "Id": next(_notification_ids),
                "Title": title,
                "Message": message,
                "DateTime": "2025-06-03T16:15:02Z",
                "Priority": priority,
                "DeviceIdentifier": device,
                "OrganizationId": "101",
            }
        ).encode()
        response = self.http.post(
            "/hooks/pulseway",
            content=body,
            headers={"content-type": "application/json", "x-hmac-signature": sign(body)},
        )
        assert response.status_code in (200, 202), response.text
        return int(response.json()["seq"])

    def append(self, event: IncomingEvent) -> int:
        return self.injector.append(event).seq

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the worker applied everything committed so far (its own links too)."""
        deadline = time.monotonic() + timeout
        stable = 0
        while time.monotonic() < deadline:
            if self.worker.cursor >= self.app.hub.last_seq and not self.worker._lock.locked():
                stable += 1
                if stable >= 3:
                    return
            else:
                stable = 0
            time.sleep(0.02)
        raise AssertionError(
            f"rules worker stuck at {self.worker.cursor} of {self.app.hub.last_seq}: "
            f"{self.worker.last_error}"
        )

    # -- Odoo ------------------------------------------------------------------------------
    def read(self, model: str, domain: list[Any], fields: list[str]) -> list[dict[str, Any]]:
        """As the superuser, in-process: what Odoo holds."""
        rows: list[dict[str, Any]] = self.database.call_kw(
            SUPERUSER_ID, model, "search_read", [domain], {"fields": fields, "order": "id"}
        )
        return rows

    def write(
        self, model: str, ids: list[int], values: dict[str, Any], uid: int = SUPERUSER_ID
    ) -> None:
        self.database.call_kw(uid, model, "write", [ids, values], {})

    def client(self, login: str) -> odoorpc.ODOO:
        """An odoorpc client logged in as ``login`` (password = login)."""
        if login not in self._clients:
            client = odoorpc.ODOO(self.host, port=self.port, timeout=30)
            client.login("psa", login, login)
            self._clients[login] = client
        return self._clients[login]

    # -- the relay API ---------------------------------------------------------------------
    def headers(self, login: str) -> dict[str, str]:
        if login == "admin-token":
            return {"authorization": f"Bearer {ADMIN_TOKEN}"}
        if login not in self._tokens:
            answer = self.http.post("/api/session", json={"login": login, "password": login})
            assert answer.status_code == 200, answer.text
            self._tokens[login] = answer.json()["token"]
        return {"authorization": f"Bearer {self._tokens[login]}"}

    def unmatched(self, login: str = "dispatch") -> dict[str, Any]:
        answer = self.http.get("/api/unmatched", headers=self.headers(login))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def group(self, key: str) -> dict[str, Any] | None:
        return next((g for g in self.unmatched()["groups"] if g["key"] == key), None)

    def event(self, seq: int, login: str = "admin-token") -> dict[str, Any]:
        answer = self.http.get(f"/api/events/{seq}", headers=self.headers(login))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def close(self) -> None:
        self.http.close()


# -- serving the world ----------------------------------------------------------------------


def _group_id(database: Database, xmlid: str) -> int:
    module, _, name = xmlid.partition(".")
    [row] = database.call_kw(
        SUPERUSER_ID,
        "ir.model.data",
        "search_read",
        [[("module", "=", module), ("name", "=", name)]],
        {"fields": ["res_id"]},
    )
    return int(row["res_id"])


def console_users(ids: dict[str, dict[str, int]]) -> dict[str, tuple[str, Principal]]:
    sa = ids["sa"]
    users = ids["users"]
    everything = tuple(sorted(sa.values()))
    return {
        "dispatch": (
            "dispatch",
            Principal(
                "dispatch", users["dispatch"], "Dana Dispatch", everything, ("dispatcher",), True
            ),
        ),
        "alice": (
            "alice",
            Principal("alice", users["alice"], "Alice Tech", (sa["east"],), ("technician",), False),
        ),
        "bob": (
            "bob",
            Principal("bob", users["bob"], "Bob Tech", (sa["west"],), ("technician",), False),
        ),
    }


def serve_sa_world() -> tuple[Database, dict[str, dict[str, int]], str, Callable[[], None]]:
    """The SA world plus the relay's service account (psa.group_service), served on loopback;
    returns the database, ids, URL and a stop function."""
    database = Database("psa", None, seed=True)
    ids = build_sa_world(database)
    ids["users"][SERVICE_LOGIN] = int(
        database.call_kw(
            SUPERUSER_ID,
            "res.users",
            "create",
            [
                {
                    "name": "PSA relay",
                    "login": SERVICE_LOGIN,
                    "password": SERVICE_LOGIN,
                    "group_ids": [(6, 0, [_group_id(database, "psa.group_service")])],
                }
            ],
            {},
        )
    )
    background = BackgroundServer(OdooServer({"psa": database}).app).start()

    def stop() -> None:
        background.stop()
        database.close()

    return database, ids, background.url, stop


def start_rules_relay(
    database: Database,
    ids: dict[str, dict[str, int]],
    url: str,
    path: Path,
    store: EventStore | None = None,
    **worker_options: Any,
) -> RulesWorld:
    """A relay on ``path`` (or on ``store``) whose rules worker signs in as the service account;
    quick caches and backoff so that tests do not wait."""
    injector = Injector()
    config = RelayConfig(
        db=path, hook_secret=SECRET, admin_token=ADMIN_TOKEN, background=[injector.job]
    )
    store = store or SqliteEventStore(path)
    worker_options.setdefault("cache_seconds", 0.5)
    worker_options.setdefault("backoff_base", 0.05)
    worker_options.setdefault("backoff_max", 0.5)
    worker = RulesWorker(
        store,
        OdooServiceAccount(url, "psa", SERVICE_LOGIN, SERVICE_LOGIN),
        worker_options.pop("settings", RulesSettings()),
        **worker_options,
    )
    app = RelayApp(config, store, StaticAuthority(console_users(ids)), worker)
    background = BackgroundRelay(app).start()
    parsed = urlparse(url)
    assert parsed.hostname is not None and parsed.port is not None
    return RulesWorld(
        url, parsed.hostname, parsed.port, database, ids, app, worker, background, injector
    )
