"""The Odoo side of partner → Pulseway push approvals, as the logged-in manager.

The queue is company partners in the manager's SA scope whose ``x_pulseway_sync_state`` is
``pending`` (new companies; unassigned ones too, which Odoo's rules let managers see), plus the
``failed`` and stuck ``approved`` ones of their SAs so they can be retried.

:func:`approve` is the one path an approval takes, and its order is what makes it safe:

1. an unassigned partner is first assigned to the manager's SA (``x_sa_client``), so the
   following writes stay inside the manager's record rules;
2. the partner is marked ``approved`` with the chosen target (``x_pulseway_org_id``) *before*
   anything is sent, so a crash leaves a visible, retryable row rather than an unknown state;
3. the remote step runs (idempotent in Pulseway: it checks before it writes, see
   ``console.pulseway.push``) — this module only receives it as a callable, because the Odoo
   and Pulseway gateways are independent layers;
4. success: ``synced`` + the organization id + a chatter note; failure: ``failed`` + the
   seed's "Failed to sync to Pulseway: …" note. Every note names ``{actor, sa}``.

A write Odoo refuses raises :class:`console.odoo.errors.OdooGatewayError` to the caller, who
shows it with a Retry; nothing fails silently.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from console.domain.matching import (
    MatchTier,
    OrganizationCandidate,
    Suggestion,
    best_exact,
    rank_organizations_for_partner,
)
from console.domain.names import Partner, PulsewaySyncState, Role, SaClient
from console.domain.scope import Pane, and_domains, or_domains, scope_domain
from console.domain.search_domain import Domain, false_domain
from console.odoo.gateway import OdooGateway

log = logging.getLogger(__name__)

FIELDS: Final = (
    Partner.NAME,
    Partner.PULSEWAY_SYNC_STATE,
    Partner.PULSEWAY_ORG_ID,
    Partner.SA_ASSIGNMENTS,
    "write_date",
)
#: The seed's wording (T012) for a failed push, followed by the reason.
FAILURE_PREFIX: Final = "Failed to sync to Pulseway: "
#: States a manager can act on: new, failed, and approved-but-not-finished (a crash mid-way).
ACTIONABLE_STATES: Final = (
    PulsewaySyncState.PENDING.value,
    PulsewaySyncState.FAILED.value,
    PulsewaySyncState.APPROVED.value,
)


@dataclass(frozen=True)
class Actor:
    """Who acts and in which SA: the ``{actor, sa}`` every chatter note carries."""

    uid: int
    name: str
    sa_id: int
    sa_name: str

    def stamp(self) -> str:
        """The ``{actor, sa}`` suffix of chatter notes."""
        return f"(actor: {self.name}, sa: {self.sa_name})"


@dataclass(frozen=True)
class Target:
    """What an approval does: link to organization ``org_id``, or create ``org_name``."""

    action: str  # "link" | "create"
    org_id: int | None = None
    org_name: str = ""

    def __post_init__(self) -> None:
        if self.action not in ("link", "create"):
            raise ValueError(f"action must be 'link' or 'create', not {self.action!r}")
        if self.action == "link" and not self.org_id:
            raise ValueError("a link needs the organization id")

    def describe(self) -> str:
        if self.action == "create":
            return f"create organization “{self.org_name}”"
        name = f"“{self.org_name}” " if self.org_name else ""
        return f"link to organization {name}({self.org_id})"


@dataclass(frozen=True)
class RemoteOutcome:
    """What the Pulseway step reports back: the organization, and whether anything was sent."""

    org_id: int
    org_name: str
    sent: bool
    created: bool = False


@dataclass(frozen=True)
class ApprovalOutcome:
    """The result of one approval: final state, the organization, or the failure message."""

    partner_id: int
    state: str
    org_id: int | None = None
    message: str = ""
    sent: bool = False

    @property
    def ok(self) -> bool:
        return self.state == PulsewaySyncState.SYNCED.value


RemoteStep = Callable[[], Awaitable[RemoteOutcome]]


@dataclass(frozen=True)
class Proposal:
    """The proposed action for one partner: ``target`` (None: nothing to propose), the reason
    a manager can check, and every ranked organization to pick another target from."""

    target: Target | None
    reason: str
    suggestions: tuple[Suggestion[OrganizationCandidate], ...] = ()


def propose_target(
    partner_name: str,
    partner_org_id: int | None,
    organizations: Sequence[OrganizationCandidate],
    *,
    can_create: bool,
) -> Proposal:
    """What to propose for a partner (pure; the pane shows it, the manager decides).

    A single strong match (the id already linked, the same name, the same name once case and
    legal form are ignored) → link. Otherwise create where creating is enabled, else the best
    similar name (the reason says how similar) → link; else nothing — pick a target.
    """
    suggestions = tuple(
        rank_organizations_for_partner(partner_name, partner_org_id, organizations, limit=None)
    )
    strong = best_exact(suggestions, MatchTier.NORMALIZED_NAME)
    if strong is not None:
        reason = next(s.reason for s in suggestions if s.candidate == strong)
        return Proposal(Target("link", strong.id, strong.name), reason, suggestions)
    best = suggestions[0] if suggestions else None
    if can_create:
        reason = "no organization has this name"
        if best is not None:
            reason += f" (closest: “{best.candidate.name}”, {best.reason})"
        return Proposal(Target("create", None, partner_name.strip()), reason, suggestions)
    if best is not None:
        candidate = best.candidate
        return Proposal(Target("link", candidate.id, candidate.name), best.reason, suggestions)
    return Proposal(
        None,
        "no organization with a similar name; pick one by id, or create it in Pulseway first",
        suggestions,
    )


def approvals_domain(
    sa_id: int, actor_uid: int, role: Role | str, descendants: Sequence[int] = ()
) -> Domain:
    """The queue's domain: pending companies in scope (assigned or unassigned), plus failed and
    approved-but-unfinished companies of the SA(s). Empty for anyone but a manager."""
    if Role(role) is not Role.MANAGER:
        return false_domain()
    pending = scope_domain(Pane.APPROVALS, sa_id, actor_uid, role, descendants=descendants)
    retryable = and_domains(
        [(Partner.IS_COMPANY, "=", True)],
        [
            (
                Partner.PULSEWAY_SYNC_STATE,
                "in",
                [PulsewaySyncState.FAILED.value, PulsewaySyncState.APPROVED.value],
            )
        ],
        scope_domain(Pane.PARTNERS, sa_id, actor_uid, role, descendants=descendants),
    )
    # partner_share False: the MSP's own company partner is never pushed
    return and_domains([(Partner.PARTNER_SHARE, "=", True)], or_domains(pending, retryable))


async def load_queue(gateway: OdooGateway, domain: Domain) -> list[dict[str, Any]]:
    """The queue's rows (two RPCs), oldest first so nothing waits forever at the bottom."""
    with gateway.operation("approvals.load"):
        own = await gateway.search_read("res.company", [], ["partner_id"])
        rows = await gateway.search_read(
            Partner.MODEL,
            [list(leaf) if isinstance(leaf, tuple) else leaf for leaf in domain],
            list(FIELDS),
            order="id asc",
        )
    # the MSP's own company partner is never a client (Odoo: partner_share False already)
    excluded = {int(r["partner_id"][0]) for r in own if r.get("partner_id")}
    return [row for row in rows if int(row["id"]) not in excluded]


async def _post(gateway: OdooGateway, partner_id: int, text: str) -> None:
    await gateway.call(
        Partner.MODEL, "message_post", [partner_id], body=text, message_type="comment"
    )


async def _ensure_assigned(gateway: OdooGateway, partner_id: int, actor: Actor) -> bool:
    """Assign an unassigned partner to the actor's SA; True when an edge was created."""
    assigned = await gateway.search_count(SaClient.MODEL, [[SaClient.PARTNER, "=", partner_id]])
    if assigned:
        return False
    await gateway.call(
        SaClient.MODEL,
        "create",
        {SaClient.SA: actor.sa_id, SaClient.PARTNER: partner_id, SaClient.USER: actor.uid},
    )
    return True


async def approve(
    gateway: OdooGateway,
    partner_id: int,
    target: Target,
    actor: Actor,
    remote: RemoteStep,
) -> ApprovalOutcome:
    """Run one approval (see the module docstring for the order of steps).

    Odoo errors before the remote step propagate (nothing was sent: the row stays as it was);
    a remote failure is recorded as ``failed`` and returned, not raised.
    """
    with gateway.operation("approvals.approve"):
        assigned = await _ensure_assigned(gateway, partner_id, actor)
        if assigned:
            log.info("partner %s assigned to SA %s on approval", partner_id, actor.sa_name)
        await gateway.call(
            Partner.MODEL,
            "write",
            [partner_id],
            {
                Partner.PULSEWAY_SYNC_STATE: PulsewaySyncState.APPROVED.value,
                Partner.PULSEWAY_ORG_ID: target.org_id or 0,
            },
        )
    try:
        result = await remote()
    except Exception as exc:  # recorded on the partner; the details go to the log
        reason = str(exc) or type(exc).__name__
        log.warning("Pulseway push of partner %s failed: %s", partner_id, reason, exc_info=True)
        await record_failure(gateway, partner_id, reason, actor)
        return ApprovalOutcome(partner_id, PulsewaySyncState.FAILED.value, message=reason)
    what = (
        f"created Pulseway organization “{result.org_name}” ({result.org_id})"
        if result.created
        else f"linked to Pulseway organization “{result.org_name}” ({result.org_id})"
    )
    already = "" if result.sent else " — the stamp was already there, nothing was sent again"
    note = f"Synced to Pulseway: {what}, Odoo partner id stamped{already}. {actor.stamp()}"
    with gateway.operation("approvals.approve"):
        await gateway.call(
            Partner.MODEL,
            "write",
            [partner_id],
            {
                Partner.PULSEWAY_SYNC_STATE: PulsewaySyncState.SYNCED.value,
                Partner.PULSEWAY_ORG_ID: result.org_id,
            },
        )
        await _post(gateway, partner_id, note)
    return ApprovalOutcome(
        partner_id,
        PulsewaySyncState.SYNCED.value,
        org_id=result.org_id,
        message=note,
        sent=result.sent,
    )


async def record_failure(gateway: OdooGateway, partner_id: int, reason: str, actor: Actor) -> None:
    """Mark a push failed with the seed's chatter message; the row stays retryable."""
    with gateway.operation("approvals.failure"):
        await gateway.call(
            Partner.MODEL,
            "write",
            [partner_id],
            {Partner.PULSEWAY_SYNC_STATE: PulsewaySyncState.FAILED.value},
        )
        await _post(gateway, partner_id, f"{FAILURE_PREFIX}{reason} {actor.stamp()}")


async def reject(gateway: OdooGateway, partner_id: int, actor: Actor) -> ApprovalOutcome:
    """Decide never to push this partner: state ``skipped`` and a chatter note."""
    with gateway.operation("approvals.reject"):
        await _ensure_assigned(gateway, partner_id, actor)
        await gateway.call(
            Partner.MODEL,
            "write",
            [partner_id],
            {Partner.PULSEWAY_SYNC_STATE: PulsewaySyncState.SKIPPED.value},
        )
        note = f"Pulseway push rejected: this partner will not be pushed. {actor.stamp()}"
        await _post(gateway, partner_id, note)
    return ApprovalOutcome(partner_id, PulsewaySyncState.SKIPPED.value, message=note)


async def chatter(gateway: OdooGateway, partner_id: int, limit: int = 10) -> list[dict[str, Any]]:
    """The partner's latest chatter messages (for the detail panel)."""
    return await gateway.search_read(
        "mail.message",
        [["model", "=", Partner.MODEL], ["res_id", "=", partner_id]],
        ["body", "author_id", "date"],
        order="id desc",
        limit=limit,
    )
