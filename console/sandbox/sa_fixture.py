"""A small Serviced-Account world in a sandbox Odoo database, for access tests and the demo.

:func:`build_sa_world` provisions the product's schema into a sandbox
:class:`~console.sandbox.odoo.orm.Database` (through :func:`console.odoo.provisioning.provision`,
in-process, as ``admin``) and then loads one MSP, "Northwind IT", with two regions::

    Northwind IT (root)
    ├── East ── Boston
    └── West

Users (password = login), each with the role groups their memberships call for:

* ``admin``: manager of Northwind IT (sees everything through the hierarchy);
* ``dispatch``: dispatcher of every SA; a dispatcher's reach does not extend to the SAs below
  (only a manager's does, DESIGN §6), so a dispatcher who should see the whole MSP is a member
  of each SA;
* ``maria``: manager of East (so also of Boston);
* ``alice``: technician in East; ``bob``: technician in West.

Clients are assigned to an SA by an ``x_sa_client`` edge. ``Acme West Branch`` is a company
whose parent is the East client ``Acme Corp`` but which is assigned to West, and ``Wile E.
Coyote`` is an unassigned contact of Acme: both exist to show that ``parent_id`` never widens
visibility. Every client has assets; tickets are stamped with an SA and assigned to alice, bob,
maria or nobody; one ticket has no SA at all; one Pulseway group-map row is unmatched.

The returned mapping holds the ids by kind and key (``world["tickets"]["east_alice"]``), so tests
name records by meaning rather than by number.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from console.domain.names import (
    AssetStatus,
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    Role,
    SaClient,
    SaMembership,
    ServicedAccount,
)
from console.domain.schema import Schema
from console.odoo import errors
from console.odoo.provisioning import ProvisionReport, provision, sync_user_groups
from console.odoo.schema import load_schema
from console.sandbox.odoo.exceptions import wire_name_of
from console.sandbox.odoo.orm import ADMIN_LOGIN, SUPERUSER_ID, Database

T = TypeVar("T")

#: SA key -> (name, parent key)
SERVICED_ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "root": ("Northwind IT", None),
    "east": ("East", "root"),
    "west": ("West", "root"),
    "boston": ("Boston", "east"),
}
#: login -> (name, [(SA key, role)]); ``admin`` exists already and only gets its membership
USERS: dict[str, tuple[str, list[tuple[str, Role]]]] = {
    ADMIN_LOGIN: ("Mitchell Admin", [("root", Role.MANAGER)]),
    "dispatch": (
        "Dana Dispatch",
        [(sa, Role.DISPATCHER) for sa in ("root", "east", "west", "boston")],
    ),
    "maria": ("Maria Manager", [("east", Role.MANAGER)]),
    "alice": ("Alice Tech", [("east", Role.TECHNICIAN)]),
    "bob": ("Bob Tech", [("west", Role.TECHNICIAN)]),
}
#: partner key -> (name, is company, parent partner key)
PARTNERS: dict[str, tuple[str, bool, str | None]] = {
    "acme": ("Acme Corp", True, None),
    "globex": ("Globex", True, None),
    "initech": ("Initech", True, None),
    "umbrella": ("Umbrella", True, None),
    "stark": ("Stark Industries", True, None),
    "acme_branch": ("Acme West Branch", True, "acme"),
    "road_runner": ("Road Runner", False, "acme"),
    "wile": ("Wile E. Coyote", False, "acme"),
}
#: (SA key, partner key, assigned actor login or None)
ASSIGNMENTS: list[tuple[str, str, str | None]] = [
    ("east", "acme", "alice"),
    ("east", "globex", "maria"),
    ("east", "road_runner", "alice"),
    ("west", "initech", "bob"),
    ("west", "umbrella", "bob"),
    ("west", "acme_branch", "bob"),
    ("boston", "stark", None),
]
#: asset key -> (hostname, client partner key)
ASSETS: dict[str, tuple[str, str]] = {
    "acme_ws": ("ACME-WS01", "acme"),
    "acme_srv": ("ACME-SRV01", "acme"),
    "globex_lt": ("GLOBEX-LT01", "globex"),
    "initech_ws": ("INITECH-WS01", "initech"),
    "umbrella_srv": ("UMBRELLA-SRV01", "umbrella"),
    "stark_ws": ("STARK-WS01", "stark"),
    "branch_ws": ("BRANCH-WS01", "acme_branch"),
}
#: ticket key -> (subject, SA key or None, client key, asset key or None, assignee login)
TICKETS: dict[str, tuple[str, str | None, str, str | None, str | None]] = {
    "east_alice": ("Acme printer offline", "east", "acme", "acme_ws", "alice"),
    "east_maria": ("Acme backup failed", "east", "acme", "acme_srv", "maria"),
    "east_open": ("Globex VPN down", "east", "globex", "globex_lt", None),
    "west_bob": ("Initech disk full", "west", "initech", "initech_ws", "bob"),
    "west_dispatch": ("Initech mailbox quota", "west", "initech", None, "dispatch"),
    "west_open": ("Umbrella patching overdue", "west", "umbrella", "umbrella_srv", None),
    "boston_open": ("Stark firewall alert", "boston", "stark", "stark_ws", None),
    "root_open": ("Northwind monitoring upgrade", "root", "acme", None, None),
    "unstamped": ("Unsorted request", None, "acme", None, None),
}
#: group map key -> (Pulseway organization as seen, org id, partner key or None = unmatched)
GROUP_MAPS: dict[str, tuple[str, int, str | None]] = {
    "acme": ("Acme Corporation", 101, "acme"),
    "initech": ("INITECH", 102, "initech"),
    "unmatched": ("Dunder Mifflin Scranton", 199, None),
}

SaWorldIds = dict[str, dict[str, int]]


@dataclass(frozen=True)
class _SandboxUser:
    uid: int


class SandboxGateway:
    """The provisioning gateway protocol over a sandbox database in this process.

    Each call is one ``Database.call_kw`` as ``uid``, with the same access checks as over the
    wire; errors come back as the gateway's typed errors, so callers cannot tell the
    difference (except that nothing crosses a socket).
    """

    def __init__(self, database: Database, uid: int) -> None:
        self.database = database
        self.user = _SandboxUser(uid)

    def operation(self, name: str) -> contextlib.AbstractContextManager[None]:
        """No per-operation statistics here."""
        return contextlib.nullcontext()

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``call_kw(uid, model, method, args, kwargs)``."""
        try:
            return self.database.call_kw(self.user.uid, model, method, list(args), dict(kwargs))
        except Exception as exc:
            info = {"code": 0, "data": {"name": wire_name_of(exc), "message": str(exc)}}
            raise errors.from_rpc_error(info, str(exc)) from exc


def run_blocking(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running event loop
    (then on a helper thread with its own loop)."""

    async def main() -> T:
        return await factory()

    def run_on_plain_loop() -> T:
        # a plain loop, whatever the thread's policy (the console installs qasync's)
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            return runner.run(main())

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_on_plain_loop()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run_on_plain_loop).result()


def admin_uid(database: Database) -> int:
    """The id of the seeded administrator (``base.user_admin``)."""
    [row] = database.call_kw(
        SUPERUSER_ID,
        "res.users",
        "search_read",
        [[("login", "=", ADMIN_LOGIN)]],
        {"fields": ["id"], "context": {"active_test": False}},
    )
    return int(row["id"])


def provision_database(database: Database, schema: Schema | None = None) -> ProvisionReport:
    """``psa provision`` on a sandbox database, in-process, as ``admin``."""
    gateway = SandboxGateway(database, admin_uid(database))
    return run_blocking(lambda: provision(gateway, schema or load_schema()))


def build_sa_world(db: Database) -> SaWorldIds:
    """Provision ``db`` and load the Northwind IT world; the ids by kind and key.

    Kinds: ``sa``, ``users`` (by login), ``memberships`` (``"<login>:<sa>"``), ``partners``,
    ``assignments`` (``"<sa>:<partner>"``), ``assets``, ``tickets``, ``group_maps``. Provisioning
    is idempotent, so a database provisioned already is fine.
    """
    schema = load_schema()
    provision_database(db, schema)
    world: SaWorldIds = {"users": {ADMIN_LOGIN: admin_uid(db)}}

    def create(model: str, values: dict[str, Any]) -> int:
        # as the superuser: seeding bypasses access rights and record rules
        return int(db.call_kw(SUPERUSER_ID, model, "create", [values], {}))

    def ref(kind: str, key: str | None) -> int | bool:
        return world[kind][key] if key else False

    world["sa"] = {}
    for key, (name, parent) in SERVICED_ACCOUNTS.items():
        world["sa"][key] = create(
            ServicedAccount.MODEL,
            {
                ServicedAccount.NAME: name,
                ServicedAccount.PARENT: ref("sa", parent),
                ServicedAccount.ACTIVE: True,
            },
        )
    for login, (name, _memberships) in USERS.items():
        if login not in world["users"]:
            world["users"][login] = create(
                "res.users",
                {"name": name, "login": login, "password": login, "email": f"{login}@nw.test"},
            )
    world["memberships"] = {
        f"{login}:{sa}": create(
            SaMembership.MODEL,
            {
                SaMembership.USER: world["users"][login],
                SaMembership.SA: world["sa"][sa],
                SaMembership.ROLE: role.value,
            },
        )
        for login, (_name, memberships) in USERS.items()
        for sa, role in memberships
    }
    world["partners"] = {}
    for key, (name, is_company, parent) in PARTNERS.items():
        world["partners"][key] = create(
            Partner.MODEL,
            {
                Partner.NAME: name,
                Partner.IS_COMPANY: is_company,
                Partner.PARENT: ref("partners", parent),
                Partner.PULSEWAY_SYNC_STATE: "synced" if is_company else "skipped",
            },
        )
    world["assignments"] = {
        f"{sa}:{partner}": create(
            SaClient.MODEL,
            {
                SaClient.SA: world["sa"][sa],
                SaClient.PARTNER: world["partners"][partner],
                SaClient.USER: ref("users", actor),
            },
        )
        for sa, partner, actor in ASSIGNMENTS
    }
    world["assets"] = {
        key: create(
            ClientAsset.MODEL,
            {
                ClientAsset.NAME: hostname,
                ClientAsset.PARTNER: world["partners"][client],
                ClientAsset.PULSEWAY_ID: f"00000000-0000-4000-8000-{number:012d}",
                ClientAsset.STATUS: AssetStatus.ACTIVE.value,
            },
        )
        for number, (key, (hostname, client)) in enumerate(ASSETS.items(), start=1)
    }
    world["tickets"] = {
        key: create(
            HelpdeskTicket.MODEL,
            {
                HelpdeskTicket.NAME: subject,
                HelpdeskTicket.SA: ref("sa", stamp),
                HelpdeskTicket.PARTNER: world["partners"][customer],
                HelpdeskTicket.ASSET: ref("assets", asset),
                HelpdeskTicket.ASSIGNED_USER: ref("users", assignee),
            },
        )
        for key, (subject, stamp, customer, asset, assignee) in TICKETS.items()
    }
    world["group_maps"] = {
        key: create(
            PulsewayGroupMap.MODEL,
            {
                PulsewayGroupMap.NAME: seen_as,
                PulsewayGroupMap.PULSEWAY_ORG_ID: org_id,
                PulsewayGroupMap.PARTNER: ref("partners", mapped),
            },
        )
        for key, (seen_as, org_id, mapped) in GROUP_MAPS.items()
    }
    # Record rules hang on groups: give every user the role groups their memberships call for.
    gateway = SandboxGateway(db, world["users"][ADMIN_LOGIN])
    run_blocking(lambda: _sync_all(gateway, schema, world["users"].values()))
    return world


async def _sync_all(gateway: SandboxGateway, schema: Schema, user_ids: Iterable[int]) -> None:
    for uid in user_ids:
        await sync_user_groups(gateway, schema, uid)
