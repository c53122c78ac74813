"""Odoo reads and writes behind the console's alert actions (link, ticket), as the logged-in user.

Everything here goes through the user's own :class:`~console.odoo.gateway.OdooGateway`, so
Odoo's access rights and record rules apply on top of the SA scope the console adds: a
technician cannot suggest, link or ticket into a Serviced Account they are not a member of,
whatever the UI sends. Ranking is :mod:`console.domain.matching`; priority and alert keys are
:mod:`console.domain.alerts`. No Qt here.

    triage = AlertTriage(gateway, TriageContext.for_user(uid, current, memberships))
    targets = await triage.suggestions(device_hints(alert_row, device_event_payload))
    target = await triage.confirm(targets[0])            # re-read as the user, SA checked
    ticket = await triage.create_ticket(alert_row, target)
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from console.domain.alerts import alert_dedupe_key, ticket_priority
from console.domain.matching import (
    AssetCandidate,
    DeviceRef,
    MatchTier,
    PartnerCandidate,
    PulsewayGroupRef,
    rank_assets_for_device,
    rank_partners_for_group,
)
from console.domain.names import (
    ClientAsset,
    HelpdeskTicket,
    Partner,
    PulsewayGroupMap,
    Role,
    SaClient,
)
from console.domain.scope import Pane, scope_domain
from console.domain.search_domain import Domain, and_domains, or_domains
from console.odoo import errors
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership

#: The team new alert tickets go to (the seed's default), when it exists and is readable.
DEFAULT_TEAM_XMLID = "helpdesk.support_team"
#: How many candidate rows a suggestion query reads at most (ranking happens here).
CANDIDATE_LIMIT = 400
SEARCH_LIMIT = 40
SUGGESTION_LIMIT = 8

_ASSET_FIELDS = [
    ClientAsset.NAME,
    ClientAsset.SERIAL_NUMBER,
    ClientAsset.PULSEWAY_ID,
    ClientAsset.PARTNER,
]
_TICKET_FIELDS = [
    HelpdeskTicket.NAME,
    HelpdeskTicket.PARTNER,
    HelpdeskTicket.ASSET,
    HelpdeskTicket.ALERT_KEY,
    HelpdeskTicket.ALERT_COUNT,
    HelpdeskTicket.STAGE,
    HelpdeskTicket.ASSIGNED_USER,
    HelpdeskTicket.SA,
]


class TriageRefused(Exception):
    """An action the user cannot take; ``str()`` says why and what to do instead."""


# --------------------------------------------------------------------------------------------
# What the console knows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TriageContext:
    """Who acts: the user, the SA in force and every SA they may act in."""

    uid: int
    sa_id: int
    role: Role
    memberships: tuple[Membership, ...]

    @classmethod
    def for_user(
        cls, uid: int, current: Membership, memberships: Iterable[Membership]
    ) -> TriageContext:
        return cls(uid, current.sa_id, current.role, tuple(memberships) or (current,))

    @property
    def scope_sa_ids(self) -> frozenset[int]:
        """Every SA the user acts in (a manager's reach includes the SAs below)."""
        ids: set[int] = set()
        for membership in self.memberships:
            ids.add(membership.sa_id)
            if membership.role is Role.MANAGER:
                ids.update(membership.descendants)
        return frozenset(ids)

    def sa_names(self, sa_ids: Iterable[int]) -> str:
        """Readable names of ``sa_ids`` (those the user knows), for dialogs."""
        known = {m.sa_id: m.sa_name for m in self.memberships}
        return ", ".join(known.get(sa, f"SA {sa}") for sa in sa_ids)

    def domain(self, pane: Pane) -> Domain:
        """``pane``'s records in any of the user's SAs (the union of each membership's scope)."""
        return or_domains(
            *(
                scope_domain(pane, m.sa_id, self.uid, m.role, descendants=m.descendants)
                for m in self.memberships
            )
        )


@dataclass(frozen=True, slots=True)
class DeviceHints:
    """What the console knows of an alert's device: from the alert itself, the Pulseway device
    events the relay streamed, and the asset name already resolved for it."""

    device_id: str | None = None
    hostname: str | None = None
    serial_number: str | None = None
    org_id: int | None = None
    org_name: str | None = None
    group_name: str | None = None
    site_name: str | None = None

    @property
    def device(self) -> DeviceRef:
        return DeviceRef(self.device_id, self.hostname, self.serial_number)

    @property
    def group(self) -> PulsewayGroupRef:
        return PulsewayGroupRef(self.org_id, self.org_name, self.group_name, self.site_name)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _int_or_none(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def device_hints(
    alert: Mapping[str, Any], device_event: Mapping[str, Any] | None = None
) -> DeviceHints:
    """Hints for ``alert`` (an Alerts-pane row) and the latest ``device.*`` event payload of its
    device, if the console saw one."""
    payload = alert.get("payload") or {}
    event = device_event or {}
    return DeviceHints(
        device_id=_text(alert.get("device_id")) or _text(payload.get("DeviceIdentifier")),
        hostname=_text(event.get("hostname")) or _text(alert.get("device_name")),
        serial_number=_text(event.get("serial")),
        org_id=_int_or_none(event.get("organization_id"))
        or _int_or_none(payload.get("OrganizationId")),
        org_name=_text(event.get("organization_name")),
        group_name=_text(event.get("group_name")),
        site_name=_text(event.get("site_name")),
    )


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """An asset (with its client) or a client alone that an alert can be linked to.

    ``sa_ids``: the SAs the client is assigned to that the user acts in (what the link stamps
    on the alert). ``reason`` says why it is suggested.
    """

    asset_id: int | None
    asset_name: str | None
    partner_id: int | None
    partner_name: str | None
    sa_ids: tuple[int, ...] = ()
    reason: str = ""
    tier: int = 0

    @property
    def kind(self) -> str:
        return "Asset" if self.asset_id is not None else "Client"

    @property
    def label(self) -> str:
        if self.asset_id is not None:
            client = f" ({self.partner_name})" if self.partner_name else ""
            return f"{self.asset_name or f'asset {self.asset_id}'}{client}"
        return self.partner_name or f"partner {self.partner_id}"

    def link_args(self) -> dict[str, Any]:
        """The relay ``link`` arguments that record this target on an alert."""
        return {
            "asset_id": self.asset_id,
            "partner_id": self.partner_id,
            "sa_ids": list(self.sa_ids),
            "asset_name": self.asset_name,
            "partner_name": self.partner_name,
        }


@dataclass(frozen=True, slots=True)
class TicketRef:
    """An open helpdesk ticket an alert can join, or the one just created."""

    id: int
    name: str
    partner_name: str | None = None
    asset_name: str | None = None
    alert_key: str | None = None
    alert_count: int = 0
    stage: str | None = None
    assignee: str | None = None
    same_alert: bool = False
    reason: str = ""

    @property
    def label(self) -> str:
        return f"#{self.id} {self.name}"


@dataclass(slots=True)
class AttachProgress:
    """What an attach has done so far, so a retry after a failure never repeats a step."""

    chatter_posted: bool = False
    count_written: int | None = None
    steps: list[str] = field(default_factory=list)


def alert_key(alert: Mapping[str, Any]) -> str:
    """The alert's dedupe key as the relay logged it (or computed the same way)."""
    key = _text(alert.get("dedupe_key"))
    if key:
        return key
    return alert_dedupe_key(
        str(alert.get("source") or "pulseway"),
        _text(alert.get("device_id")),
        str(alert.get("title") or ""),
    )


def _message(alert: Mapping[str, Any]) -> str | None:
    payload = alert.get("payload") or {}
    return _text(payload.get("Message")) or _text(payload.get("description"))


def ticket_description(alert: Mapping[str, Any]) -> str:
    """HTML description of a ticket made from ``alert``: its message, then where it came from."""
    paragraphs = []
    message = _message(alert)
    if message:
        paragraphs.append("<br>".join(html.escape(line) for line in message.splitlines()))
    origin = (
        f"{str(alert.get('source') or 'pulseway').capitalize()} alert, relay event "
        f"{alert.get('seq')}, device {alert.get('device_name') or alert.get('device_id') or '-'}"
    )
    paragraphs.append(html.escape(origin))
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _m2o(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, list | tuple) and value:
        return int(value[0]), (str(value[1]) if len(value) > 1 else None)
    if isinstance(value, int) and not isinstance(value, bool) and value:
        return value, None
    return None, None


def _hostname_stem(hostname: str) -> str:
    """The part of a hostname a similar one likely shares ("ACME-WS01" -> "ACME")."""
    short = hostname.strip().split(".", 1)[0]
    stem = re.split(r"[-_ ]", short, maxsplit=1)[0]
    return stem if len(stem) >= 3 else short


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------


class AlertTriage:
    """Link and ticket operations for one user in one SA context (see the module docstring)."""

    def __init__(self, gateway: OdooGateway, context: TriageContext) -> None:
        self.gateway = gateway
        self.context = context
        self._team: int | None = None
        self._team_known = False

    # -- reading ------------------------------------------------------------------------------

    async def _partner_sas(self, partner_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
        """SAs each partner is assigned to, limited to the user's scope (one RPC)."""
        ids = sorted({p for p in partner_ids if p})
        if not ids:
            return {}
        scope = self.context.scope_sa_ids
        rows = await self.gateway.search_read(
            SaClient.MODEL,
            [(SaClient.PARTNER, "in", ids), (SaClient.SA, "in", sorted(scope))],
            [SaClient.PARTNER, SaClient.SA],
        )
        result: dict[int, set[int]] = {}
        for row in rows:
            partner, _ = _m2o(row.get(SaClient.PARTNER))
            sa, _ = _m2o(row.get(SaClient.SA))
            if partner and sa:
                result.setdefault(partner, set()).add(sa)
        return {p: tuple(sorted(s)) for p, s in result.items()}

    def _asset_target(
        self, asset: Mapping[str, Any], sas: Mapping[int, tuple[int, ...]], reason: str, tier: int
    ) -> LinkTarget:
        partner_id, partner_name = _m2o(asset.get(ClientAsset.PARTNER))
        return LinkTarget(
            asset_id=int(asset["id"]),
            asset_name=str(asset.get(ClientAsset.NAME) or ""),
            partner_id=partner_id,
            partner_name=partner_name,
            sa_ids=sas.get(partner_id or 0, ()),
            reason=reason,
            tier=tier,
        )

    async def suggestions(
        self, hints: DeviceHints, *, limit: int = SUGGESTION_LIMIT
    ) -> list[LinkTarget]:
        """Ranked assets, then ranked clients, for the alert's device, each with its reason.

        Assets: same Pulseway device id > same BIOS serial > same hostname > similar hostname.
        Clients: the device's Pulseway organization id already mapped to them > group or
        organization name equal / ≈ the client's name. Only records in the user's SAs.
        """
        with self.gateway.operation("triage.suggestions"):
            asset_rows = await self._asset_candidates(hints)
            partners = await self._partner_candidates(hints)
            assets = [
                AssetCandidate(
                    id=int(row["id"]),
                    name=str(row.get(ClientAsset.NAME) or ""),
                    serial_number=_text(row.get(ClientAsset.SERIAL_NUMBER)),
                    pulseway_id=_text(row.get(ClientAsset.PULSEWAY_ID)),
                    partner_id=_m2o(row.get(ClientAsset.PARTNER))[0],
                )
                for row in asset_rows
            ]
            ranked_assets = rank_assets_for_device(hints.device, assets, limit=limit)
            ranked_partners = rank_partners_for_group(hints.group, partners, limit=limit)
            by_id = {int(row["id"]): row for row in asset_rows}
            partner_ids = [s.candidate.partner_id or 0 for s in ranked_assets] + [
                s.candidate.id for s in ranked_partners
            ]
            sas = await self._partner_sas(partner_ids)
        targets = [
            self._asset_target(by_id[s.candidate.id], sas, s.reason, int(s.tier))
            for s in ranked_assets
        ]
        targets += [
            LinkTarget(
                asset_id=None,
                asset_name=None,
                partner_id=s.candidate.id,
                partner_name=s.candidate.name,
                sa_ids=sas.get(s.candidate.id, ()),
                reason=s.reason,
                tier=int(s.tier),
            )
            for s in ranked_partners
        ]
        return targets[: limit * 2]

    async def _asset_candidates(self, hints: DeviceHints) -> list[dict[str, Any]]:
        terms: list[Domain] = []
        if hints.device_id:
            terms.append([(ClientAsset.PULSEWAY_ID, "=ilike", hints.device_id)])
        if hints.serial_number:
            terms.append([(ClientAsset.SERIAL_NUMBER, "=ilike", hints.serial_number)])
        if hints.hostname:
            terms.append([(ClientAsset.NAME, "ilike", _hostname_stem(hints.hostname))])
        if not terms:
            return []
        domain = and_domains(self.context.domain(Pane.ASSETS), or_domains(*terms))
        return await self.gateway.search_read(
            ClientAsset.MODEL, domain, _ASSET_FIELDS, limit=CANDIDATE_LIMIT, order="id"
        )

    async def _partner_candidates(self, hints: DeviceHints) -> list[PartnerCandidate]:
        group = hints.group
        if group.org_id is None and not (group.org_name or group.group_name or group.site_name):
            return []
        rows = await self.gateway.search_read(
            Partner.MODEL,
            and_domains(self.context.domain(Pane.PARTNERS), [(Partner.IS_COMPANY, "=", True)]),
            [Partner.NAME, Partner.PULSEWAY_ORG_ID],
            limit=CANDIDATE_LIMIT * 5,
            order="name, id",
        )
        mapped: dict[int, set[int]] = {}
        if group.org_id is not None:
            maps = await self.gateway.search_read(
                PulsewayGroupMap.MODEL,
                [
                    [PulsewayGroupMap.PULSEWAY_ORG_ID, "=", group.org_id],
                    [PulsewayGroupMap.PARTNER, "!=", False],
                ],
                [PulsewayGroupMap.PARTNER, PulsewayGroupMap.PULSEWAY_ORG_ID],
            )
            for row in maps:
                partner, _ = _m2o(row.get(PulsewayGroupMap.PARTNER))
                if partner:
                    mapped.setdefault(partner, set()).add(group.org_id)
        candidates = []
        for row in rows:
            org_ids = set(mapped.get(int(row["id"]), set()))
            own = _int_or_none(row.get(Partner.PULSEWAY_ORG_ID))
            if own:
                org_ids.add(own)
            candidates.append(
                PartnerCandidate(
                    int(row["id"]), str(row.get(Partner.NAME) or ""), frozenset(org_ids)
                )
            )
        return candidates

    async def search(self, text: str, *, limit: int = SEARCH_LIMIT) -> list[LinkTarget]:
        """Assets (hostname or serial) and clients (name) containing ``text``, in scope."""
        needle = text.strip()
        if not needle:
            return []
        with self.gateway.operation("triage.search"):
            assets = await self.gateway.search_read(
                ClientAsset.MODEL,
                and_domains(
                    self.context.domain(Pane.ASSETS),
                    or_domains(
                        [(ClientAsset.NAME, "ilike", needle)],
                        [(ClientAsset.SERIAL_NUMBER, "ilike", needle)],
                    ),
                ),
                _ASSET_FIELDS,
                limit=limit,
                order="x_name, id",
            )
            partners = await self.gateway.search_read(
                Partner.MODEL,
                and_domains(
                    self.context.domain(Pane.PARTNERS),
                    [(Partner.IS_COMPANY, "=", True), (Partner.NAME, "ilike", needle)],
                ),
                [Partner.NAME],
                limit=limit,
                order="name, id",
            )
            sas = await self._partner_sas(
                [_m2o(a.get(ClientAsset.PARTNER))[0] or 0 for a in assets]
                + [int(p["id"]) for p in partners]
            )
        reason = f"contains “{needle}”"
        targets = [self._asset_target(a, sas, reason, 0) for a in assets]
        targets += [
            LinkTarget(
                None,
                None,
                int(p["id"]),
                str(p.get(Partner.NAME) or ""),
                sas.get(int(p["id"]), ()),
                reason,
            )
            for p in partners
        ]
        return targets

    async def confirm(self, target: LinkTarget) -> LinkTarget:
        """``target`` re-read as the user: it must be visible and its client assigned to an SA
        the user acts in. Returns it with fresh names and SAs; raises :class:`TriageRefused`."""
        with self.gateway.operation("triage.confirm"):
            if target.asset_id is not None:
                rows = await self._read_visible(
                    ClientAsset.MODEL, target.asset_id, Pane.ASSETS, _ASSET_FIELDS
                )
                if not rows:
                    raise TriageRefused(
                        f"Asset {target.asset_name or target.asset_id} is not in a Serviced "
                        "Account you work in, so you cannot link alerts to it. Ask a dispatcher "
                        "of its SA."
                    )
                partner_id, partner_name = _m2o(rows[0].get(ClientAsset.PARTNER))
                asset_name: str | None = str(rows[0].get(ClientAsset.NAME) or "")
            elif target.partner_id is not None:
                rows = await self._read_visible(
                    Partner.MODEL, target.partner_id, Pane.PARTNERS, [Partner.NAME]
                )
                if not rows:
                    raise TriageRefused(
                        f"Client {target.partner_name or target.partner_id} is not assigned to a "
                        "Serviced Account you work in, so you cannot link alerts to it."
                    )
                partner_id, partner_name = int(rows[0]["id"]), str(rows[0].get(Partner.NAME))
                asset_name = None
            else:
                raise TriageRefused("Choose an asset or a client to link the alert to.")
            if partner_id is None:
                raise TriageRefused(
                    f"Asset {asset_name} has no client yet; link the alert to a client instead."
                )
            sas = (await self._partner_sas([partner_id])).get(partner_id, ())
        if not sas:
            raise TriageRefused(
                f"{partner_name} is not assigned to any Serviced Account you work in."
            )
        return LinkTarget(
            target.asset_id, asset_name, partner_id, partner_name, sas, target.reason, target.tier
        )

    async def _read_visible(
        self, model: str, record_id: int, pane: Pane, fields: Sequence[str]
    ) -> list[dict[str, Any]]:
        try:
            return await self.gateway.search_read(
                model, and_domains([("id", "=", record_id)], self.context.domain(pane)), fields
            )
        except errors.AccessDenied:
            return []

    async def target_for_alert(self, alert: Mapping[str, Any]) -> LinkTarget | None:
        """What ``alert`` is linked to already: its recorded asset or client, else the asset of
        its Pulseway device; None when nothing is (link it first)."""
        asset_id = alert.get("asset_id")
        partner_id = alert.get("partner_id")
        if asset_id or partner_id:
            return await self.confirm(
                LinkTarget(
                    asset_id or None,
                    alert.get("asset_name"),
                    None if asset_id else partner_id,
                    alert.get("partner_name"),
                )
            )
        device = _text(alert.get("device_id"))
        if not device:
            return None
        with self.gateway.operation("triage.device_asset"):
            rows = await self.gateway.search_read(
                ClientAsset.MODEL,
                and_domains(
                    self.context.domain(Pane.ASSETS), [(ClientAsset.PULSEWAY_ID, "=ilike", device)]
                ),
                _ASSET_FIELDS,
                limit=2,
            )
        if len(rows) != 1:
            return None
        return await self.confirm(
            self._asset_target(
                rows[0], {}, "the asset of this Pulseway device", int(MatchTier.MAPPED_ID)
            )
        )

    # -- tickets ------------------------------------------------------------------------------

    def ticket_sa(self, target: LinkTarget) -> int:
        """The SA a new ticket is stamped with: the SA in force when the client is assigned to
        it (or the client's SA is unknown), else the client's one SA in the user's scope."""
        if not target.sa_ids or self.context.sa_id in target.sa_ids:
            return self.context.sa_id
        if len(target.sa_ids) == 1:
            return target.sa_ids[0]
        return self.context.sa_id

    async def open_tickets(
        self, target: LinkTarget | None, alert: Mapping[str, Any], text: str = ""
    ) -> list[TicketRef]:
        """Open tickets (stage not folded) of the target's client or carrying this alert's key,
        in the user's scope; the ones for the same alert first, then the same asset."""
        key = alert_key(alert)
        related: list[Domain] = [[(HelpdeskTicket.ALERT_KEY, "=", key)]]
        if target is not None and target.partner_id:
            related.append([(HelpdeskTicket.PARTNER, "=", target.partner_id)])
        domain = and_domains(
            self.context.domain(Pane.TICKETS),
            [(f"{HelpdeskTicket.STAGE}.fold", "=", False)],
            or_domains(*related),
        )
        if text.strip():
            needle = text.strip()
            search: Domain = [(HelpdeskTicket.NAME, "ilike", needle)]
            if needle.lstrip("#").isdigit():
                search = or_domains(search, [("id", "=", int(needle.lstrip("#")))])
            domain = and_domains(domain, search)
        with self.gateway.operation("triage.open_tickets"):
            rows = await self.gateway.search_read(
                HelpdeskTicket.MODEL, domain, _TICKET_FIELDS, limit=200, order="id desc"
            )
        asset_id = target.asset_id if target else None
        tickets = []
        for row in rows:
            same_alert = row.get(HelpdeskTicket.ALERT_KEY) == key
            ticket_asset, asset_name = _m2o(row.get(HelpdeskTicket.ASSET))
            if same_alert:
                reason = "already open for this alert"
            elif asset_id is not None and ticket_asset == asset_id:
                reason = "same asset"
            else:
                reason = "same client"
            tickets.append(
                TicketRef(
                    id=int(row["id"]),
                    name=str(row.get(HelpdeskTicket.NAME) or ""),
                    partner_name=_m2o(row.get(HelpdeskTicket.PARTNER))[1],
                    asset_name=asset_name,
                    alert_key=_text(row.get(HelpdeskTicket.ALERT_KEY)),
                    alert_count=int(row.get(HelpdeskTicket.ALERT_COUNT) or 0),
                    stage=_m2o(row.get(HelpdeskTicket.STAGE))[1],
                    assignee=_m2o(row.get(HelpdeskTicket.ASSIGNED_USER))[1],
                    same_alert=same_alert,
                    reason=reason,
                )
            )
        order = {"already open for this alert": 0, "same asset": 1, "same client": 2}
        tickets.sort(key=lambda t: (order[t.reason], -t.id))
        return tickets

    async def _team_id(self) -> int | None:
        if not self._team_known:
            try:
                self._team = await self.gateway.ref(DEFAULT_TEAM_XMLID)
            except errors.OdooGatewayError:
                self._team = None  # Odoo's default team applies
            self._team_known = True
        return self._team

    def ticket_values(
        self,
        alert: Mapping[str, Any],
        target: LinkTarget,
        *,
        title: str | None = None,
        assign_to_me: bool = False,
        team_id: int | None = None,
    ) -> dict[str, Any]:
        """The helpdesk.ticket values for ``alert`` on ``target`` (pure; see :meth:`create_ticket`)."""
        if target.partner_id is None:
            raise TriageRefused("Link the alert to a client before opening a ticket.")
        name = (title or "").strip() or f"Alert: {alert.get('title') or ''}".strip()
        values: dict[str, Any] = {
            HelpdeskTicket.NAME: name,
            HelpdeskTicket.DESCRIPTION: ticket_description(alert),
            HelpdeskTicket.PARTNER: target.partner_id,
            HelpdeskTicket.PRIORITY: ticket_priority(_text(alert.get("priority"))),
            HelpdeskTicket.SA: self.ticket_sa(target),
            HelpdeskTicket.ALERT_KEY: alert_key(alert),
            HelpdeskTicket.ALERT_COUNT: max(int(alert.get("count") or 1), 1),
            HelpdeskTicket.RELAY_SEQ: int(alert["seq"]),
            HelpdeskTicket.ASSIGNED_USER: self.context.uid if assign_to_me else False,
        }
        if target.asset_id is not None:
            values[HelpdeskTicket.ASSET] = target.asset_id
        if team_id is not None:
            values[HelpdeskTicket.TEAM] = team_id
        return values

    async def create_ticket(
        self,
        alert: Mapping[str, Any],
        target: LinkTarget,
        *,
        title: str | None = None,
        assign_to_me: bool = False,
    ) -> TicketRef:
        """Create "Alert: {title}" for ``alert`` on ``target`` as the user (one or two RPCs)."""
        with self.gateway.operation("triage.create_ticket"):
            values = self.ticket_values(
                alert, target, title=title, assign_to_me=assign_to_me, team_id=await self._team_id()
            )
            created = await self.gateway.call(HelpdeskTicket.MODEL, "create", values)
        ticket_id = int(created[0] if isinstance(created, list) else created)
        return TicketRef(
            id=ticket_id,
            name=str(values[HelpdeskTicket.NAME]),
            partner_name=target.partner_name,
            asset_name=target.asset_name,
            alert_key=str(values[HelpdeskTicket.ALERT_KEY]),
            alert_count=int(values[HelpdeskTicket.ALERT_COUNT]),
            same_alert=True,
            reason="created from this alert",
        )

    async def attach(
        self, ticket: TicketRef, alert: Mapping[str, Any], progress: AttachProgress | None = None
    ) -> TicketRef:
        """Attach ``alert`` to the open ``ticket``: a chatter line, then ``x_alert_count`` raised
        by the alert's occurrences. Pass the same ``progress`` to a retry: done steps are skipped.
        """
        progress = progress or AttachProgress()
        occurrences = max(int(alert.get("count") or 1), 1)
        with self.gateway.operation("triage.attach"):
            if not progress.chatter_posted:
                line = (
                    f"Alert attached from the console: {alert.get('title') or ''} "
                    f"(device {alert.get('device_name') or alert.get('device_id') or '-'}, "
                    f"{occurrences} occurrence{'s' if occurrences != 1 else ''}, relay event "
                    f"{alert.get('seq')})"
                )
                await self.gateway.call(
                    HelpdeskTicket.MODEL,
                    "message_post",
                    [ticket.id],
                    body=line,
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
                progress.chatter_posted = True
                progress.steps.append("chatter")
            if progress.count_written is None:
                [current] = await self.gateway.call(
                    HelpdeskTicket.MODEL, "read", [ticket.id], fields=[HelpdeskTicket.ALERT_COUNT]
                ) or [None]
                if current is None:
                    raise TriageRefused(f"Ticket #{ticket.id} no longer exists.")
                count = int(current.get(HelpdeskTicket.ALERT_COUNT) or 0) + occurrences
                await self.gateway.call(
                    HelpdeskTicket.MODEL, "write", [ticket.id], {HelpdeskTicket.ALERT_COUNT: count}
                )
                progress.count_written = count
                progress.steps.append("count")
        return TicketRef(
            id=ticket.id,
            name=ticket.name,
            partner_name=ticket.partner_name,
            asset_name=ticket.asset_name,
            alert_key=ticket.alert_key,
            alert_count=progress.count_written,
            stage=ticket.stage,
            assignee=ticket.assignee,
            same_alert=ticket.same_alert,
            reason="alert attached",
        )
