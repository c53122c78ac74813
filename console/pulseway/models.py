"""Typed views of the Pulseway v3 objects this product reads (reference §2).

Each ``from_api`` takes one ``Data`` item as decoded JSON and keeps the original under ``raw``
so a caller can pass on fields this module does not name. Parsing is lenient about missing
optional keys (Pulseway adds fields over time) and strict only about identifiers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.pulseway.dates import parse_pulseway_datetime
from console.pulseway.errors import PulsewayProtocolError


def _int(item: Mapping[str, Any], key: str) -> int:
    value = item.get(key)
    if isinstance(value, bool):
        raise PulsewayProtocolError(
            "Pulseway answered with data this console does not understand.",
            detail=f"{key!r} is a boolean, expected an integer id",
        )
    try:
        if isinstance(value, int | str | float):
            return int(value)
        raise TypeError(type(value).__name__)
    except (TypeError, ValueError):
        raise PulsewayProtocolError(
            "Pulseway answered with data this console does not understand.",
            detail=f"{key!r} is {value!r}, expected an integer id",
        ) from None


def _optional_int(item: Mapping[str, Any], key: str) -> int | None:
    if item.get(key) in (None, ""):
        return None
    return _int(item, key)


def _str(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value)


def _optional_str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    return str(value)


def _identifier(item: Mapping[str, Any], key: str = "Identifier") -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PulsewayProtocolError(
            "Pulseway answered with data this console does not understand.",
            detail=f"{key!r} is {value!r}, expected a device identifier",
        )
    return value.strip()


def device_key(identifier: str) -> str:
    """Canonical form of a device GUID: Pulseway mixes hex case, so compare lower-cased."""
    return identifier.strip().lower()


@dataclass(frozen=True, slots=True)
class Organization:
    """``GET /v3/organizations`` item."""

    id: int
    name: str
    has_custom_fields: bool
    psa_mapping_id: int | None
    psa_mapping_type: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Organization:
        return cls(
            id=_int(item, "Id"),
            name=_str(item, "Name"),
            has_custom_fields=bool(item.get("HasCustomFields")),
            psa_mapping_id=_optional_int(item, "PsaMappingId"),
            psa_mapping_type=_optional_str(item, "PsaMappingType"),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class Site:
    """``GET /v3/sites`` item; ``organization_id`` is the documented ``ParentId``."""

    id: int
    name: str
    organization_id: int | None
    organization_name: str
    has_custom_fields: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Site:
        return cls(
            id=_int(item, "Id"),
            name=_str(item, "Name"),
            organization_id=_optional_int(item, "ParentId"),
            organization_name=_str(item, "ParentName"),
            has_custom_fields=bool(item.get("HasCustomFields")),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class Group:
    """``GET /v3/groups`` item."""

    id: int
    name: str
    site_id: int | None
    site_name: str
    organization_id: int | None
    organization_name: str
    notes: str
    has_custom_fields: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Group:
        return cls(
            id=_int(item, "Id"),
            name=_str(item, "Name"),
            site_id=_optional_int(item, "ParentSiteId"),
            site_name=_str(item, "ParentSiteName"),
            organization_id=_optional_int(item, "ParentOrganizationId"),
            organization_name=_str(item, "ParentOrganizationName"),
            notes=_str(item, "Notes"),
            has_custom_fields=bool(item.get("HasCustomFields")),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class Device:
    """``GET /v3/devices`` item, or the detail (whose extra fields are then filled in).

    ``description`` is the OS caption on the detail call ("Windows 10 Enterprise"); the list
    carries neither it nor ``IsOnline`` — ``None`` means "not in this answer", not "false".
    """

    identifier: str
    name: str
    group_id: int | None
    group_name: str
    site_id: int | None
    site_name: str
    organization_id: int | None
    organization_name: str
    is_agent_installed: bool
    has_custom_fields: bool
    description: str | None = None
    is_online: bool | None = None
    computer_type: str | None = None
    client_version: str | None = None
    external_ip: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def key(self) -> str:
        """Case-insensitive identity of the device (see :func:`device_key`)."""
        return device_key(self.identifier)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Device:
        online = item.get("IsOnline")
        return cls(
            identifier=_identifier(item),
            name=_str(item, "Name"),
            group_id=_optional_int(item, "GroupId"),
            group_name=_str(item, "GroupName"),
            site_id=_optional_int(item, "SiteId"),
            site_name=_str(item, "SiteName"),
            organization_id=_optional_int(item, "OrganizationId"),
            organization_name=_str(item, "OrganizationName"),
            is_agent_installed=bool(item.get("IsAgentInstalled")),
            has_custom_fields=bool(item.get("HasCustomFields")),
            description=_optional_str(item, "Description"),
            is_online=online if isinstance(online, bool) else None,
            computer_type=_optional_str(item, "ComputerType"),
            client_version=_optional_str(item, "ClientVersion"),
            external_ip=_optional_str(item, "ExternalIpAddress"),
            raw=item,
        )


def asset_info_category(item: Mapping[str, Any], category: str) -> dict[str, Any]:
    """The ``CategoryData`` of one ``AssetInfo`` category (``"BIOS"``, ``"System"``…) or ``{}``."""
    for entry in item.get("AssetInfo") or ():
        if (
            isinstance(entry, dict)
            and str(entry.get("CategoryName", "")).lower() == category.lower()
        ):
            data = entry.get("CategoryData")
            return data if isinstance(data, dict) else {}
    return {}


@dataclass(frozen=True, slots=True)
class Asset:
    """``GET /v3/assets`` item or ``/v3/assets/{id}``: the device's inventory.

    ``serial_number`` is the *hardware* serial, ``AssetInfo["BIOS"]["Serial Number"]`` — not the
    Windows product id that ``AssetInfo["Operating System"]`` also calls "Serial Number".
    ``os_name`` prefers the OS category's ``Name`` and falls back to the top-level
    ``Description`` (the same caption the device detail shows).
    """

    identifier: str
    name: str
    group_name: str
    description: str
    type: str | None
    serial_number: str | None
    os_name: str | None
    os_version: str | None
    manufacturer: str | None
    model: str | None
    last_seen_online: datetime | None
    client_version: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        """Case-insensitive identity of the device (see :func:`device_key`)."""
        return device_key(self.identifier)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Asset:
        bios = asset_info_category(item, "BIOS")
        operating_system = asset_info_category(item, "Operating System")
        system = asset_info_category(item, "System")
        description = _str(item, "Description")
        return cls(
            identifier=_identifier(item),
            name=_str(item, "Name"),
            group_name=_str(item, "GroupName"),
            description=description,
            type=_optional_str(item, "Type"),
            serial_number=_optional_str(bios, "Serial Number"),
            os_name=_optional_str(operating_system, "Name") or (description or None),
            os_version=_optional_str(operating_system, "Version"),
            manufacturer=_optional_str(system, "Manufacturer"),
            model=_optional_str(system, "Model"),
            last_seen_online=parse_pulseway_datetime(item.get("LastSeenOnline")),
            client_version=_optional_str(item, "ClientVersion"),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class CustomField:
    """``GET /v3/customFields`` item."""

    id: int
    name: str
    description: str
    type: str
    contexts: tuple[str, ...]
    is_read_only: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> CustomField:
        # The reference's field table says "Context", its example "Contexts": accept both.
        contexts = item.get("Contexts", item.get("Context")) or ()
        if isinstance(contexts, str):
            contexts = (contexts,)
        return cls(
            id=_int(item, "Id"),
            name=_str(item, "Name"),
            description=_str(item, "Description"),
            type=_str(item, "Type"),
            contexts=tuple(str(c) for c in contexts),
            is_read_only=bool(item.get("IsReadOnly")),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class CustomFieldValue:
    """One entry of ``GET /v3/{devices|organizations|sites|groups}/{id}/customfields``."""

    id: int
    name: str
    value: str | None
    type: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> CustomFieldValue:
        value = item.get("Value")
        return cls(
            id=_int(item, "Id"),
            name=_str(item, "Name"),
            value=None if value is None else str(value),
            type=_str(item, "Type"),
        )


@dataclass(frozen=True, slots=True)
class CustomFieldAssignment:
    """Answer of ``customFields/{id}/assign`` and ``/updateAssigned``."""

    field_id: int
    name: str
    context_type: str
    context_item_id: str
    value: str | None
    type: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> CustomFieldAssignment:
        value = item.get("Value")
        return cls(
            field_id=_int(item, "Id"),
            name=_str(item, "Name"),
            context_type=_str(item, "ContextType"),
            context_item_id=_str(item, "ContextItemId"),
            value=None if value is None else str(value),
            type=_str(item, "Type"),
        )


@dataclass(frozen=True, slots=True)
class Webhook:
    """A notification webhook; ``secret_key`` is only ever present on create/regenerate."""

    id: int
    name: str
    url: str
    priorities: tuple[str, ...]
    organization_ids: tuple[int, ...] | None
    secret_key: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Webhook:
        org_ids = item.get("OrganizationIds")
        return cls(
            id=_int(item, "Id"),
            name=_str(item, "Name"),
            url=_str(item, "Url"),
            priorities=tuple(str(p) for p in item.get("Priorities") or ()),
            organization_ids=None if org_ids is None else tuple(int(i) for i in org_ids),
            secret_key=_optional_str(item, "SecretKey"),
            raw=item,
        )
