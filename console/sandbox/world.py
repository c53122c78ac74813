"""The demo world: one MSP ("Northwind IT") seen from Odoo, Pulseway and RocketCyber at once.

Pure data, deterministic from ``(size, seed, now)``: the same arguments always give the same
world, field for field. Each part draws from its own random stream (``"{seed}:{part}"``), so a
change to, say, ticket generation does not reshuffle every device.

* **Odoo side** (:class:`OdooSide`, frozen records): the SA tree, the demo users and their roles,
  client companies assigned to East or West, contacts, ``x_client_asset`` rows, subscriptions with
  a managed-seat quantity that is sometimes stale, open tickets (assigned and unassigned) and the
  group → partner mappings a dispatcher already resolved.
* **Pulseway side** (:class:`PulsewayTenant`, mutable): organizations → sites → groups → devices
  with the inventory the asset endpoints serve (BIOS serial, OS, last seen). A few organizations
  map to no partner; a few devices of mapped organizations are not in Odoo yet.
* **RocketCyber side** (:class:`RocketCyberTenant`, mutable): the provider account with customer
  accounts mapped to companies, agents named like the Pulseway devices, and incidents.

The two mutable tenants are what the stand-in servers serve and what the traffic generator
changes (new device, removed device, OS upgrade, incident opened/resolved), guarded by a lock
because servers and the generator may run on different threads.

Sizes: ``empty`` (SA tree and users only), ``small`` (5 companies, 50 devices), ``demo``
(40 companies, 1,500 devices), ``large`` (1,000 companies, 100,000 devices).

Demo logins (password = login): ``admin`` (manager, Northwind IT), ``dispatch`` (dispatcher,
Northwind IT), ``maria`` (manager, East), ``alice`` (technician, East), ``bob`` (technician,
West).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Generic, Literal, TypeVar

from console.domain.alerts import alert_dedupe_key

_T = TypeVar("_T")

Size = Literal["empty", "small", "demo", "large"]
SIZES: tuple[Size, ...] = ("empty", "small", "demo", "large")
Role = Literal["technician", "dispatcher", "manager"]
DeviceKind = Literal["server", "workstation", "laptop"]

#: The instant the default world is built around; pass ``now=`` for a world that looks current.
REFERENCE_NOW = datetime(2025, 6, 3, 18, 0, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Sizes


@dataclass(frozen=True, slots=True)
class SizeProfile:
    """How much of everything one size holds."""

    companies: int
    devices: int  # Pulseway devices over all organizations, mapped or not
    unmatched_organizations: int  # Pulseway organizations no partner maps to
    pending_companies: int  # companies with no Pulseway organization yet (push pending)
    renamed_organizations: int  # organizations named unlike their partner, mapped by a group map
    not_in_odoo_fraction: float  # devices of mapped organizations not yet synced to Odoo
    decommissioned_fraction: float  # extra Odoo assets whose device left Pulseway
    stale_os_fraction: float  # Odoo assets whose OS lags behind Pulseway's
    stale_seat_fraction: float  # subscriptions whose managed-seat quantity is out of date
    rocketcyber_fraction: float  # companies that also have RocketCyber
    tickets: int
    incidents: int


PROFILES: dict[Size, SizeProfile] = {
    "empty": SizeProfile(0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0),
    "small": SizeProfile(5, 50, 1, 1, 1, 0.05, 0.05, 0.05, 0.3, 0.8, 8, 6),
    "demo": SizeProfile(40, 1_500, 3, 2, 2, 0.02, 0.03, 0.02, 0.25, 0.7, 60, 40),
    "large": SizeProfile(1_000, 100_000, 20, 10, 15, 0.01, 0.03, 0.02, 0.25, 0.7, 2_000, 600),
}


# ---------------------------------------------------------------------------------------------
# Odoo side (frozen)


@dataclass(frozen=True, slots=True)
class ServicedAccount:
    """``x_sa``: a node of the SA tree."""

    key: str
    name: str
    parent_key: str | None


@dataclass(frozen=True, slots=True)
class WorldUser:
    """A console/Odoo login with one SA membership (``x_sa_membership``)."""

    login: str
    password: str
    name: str
    email: str
    role: Role
    sa_key: str


@dataclass(frozen=True, slots=True)
class Company:
    """A client company (``res.partner``, ``is_company``) and its SA assignment edge.

    ``assigned_login`` is the actor on the ``x_sa_client`` edge. ``pulseway_org_id`` is ``None``
    for companies not yet pushed to Pulseway (``pulseway_sync_state`` ``pending``).
    """

    key: str
    name: str
    sa_key: str
    assigned_login: str
    email: str
    phone: str
    street: str
    city: str
    zip: str
    country_code: str
    website: str
    pulseway_org_id: int | None
    pulseway_sync_state: str
    rocketcyber_account_id: int | None


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at a client company (``res.partner`` with ``parent_id``)."""

    key: str
    company_key: str
    name: str
    email: str
    phone: str
    function: str


@dataclass(frozen=True, slots=True)
class Asset:
    """``x_client_asset`` as Odoo holds it (which may lag behind Pulseway)."""

    key: str
    name: str
    serial_number: str
    company_key: str
    contact_key: str | None
    pulseway_id: str
    os_info: str
    last_audit: datetime
    last_seen: datetime | None
    status: Literal["active", "decommissioned"]
    pulseway_group: str
    pulseway_org_id: int | None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription ``sale.order`` (state ``sale``) with one managed-seat line.

    ``managed_seats`` is the line's quantity; ``active_assets`` what a recount would set, so
    ``managed_seats != active_assets`` marks a stale subscription.
    """

    key: str
    name: str
    company_key: str
    sa_key: str
    user_login: str
    managed_seats: int
    active_assets: int
    price_unit: float
    start_date: date

    @property
    def is_stale(self) -> bool:
        """Whether the seat count disagrees with the active assets."""
        return self.managed_seats != self.active_assets


@dataclass(frozen=True, slots=True)
class Ticket:
    """An open ``helpdesk.ticket``; ``user_login`` ``None`` means the unassigned queue.

    Tickets raised by a Pulseway alert carry the relay's ``alert_key`` and a repeat count.
    """

    key: str
    name: str
    description: str
    company_key: str
    contact_key: str | None
    asset_key: str | None
    sa_key: str
    user_login: str | None
    priority: str
    stage: Literal["new", "in_progress"]
    created_at: datetime
    alert_key: str | None
    alert_count: int


@dataclass(frozen=True, slots=True)
class GroupMapping:
    """``x_pulseway_group_map``: a Pulseway organization already resolved to a partner."""

    name: str
    pulseway_org_id: int
    company_key: str


@dataclass(frozen=True, slots=True)
class Product:
    """The product on the managed-seat subscription line."""

    name: str
    default_code: str
    list_price: float


MANAGED_SEAT_PRODUCT = Product("Managed Seat", "MANAGED-SEAT", 45.0)


@dataclass(frozen=True, slots=True)
class OdooSide:
    """Everything the Odoo sandbox loads."""

    serviced_accounts: tuple[ServicedAccount, ...]
    users: tuple[WorldUser, ...]
    companies: tuple[Company, ...]
    contacts: tuple[Contact, ...]
    assets: tuple[Asset, ...]
    subscriptions: tuple[Subscription, ...]
    tickets: tuple[Ticket, ...]
    group_mappings: tuple[GroupMapping, ...]
    managed_seat_product: Product = MANAGED_SEAT_PRODUCT

    def company(self, key: str) -> Company:
        """The company with ``key``."""
        for company in self.companies:
            if company.key == key:
                return company
        raise KeyError(key)


# ---------------------------------------------------------------------------------------------
# Pulseway side (mutable, served by the stand-in)


@dataclass(slots=True)
class PulsewayOrganization:
    """An organization; ``custom_fields`` maps custom-field id → value (as strings)."""

    id: int
    name: str
    psa_mapping_id: int | None = None
    psa_mapping_type: str | None = None
    custom_fields: dict[int, str | None] = field(default_factory=dict)
    #: Hostname prefix of its devices and the next free number (not part of the API).
    hostname_prefix: str = "DEV"
    next_host_number: int = 1


@dataclass(slots=True)
class PulsewaySite:
    """A site of an organization (``ParentId``)."""

    id: int
    name: str
    organization_id: int
    phone: str = ""
    email: str = ""
    contact_name: str = ""
    city: str = ""
    address: str = ""
    zip: str = ""
    country_code: str = "US"
    custom_fields: dict[int, str | None] = field(default_factory=dict)


@dataclass(slots=True)
class PulsewayGroup:
    """A group of a site; devices belong to groups."""

    id: int
    name: str
    site_id: int
    organization_id: int
    notes: str = ""
    custom_fields: dict[int, str | None] = field(default_factory=dict)


@dataclass(slots=True)
class PulsewayDevice:
    """An agent-managed device with the inventory ``/v3/assets`` reports.

    Inventory details nobody compares (CPU, memory, disks, MAC, load) are derived from the
    64 random bits in ``traits`` on demand rather than stored: that keeps 100,000 devices quick
    to generate and small in memory, and still the same on every read.
    """

    identifier: str
    name: str
    group_id: int
    kind: DeviceKind
    os_name: str
    os_version: str
    computer_type: str
    serial_number: str
    manufacturer: str
    model: str
    client_version: str
    is_online: bool
    last_seen_online: datetime
    registered_at: datetime
    traits: int
    in_maintenance: bool = False
    custom_fields: dict[int, str | None] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Case-insensitive identity (Pulseway ids come in mixed hex case)."""
        return self.identifier.lower()

    def _trait(self, shift: int, modulo: int) -> int:
        return (self.traits >> shift) % modulo

    @property
    def cpu(self) -> str:
        """Processor name."""
        return _CPUS[self.kind][self._trait(0, len(_CPUS[self.kind]))][0]

    @property
    def logical_processors(self) -> int:
        """Logical processor count."""
        return _CPUS[self.kind][self._trait(0, len(_CPUS[self.kind]))][1]

    @property
    def memory_total(self) -> int:
        """Installed memory in bytes."""
        sizes = _MEMORY_GIB[self.kind]
        return sizes[self._trait(4, len(sizes))] * 1024**3

    @property
    def mac_address(self) -> str:
        """MAC in Pulseway's ``005056A1B2C3`` form."""
        return f"005056{self._trait(8, 1 << 24):06X}"

    @property
    def local_ip(self) -> str:
        """LAN address."""
        return f"10.{self._trait(32, 250)}.{self._trait(40, 250)}.{self._trait(48, 250) + 2}"

    @property
    def disk_total_kb(self) -> int:
        """System disk size (KB, the unit one collector reports)."""
        return _DISK_SIZES_KB[self._trait(56, len(_DISK_SIZES_KB))]

    @property
    def disk_free_percent(self) -> int:
        """Free space on the system disk."""
        return 4 + self._trait(12, 77)

    @property
    def cpu_usage(self) -> int:
        """Current CPU load in percent."""
        return 1 + self._trait(20, 60) if self.is_online else 0

    @property
    def memory_usage(self) -> int:
        """Current memory use in percent."""
        return 20 + self._trait(28, 66)

    @property
    def last_boot(self) -> datetime:
        """Last boot, some hours to weeks before it was last seen."""
        return self.last_seen_online - timedelta(hours=1 + self._trait(36, 24 * 30))


@dataclass(slots=True)
class PulsewayCustomField:
    """A custom field definition."""

    id: int
    name: str
    description: str
    type: Literal["Text", "Number", "Date", "Boolean"]
    contexts: tuple[str, ...]
    created_at: datetime
    default_value: str | None = None
    is_read_only: bool = False


@dataclass(slots=True)
class PulsewayNotification:
    """A notification raised on a device (what webhooks deliver)."""

    id: int
    device_id: str
    title: str
    message: str
    priority: str  # Title-case: Low | Normal | Elevated | Critical
    created_at: datetime
    read: bool = False


@dataclass(slots=True)
class PulsewayWebhook:
    """A notification webhook registration."""

    id: int
    name: str
    url: str
    priorities: tuple[str, ...]
    secret_key: str
    created_at: datetime
    organization_ids: tuple[int, ...] | None = None
    description: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    language: str = "en"
    updated_at: datetime | None = None


ODOO_PARTNER_FIELD_ID = 101
"""The custom field the manager workflow stamps with the Odoo partner id."""


class PulsewayTenant:
    """The Pulseway account of the MSP: its hierarchy, devices, notifications and webhooks.

    Mutations go through the methods (under :attr:`lock`) and bump :attr:`version`, so servers
    can cache derived views until something changes.
    """

    def __init__(self, server_name: str = "my.pulseway.com") -> None:
        self.lock = threading.RLock()
        self.version = 0
        self.server_name = server_name
        self.organizations: dict[int, PulsewayOrganization] = {}
        self.sites: dict[int, PulsewaySite] = {}
        self.groups: dict[int, PulsewayGroup] = {}
        self.devices: dict[str, PulsewayDevice] = {}  # keyed by lower-cased identifier
        self.custom_fields: dict[int, PulsewayCustomField] = {}
        self.notifications: dict[int, PulsewayNotification] = {}
        self.webhooks: dict[int, PulsewayWebhook] = {}
        self.max_notifications = 10_000
        self._next_org_id = 4801
        self._next_container_id = 6901
        self._next_notification_id = 2701
        self._next_webhook_id = 1
        self._next_custom_field_id = ODOO_PARTNER_FIELD_ID

    # -- reads -------------------------------------------------------------------------------

    def device(self, identifier: str) -> PulsewayDevice | None:
        """The device with this id, in any letter case."""
        return self.devices.get(identifier.strip().lower())

    def device_list(self) -> list[PulsewayDevice]:
        """A consistent copy of the device list, in registration order."""
        with self.lock:
            return list(self.devices.values())

    def organization_of(self, device: PulsewayDevice) -> PulsewayOrganization:
        """The organization a device belongs to (through its group)."""
        return self.organizations[self.groups[device.group_id].organization_id]

    def site_of(self, device: PulsewayDevice) -> PulsewaySite:
        """The site a device belongs to (through its group)."""
        return self.sites[self.groups[device.group_id].site_id]

    # -- writes ------------------------------------------------------------------------------

    def _touch(self) -> None:
        self.version += 1

    def new_organization_id(self) -> int:
        """Allocate an organization id."""
        with self.lock:
            value = self._next_org_id
            self._next_org_id += 1
            return value

    def new_container_id(self) -> int:
        """Allocate a site or group id (they share a sequence, as the samples suggest)."""
        with self.lock:
            value = self._next_container_id
            self._next_container_id += 1
            return value

    def add_organization(self, name: str, *, hostname_prefix: str = "DEV") -> PulsewayOrganization:
        """Create an organization with one "HQ" site and no groups."""
        with self.lock:
            organization = PulsewayOrganization(
                self.new_organization_id(), name, hostname_prefix=hostname_prefix
            )
            self.organizations[organization.id] = organization
            site = PulsewaySite(self.new_container_id(), "HQ", organization.id)
            self.sites[site.id] = site
            self._touch()
            return organization

    def add_custom_field(
        self,
        name: str,
        description: str,
        type_: Literal["Text", "Number", "Date", "Boolean"],
        contexts: Iterable[str],
        created_at: datetime,
    ) -> PulsewayCustomField:
        """Define a custom field."""
        with self.lock:
            custom_field = PulsewayCustomField(
                self._next_custom_field_id, name, description, type_, tuple(contexts), created_at
            )
            self._next_custom_field_id += 1
            self.custom_fields[custom_field.id] = custom_field
            self._touch()
            return custom_field

    def add_device(self, device: PulsewayDevice) -> None:
        """Register a device (a new agent enrolling)."""
        with self.lock:
            if device.group_id not in self.groups:
                raise KeyError(f"no group {device.group_id}")
            self.devices[device.key] = device
            self._touch()

    def register_device(
        self, group_id: int, rng: random.Random, now: datetime, kind: DeviceKind | None = None
    ) -> PulsewayDevice:
        """Enrol a brand-new device in ``group_id`` with a fresh hostname and inventory."""
        with self.lock:
            group = self.groups[group_id]
            organization = self.organizations[group.organization_id]
            chosen_kind = kind or _kind_for_group(group.name, rng)
            device = make_device(rng, organization, group, chosen_kind, now, registered_at=now)
            device.last_seen_online = now
            device.is_online = True
            self.add_device(device)
            return device

    def remove_device(self, identifier: str) -> PulsewayDevice | None:
        """Remove a device (agent uninstalled); returns it, or ``None`` if unknown."""
        with self.lock:
            device = self.devices.pop(identifier.strip().lower(), None)
            if device is not None:
                self._touch()
            return device

    def change_os(self, identifier: str, os_name: str, os_version: str) -> PulsewayDevice:
        """Record an OS change (upgrade or reinstall) on a device."""
        with self.lock:
            device = self.devices[identifier.strip().lower()]
            device.os_name = os_name
            device.os_version = os_version
            device.computer_type = _computer_type(os_name)
            self._touch()
            return device

    def touch(self) -> None:
        """Mark the tenant changed after editing a device or entity in place."""
        with self.lock:
            self._touch()

    def record_notification(
        self, device_id: str, title: str, message: str, priority: str, created_at: datetime
    ) -> PulsewayNotification:
        """Store a new notification with the next ``Id`` (oldest dropped beyond the cap)."""
        with self.lock:
            notification = PulsewayNotification(
                self._next_notification_id, device_id, title, message, priority, created_at
            )
            self._next_notification_id += 1
            self.notifications[notification.id] = notification
            while len(self.notifications) > self.max_notifications:
                del self.notifications[next(iter(self.notifications))]
            return notification

    def next_notification_id(self) -> int:
        """Reserve a notification ``Id`` without storing a notification (unknown devices)."""
        with self.lock:
            value = self._next_notification_id
            self._next_notification_id += 1
            return value

    def add_webhook(self, webhook: PulsewayWebhook) -> PulsewayWebhook:
        """Register a webhook; ``webhook.id`` 0 means "allocate one"."""
        with self.lock:
            if webhook.id == 0:
                webhook.id = self._next_webhook_id
            self._next_webhook_id = max(self._next_webhook_id, webhook.id) + 1
            self.webhooks[webhook.id] = webhook
            return webhook


# ---------------------------------------------------------------------------------------------
# RocketCyber side (mutable, served by the stand-in)


@dataclass(slots=True)
class RocketCyberAccount:
    """The provider account or a customer account under it."""

    id: int
    name: str
    path: str
    type: Literal["provider", "customer"]
    status: str = "active"
    company_key: str | None = None


_WINDOWS_RELEASES = {
    "22631": "23H2",
    "19045": "22H2",
    "20348": "21H2",
    "17763": "1809",
    "14393": "1607",
    "26100": "24H2",
}


@dataclass(slots=True)
class RocketCyberAgent:
    """A RocketCyber agent installed on a Pulseway-managed device.

    The OS, address and hostname facts are read from the device, so they follow an OS upgrade
    the way the real agent's report would.
    """

    id: str
    account_id: int
    account_path: str
    device: PulsewayDevice
    connectivity: str
    created_at: datetime
    agent_version: str = "2.4.1"

    @property
    def hostname(self) -> str:
        """Machine name (the same as the Pulseway device's)."""
        return self.device.name

    @property
    def build(self) -> str:
        """Windows build number."""
        return self.device.os_version.rsplit(".", 1)[-1]

    def to_api(self) -> dict[str, object]:
        """The agent as ``GET /agents`` lists it (reference §4 "Agent fields")."""
        device = self.device
        mac = device.mac_address.lower()
        build = self.build
        return {
            "id": self.id,
            "customerId": self.account_id,
            "accountPath": self.account_path,
            "hostname": device.name,
            "connectivity": self.connectivity,
            "agentVersion": self.agent_version,
            "platform": device.computer_type,
            "family": "Windows Server" if "Server" in device.os_name else "Windows",
            "version": device.os_version,
            "edition": device.os_name,
            "architecture": "x64",
            "build": build,
            "release": _WINDOWS_RELEASES.get(build, ""),
            "ipv4Address": device.local_ip,
            "macAddress": ":".join(mac[i : i + 2] for i in range(0, 12, 2)),
            "createdAt": _rc_time(self.created_at),
            "lastConnected": _rc_time(device.last_seen_online),
        }


def _rc_time(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass(slots=True)
class RocketCyberIncident:
    """An incident; ``published_at`` after ``created_at`` (the lag the poller's overlap absorbs)."""

    id: int
    title: str
    description: str
    remediation: str
    status: Literal["open", "resolved"]
    account_id: int
    event_count: int
    created_at: datetime
    published_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    hostname: str | None = None


class RocketCyberTenant:
    """The MSP's RocketCyber provider account with its customers, agents and incidents."""

    def __init__(self, provider: RocketCyberAccount) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self.provider = provider
        self.accounts: dict[int, RocketCyberAccount] = {provider.id: provider}
        self.agents: list[RocketCyberAgent] = []
        self.incidents: dict[int, RocketCyberIncident] = {}
        self._next_incident_id = 98_001

    def customers(self) -> list[RocketCyberAccount]:
        """Customer accounts (everything but the provider)."""
        return [a for a in self.accounts.values() if a.type == "customer"]

    def incident_list(self) -> list[RocketCyberIncident]:
        """A consistent copy of the incidents, oldest first."""
        with self.lock:
            return list(self.incidents.values())

    def open_incident(
        self,
        account_id: int,
        title: str,
        description: str,
        remediation: str,
        created_at: datetime,
        published_at: datetime,
        *,
        event_count: int = 1,
        hostname: str | None = None,
    ) -> RocketCyberIncident:
        """Create an open incident with the next id."""
        with self.lock:
            incident = RocketCyberIncident(
                id=self._next_incident_id,
                title=title,
                description=description,
                remediation=remediation,
                status="open",
                account_id=account_id,
                event_count=event_count,
                created_at=created_at,
                published_at=published_at,
                updated_at=published_at,
                hostname=hostname,
            )
            self._next_incident_id += 1
            self.incidents[incident.id] = incident
            self.version += 1
            return incident

    def resolve_incident(self, incident_id: int, resolved_at: datetime) -> RocketCyberIncident:
        """Mark an incident resolved."""
        with self.lock:
            incident = self.incidents[incident_id]
            incident.status = "resolved"
            incident.resolved_at = resolved_at
            incident.updated_at = resolved_at
            self.version += 1
            return incident


# ---------------------------------------------------------------------------------------------
# The world


@dataclass(slots=True)
class World:
    """One consistent world over the three systems."""

    size: Size
    seed: int
    now: datetime
    odoo: OdooSide
    pulseway: PulsewayTenant
    rocketcyber: RocketCyberTenant

    def summary(self) -> dict[str, int]:
        """Counts for a start-up line or a test."""
        return {
            "companies": len(self.odoo.companies),
            "contacts": len(self.odoo.contacts),
            "assets": len(self.odoo.assets),
            "subscriptions": len(self.odoo.subscriptions),
            "tickets": len(self.odoo.tickets),
            "pulseway_organizations": len(self.pulseway.organizations),
            "pulseway_groups": len(self.pulseway.groups),
            "pulseway_devices": len(self.pulseway.devices),
            "rocketcyber_accounts": len(self.rocketcyber.customers()),
            "rocketcyber_agents": len(self.rocketcyber.agents),
            "rocketcyber_incidents": len(self.rocketcyber.incidents),
        }

    def unmatched_organizations(self) -> list[PulsewayOrganization]:
        """Pulseway organizations that neither a partner nor a group mapping points to."""
        mapped = {c.pulseway_org_id for c in self.odoo.companies if c.pulseway_org_id is not None}
        mapped |= {m.pulseway_org_id for m in self.odoo.group_mappings}
        return [o for o in self.pulseway.organizations.values() if o.id not in mapped]


SERVICED_ACCOUNTS = (
    ServicedAccount("root", "Northwind IT", None),
    ServicedAccount("east", "East", "root"),
    ServicedAccount("west", "West", "root"),
)

USERS = (
    WorldUser("admin", "admin", "Ada Admin", "admin@northwind-it.example", "manager", "root"),
    WorldUser(
        "dispatch",
        "dispatch",
        "Dan Dispatch",
        "dispatch@northwind-it.example",
        "dispatcher",
        "root",
    ),
    WorldUser("maria", "maria", "Maria Manager", "maria@northwind-it.example", "manager", "east"),
    WorldUser("alice", "alice", "Alice Tech", "alice@northwind-it.example", "technician", "east"),
    WorldUser("bob", "bob", "Bob Tech", "bob@northwind-it.example", "technician", "west"),
)

#: Technician who takes tickets and (mostly) client assignments per SA.
_SA_TECHNICIAN = {"east": "alice", "west": "bob"}


def build_world(size: Size = "demo", seed: int = 0, *, now: datetime | None = None) -> World:
    """Generate the world for ``size`` from ``seed``; same arguments, same world.

    ``now`` anchors every timestamp (last seen, last audit, ticket and incident times); it
    defaults to :data:`REFERENCE_NOW` so that the default world is reproducible. The demo passes
    the real time so that ages look fresh.
    """
    if size not in PROFILES:
        raise ValueError(f"unknown world size {size!r}; choose one of {', '.join(SIZES)}")
    moment = (now or REFERENCE_NOW).astimezone(UTC).replace(microsecond=0)
    return _WorldBuilder(size, seed, moment).build()


class _WeightedChoice(Generic[_T]):
    """Draws a value with probability proportional to its weight (one random draw, bisect)."""

    def __init__(self, options: Sequence[tuple[_T, int]]) -> None:
        self.values = [value for value, _weight in options]
        self.cumulative = list(itertools.accumulate(weight for _value, weight in options))

    def pick(self, rng: random.Random) -> _T:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


# ---------------------------------------------------------------------------------------------
# Catalogues


_NAME_PREFIXES = (
    "Northgate",
    "Bluewater",
    "Cedar",
    "Summit",
    "Harbor",
    "Pioneer",
    "Redwood",
    "Granite",
    "Silverline",
    "Oakridge",
    "Brightpath",
    "Ironwood",
    "Lakeside",
    "Maple",
    "Evergreen",
    "Riverside",
    "Stonebridge",
    "Westfield",
    "Clearview",
    "Highland",
    "Pinecrest",
    "Sunrise",
    "Copperfield",
    "Meadowbrook",
    "Falcon",
    "Beacon",
    "Crescent",
    "Keystone",
    "Goldcrest",
    "Hillcrest",
    "Aspen",
    "Birchwood",
    "Coastal",
    "Driftwood",
    "Elmstead",
    "Foxglove",
    "Glenview",
    "Hawthorne",
    "Juniper",
    "Kingsley",
    "Larkspur",
    "Moorland",
    "Newbury",
    "Orchard",
    "Parkside",
    "Quarry",
    "Rosewood",
    "Sagebrush",
    "Thornbury",
    "Upland",
    "Valleyview",
    "Willowbrook",
    "Yarrow",
    "Zephyr",
)
_NAME_NOUNS = (
    "Dental",
    "Logistics",
    "Legal",
    "Accounting",
    "Veterinary",
    "Architects",
    "Engineering",
    "Realty",
    "Clinic",
    "Manufacturing",
    "Insurance",
    "Pharmacy",
    "Consulting",
    "Foods",
    "Motors",
    "Printing",
    "Construction",
    "Design",
    "Marketing",
    "Travel",
    "Bakery",
    "Labs",
    "Outfitters",
    "Media",
    "Fitness",
    "Brewing",
    "Hotels",
    "Academy",
    "Optics",
    "Plumbing",
)
_NAME_SUFFIXES = ("", " LLC", " Inc.", " Ltd", " Group", " & Co.")
_CITIES = (
    ("Boston", "02108", "East"),
    ("Hartford", "06103", "East"),
    ("Providence", "02903", "East"),
    ("Albany", "12207", "East"),
    ("Portland", "04101", "East"),
    ("Newark", "07102", "East"),
    ("Denver", "80202", "West"),
    ("Phoenix", "85004", "West"),
    ("Sacramento", "95814", "West"),
    ("Boise", "83702", "West"),
    ("Reno", "89501", "West"),
    ("Salem", "97301", "West"),
)
_STREETS = (
    "Main St",
    "Oak Ave",
    "Harbor Rd",
    "Market St",
    "Elm St",
    "Mill Rd",
    "Park Ave",
    "Union St",
    "Lake Dr",
    "Church St",
)
_FIRST_NAMES = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Susan",
    "Richard",
    "Jessica",
    "Joseph",
    "Sarah",
    "Thomas",
    "Karen",
    "Carlos",
    "Nancy",
    "Daniel",
    "Lisa",
    "Ahmed",
    "Priya",
    "Wei",
    "Sofia",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
)
_LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Nguyen",
    "Patel",
    "Kim",
    "Chen",
)
_FUNCTIONS = (
    "Office Manager",
    "Owner",
    "Operations Lead",
    "Bookkeeper",
    "Practice Manager",
    "IT Contact",
    "Receptionist",
    "Director",
)

# ((os name, version), weight) per device kind.
_OS_BY_KIND: dict[DeviceKind, _WeightedChoice[tuple[str, str]]] = {
    "server": _WeightedChoice(
        (
            (("Windows Server 2022 Standard", "10.0.20348"), 50),
            (("Windows Server 2019 Standard", "10.0.17763"), 30),
            (("Windows Server 2016 Standard", "10.0.14393"), 10),
            (("Ubuntu 22.04.4 LTS", "22.04"), 10),
        )
    ),
    "workstation": _WeightedChoice(
        (
            (("Windows 11 Pro", "10.0.22631"), 55),
            (("Windows 10 Pro", "10.0.19045"), 35),
            (("Windows 11 Enterprise", "10.0.22631"), 5),
            (("macOS Sonoma 14.5", "14.5"), 5),
        )
    ),
    "laptop": _WeightedChoice(
        (
            (("Windows 11 Pro", "10.0.22631"), 60),
            (("Windows 10 Pro", "10.0.19045"), 25),
            (("macOS Sonoma 14.5", "14.5"), 15),
        )
    ),
}
#: What an OS upgrade turns an OS into (traffic generator and stale Odoo rows).
OS_UPGRADES: dict[str, tuple[str, str]] = {
    "Windows 10 Pro": ("Windows 11 Pro", "10.0.22631"),
    "Windows Server 2016 Standard": ("Windows Server 2019 Standard", "10.0.17763"),
    "Windows Server 2019 Standard": ("Windows Server 2022 Standard", "10.0.20348"),
    "Windows 11 Pro": ("Windows 11 Pro", "10.0.26100"),
    "macOS Sonoma 14.5": ("macOS Sequoia 15.1", "15.1"),
    "Ubuntu 22.04.4 LTS": ("Ubuntu 24.04.1 LTS", "24.04"),
}
_OLDER_OS = {new: old for old, (new, _v) in OS_UPGRADES.items() if old != new}

# ((manufacturer, model, serial style), weight) per device kind.
_HARDWARE: dict[DeviceKind, _WeightedChoice[tuple[str, str, str]]] = {
    "server": _WeightedChoice(
        (
            (("Dell Inc.", "PowerEdge R650", "dell"), 35),
            (("HPE", "ProLiant DL380 Gen10", "hp"), 25),
            (("VMware, Inc.", "VMware Virtual Platform", "vmware"), 40),
        )
    ),
    "workstation": _WeightedChoice(
        (
            (("Dell Inc.", "OptiPlex 7090", "dell"), 40),
            (("HP", "EliteDesk 800 G6", "hp"), 30),
            (("LENOVO", "ThinkCentre M70q", "lenovo"), 30),
        )
    ),
    "laptop": _WeightedChoice(
        (
            (("Dell Inc.", "Latitude 5440", "dell"), 35),
            (("LENOVO", "ThinkPad T14 Gen 3", "lenovo"), 35),
            (("HP", "EliteBook 840 G8", "hp"), 30),
        )
    ),
}
_CPUS: dict[DeviceKind, tuple[tuple[str, int], ...]] = {
    "server": (
        ("Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", 32),
        ("AMD EPYC 7313 16-Core Processor", 32),
    ),
    "workstation": (
        ("Intel(R) Core(TM) i7-11700 CPU @ 2.50GHz", 16),
        ("Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz", 12),
    ),
    "laptop": (("Intel(R) Core(TM) i7-1365U", 12), ("AMD Ryzen 7 PRO 6850U", 16)),
}
_GROUP_KINDS: dict[str, DeviceKind] = {
    "Servers": "server",
    "Workstations": "workstation",
    "Laptops": "laptop",
}
_HOST_TAGS: dict[DeviceKind, str] = {"server": "SRV", "workstation": "WKS", "laptop": "LT"}
_ALPHANUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

#: Pulseway notification titles, their usual priority and a message template.
ALERT_CATALOGUE: tuple[tuple[str, str, str], ...] = (
    (
        "Low disk space",
        "Critical",
        "The free space on disk drive C: on the computer '{host}' in group '{group}' is below "
        "{pct}% ({free} GB free of {total} GB).",
    ),
    (
        "Computer offline",
        "Elevated",
        "The computer '{host}' in group '{group}' has been offline for {minutes} minutes.",
    ),
    (
        "High CPU usage",
        "Elevated",
        "The CPU usage on the computer '{host}' in group '{group}' is above {pct}% for the last "
        "{minutes} minutes.",
    ),
    (
        "Memory usage high",
        "Normal",
        "The memory usage on the computer '{host}' in group '{group}' is above {pct}%.",
    ),
    (
        "Windows service stopped",
        "Elevated",
        "The service 'Print Spooler' on the computer '{host}' in group '{group}' stopped.",
    ),
    (
        "Backup failed",
        "Critical",
        "The backup job 'Nightly' on the computer '{host}' in group '{group}' failed with error "
        "0x{code:04X}.",
    ),
    (
        "Antivirus definitions out of date",
        "Normal",
        "The antivirus definitions on the computer '{host}' are {days} days old.",
    ),
    (
        "Pending reboot",
        "Low",
        "The computer '{host}' in group '{group}' needs a reboot to finish installing updates.",
    ),
    ("Runtime error", "Normal", "Cannot connect to the database."),
    (
        "Ping failed",
        "Critical",
        "The computer '{host}' in group '{group}' does not answer ping ({pct}% packet loss).",
    ),
)

#: RocketCyber incident titles with a description template and the remediation text.
INCIDENT_CATALOGUE: tuple[tuple[str, str, str], ...] = (
    (
        "Suspicious PowerShell Execution",
        "An encoded PowerShell command was executed on {host} by {user}.",
        "Isolate the device, review the process tree and reset the user's credentials.",
    ),
    (
        "Office 365 Login From Unusual Country",
        "Successful sign-in for {email} from an IP address geolocated outside the allowed "
        "countries.",
        "Confirm with the user; if not legitimate, revoke sessions and reset the password.",
    ),
    (
        "Ransomware Canary File Modified",
        "A canary file was modified on {host}; behaviour consistent with ransomware.",
        "Isolate the device immediately and start the incident response plan.",
    ),
    (
        "Malicious File Detected by Defender",
        "Microsoft Defender quarantined Trojan:Win32/Wacatac on {host}.",
        "Run a full scan and check for persistence.",
    ),
    (
        "Brute Force RDP Attempts",
        "More than 500 failed RDP logons against {host} in 10 minutes.",
        "Block RDP from the internet and enforce MFA on remote access.",
    ),
    (
        "New Local Administrator Created",
        "The account 'support$' was added to Administrators on {host} by {user}.",
        "Verify the change with the client; remove the account if unauthorised.",
    ),
    (
        "Outbound Connection to Known C2",
        "{host} connected to an address on a command-and-control blocklist.",
        "Isolate the device and capture memory for analysis.",
    ),
)


# ---------------------------------------------------------------------------------------------
# Generation


# The generators below use ``rng.random()`` arithmetic rather than ``randint``/``choice``: same
# determinism, several times faster, which is what keeps "large" (100,000 devices) quick.


def _pick(rng: random.Random, options: Sequence[_T]) -> _T:
    return options[int(rng.random() * len(options))]


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _computer_type(os_name: str) -> str:
    lowered = os_name.lower()
    if lowered.startswith("windows"):
        return "windows"
    if lowered.startswith("macos"):
        return "mac"
    return "linux"


def _kind_for_group(group_name: str, rng: random.Random) -> DeviceKind:
    kind = _GROUP_KINDS.get(group_name)
    if kind is not None:
        return kind
    return "workstation" if rng.random() < 0.6 else "laptop"


def random_guid(rng: random.Random) -> str:
    """A version-4 GUID text drawn from ``rng`` (lower case)."""
    bits = (rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC << 60)) | (0x4000 << 64) | (0x8 << 60)
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _device_id(rng: random.Random) -> str:
    text = random_guid(rng)
    # Pulseway ids come in mixed hex case; about a quarter upper-case keeps clients honest.
    return text.upper() if rng.random() < 0.25 else text


_PAIRS: dict[str, tuple[str, ...]] = {}


def _chars(rng: random.Random, alphabet: str, count: int) -> str:
    # Two characters per draw from a table of all pairs: half the work for serial numbers.
    pairs = _PAIRS.get(alphabet)
    if pairs is None:
        pairs = _PAIRS[alphabet] = tuple(a + b for a in alphabet for b in alphabet)
    size = len(pairs)
    text = "".join([pairs[int(rng.random() * size)] for _ in range(count // 2)])
    if count % 2:
        text += alphabet[int(rng.random() * len(alphabet))]
    return text


def _serial(rng: random.Random, style: str) -> str:
    if style == "dell":
        return _chars(rng, _ALPHANUM, 7)
    if style == "lenovo":
        return "PF" + _chars(rng, _ALPHANUM, 6)
    if style == "hp":
        return "5CG" + _chars(rng, _DIGITS, 4) + _chars(rng, _LETTERS, 3)
    if style == "vmware":
        raw = f"{rng.getrandbits(64):016x}"
        return "VMware-" + " ".join(raw[i : i + 2] for i in range(0, 16, 2))
    return "C02" + _chars(rng, _ALPHANUM, 9)


_ONLINE_CHANCE: dict[DeviceKind, float] = {"server": 0.95, "workstation": 0.7, "laptop": 0.5}
_MEMORY_GIB: dict[DeviceKind, tuple[int, ...]] = {
    "server": (32, 64, 128),
    "workstation": (8, 16, 32),
    "laptop": (8, 16),
}
_CLIENT_VERSIONS = ("9.14.2", "9.14.2", "9.14.2", "9.13.5")
_DISK_SIZES_KB = (249_000_000, 499_000_000, 999_000_000)


def make_device(
    rng: random.Random,
    organization: PulsewayOrganization,
    group: PulsewayGroup,
    kind: DeviceKind,
    now: datetime,
    *,
    registered_at: datetime | None = None,
) -> PulsewayDevice:
    """A plausible device of ``kind`` in ``group``, named from the organization's prefix."""
    number = organization.next_host_number
    organization.next_host_number += 1
    os_name, os_version = _OS_BY_KIND[kind].pick(rng)
    if os_name.startswith("macOS"):
        manufacturer, model, serial_style = "Apple Inc.", "MacBook Pro", "apple"
    else:
        manufacturer, model, serial_style = _HARDWARE[kind].pick(rng)
    is_online = rng.random() < _ONLINE_CHANCE[kind]
    if is_online:
        last_seen = now - timedelta(seconds=_between(rng, 5, 300))
    else:
        last_seen = now - timedelta(minutes=_between(rng, 60, 60 * 24 * 45))
    width = 2 if kind == "server" else 3
    return PulsewayDevice(
        identifier=_device_id(rng),
        name=f"{organization.hostname_prefix}-{_HOST_TAGS[kind]}-{number:0{width}d}",
        group_id=group.id,
        kind=kind,
        os_name=os_name,
        os_version=os_version,
        computer_type=_computer_type(os_name),
        serial_number=_serial(rng, serial_style),
        manufacturer=manufacturer,
        model=model,
        client_version=_pick(rng, _CLIENT_VERSIONS),
        is_online=is_online,
        last_seen_online=last_seen,
        registered_at=registered_at or (now - timedelta(days=_between(rng, 30, 1200))),
        traits=rng.getrandbits(64),
    )


def external_ip_for_site(site_id: int) -> str:
    """The public address a site's devices share (documentation range 203.0.113.0/24)."""
    return f"203.0.113.{site_id % 250 + 1}"


class _WorldBuilder:
    """Builds a :class:`World`; one instance per call, random streams per part."""

    def __init__(self, size: Size, seed: int, now: datetime) -> None:
        self.size = size
        self.seed = seed
        self.now = now
        self.profile = PROFILES[size]
        self.pulseway = PulsewayTenant()
        self.rocketcyber = RocketCyberTenant(
            RocketCyberAccount(10001, "Northwind IT", "10001", "provider")
        )
        self._used_prefixes: set[str] = set()
        self._hq_sites: dict[int, PulsewaySite] = {}
        self._first_group: dict[int, PulsewayGroup] = {}

    def rng(self, part: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.size}:{part}")

    def build(self) -> World:
        profile = self.profile
        name_rng = self.rng("names")
        pairs = self._name_pairs(name_rng, profile.companies + profile.unmatched_organizations)
        company_pairs = pairs[: profile.companies]
        fresh_unmatched_pairs = pairs[profile.companies :]

        companies_draft = self._company_drafts(company_pairs)
        pending = set(range(len(companies_draft) - profile.pending_companies, len(companies_draft)))
        renamed = set(
            range(min(profile.renamed_organizations, len(companies_draft) - len(pending)))
        )

        # Pulseway organizations for every non-pending company, then the unmatched ones: first
        # near-misses of pending companies (a name a dispatcher will recognise), then new names.
        org_for_company: dict[int, PulsewayOrganization] = {}
        group_mappings: list[GroupMapping] = []
        for index, draft in enumerate(companies_draft):
            if index in pending:
                continue
            org_name = f"{draft['base']} - Managed IT" if index in renamed else draft["name"]
            organization = self._organization(org_name)
            org_for_company[index] = organization
            if index in renamed:
                group_mappings.append(GroupMapping(org_name, organization.id, draft["key"]))
        unmatched: list[PulsewayOrganization] = []
        pending_sorted = sorted(pending)
        for n in range(profile.unmatched_organizations):
            if n < len(pending_sorted):
                draft = companies_draft[pending_sorted[n]]
                # A near miss: the partner's name without its legal suffix, or with one added.
                base, full = draft["base"], draft["name"]
                name = base if base != full else f"{base} Ltd"
            else:
                prefix, noun = fresh_unmatched_pairs[n - len(pending_sorted)]
                name = f"{prefix} {noun}"
            unmatched.append(self._organization(name))

        custom_field_created = self.now - timedelta(days=400)
        self.pulseway.add_custom_field(
            "Odoo Partner ID",
            "Stamped by the PSA console when a partner is linked",
            "Number",
            ("Organization",),
            custom_field_created,
        )
        self.pulseway.add_custom_field(
            "Contract Tier",
            "Service tier of the client",
            "Text",
            ("Organization", "Site"),
            custom_field_created,
        )

        device_rng = self.rng("devices")
        all_orgs = [org_for_company[i] for i in sorted(org_for_company)] + unmatched
        counts = self._device_counts(device_rng, len(org_for_company), len(unmatched))
        devices_by_org: dict[int, list[PulsewayDevice]] = {}
        for organization, count in zip(all_orgs, counts, strict=True):
            devices_by_org[organization.id] = self._populate(device_rng, organization, count)

        companies = self._companies(companies_draft, org_for_company)
        contacts = self._contacts(companies)
        assets = self._assets(companies, devices_by_org, contacts)
        subscriptions = self._subscriptions(companies, assets)
        tickets = self._tickets(companies, assets, contacts)
        self._rocketcyber(companies, devices_by_org)

        odoo = OdooSide(
            serviced_accounts=SERVICED_ACCOUNTS,
            users=USERS,
            companies=tuple(companies),
            contacts=tuple(contacts),
            assets=tuple(assets),
            subscriptions=tuple(subscriptions),
            tickets=tuple(tickets),
            group_mappings=tuple(group_mappings),
        )
        return World(self.size, self.seed, self.now, odoo, self.pulseway, self.rocketcyber)

    # -- names -------------------------------------------------------------------------------

    def _name_pairs(self, rng: random.Random, count: int) -> list[tuple[str, str]]:
        capacity = len(_NAME_PREFIXES) * len(_NAME_NOUNS)
        if count > capacity:
            raise ValueError(f"cannot name {count} companies uniquely (at most {capacity})")
        if count == 0:
            return []
        picks = rng.sample(range(capacity), count)
        return [
            (_NAME_PREFIXES[p // len(_NAME_NOUNS)], _NAME_NOUNS[p % len(_NAME_NOUNS)])
            for p in picks
        ]

    def _hostname_prefix(self, name: str) -> str:
        words = [w for w in name.replace("&", " ").split() if w.isalpha()]
        first = words[0][:3] if words else "DEV"
        second = words[1][:2] if len(words) > 1 else ""
        base = (first + second).upper()
        prefix, n = base, 2
        while prefix in self._used_prefixes:
            prefix = f"{base}{n}"
            n += 1
        self._used_prefixes.add(prefix)
        return prefix

    def _company_drafts(self, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
        rng = self.rng("companies")
        drafts = []
        for index, (prefix, noun) in enumerate(pairs):
            base = f"{prefix} {noun}"
            drafts.append(
                {
                    "key": f"company-{index + 1:04d}",
                    "base": base,
                    "name": base + rng.choice(_NAME_SUFFIXES),
                    # Alternate so both SAs hold about half, whatever the count.
                    "sa": "east" if index % 2 == 0 else "west",
                }
            )
        return drafts

    # -- Pulseway ----------------------------------------------------------------------------

    def _organization(self, name: str) -> PulsewayOrganization:
        organization = self.pulseway.add_organization(
            name, hostname_prefix=self._hostname_prefix(name)
        )
        # add_organization creates the HQ site last; remember it instead of searching later.
        self._hq_sites[organization.id] = next(reversed(self.pulseway.sites.values()))
        return organization

    def _device_counts(self, rng: random.Random, matched: int, unmatched: int) -> list[int]:
        total = self.profile.devices
        if matched + unmatched == 0:
            return []
        unmatched_counts = [min(rng.randint(3, 8), max(1, total // 10)) for _ in range(unmatched)]
        remaining = max(0, total - sum(unmatched_counts))
        if matched == 0:
            return unmatched_counts
        weights = [rng.lognormvariate(0.0, 0.7) for _ in range(matched)]
        scale = remaining / sum(weights)
        counts = [max(2, int(w * scale)) for w in weights]
        # Settle rounding on the largest organizations so the total is exact.
        order = sorted(range(matched), key=lambda i: -counts[i])
        difference = remaining - sum(counts)
        i = 0
        while difference != 0:
            index = order[i % matched]
            step = 1 if difference > 0 else -1
            if counts[index] + step >= 2:
                counts[index] += step
                difference -= step
            i += 1
        return counts + unmatched_counts

    def _populate(
        self, rng: random.Random, organization: PulsewayOrganization, count: int
    ) -> list[PulsewayDevice]:
        tenant = self.pulseway
        hq = self._hq_sites[organization.id]
        hq.city, hq.zip, _region = rng.choice(_CITIES)
        hq.address = f"{rng.randint(1, 999)} {rng.choice(_STREETS)}"
        hq.phone = f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        sites = [hq]
        if count > 40 and rng.random() < 0.4:
            branch = PulsewaySite(
                tenant.new_container_id(),
                "Branch Office",
                organization.id,
                city=rng.choice(_CITIES)[0],
            )
            tenant.sites[branch.id] = branch
            sites.append(branch)
        groups: dict[DeviceKind, list[PulsewayGroup]] = {
            "server": [],
            "workstation": [],
            "laptop": [],
        }
        for site in sites:
            for group_name, kind in _GROUP_KINDS.items():
                if kind == "server" and site is not hq:
                    continue
                group = PulsewayGroup(
                    tenant.new_container_id(), group_name, site.id, organization.id
                )
                tenant.groups[group.id] = group
                groups[kind].append(group)
                self._first_group.setdefault(organization.id, group)
        servers = 0 if count < 4 else max(1, round(count * 0.08))
        laptops = round((count - servers) * 0.35)
        server: list[DeviceKind] = ["server"]
        laptop: list[DeviceKind] = ["laptop"]
        workstation: list[DeviceKind] = ["workstation"]
        kinds = server * servers + laptop * laptops + workstation * (count - servers - laptops)
        devices = []
        for kind in kinds:
            group = _pick(rng, groups[kind])
            device = make_device(rng, organization, group, kind, self.now)
            tenant.devices[device.key] = device
            devices.append(device)
        tenant.version += 1
        return devices

    # -- Odoo --------------------------------------------------------------------------------

    def _companies(
        self, drafts: list[dict[str, str]], org_for_company: dict[int, PulsewayOrganization]
    ) -> list[Company]:
        rng = self.rng("company-details")
        companies = []
        for index, draft in enumerate(drafts):
            sa = draft["sa"]
            region = "East" if sa == "east" else "West"
            city, zip_code, _region = rng.choice([c for c in _CITIES if c[2] == region])
            technician = _SA_TECHNICIAN[sa]
            # In East the manager keeps a few accounts herself.
            assigned = "maria" if sa == "east" and rng.random() < 0.25 else technician
            slug = "".join(ch for ch in draft["base"].lower() if ch.isalnum())
            organization = org_for_company.get(index)
            companies.append(
                Company(
                    key=draft["key"],
                    name=draft["name"],
                    sa_key=sa,
                    assigned_login=assigned,
                    email=f"office@{slug}.example",
                    phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    street=f"{rng.randint(1, 999)} {rng.choice(_STREETS)}",
                    city=city,
                    zip=zip_code,
                    country_code="US",
                    website=f"https://www.{slug}.example",
                    pulseway_org_id=organization.id if organization else None,
                    pulseway_sync_state="synced" if organization else "pending",
                    rocketcyber_account_id=None,  # filled in by _rocketcyber
                )
            )
        return companies

    def _contacts(self, companies: list[Company]) -> list[Contact]:
        rng = self.rng("contacts")
        contacts = []
        for company in companies:
            domain = company.email.split("@", 1)[1]
            seen: set[tuple[str, str]] = set()
            for n in range(rng.randint(1, 4)):
                first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
                if (first, last) in seen:
                    continue
                seen.add((first, last))
                contacts.append(
                    Contact(
                        key=f"{company.key}-contact-{n + 1}",
                        company_key=company.key,
                        name=f"{first} {last}",
                        email=f"{first.lower()}.{last.lower()}@{domain}",
                        phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                        function=rng.choice(_FUNCTIONS),
                    )
                )
        return contacts

    def _assets(
        self,
        companies: list[Company],
        devices_by_org: dict[int, list[PulsewayDevice]],
        contacts: list[Contact],
    ) -> list[Asset]:
        rng = self.rng("assets")
        profile = self.profile
        contacts_by_company: dict[str, list[Contact]] = {}
        for contact in contacts:
            contacts_by_company.setdefault(contact.company_key, []).append(contact)
        tenant = self.pulseway
        assets: list[Asset] = []
        counter = 0
        for company in companies:
            if company.pulseway_org_id is None:
                continue
            people = contacts_by_company.get(company.key, [])
            devices = devices_by_org[company.pulseway_org_id]
            for device in devices:
                if rng.random() < profile.not_in_odoo_fraction:
                    # Enrolled recently; the sync has not picked it up yet.
                    device.registered_at = self.now - timedelta(hours=_between(rng, 1, 20))
                    continue
                counter += 1
                os_info = device.os_name
                if rng.random() < profile.stale_os_fraction:
                    os_info = _OLDER_OS.get(os_info, os_info)
                last_audit = self.now - timedelta(minutes=_between(rng, 5, 60 * 48))
                if rng.random() < 0.05:
                    last_audit = self.now - timedelta(days=rng.randint(14, 90))
                contact_key: str | None = None
                if people and device.kind != "server" and rng.random() < 0.5:
                    contact_key = _pick(rng, people).key
                group = tenant.groups[device.group_id]
                assets.append(
                    Asset(
                        key=f"asset-{counter:06d}",
                        name=device.name,
                        serial_number=device.serial_number,
                        company_key=company.key,
                        contact_key=contact_key,
                        pulseway_id=device.identifier,
                        os_info=os_info,
                        last_audit=last_audit,
                        last_seen=device.last_seen_online,
                        status="active",
                        pulseway_group=group.name,
                        pulseway_org_id=company.pulseway_org_id,
                    )
                )
            retired = int(len(devices) * profile.decommissioned_fraction + rng.random())
            organization = tenant.organizations[company.pulseway_org_id]
            for _ in range(retired):
                counter += 1
                # Retired machines keep their last Pulseway id; the device is gone from Pulseway.
                ghost_group = self._first_group[organization.id]
                ghost = make_device(
                    rng, organization, ghost_group, rng.choice(("workstation", "laptop")), self.now
                )
                assets.append(
                    Asset(
                        key=f"asset-{counter:06d}",
                        name=ghost.name,
                        serial_number=ghost.serial_number,
                        company_key=company.key,
                        contact_key=None,
                        pulseway_id=ghost.identifier,
                        os_info=ghost.os_name,
                        last_audit=self.now - timedelta(days=rng.randint(60, 400)),
                        last_seen=self.now - timedelta(days=rng.randint(60, 400)),
                        status="decommissioned",
                        pulseway_group=ghost_group.name,
                        pulseway_org_id=company.pulseway_org_id,
                    )
                )
        return assets

    def _subscriptions(self, companies: list[Company], assets: list[Asset]) -> list[Subscription]:
        rng = self.rng("subscriptions")
        active: dict[str, int] = {}
        for asset in assets:
            if asset.status == "active":
                active[asset.company_key] = active.get(asset.company_key, 0) + 1
        subscriptions: list[Subscription] = []
        for company in companies:
            count = active.get(company.key, 0)
            if count == 0 or rng.random() < 0.08:
                continue
            seats = count
            if rng.random() < self.profile.stale_seat_fraction:
                seats = max(0, count + rng.choice((-5, -3, -2, -1, 1, 2, 4)))
            subscriptions.append(
                Subscription(
                    key=f"subscription-{len(subscriptions) + 1:05d}",
                    name=f"SUB{len(subscriptions) + 1:05d}",
                    company_key=company.key,
                    sa_key=company.sa_key,
                    user_login=company.assigned_login,
                    managed_seats=seats,
                    active_assets=count,
                    price_unit=MANAGED_SEAT_PRODUCT.list_price,
                    start_date=(self.now - timedelta(days=rng.randint(60, 900))).date(),
                )
            )
        # Every non-empty world shows the billing workflow: at least one stale subscription.
        if subscriptions and not any(s.is_stale for s in subscriptions):
            first = subscriptions[0]
            subscriptions[0] = dataclasses.replace(first, managed_seats=first.active_assets + 2)
        return subscriptions

    def _tickets(
        self, companies: list[Company], assets: list[Asset], contacts: list[Contact]
    ) -> list[Ticket]:
        rng = self.rng("tickets")
        if not companies or self.profile.tickets == 0:
            return []
        requests = (
            (
                "Outlook keeps asking for the password",
                "The user is prompted for credentials every few minutes since this morning.",
            ),
            (
                "New starter: laptop and accounts",
                "Please prepare a laptop, a mailbox and VPN "
                "access for a new colleague starting Monday.",
            ),
            (
                "Printer on 2nd floor not printing",
                "Jobs stay in the queue; the printer shows ready.",
            ),
            (
                "VPN disconnects every hour",
                "Remote staff lose the VPN connection roughly every 60 minutes.",
            ),
            (
                "Shared drive access for accounting",
                "Grant the accounting team read/write access to the Finance share.",
            ),
            ("Slow computer", "The PC takes ten minutes to start and applications freeze."),
        )
        active_by_company: dict[str, list[Asset]] = {}
        for asset in assets:
            if asset.status == "active":
                active_by_company.setdefault(asset.company_key, []).append(asset)
        contacts_by_company: dict[str, list[Contact]] = {}
        for contact in contacts:
            contacts_by_company.setdefault(contact.company_key, []).append(contact)
        candidates = [c for c in companies if c.key in active_by_company] or companies
        tickets: list[Ticket] = []
        for n in range(self.profile.tickets):
            company = rng.choice(candidates)
            company_assets = active_by_company.get(company.key, [])
            people = contacts_by_company.get(company.key, [])
            # Mix assigned and unassigned work; technicians see both queues.
            user = _SA_TECHNICIAN[company.sa_key] if rng.random() < 0.55 else None
            created = self.now - timedelta(minutes=rng.randint(10, 60 * 24 * 10))
            alert_key: str | None = None
            alert_count = 0
            if company_assets and rng.random() < 0.5:
                asset = rng.choice(company_assets)
                title, priority_name, _template = rng.choice(ALERT_CATALOGUE)
                name = f"Alert: {title}"
                description = f"{title} on {asset.name}."
                asset_key: str | None = asset.key
                priority = "2" if priority_name == "Critical" else "1"
                alert_key = alert_dedupe_key("pulseway", asset.pulseway_id, title)
                alert_count = rng.choice((1, 1, 1, 2, 3, 7))
            else:
                name, description = rng.choice(requests)
                linked = company_assets and rng.random() < 0.4
                asset_key = rng.choice(company_assets).key if linked else None
                priority = rng.choice(("0", "1", "1", "2"))
            tickets.append(
                Ticket(
                    key=f"ticket-{n + 1:05d}",
                    name=name,
                    description=description,
                    company_key=company.key,
                    contact_key=rng.choice(people).key if people else None,
                    asset_key=asset_key,
                    sa_key=company.sa_key,
                    user_login=user,
                    priority=priority,
                    stage="in_progress" if user and rng.random() < 0.5 else "new",
                    created_at=created,
                    alert_key=alert_key,
                    alert_count=alert_count,
                )
            )
        return tickets

    # -- RocketCyber -------------------------------------------------------------------------

    def _rocketcyber(
        self, companies: list[Company], devices_by_org: dict[int, list[PulsewayDevice]]
    ) -> None:
        rng = self.rng("rocketcyber")
        tenant = self.rocketcyber
        provider = tenant.provider
        next_account = 20001
        for position, company in enumerate(companies):
            if company.pulseway_org_id is None or rng.random() >= self.profile.rocketcyber_fraction:
                continue
            account = RocketCyberAccount(
                next_account,
                company.name,
                f"{provider.id}.{next_account}",
                "customer",
                company_key=company.key,
            )
            next_account += 1
            tenant.accounts[account.id] = account
            companies[position] = dataclasses.replace(company, rocketcyber_account_id=account.id)
            for device in devices_by_org[company.pulseway_org_id]:
                if device.computer_type != "windows":
                    continue
                tenant.agents.append(self._agent(rng, account, device))
        self._incidents(rng)

    def _agent(
        self, rng: random.Random, account: RocketCyberAccount, device: PulsewayDevice
    ) -> RocketCyberAgent:
        connectivity = "online" if device.is_online else "offline"
        if rng.random() < 0.01:
            connectivity = "isolated"
        return RocketCyberAgent(
            id=random_guid(rng),
            account_id=account.id,
            account_path=account.path,
            device=device,
            connectivity=connectivity,
            created_at=device.registered_at + timedelta(minutes=_between(rng, 5, 600)),
        )

    def _incidents(self, rng: random.Random) -> None:
        tenant = self.rocketcyber
        if not tenant.agents or self.profile.incidents == 0:
            return
        agents_by_account: dict[int, list[RocketCyberAgent]] = {}
        for agent in tenant.agents:
            agents_by_account.setdefault(agent.account_id, []).append(agent)
        accounts = sorted(agents_by_account)
        planned = []
        for _ in range(self.profile.incidents):
            created = self.now - timedelta(minutes=rng.randint(30, 60 * 24 * 30))
            planned.append((created, rng.choice(accounts)))
        for created, account_id in sorted(planned):
            agent = rng.choice(agents_by_account[account_id])
            title, template, remediation = rng.choice(INCIDENT_CATALOGUE)
            user = f"{rng.choice(_FIRST_NAMES).lower()}.{rng.choice(_LAST_NAMES).lower()}"
            domain = tenant.accounts[account_id].name.split()[0].lower()
            incident = tenant.open_incident(
                account_id,
                title,
                template.format(
                    host=agent.hostname,
                    user=f"{domain.upper()}\\{user}",
                    email=f"{user}@{domain}.example",
                ),
                remediation,
                created_at=created,
                published_at=created + timedelta(minutes=rng.randint(2, 20)),
                event_count=rng.randint(1, 12),
                hostname=agent.hostname,
            )
            # Older incidents are mostly handled; recent ones mostly still open.
            age_days = (self.now - created).total_seconds() / 86400
            if rng.random() < min(0.9, 0.3 + age_days / 10):
                resolved = incident.published_at + timedelta(minutes=rng.randint(10, 60 * 24))
                if resolved < self.now:
                    tenant.resolve_incident(incident.id, resolved)


def iter_mapped_devices(world: World) -> Iterator[tuple[PulsewayDevice, Company]]:
    """Pulseway devices whose organization maps to a company (by id or group mapping)."""
    by_org: dict[int, Company] = {}
    for company in world.odoo.companies:
        if company.pulseway_org_id is not None:
            by_org[company.pulseway_org_id] = company
    tenant = world.pulseway
    for device in tenant.device_list():
        owner = by_org.get(tenant.groups[device.group_id].organization_id)
        if owner is not None:
            yield device, owner
