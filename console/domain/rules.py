"""The seed's automation (T010, T011) and the RocketCyber counterpart as pure decisions.

The relay's rules worker reads what it needs from Odoo, asks these functions what to do, and
writes the answer; nothing here talks to Odoo or Pulseway. Values are keyed by the names in
``console.domain.names`` and formatted for the Odoo wire (reference §4).

Pulseway facts follow the real v3 API rather than the seed's invented payload
(reference "Mapping the seed design to v3"): the device name, group and organization come from
``GET /v3/devices/{id}``, the OS from its ``Description``, the hardware serial from the asset's
``AssetInfo["BIOS"]["Serial Number"]``.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from console.domain.alerts import alert_dedupe_key, incident_dedupe_key, ticket_priority
from console.domain.matching import PartnerCandidate, PulsewayGroupRef
from console.domain.names import AssetStatus, ClientAsset, HelpdeskTicket, PulsewayGroupMap

OdooValues = dict[str, object]

#: Odoo's datetime wire format (UTC, no zone).
ODOO_DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
#: Priority name used for RocketCyber incidents, whose API carries no severity (reference §4).
DEFAULT_INCIDENT_PRIORITY: Final = "Critical"


# --------------------------------------------------------------------------------------------
# Wire values
# --------------------------------------------------------------------------------------------


def odoo_datetime(moment: datetime) -> str:
    """``moment`` as Odoo expects a datetime over RPC: UTC, ``YYYY-MM-DD HH:MM:SS``.

    A naive datetime is taken to be UTC already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(ODOO_DATETIME_FORMAT)


def parse_pulseway_time(value: object) -> datetime | None:
    """A Pulseway timestamp as an aware UTC datetime, or None when absent or unreadable.

    Pulseway mixes ISO 8601 with ``Z``, ISO without a zone (taken as UTC) and Unix epoch
    integers (reference §1); empty strings mean "unknown".
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _org_id(value: object) -> int | None:
    """Pulseway organization ids are ints, but webhooks send them as strings."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _html_paragraphs(*texts: str | None) -> str:
    """Plain text as the HTML of helpdesk.ticket.description, escaped, one <p> per text."""
    paragraphs = []
    for text in texts:
        if text and text.strip():
            body = "<br>".join(html.escape(line) for line in text.strip().splitlines())
            paragraphs.append(f"<p>{body}</p>")
    return "".join(paragraphs)


# --------------------------------------------------------------------------------------------
# T010: device -> asset
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What Pulseway (the master for device details) says about one device."""

    identifier: str
    name: str | None = None
    os_info: str | None = None
    serial_number: str | None = None
    group_name: str | None = None
    site_name: str | None = None
    org_id: int | None = None
    org_name: str | None = None
    last_seen: datetime | None = None

    @property
    def group(self) -> PulsewayGroupRef:
        """Where the device sits in Pulseway, for partner resolution and matching."""
        return PulsewayGroupRef(
            org_id=self.org_id,
            org_name=self.org_name,
            group_name=self.group_name,
            site_name=self.site_name,
        )


def _asset_info(asset: Mapping[str, Any], category: str) -> Mapping[str, Any]:
    for entry in asset.get("AssetInfo") or ():
        if isinstance(entry, Mapping) and entry.get("CategoryName") == category:
            data = entry.get("CategoryData")
            return data if isinstance(data, Mapping) else {}
    return {}


def device_facts(device: Mapping[str, Any], asset: Mapping[str, Any] | None = None) -> DeviceFacts:
    """Facts from a Pulseway device (``/v3/devices`` item or detail) and optionally its asset.

    The OS comes from the device ``Description`` or the asset's "Operating System" name; the
    serial only from the asset's BIOS category (the "Operating System" one is a product key).
    Raises ValueError when the device has no ``Identifier``.
    """
    identifier = _text(device.get("Identifier"))
    if identifier is None:
        raise ValueError("a Pulseway device without Identifier cannot become an asset")
    asset = asset or {}
    operating_system = _asset_info(asset, "Operating System")
    return DeviceFacts(
        identifier=identifier,
        name=_text(device.get("Name")) or _text(asset.get("Name")),
        os_info=_text(device.get("Description"))
        or _text(operating_system.get("Name"))
        or _text(asset.get("Description")),
        serial_number=_text(_asset_info(asset, "BIOS").get("Serial Number")),
        group_name=_text(device.get("GroupName")) or _text(asset.get("GroupName")),
        site_name=_text(device.get("SiteName")),
        org_id=_org_id(device.get("OrganizationId")),
        org_name=_text(device.get("OrganizationName")),
        last_seen=parse_pulseway_time(asset.get("LastSeenOnline")),
    )


def asset_values(facts: DeviceFacts, *, audited_at: datetime) -> OdooValues:
    """Values to write on the device's ``x_client_asset`` (create or update, seed T010).

    Only facts Pulseway actually reported are written, so a device read without its asset
    details never blanks a known serial. The partner link is not here: people own it
    (:func:`resolve_partner` decides it for new assets only).
    """
    values: OdooValues = {
        ClientAsset.PULSEWAY_ID: facts.identifier,
        ClientAsset.LAST_AUDIT: odoo_datetime(audited_at),
    }
    optional: dict[str, object] = {
        ClientAsset.NAME: facts.name,
        ClientAsset.OS_INFO: facts.os_info,
        ClientAsset.SERIAL_NUMBER: facts.serial_number,
        ClientAsset.PULSEWAY_GROUP: facts.group_name,
        ClientAsset.PULSEWAY_ORG_ID: facts.org_id,
        ClientAsset.LAST_SEEN: odoo_datetime(facts.last_seen) if facts.last_seen else None,
    }
    values.update((key, value) for key, value in optional.items() if value is not None)
    return values


def new_asset_values(facts: DeviceFacts, partner_id: int, *, audited_at: datetime) -> OdooValues:
    """Values to create an asset for a device whose partner is known (seed T010, create path).

    Raises ValueError when Pulseway gave no hostname: ``x_name`` is required.
    """
    if not facts.name:
        raise ValueError(f"Pulseway device {facts.identifier} has no name; cannot create an asset")
    values = asset_values(facts, audited_at=audited_at)
    values[ClientAsset.PARTNER] = partner_id
    values[ClientAsset.STATUS] = AssetStatus.ACTIVE.value
    return values


def decommission_values() -> OdooValues:
    """Values for an asset whose device left Pulseway: kept for history, no longer billed."""
    return {ClientAsset.STATUS: AssetStatus.DECOMMISSIONED.value}


class ResolutionSource(StrEnum):
    """How a device's partner was found, strongest first."""

    GROUP_MAP_ORG_ID = "group_map_org_id"
    PARTNER_ORG_ID = "partner_org_id"
    GROUP_MAP_NAME = "group_map_name"
    EXACT_NAME = "exact_name"
    UNMATCHED = "unmatched"


@dataclass(frozen=True, slots=True)
class GroupMapEntry:
    """An ``x_pulseway_group_map`` row; ``partner_id`` None while it waits in the queue."""

    name: str
    org_id: int | None
    partner_id: int | None


@dataclass(frozen=True, slots=True)
class PartnerResolution:
    """The partner a device belongs to, or None with the reason it stays unmatched."""

    partner_id: int | None
    source: ResolutionSource
    reason: str

    @property
    def matched(self) -> bool:
        """Whether a partner was found."""
        return self.partner_id is not None


def _same_name(left: str | None, right: str | None) -> bool:
    return (
        bool(left and right)
        and " ".join(str(left).split()).casefold() == " ".join(str(right).split()).casefold()
    )


def resolve_partner(
    group: PulsewayGroupRef,
    group_maps: Iterable[GroupMapEntry],
    partners: Iterable[PartnerCandidate],
) -> PartnerResolution:
    """The partner of a Pulseway device, by the product's resolution order (T010 refined).

    1. a resolved group-map row for the device's organization id;
    2. the one partner already linked to that organization (``x_pulseway_org_id``);
    3. a resolved group-map row named like the organization or the group;
    4. the one partner named exactly like the organization, else like the group (the seed's
       rule);
    otherwise unmatched, with the reason. Two candidates at the same step never resolve by
    chance: the device stays unmatched until a dispatcher decides.
    """
    maps = list(group_maps)
    partners = list(partners)
    resolved_maps = [entry for entry in maps if entry.partner_id is not None]
    label = _group_label(group)

    if group.org_id is not None:
        by_id = {e.partner_id for e in resolved_maps if e.org_id == group.org_id}
        if len(by_id) == 1:
            partner_id = by_id.pop()
            return PartnerResolution(
                partner_id,
                ResolutionSource.GROUP_MAP_ORG_ID,
                f"Pulseway organization {group.org_id} is mapped to partner {partner_id}",
            )
        if len(by_id) > 1:
            return _unmatched(f"{label} is mapped to several partners; fix the group map")
        linked = [p for p in partners if group.org_id in p.pulseway_org_ids]
        if len(linked) == 1:
            return PartnerResolution(
                linked[0].id,
                ResolutionSource.PARTNER_ORG_ID,
                f"partner {linked[0].name!r} is linked to Pulseway organization {group.org_id}",
            )
        if len(linked) > 1:
            return _unmatched(
                f"{len(linked)} partners are linked to Pulseway organization {group.org_id}"
            )

    for name in (group.org_name, group.group_name):
        by_name = {e.partner_id for e in resolved_maps if _same_name(e.name, name)}
        if len(by_name) == 1:
            partner_id = by_name.pop()
            return PartnerResolution(
                partner_id,
                ResolutionSource.GROUP_MAP_NAME,
                f"Pulseway group {name!r} is mapped to partner {partner_id}",
            )
        if len(by_name) > 1:
            return _unmatched(f"Pulseway group {name!r} is mapped to several partners")

    for name, what in ((group.org_name, "organization"), (group.group_name, "group")):
        if not name:
            continue
        named = [p for p in partners if p.name.strip() == name.strip()]
        if len(named) == 1:
            return PartnerResolution(
                named[0].id,
                ResolutionSource.EXACT_NAME,
                f"partner {named[0].name!r} has the Pulseway {what}'s exact name",
            )
        if len(named) > 1:
            return _unmatched(
                f"{len(named)} partners are named {name!r}; map the Pulseway {what} explicitly"
            )

    waiting = any(
        entry.partner_id is None
        and (
            (group.org_id is not None and entry.org_id == group.org_id)
            or _same_name(entry.name, group.org_name)
            or _same_name(entry.name, group.group_name)
        )
        for entry in maps
    )
    suffix = "; it is waiting in the unmatched queue" if waiting else ""
    return _unmatched(f"no partner and no group map for {label}{suffix}")


def _unmatched(reason: str) -> PartnerResolution:
    return PartnerResolution(None, ResolutionSource.UNMATCHED, reason)


def _group_label(group: PulsewayGroupRef) -> str:
    parts = []
    if group.org_name or group.org_id is not None:
        org = f"organization {group.org_name!r}" if group.org_name else "organization"
        parts.append(f"{org} ({group.org_id})" if group.org_id is not None else org)
    if group.group_name:
        parts.append(f"group {group.group_name!r}")
    return "Pulseway " + (", ".join(parts) if parts else "device without group")


def unmatched_group_values(group: PulsewayGroupRef) -> OdooValues:
    """Values of the ``x_pulseway_group_map`` row queuing an unmatched organization/group.

    The queue holds one row per organization when Pulseway names it (so resolving it once
    covers every site and group below), else one per group name.
    """
    name = group.org_name or group.group_name
    if not name:
        raise ValueError("a Pulseway device without organization or group cannot be queued")
    return {
        PulsewayGroupMap.NAME: name,
        PulsewayGroupMap.PULSEWAY_ORG_ID: group.org_id or 0,
        PulsewayGroupMap.PARTNER: False,
    }


# --------------------------------------------------------------------------------------------
# T011: alert -> ticket, and RocketCyber incidents
# --------------------------------------------------------------------------------------------


class TicketAction(StrEnum):
    """What the rules worker does with an alert."""

    CREATE = "create"
    BUMP = "bump"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Alert:
    """A Pulseway notification as the relay logged it."""

    title: str
    message: str | None
    priority: str | None
    device_id: str | None
    seq: int
    source: str = "pulseway"


@dataclass(frozen=True, slots=True)
class Incident:
    """A RocketCyber incident (``GET /v3/incidents`` item) as the relay logged it."""

    incident_id: int
    title: str
    description: str | None
    remediation: str | None
    account_id: int | None
    seq: int


@dataclass(frozen=True, slots=True)
class LinkedAsset:
    """The ``x_client_asset`` a device is linked to."""

    asset_id: int
    partner_id: int | None


@dataclass(frozen=True, slots=True)
class OpenTicket:
    """The open ticket already carrying an alert key."""

    ticket_id: int
    alert_count: int


@dataclass(frozen=True, slots=True)
class TicketDecision:
    """The rules worker's instruction for one alert or incident.

    CREATE: ``values`` create a helpdesk.ticket. BUMP: ``values`` are written on
    ``ticket_id`` and ``chatter`` is posted on it. WAIT: nothing is written; ``reason`` says why
    (the event stays in triage).
    """

    action: TicketAction
    reason: str
    alert_key: str
    values: OdooValues = field(default_factory=dict)
    ticket_id: int | None = None
    chatter: str | None = None


def choose_ticket_sa(sa_ids: Collection[int]) -> int | None:
    """The SA to stamp on a ticket from the SAs its partner is assigned to.

    Conservative stamping (seed 003): exactly one SA is stamped; none or several leave the
    stamp empty for a dispatcher to decide rather than guessing.
    """
    distinct = set(sa_ids)
    return distinct.pop() if len(distinct) == 1 else None


def _bump(open_ticket: OpenTicket, key: str, line: str, seq: int) -> TicketDecision:
    count = max(open_ticket.alert_count, 1) + 1
    return TicketDecision(
        action=TicketAction.BUMP,
        reason=f"ticket {open_ticket.ticket_id} is still open for this alert",
        alert_key=key,
        values={HelpdeskTicket.ALERT_COUNT: count},
        ticket_id=open_ticket.ticket_id,
        chatter=f"{line} (occurrence {count}, relay event {seq})",
    )


def _ticket_values(
    *,
    name: str,
    description: str,
    partner_id: int,
    asset_id: int | None,
    priority: str,
    team_id: int | None,
    sa_id: int | None,
    key: str,
    seq: int,
) -> OdooValues:
    values: OdooValues = {
        HelpdeskTicket.NAME: name,
        HelpdeskTicket.DESCRIPTION: description,
        HelpdeskTicket.PARTNER: partner_id,
        HelpdeskTicket.PRIORITY: priority,
        HelpdeskTicket.ALERT_KEY: key,
        HelpdeskTicket.ALERT_COUNT: 1,
        HelpdeskTicket.RELAY_SEQ: seq,
    }
    if asset_id is not None:
        values[HelpdeskTicket.ASSET] = asset_id
    if team_id is not None:
        values[HelpdeskTicket.TEAM] = team_id
    if sa_id is not None:
        values[HelpdeskTicket.SA] = sa_id
    return values


def decide_alert_ticket(
    alert: Alert,
    asset: LinkedAsset | None,
    open_ticket: OpenTicket | None,
    *,
    team_id: int | None,
    sa_id: int | None,
    priority_map: Mapping[str, str] | None = None,
) -> TicketDecision:
    """Seed T011 with one open ticket per alert key.

    A repeat of an alert whose ticket is still open bumps ``x_alert_count`` and posts a chatter
    line; a first occurrence on a linked device creates "Alert: {Title}" with the message as
    description, partner and asset from the asset, the mapped priority, the configured team
    and the SA stamp; an alert on a device without an asset (or an asset without partner)
    waits in triage.
    """
    key = alert_dedupe_key(alert.source, alert.device_id, alert.title)
    if open_ticket is not None:
        return _bump(open_ticket, key, f"Alert fired again: {alert.title}", alert.seq)
    if asset is None:
        return TicketDecision(
            action=TicketAction.WAIT,
            reason=f"device {alert.device_id or '(none)'} is not linked to an asset yet",
            alert_key=key,
        )
    if asset.partner_id is None:
        return TicketDecision(
            action=TicketAction.WAIT,
            reason=f"asset {asset.asset_id} has no client partner",
            alert_key=key,
        )
    return TicketDecision(
        action=TicketAction.CREATE,
        reason="first occurrence on a linked device",
        alert_key=key,
        values=_ticket_values(
            name=f"Alert: {alert.title}",
            description=_html_paragraphs(alert.message),
            partner_id=asset.partner_id,
            asset_id=asset.asset_id,
            priority=ticket_priority(alert.priority, priority_map),
            team_id=team_id,
            sa_id=sa_id,
            key=key,
            seq=alert.seq,
        ),
    )


def decide_incident_ticket(
    incident: Incident,
    partner_id: int | None,
    open_ticket: OpenTicket | None,
    *,
    team_id: int | None,
    sa_id: int | None,
    priority: str = DEFAULT_INCIDENT_PRIORITY,
    priority_map: Mapping[str, str] | None = None,
) -> TicketDecision:
    """A RocketCyber incident as a "Security: {title}" ticket, one per incident.

    The description carries the incident's description and remediation. RocketCyber reports no
    severity, so ``priority`` (a Pulseway-style name, Critical by default) goes through the same
    priority map as alerts. Without a partner for the incident's account it waits in triage.
    """
    key = incident_dedupe_key(incident.account_id, incident.incident_id)
    if open_ticket is not None:
        return _bump(open_ticket, key, f"Incident updated: {incident.title}", incident.seq)
    if partner_id is None:
        return TicketDecision(
            action=TicketAction.WAIT,
            reason=f"RocketCyber account {incident.account_id} is not linked to a partner",
            alert_key=key,
        )
    remediation = f"Remediation: {incident.remediation}" if incident.remediation else None
    return TicketDecision(
        action=TicketAction.CREATE,
        reason="new security incident",
        alert_key=key,
        values=_ticket_values(
            name=f"Security: {incident.title}",
            description=_html_paragraphs(incident.description, remediation),
            partner_id=partner_id,
            asset_id=None,
            priority=ticket_priority(priority, priority_map),
            team_id=team_id,
            sa_id=sa_id,
            key=key,
            seq=incident.seq,
        ),
    )
