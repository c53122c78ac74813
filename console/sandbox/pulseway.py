"""Pulseway REST API v3 stand-in: an ASGI app serving a :class:`~console.sandbox.world.World`.

Faithful to the reference where it is documented and configurable where it is not:

* HTTP Basic ``TOKEN_ID:TOKEN_SECRET``; 401 otherwise;
* the ``{"Data", "Meta"}`` envelope, ``Meta.ErrorMessage`` on errors, ``"Entity is not found."``
  for unknown ids and unknown paths; paths are matched case-insensitively (the docs mix
  ``customFields`` and ``customfields``) and so are device GUIDs;
* ``$top`` (1..100, else 400) / ``$skip`` paging with ``Meta.TotalCount``; a ``$filter`` /
  ``$orderby`` subset (:mod:`console.sandbox.odata`);
* organizations, sites, groups (read-only), devices, assets (with the BIOS serial), custom fields
  (definitions, usage, assign / updateAssigned / unassign, per-entity values), notifications
  (the list with epoch ``DateTime`` ints, the detail with ISO — both as documented; the list
  can send ISO too, since the reference leaves it open) and notification webhooks
  (``SecretKey`` only on create/regenerate);
* notifications raised through ``POST /v3/notifications`` are delivered to every matching
  webhook, signed, with retries (:mod:`console.sandbox.pulseway_webhooks`);
* 429 with ``Meta.ResponseCode: 429`` when over the configured rate (default 100 / 5 s and
  1000 / 60 s per token, the community figures), with ``Retry-After`` unless disabled;
* optionally the seed's organization-create endpoint (``POST /v2/organizations``), which the
  public API does not have — off by default.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from console.pulseway.dates import format_pulseway_datetime
from console.sandbox.odata import ODataError, apply_orderby, parse_filter, parse_orderby
from console.sandbox.pulseway_webhooks import (
    DeliveryPolicy,
    DeliveryResult,
    WebhookDeliverer,
    encode_body,
    recorded_notification_payload,
)
from console.sandbox.ratelimit import RateLimit, SlidingWindowLimiter, retry_after_header
from console.sandbox.world import (
    PulsewayDevice,
    PulsewayGroup,
    PulsewayNotification,
    PulsewayOrganization,
    PulsewaySite,
    PulsewayTenant,
    PulsewayWebhook,
    World,
    external_ip_for_site,
)

log = logging.getLogger(__name__)

#: 100 requests / 5 s and 1000 / 60 s per token: the figures community integrations cite.
DEFAULT_PULSEWAY_RATE_LIMITS: tuple[RateLimit, ...] = (RateLimit(100, 5.0), RateLimit(1000, 60.0))
MAX_TOP = 100
NOT_FOUND = "Entity is not found."
PRIORITIES = ("Low", "Normal", "Elevated", "Critical")
CONTEXT_TYPES = ("Organization", "Site", "Group", "Device")


class ApiError(Exception):
    """Raised by handlers; becomes an error envelope with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def envelope(data: Any, *, status: int = 200, total: int | None = None) -> JSONResponse:
    """A success envelope; ``total`` adds ``Meta.TotalCount`` (lists only)."""
    meta: dict[str, Any] = {"ResponseCode": status}
    if total is not None:
        meta["TotalCount"] = total
    return JSONResponse({"Data": data, "Meta": meta}, status_code=status)


def error_envelope(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error envelope as Pulseway sends them."""
    return JSONResponse(
        {"Data": None, "Meta": {"ResponseCode": status, "ErrorMessage": message}},
        status_code=status,
        headers=headers,
    )


def _iso_z(moment: datetime | None) -> str:
    return "" if moment is None else format_pulseway_datetime(moment)


def _iso_naive(moment: datetime | None) -> str | None:
    # Webhook CreatedAt/UpdatedAt come without a zone in the reference.
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _display_time(moment: datetime) -> str:
    """Pulseway's localised display text, e.g. ``Tuesday, May 16, 2023 5:15 PM``."""
    hour = moment.hour % 12 or 12
    return f"{moment:%A, %B} {moment.day}, {moment.year} {hour}:{moment:%M %p}"


def _days(seconds: float) -> int:
    return max(0, int(seconds // 86400))


# -- item builders ------------------------------------------------------------------------------


def organization_item(org: PulsewayOrganization) -> dict[str, Any]:
    """``GET /v3/organizations`` item."""
    return {
        "Id": org.id,
        "Name": org.name,
        "HasCustomFields": bool(org.custom_fields),
        "PsaMappingId": org.psa_mapping_id,
        "PsaMappingType": org.psa_mapping_type,
    }


def site_item(tenant: PulsewayTenant, site: PulsewaySite) -> dict[str, Any]:
    """``GET /v3/sites`` item (sites use ``PsaIntegrationType``, not ``PsaMappingType``)."""
    parent = tenant.organizations.get(site.organization_id)
    return {
        "Id": site.id,
        "Name": site.name,
        "ContactInformation": {
            "Phone": site.phone,
            "Fax": "",
            "Email": site.email,
            "ContactName": site.contact_name,
            "CountryCode": site.country_code,
            "City": site.city,
            "Address1": site.address,
            "Address2": "",
            "Zip": site.zip,
        },
        "ParentId": site.organization_id,
        "ParentName": parent.name if parent else "",
        "HasCustomFields": bool(site.custom_fields),
        "PsaMappingId": None,
        "PsaIntegrationType": None,
    }


def group_item(
    tenant: PulsewayTenant, group: PulsewayGroup, *, detail: bool = False
) -> dict[str, Any]:
    """``GET /v3/groups`` item; the detail adds the agent ``Packages``."""
    site = tenant.sites.get(group.site_id)
    org = tenant.organizations.get(group.organization_id)
    item: dict[str, Any] = {
        "Id": group.id,
        "Name": group.name,
        "ParentSiteId": group.site_id,
        "ParentSiteName": site.name if site else "",
        "ParentOrganizationId": group.organization_id,
        "ParentOrganizationName": org.name if org else "",
        "Notes": group.notes,
        "HasCustomFields": bool(group.custom_fields),
        "PsaMappingId": None,
        "PsaMappingType": None,
    }
    if detail:
        item["Packages"] = [
            {"Type": "windows_agent_x64", "Name": "Windows (64 bit)"},
            {"Type": "windows_agent_x86", "Name": "Windows (32 bit)"},
        ]
    return item


def device_summary(tenant: PulsewayTenant, device: PulsewayDevice) -> dict[str, Any]:
    """``GET /v3/devices`` item: no OS, no online state (reference §2.1)."""
    group = tenant.groups[device.group_id]
    site = tenant.sites[group.site_id]
    org = tenant.organizations[group.organization_id]
    return {
        "Identifier": device.identifier,
        "Name": device.name,
        "GroupId": group.id,
        "GroupName": group.name,
        "IsAgentInstalled": True,
        "IsMdmEnrolled": False,
        "SiteId": site.id,
        "SiteName": site.name,
        "OrganizationId": org.id,
        "OrganizationName": org.name,
        "HasCustomFields": bool(device.custom_fields),
    }


def _local_ip_addresses(device: PulsewayDevice) -> list[dict[str, Any]]:
    gateway = device.local_ip.rsplit(".", 1)[0] + ".1"
    return [
        {
            "Name": "Ethernet0",
            "PhysicalAddress": device.mac_address,
            "DhcpEnabled": device.kind != "server",
            "Gateways": [gateway],
            "DnsServers": [gateway],
            "SubnetMask": "255.255.255.0",
            "IpV4": device.local_ip,
            "IpV6": f"fe80::{device.traits & 0xFFFF:x}:{(device.traits >> 16) & 0xFFFF:x}%16",
        }
    ]


def _uptime_text(device: PulsewayDevice, now: datetime) -> str:
    if device.is_online:
        return f"Online for {_days((now - device.last_boot).total_seconds())} days"
    return f"Offline since {_days((now - device.last_seen_online).total_seconds())} days ago"


def device_detail(
    tenant: PulsewayTenant, device: PulsewayDevice, now: datetime, counts: dict[str, int]
) -> dict[str, Any]:
    """``GET /v3/devices/{id}``: the list fields plus OS caption, state and addresses."""
    site = tenant.site_of(device)
    return {
        "Description": device.os_name,
        "Uptime": _uptime_text(device, now),
        "IsOnline": device.is_online,
        "ComputerType": device.computer_type,
        "InMaintenance": device.in_maintenance,
        "ExternalIpAddress": external_ip_for_site(site.id),
        "CriticalNotifications": counts.get("Critical", 0),
        "ElevatedNotifications": counts.get("Elevated", 0),
        "NormalNotifications": counts.get("Normal", 0),
        "LowNotifications": counts.get("Low", 0),
        "LocalIpAddresses": _local_ip_addresses(device),
        "ClientVersion": device.client_version,
        **device_summary(tenant, device),
    }


def asset_item(tenant: PulsewayTenant, device: PulsewayDevice) -> dict[str, Any]:
    """``GET /v3/assets`` item / ``/v3/assets/{id}`` (reference §2.3, sample asset detail)."""
    group = tenant.groups[device.group_id]
    org = tenant.organizations[group.organization_id]
    site = tenant.sites[group.site_id]
    traits = device.traits
    domain = "".join(ch for ch in org.name.lower() if ch.isalnum())[:15] + ".local"
    product_id = (
        f"00{traits % 1000:03d}-{(traits >> 10) % 100000:05d}-00000-AA{(traits >> 27) % 1000:03d}"
    )
    # Some agents report empty LastUpdated/LastReboot strings (reference §1): keep that quirk.
    quirky = (traits >> 60) % 4 == 0
    return {
        "Identifier": device.identifier,
        "Name": device.name,
        "GroupName": group.name,
        "Description": device.os_name,
        "Tags": ["production"] if device.kind == "server" else [],
        "Type": device.computer_type,
        "ClientVersion": device.client_version,
        "LastUpdated": "" if quirky else _iso_z(device.last_seen_online),
        "LastSeenOnline": _iso_z(device.last_seen_online),
        "LastReboot": "" if quirky else _iso_z(device.last_boot),
        "ExternalUrl": f"https://{tenant.server_name}/app/main/systems/{device.identifier}/details",
        "CpuUsage": device.cpu_usage,
        "MemoryUsage": device.memory_usage,
        "MemoryTotal": device.memory_total,
        "FirewallEnabled": True,
        "AntivirusEnabled": "enabled",
        "AntivirusUpToDate": "no" if (traits >> 58) % 10 == 0 else "yes",
        "UacEnabled": device.computer_type == "windows",
        "EventLogs": {
            "Error": traits % 300,
            "Warning": (traits >> 9) % 1000,
            "Information": 10000 + (traits >> 19) % 50000,
        },
        "Updates": {
            "Critical": (traits >> 40) % 2,
            "Important": (traits >> 42) % 4,
            "Moderate": 0,
            "Low": 0,
            "Unspecified": 0,
        },
        "AssetInfo": [
            {
                "CategoryName": "System",
                "CategoryData": {
                    "Name": device.name,
                    "Manufacturer": device.manufacturer,
                    "Model": device.model,
                    "Type": "x64-based PC",
                    "CPU": device.cpu,
                    "Number of Processors": "1",
                    "Number of Logical Processors": str(device.logical_processors),
                    "DNS Host Name": device.name,
                    "Domain": domain,
                    "Owner Name": org.name,
                    "Roles": "LM_Workstation, LM_Server, NT"
                    + (", Server_NT" if device.kind == "server" else ""),
                    "Status": "OK",
                },
            },
            {
                "CategoryName": "BIOS",
                "CategoryData": {
                    "Serial Number": device.serial_number,
                    "Name": "2.19.1",
                    "Manufacturer": device.manufacturer,
                    "SMBIOS Version": "2.19.1",
                    "SMBIOS Major Version": "3",
                    "SMBIOS Minor Version": "3",
                    "Version": f"{device.manufacturer.split()[0].upper()}   - 1072009",
                    "Release Date": "Thursday, March 14, 2024 1:00 AM",
                    "Status": "OK",
                    "Description": "2.19.1",
                },
            },
            {
                "CategoryName": "Operating System",
                "CategoryData": {
                    "Name": device.os_name,
                    "Version": device.os_version,
                    "Build Type": "Multiprocessor Free",
                    "Registered User": org.name,
                    "Serial Number": product_id,
                    "Service Pack Major Version": "0",
                    "Service Pack Minor Version": "0",
                    "System Device": "\\Device\\HarddiskVolume2",
                    "System Directory": "C:\\Windows\\system32",
                    "Windows Directory": "C:\\Windows",
                    "Install Date": _display_time(device.registered_at),
                    "Last Logged On User": f"{domain.split('.')[0].upper()}\\user{traits % 97}",
                },
            },
        ],
        "PublicIpAddress": external_ip_for_site(site.id),
        "IpAddresses": [
            {
                "Name": "Ethernet0",
                "MAC": device.mac_address,
                "IPs": [
                    {
                        "IP": device.local_ip,
                        "V6": False,
                        "Download": traits % 9000,
                        "Upload": (traits >> 14) % 4000,
                    }
                ],
            }
        ],
        "Disks": [
            {
                "Name": "C:",
                "System": True,
                "FreePercentage": device.disk_free_percent,
                "TotalValue": device.disk_total_kb,
            }
        ],
        "InstalledSoftware": [
            {"Name": "Google Chrome", "Publisher": "Google LLC", "Version": "125.0.6422.142"},
            {"Name": "Pulseway", "Publisher": "Kaseya", "Version": device.client_version},
        ],
        "LocalIpAddresses": _local_ip_addresses(device),
    }


def webhook_item(webhook: PulsewayWebhook, *, with_secret: bool = False) -> dict[str, Any]:
    """A webhook as GET shows it; ``with_secret`` for the create answer only."""
    item: dict[str, Any] = {}
    if with_secret:
        item["SecretKey"] = webhook.secret_key
    item.update(
        {
            "Id": webhook.id,
            "Name": webhook.name,
            "Description": webhook.description,
            "Priorities": list(webhook.priorities),
            "OrganizationIds": None
            if webhook.organization_ids is None
            else list(webhook.organization_ids),
            "Url": webhook.url,
            "Headers": dict(webhook.headers),
            "Language": webhook.language,
        }
    )
    if webhook.updated_at is not None:
        item["UpdatedAt"] = _iso_naive(webhook.updated_at)
    else:
        item["CreatedAt"] = _iso_naive(webhook.created_at)
    return item


# -- middleware -----------------------------------------------------------------------------------


class CaseInsensitivePaths:
    """Lower-cases the request path before routing (docs mix ``customFields``/``customfields``).

    Every id in a path is an int or a GUID compared case-insensitively, so nothing is lost.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = dict(scope)
            scope["path"] = scope["path"].lower()
            if "raw_path" in scope and scope["raw_path"] is not None:
                scope["raw_path"] = scope["raw_path"].lower()
        await self.app(scope, receive, send)


# -- the service ----------------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


class PulsewayStandIn:
    """State and handlers behind :func:`create_pulseway_app`."""

    def __init__(
        self,
        world: World,
        *,
        token_id: str,
        token_secret: str,
        rate_limits: Sequence[RateLimit],
        allow_org_create: bool,
        send_retry_after: bool,
        delivery_policy: DeliveryPolicy | None,
        clock: Callable[[], float],
        now: Callable[[], datetime],
        notification_list_dates: Literal["epoch", "iso"] = "epoch",
    ) -> None:
        self.world = world
        self.notification_list_dates = notification_list_dates
        self.tenant = world.pulseway
        self._credentials = f"{token_id}:{token_secret}".encode()
        self._token_id = token_id
        self._token_secret = token_secret.encode()
        self.limiter = SlidingWindowLimiter(rate_limits, clock)
        self.allow_org_create = allow_org_create
        self.send_retry_after = send_retry_after
        self.delivery_policy = delivery_policy
        self.now = now
        self._list_cache: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()
        self._deliverer: WebhookDeliverer | None = None
        self.deliveries: set[asyncio.Task[DeliveryResult]] = set()
        self.delivery_results: list[DeliveryResult] = []

    # -- plumbing --------------------------------------------------------------------------

    def _authorized(self, request: Request, *, allow_bearer: bool = False) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(decoded, self._credentials)
        if allow_bearer and scheme.lower() == "bearer":
            # The seed's organization push used "Bearer <api key>"; accept the token secret.
            return hmac.compare_digest(value.strip().encode(), self._token_secret)
        return False

    def endpoint(self, handler: Handler, *, allow_bearer: bool = False) -> Handler:
        """Wrap a handler with auth, the rate limit and error envelopes."""

        async def wrapped(request: Request) -> Response:
            if not self._authorized(request, allow_bearer=allow_bearer):
                return error_envelope(
                    401,
                    "Authorization has been denied for this request.",
                    headers={"WWW-Authenticate": 'Basic realm="Pulseway API"'},
                )
            wait = self.limiter.acquire(self._token_id)
            if wait is not None:
                headers = (
                    {"Retry-After": retry_after_header(wait)} if self.send_retry_after else None
                )
                return error_envelope(429, "Too many requests. Please try again later.", headers)
            try:
                return await handler(request)
            except ApiError as exc:
                return error_envelope(exc.status, exc.message)
            except ODataError as exc:
                return error_envelope(400, f"The query is invalid: {exc}")

        return wrapped

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        return body

    @staticmethod
    def _paging(request: Request) -> tuple[int, int]:
        params = request.query_params
        try:
            top = int(params.get("$top", MAX_TOP))
            skip = int(params.get("$skip", 0))
        except ValueError:
            raise ApiError(400, "$top and $skip must be integers.") from None
        if not 1 <= top <= MAX_TOP:
            raise ApiError(400, f"$top must be between 1 and {MAX_TOP}.")
        if skip < 0:
            raise ApiError(400, "$skip must not be negative.")
        return top, skip

    def _cached(self, key: tuple[Any, ...], build: Callable[[], list[Any]]) -> list[Any]:
        """Derived lists are rebuilt only when the tenant changed (100,000 devices are slow)."""
        full_key = (self.tenant.version, *key)
        cached = self._list_cache.get(full_key)
        if cached is None:
            cached = build()
            self._list_cache[full_key] = cached
            while len(self._list_cache) > 16:
                self._list_cache.popitem(last=False)
        else:
            self._list_cache.move_to_end(full_key)
        return cached

    def _list_response(
        self,
        request: Request,
        name: str,
        objects: Callable[[], list[Any]],
        to_item: Callable[[Any], dict[str, Any]],
        *,
        cacheable: bool = True,
    ) -> JSONResponse:
        """Page a collection, applying ``$filter``/``$orderby`` when given.

        ``cacheable`` collections change only with :attr:`PulsewayTenant.version` (devices,
        organizations…); notifications and webhooks do not bump it and are never cached.
        """
        top, skip = self._paging(request)
        odata_filter = request.query_params.get("$filter", "").strip()
        orderby = request.query_params.get("$orderby", "").strip()
        if not odata_filter and not orderby:
            # Fast path: slice the objects, build items only for the page.
            everything = self._cached((name,), objects) if cacheable else objects()
            page = [to_item(o) for o in everything[skip : skip + top]]
            return envelope(page, total=len(everything))
        predicate = parse_filter(odata_filter)
        order = parse_orderby(orderby)

        def build() -> list[Any]:
            items = [item for item in map(to_item, objects()) if predicate(item)]
            return apply_orderby(items, order) if order else items

        items = self._cached((name, odata_filter, orderby), build) if cacheable else build()
        return envelope(items[skip : skip + top], total=len(items))

    def _device(self, device_id: str) -> PulsewayDevice:
        device = self.tenant.device(device_id)
        if device is None:
            raise ApiError(404, NOT_FOUND)
        return device

    @staticmethod
    def _int_id(request: Request, name: str = "id") -> int:
        try:
            return int(request.path_params[name])
        except (KeyError, ValueError):
            raise ApiError(404, NOT_FOUND) from None

    # -- read endpoints --------------------------------------------------------------------

    async def environment(self, request: Request) -> Response:
        return envelope(
            {
                "ProductVersion": "9.14.2",
                "CustomerId": 10001,
                "CustomerName": "Northwind IT",
                "ServerType": "SaaS",
                "Language": "en",
                "License": {"Type": "Subscription", "ExpirationDate": "2026-12-31T00:00:00"},
            }
        )

    async def organizations(self, request: Request) -> Response:
        return self._list_response(
            request,
            "organizations",
            lambda: list(self.tenant.organizations.values()),
            organization_item,
        )

    async def organization(self, request: Request) -> Response:
        org = self.tenant.organizations.get(self._int_id(request))
        if org is None:
            raise ApiError(404, NOT_FOUND)
        return envelope(organization_item(org))

    async def sites(self, request: Request) -> Response:
        return self._list_response(
            request,
            "sites",
            lambda: list(self.tenant.sites.values()),
            lambda site: site_item(self.tenant, site),
        )

    async def site(self, request: Request) -> Response:
        site = self.tenant.sites.get(self._int_id(request))
        if site is None:
            raise ApiError(404, NOT_FOUND)
        return envelope(site_item(self.tenant, site))

    async def groups(self, request: Request) -> Response:
        return self._list_response(
            request,
            "groups",
            lambda: list(self.tenant.groups.values()),
            lambda group: group_item(self.tenant, group),
        )

    async def group(self, request: Request) -> Response:
        group = self.tenant.groups.get(self._int_id(request))
        if group is None:
            raise ApiError(404, NOT_FOUND)
        return envelope(group_item(self.tenant, group, detail=True))

    async def group_package(self, request: Request) -> Response:
        group = self.tenant.groups.get(self._int_id(request))
        package = request.path_params["package"]
        if group is None or package not in ("windows_agent_x64", "windows_agent_x86"):
            raise ApiError(404, NOT_FOUND)
        return envelope(
            {
                "Name": f"PulsewaySetup_{package}.exe",
                "Url": f"https://{self.tenant.server_name}/download/{group.id}/{package}",
            }
        )

    async def devices(self, request: Request) -> Response:
        # scopeId narrows to a scope; scopes are not modelled, so it is accepted and ignored.
        return self._list_response(
            request,
            "devices",
            self.tenant.device_list,
            lambda device: device_summary(self.tenant, device),
        )

    def _notification_counts(self, device: PulsewayDevice) -> dict[str, int]:
        counts: dict[str, int] = {}
        key = device.key
        with self.tenant.lock:
            notifications = list(self.tenant.notifications.values())
        for notification in notifications:
            if notification.device_id.lower() == key:
                counts[notification.priority] = counts.get(notification.priority, 0) + 1
        return counts

    async def device(self, request: Request) -> Response:
        device = self._device(request.path_params["id"])
        return envelope(
            device_detail(self.tenant, device, self.now(), self._notification_counts(device))
        )

    async def device_notifications(self, request: Request) -> Response:
        device = self._device(request.path_params["id"])
        with self.tenant.lock:
            notifications = [
                n for n in self.tenant.notifications.values() if n.device_id.lower() == device.key
            ]
        return self._list_response(
            request,
            "device-notifications",
            lambda: notifications,
            lambda n: {
                "Id": n.id,
                "Message": n.message,
                "DateTime": _iso_z(n.created_at),
                "Priority": n.priority.lower(),
            },
            cacheable=False,
        )

    async def assets(self, request: Request) -> Response:
        return self._list_response(
            request,
            "assets",
            self.tenant.device_list,
            lambda device: asset_item(self.tenant, device),
        )

    async def asset(self, request: Request) -> Response:
        return envelope(asset_item(self.tenant, self._device(request.path_params["id"])))

    # -- custom fields -----------------------------------------------------------------------

    def _entity(self, context_type: str, item_id: str) -> Any:
        tenant = self.tenant
        if context_type == "Device":
            entity: Any = tenant.device(item_id)
        else:
            try:
                numeric = int(item_id)
            except ValueError:
                raise ApiError(404, NOT_FOUND) from None
            collections: dict[str, dict[int, Any]] = {
                "Organization": tenant.organizations,
                "Site": tenant.sites,
                "Group": tenant.groups,
            }
            collection = collections[context_type]
            entity = collection.get(numeric)
        if entity is None:
            raise ApiError(404, NOT_FOUND)
        return entity

    def _field_values(self, entity: Any) -> list[dict[str, Any]]:
        values = []
        for field_id, value in sorted(entity.custom_fields.items()):
            definition = self.tenant.custom_fields.get(field_id)
            if definition is not None:
                values.append(
                    {
                        "Id": field_id,
                        "Name": definition.name,
                        "Value": value,
                        "Type": definition.type,
                    }
                )
        return values

    def entity_custom_fields(self, context_type: str) -> Handler:
        async def handler(request: Request) -> Response:
            entity = self._entity(context_type, request.path_params["id"])
            return envelope(self._field_values(entity))

        return handler

    def _custom_field_item(self, field_id: int) -> dict[str, Any]:
        definition = self.tenant.custom_fields.get(field_id)
        if definition is None:
            raise ApiError(404, NOT_FOUND)
        return {
            "Id": definition.id,
            "Name": definition.name,
            "Description": definition.description,
            "Type": definition.type,
            "DefaultValue": definition.default_value,
            "GlobalValue": None,
            "IsReadOnly": definition.is_read_only,
            "Contexts": list(definition.contexts),
            "ExpirationDate": None,
            "CreatedAt": _iso_z(definition.created_at),
        }

    async def custom_fields(self, request: Request) -> Response:
        return self._list_response(
            request,
            "customfields",
            lambda: sorted(self.tenant.custom_fields),
            self._custom_field_item,
        )

    async def custom_field(self, request: Request) -> Response:
        return envelope(self._custom_field_item(self._int_id(request)))

    async def custom_field_usage(self, request: Request) -> Response:
        field_id = self._int_id(request)
        self._custom_field_item(field_id)  # 404 for an unknown field
        tenant = self.tenant

        def usage() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            sources: list[tuple[str, Any, Any]] = [
                ("Organization", o.id, o) for o in tenant.organizations.values()
            ]
            sources += [("Site", s.id, s) for s in tenant.sites.values()]
            sources += [("Group", g.id, g) for g in tenant.groups.values()]
            sources += [("Device", d.identifier, d) for d in tenant.device_list()]
            for context, item_id, entity in sources:
                if field_id in entity.custom_fields:
                    rows.append(
                        {
                            "UsageContextType": context,
                            "ContextItemId": str(item_id),
                            "Value": entity.custom_fields[field_id],
                        }
                    )
            return rows

        return self._list_response(request, "usage", usage, lambda row: row, cacheable=False)

    async def _assignment_target(
        self, request: Request
    ) -> tuple[int, str, str, Any, dict[str, Any]]:
        field_id = self._int_id(request)
        definition = self.tenant.custom_fields.get(field_id)
        if definition is None:
            raise ApiError(404, NOT_FOUND)
        body = await self._json(request)
        context = next(
            (c for c in CONTEXT_TYPES if c.lower() == str(body.get("ContextType", "")).lower()),
            None,
        )
        if context is None:
            raise ApiError(400, f"ContextType must be one of {', '.join(CONTEXT_TYPES)}.")
        item_id = str(body.get("ContextItemId", "")).strip()
        if not item_id:
            raise ApiError(400, "ContextItemId is required.")
        if context not in definition.contexts:
            raise ApiError(
                400,
                f"Custom field '{definition.name}' cannot be assigned to "
                f"{context.lower()} context.",
            )
        return field_id, context, item_id, self._entity(context, item_id), body

    def _assigned_value(self, field_id: int, body: dict[str, Any]) -> str | None:
        definition = self.tenant.custom_fields[field_id]
        if body.get("UseDefaultValue"):
            return definition.default_value
        value = body.get("Value")
        if value is None:
            return None
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if definition.type == "Number":
            try:
                float(text)
            except ValueError:
                raise ApiError(400, f"Value '{text}' is not a valid number.") from None
        return text

    def _assignment_answer(
        self, field_id: int, context: str, item_id: str, value: str | None
    ) -> JSONResponse:
        definition = self.tenant.custom_fields[field_id]
        return envelope(
            {
                "ContextType": context,
                "ContextItemId": item_id,
                "Id": field_id,
                "Name": definition.name,
                "Value": value,
                "Type": definition.type,
            }
        )

    async def assign_custom_field(self, request: Request) -> Response:
        field_id, context, item_id, entity, body = await self._assignment_target(request)
        if field_id in entity.custom_fields:
            raise ApiError(400, "Custom field is already assigned to this context item.")
        value = self._assigned_value(field_id, body)
        entity.custom_fields[field_id] = value
        self.tenant.touch()
        return self._assignment_answer(field_id, context, item_id, value)

    async def update_assigned_custom_field(self, request: Request) -> Response:
        field_id, context, item_id, entity, body = await self._assignment_target(request)
        if field_id not in entity.custom_fields:
            raise ApiError(400, "Custom field is not assigned to this context item.")
        value = self._assigned_value(field_id, body)
        entity.custom_fields[field_id] = value
        self.tenant.touch()
        return self._assignment_answer(field_id, context, item_id, value)

    async def unassign_custom_field(self, request: Request) -> Response:
        field_id, _context, _item_id, entity, _body = await self._assignment_target(request)
        if field_id not in entity.custom_fields:
            raise ApiError(400, "Custom field is not assigned to this context item.")
        del entity.custom_fields[field_id]
        self.tenant.touch()
        return envelope("Custom field was unassigned successfully.")

    # -- notifications -----------------------------------------------------------------------

    async def notifications(self, request: Request) -> Response:
        with self.tenant.lock:
            snapshot = list(self.tenant.notifications.values())
        # The list example in the reference shows epoch ints here (unlike every other form);
        # whether the live API does is unverified, so ISO can be asked for.
        iso = self.notification_list_dates == "iso"
        return self._list_response(
            request,
            "notifications",
            lambda: snapshot,
            lambda n: {
                "Id": n.id,
                "Message": n.message,
                "DateTime": _iso_z(n.created_at) if iso else int(n.created_at.timestamp()),
                "Priority": n.priority.lower(),
            },
            cacheable=False,
        )

    def _notification(self, request: Request) -> PulsewayNotification:
        notification = self.tenant.notifications.get(self._int_id(request))
        if notification is None:
            raise ApiError(404, NOT_FOUND)
        return notification

    async def notification(self, request: Request) -> Response:
        n = self._notification(request)
        return envelope(
            {
                "ComputerIdentifier": n.device_id,
                "Read": n.read,
                "Id": n.id,
                "Message": n.message,
                "DateTime": _iso_z(n.created_at),
                "Priority": n.priority.lower(),
            }
        )

    async def delete_notification(self, request: Request) -> Response:
        n = self._notification(request)
        with self.tenant.lock:
            self.tenant.notifications.pop(n.id, None)
        return JSONResponse({"Meta": {"ResponseCode": 200}})

    async def create_notification(self, request: Request) -> Response:
        body = await self._json(request)
        instance_id = str(body.get("InstanceId") or "").strip()
        title = str(body.get("Title") or "").strip()
        if not instance_id or len(instance_id) > 100:
            raise ApiError(400, "InstanceId is required (at most 100 characters).")
        if not title:
            raise ApiError(400, "Title is required.")
        message = str(body.get("Message") or title)
        if len(message) > 5000:
            raise ApiError(400, "Message must be at most 5000 characters.")
        priority_text = str(body.get("Priority") or "Normal")
        priority = next((p for p in PRIORITIES if p.lower() == priority_text.lower()), None)
        if priority is None:
            raise ApiError(400, f"Priority must be one of {', '.join(PRIORITIES)}.")
        device = self._device(instance_id)
        notification = self.tenant.record_notification(
            device.identifier, title, message, priority, self.now().replace(microsecond=0)
        )
        self.dispatch(notification)
        return JSONResponse({"Meta": {"ResponseCode": 200}})

    def dispatch(self, notification: PulsewayNotification) -> None:
        """Deliver a notification to every webhook whose filters it passes, in the background."""
        device = self.tenant.device(notification.device_id)
        org_id = self.tenant.organization_of(device).id if device else None
        body = encode_body(recorded_notification_payload(notification, org_id))
        with self.tenant.lock:
            webhooks = list(self.tenant.webhooks.values())
        for webhook in webhooks:
            if notification.priority not in webhook.priorities:
                continue
            if webhook.organization_ids is not None and org_id not in webhook.organization_ids:
                continue
            task = asyncio.create_task(self._deliver(webhook, body))
            self.deliveries.add(task)
            task.add_done_callback(self.deliveries.discard)

    async def _deliver(self, webhook: PulsewayWebhook, body: bytes) -> DeliveryResult:
        if self._deliverer is None:
            self._deliverer = WebhookDeliverer(policy=self.delivery_policy)
        result = await self._deliverer.deliver(
            webhook.url, body, webhook.secret_key, headers=webhook.headers
        )
        self.delivery_results.append(result)
        if not result.delivered:
            log.warning(
                "webhook %s to %s failed after %d attempts: %s",
                webhook.id,
                webhook.url,
                result.attempts,
                result.error,
            )
        return result

    # -- webhooks --------------------------------------------------------------------------

    def _webhook(self, request: Request) -> PulsewayWebhook:
        webhook = self.tenant.webhooks.get(self._int_id(request))
        if webhook is None:
            raise ApiError(404, NOT_FOUND)
        return webhook

    @staticmethod
    def _webhook_fields(body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("Name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ApiError(400, "Name is required (at most 100 characters).")
        url = body.get("Url")
        if (
            not isinstance(url, str)
            or len(url) > 2000
            or not url.lower().startswith(("http://", "https://"))
        ):
            raise ApiError(
                400, "Url must be an http:// or https:// address (at most 2000 characters)."
            )
        raw_priorities = body.get("Priorities")
        if not isinstance(raw_priorities, list) or not raw_priorities:
            raise ApiError(400, "Priorities must list at least one priority.")
        priorities = []
        for value in raw_priorities:
            match = next((p for p in PRIORITIES if p.lower() == str(value).lower()), None)
            if match is None:
                raise ApiError(400, f"Unknown priority {value!r}.")
            priorities.append(match)
        description = body.get("Description") or ""
        if not isinstance(description, str) or len(description) > 255:
            raise ApiError(400, "Description must be at most 255 characters.")
        org_ids = body.get("OrganizationIds")
        if org_ids is not None:
            try:
                org_ids = tuple(int(i) for i in org_ids)
            except (TypeError, ValueError):
                raise ApiError(400, "OrganizationIds must be a list of integers.") from None
        headers = body.get("Headers") or {}
        if (
            not isinstance(headers, dict)
            or sum(len(str(k)) + len(str(v)) for k, v in headers.items()) > 4000
        ):
            raise ApiError(400, "Headers must be an object of at most 4000 characters.")
        language = str(body.get("Language") or "en").lower()
        if language not in ("en", "de"):
            raise ApiError(400, "Language must be 'en' or 'de'.")
        return {
            "name": name.strip(),
            "url": url,
            "priorities": tuple(priorities),
            "description": description,
            "organization_ids": org_ids,
            "headers": {str(k): str(v) for k, v in headers.items()},
            "language": language,
        }

    async def webhooks(self, request: Request) -> Response:
        return self._list_response(
            request,
            "webhooks",
            lambda: list(self.tenant.webhooks.values()),
            webhook_item,
            cacheable=False,
        )

    async def webhook(self, request: Request) -> Response:
        return envelope(webhook_item(self._webhook(request)))

    async def create_webhook(self, request: Request) -> Response:
        fields = self._webhook_fields(await self._json(request))
        webhook = self.tenant.add_webhook(
            PulsewayWebhook(id=0, secret_key=secrets.token_hex(32), created_at=self.now(), **fields)
        )
        return envelope(webhook_item(webhook, with_secret=True))

    async def update_webhook(self, request: Request) -> Response:
        webhook = self._webhook(request)
        fields = self._webhook_fields(await self._json(request))
        for name, value in fields.items():
            setattr(webhook, name, value)
        webhook.updated_at = self.now()
        return envelope(webhook_item(webhook))

    async def delete_webhook(self, request: Request) -> Response:
        webhook = self._webhook(request)
        with self.tenant.lock:
            self.tenant.webhooks.pop(webhook.id, None)
        return Response(status_code=200)

    async def regenerate_secret(self, request: Request) -> Response:
        webhook = self._webhook(request)
        webhook.secret_key = secrets.token_hex(32)
        return envelope({"SecretKey": webhook.secret_key})

    # -- organization create (the seed's endpoint; not in the public API) -----------------------

    async def create_organization(self, request: Request) -> Response:
        if not self.allow_org_create:
            raise ApiError(404, NOT_FOUND)
        body = await self._json(request)
        name = body.get("Name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ApiError(400, "Name is required (at most 100 characters).")
        name = name.strip()
        tenant = self.tenant
        with tenant.lock:
            if any(o.name.lower() == name.lower() for o in tenant.organizations.values()):
                raise ApiError(400, "An organization with this name already exists.")
            letters = "".join(ch for ch in name.upper() if ch.isalpha())[:5] or "ORG"
            org = tenant.add_organization(name, hostname_prefix=letters)
            org.hostname_prefix = f"{letters}{org.id % 100:02d}"
            site = next(s for s in reversed(tenant.sites.values()) if s.organization_id == org.id)
            group = PulsewayGroup(
                tenant.new_container_id(),
                "Workstations",
                site.id,
                org.id,
                notes=str(body.get("Description") or ""),
            )
            tenant.groups[group.id] = group
            tenant.touch()
        return envelope(organization_item(org))

    # -- lifecycle -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for task in list(self.deliveries):
                task.cancel()
            if self.deliveries:
                await asyncio.gather(*self.deliveries, return_exceptions=True)
            if self._deliverer is not None:
                await self._deliverer.aclose()
                self._deliverer = None


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return error_envelope(405, "The requested resource does not support this HTTP method.")
    return error_envelope(404, NOT_FOUND)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_pulseway_app(
    world: World,
    *,
    token_id: str,
    token_secret: str,
    rate_limits: Sequence[RateLimit] = DEFAULT_PULSEWAY_RATE_LIMITS,
    allow_org_create: bool = False,
    org_create_path: str = "/v2/organizations",
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    send_retry_after: bool = True,
    delivery_policy: DeliveryPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = _utc_now,
    notification_list_dates: Literal["epoch", "iso"] = "epoch",
) -> Starlette:
    """The Pulseway v3 stand-in serving ``world.pulseway``; mount at the server root.

    Clients use ``http://host:port/v3`` as the base URL. ``webhook_url`` pre-registers a webhook
    for every priority and organization, signed with ``webhook_secret`` (random when omitted;
    read it back from ``app.state.pulseway.tenant.webhooks``). ``rate_limits=()`` disables the
    limiter. ``allow_org_create`` serves ``POST {org_create_path}`` (the seed's
    ``/v2/organizations``), accepting Basic auth or ``Bearer <token_secret>``.
    ``notification_list_dates`` is the form of ``DateTime`` in ``GET /v3/notifications``: epoch
    seconds as the reference's example shows, or ISO as every other notification form.
    """
    service = PulsewayStandIn(
        world,
        token_id=token_id,
        token_secret=token_secret,
        rate_limits=rate_limits,
        allow_org_create=allow_org_create,
        send_retry_after=send_retry_after,
        delivery_policy=delivery_policy,
        clock=clock,
        now=now,
        notification_list_dates=notification_list_dates,
    )
    if webhook_url:
        world.pulseway.add_webhook(
            PulsewayWebhook(
                id=0,
                name="PSA relay",
                url=webhook_url,
                priorities=PRIORITIES,
                secret_key=webhook_secret or secrets.token_hex(32),
                created_at=now(),
                description="Registered by psa sandbox",
            )
        )
    e = service.endpoint
    routes = [
        Route("/v3/environment", e(service.environment), methods=["GET"]),
        Route("/v3/organizations", e(service.organizations), methods=["GET"]),
        Route("/v3/organizations/{id:int}", e(service.organization), methods=["GET"]),
        Route(
            "/v3/organizations/{id}/customfields",
            e(service.entity_custom_fields("Organization")),
            methods=["GET"],
        ),
        Route("/v3/sites", e(service.sites), methods=["GET"]),
        Route("/v3/sites/{id:int}", e(service.site), methods=["GET"]),
        Route(
            "/v3/sites/{id}/customfields", e(service.entity_custom_fields("Site")), methods=["GET"]
        ),
        Route("/v3/groups", e(service.groups), methods=["GET"]),
        Route("/v3/groups/{id:int}", e(service.group), methods=["GET"]),
        Route(
            "/v3/groups/{id}/customfields",
            e(service.entity_custom_fields("Group")),
            methods=["GET"],
        ),
        Route("/v3/groups/{id:int}/package/{package}", e(service.group_package), methods=["GET"]),
        Route("/v3/devices", e(service.devices), methods=["GET"]),
        Route("/v3/devices/{id}", e(service.device), methods=["GET"]),
        Route("/v3/devices/{id}/notifications", e(service.device_notifications), methods=["GET"]),
        Route(
            "/v3/devices/{id}/customfields",
            e(service.entity_custom_fields("Device")),
            methods=["GET"],
        ),
        Route("/v3/assets", e(service.assets), methods=["GET"]),
        Route("/v3/assets/{id}", e(service.asset), methods=["GET"]),
        Route("/v3/customfields", e(service.custom_fields), methods=["GET"]),
        Route("/v3/customfields/{id:int}", e(service.custom_field), methods=["GET"]),
        Route("/v3/customfields/{id:int}/usage", e(service.custom_field_usage), methods=["GET"]),
        Route("/v3/customfields/{id:int}/assign", e(service.assign_custom_field), methods=["POST"]),
        Route(
            "/v3/customfields/{id:int}/updateassigned",
            e(service.update_assigned_custom_field),
            methods=["PUT"],
        ),
        Route(
            "/v3/customfields/{id:int}/unassign", e(service.unassign_custom_field), methods=["POST"]
        ),
        Route("/v3/notifications/webhooks", e(service.webhooks), methods=["GET"]),
        Route("/v3/notifications/webhooks", e(service.create_webhook), methods=["POST"]),
        Route("/v3/notifications/webhooks/{id:int}", e(service.webhook), methods=["GET"]),
        Route("/v3/notifications/webhooks/{id:int}", e(service.update_webhook), methods=["PUT"]),
        Route("/v3/notifications/webhooks/{id:int}", e(service.delete_webhook), methods=["DELETE"]),
        Route(
            "/v3/notifications/webhooks/{id:int}/regeneratesecretkey",
            e(service.regenerate_secret),
            methods=["POST"],
        ),
        Route("/v3/notifications", e(service.notifications), methods=["GET"]),
        Route("/v3/notifications", e(service.create_notification), methods=["POST"]),
        Route("/v3/notifications/{id:int}", e(service.notification), methods=["GET"]),
        Route("/v3/notifications/{id:int}", e(service.delete_notification), methods=["DELETE"]),
    ]
    if allow_org_create:
        routes.append(
            Route(
                "/" + org_create_path.strip("/").lower(),
                e(service.create_organization, allow_bearer=True),
                methods=["POST"],
            )
        )
    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_found},
        lifespan=service.lifespan,
    )
    app.add_middleware(CaseInsensitivePaths)
    app.state.pulseway = service
    return app
