"""Approving partner → Pulseway pushes as a manager: Odoo (sandbox, unmodified odoorpc under
the gateway) and the Pulseway stand-in over loopback HTTP, with injected failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from approvals_support import PARTNER, TOKEN_ID, TOKEN_SECRET, Served, instant_retries
from odoorpc.error import RPCError

from console.domain.matching import OrganizationCandidate
from console.domain.names import Role
from console.odoo import approvals
from console.odoo.errors import AccessDenied
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership, load_memberships
from console.pulseway import PulsewayClient
from console.pulseway.push import PulsewayPush

pytestmark = pytest.mark.anyio

PENDING_NAME = "Elmstead Optics Group"  # the small world's pending company (East)
NEAR_MISS_ORG = 4805  # "Elmstead Optics": its Pulseway organization under a shorter name


@pytest.fixture
async def maria(served: Served) -> AsyncIterator[OdooGateway]:
    """The East manager, logged in through the gateway."""
    gateway = await OdooGateway.connect(served.odoo_url, "psa", "maria", "maria")
    try:
        yield gateway
    finally:
        gateway.close()


async def east(gateway: OdooGateway) -> Membership:
    [membership] = [m for m in await load_memberships(gateway) if m.sa_name == "East"]
    assert membership.role is Role.MANAGER
    return membership


async def actor_of(gateway: OdooGateway) -> approvals.Actor:
    membership = await east(gateway)
    assert gateway.user is not None
    return approvals.Actor(
        gateway.user.uid, gateway.user.name, membership.sa_id, membership.sa_name
    )


def client(
    served: Served, *, create_url: str | None = None, timeout: float = 10.0
) -> PulsewayClient:
    return PulsewayClient(
        served.pulseway_url,
        TOKEN_ID,
        TOKEN_SECRET,
        retry=instant_retries(),
        timeout=timeout,
        organization_create_url=create_url,
    )


async def push_link(
    gateway: OdooGateway, served: Served, partner_id: int, org_id: int, **options: object
) -> approvals.ApprovalOutcome:
    actor = await actor_of(gateway)
    async with client(served, **options) as pulseway:  # type: ignore[arg-type]
        push = PulsewayPush(pulseway)

        async def remote() -> approvals.RemoteOutcome:
            result = await push.link(org_id, partner_id)
            return approvals.RemoteOutcome(
                result.organization.id, result.organization.name, result.sent
            )

        return await approvals.approve(
            gateway, partner_id, approvals.Target("link", org_id), actor, remote
        )


async def push_create(
    gateway: OdooGateway, served: Served, partner_id: int, name: str, create_url: str | None
) -> approvals.ApprovalOutcome:
    actor = await actor_of(gateway)
    async with client(served, create_url=create_url) as pulseway:
        push = PulsewayPush(pulseway)

        async def remote() -> approvals.RemoteOutcome:
            result = await push.create(name, partner_id)
            org = result.organization
            return approvals.RemoteOutcome(org.id, org.name, result.sent, result.created)

        return await approvals.approve(
            gateway, partner_id, approvals.Target("create", None, name), actor, remote
        )


async def queue_ids(gateway: OdooGateway) -> set[int]:
    membership = await east(gateway)
    assert gateway.user is not None
    domain = approvals.approvals_domain(
        membership.sa_id, gateway.user.uid, membership.role, membership.descendants
    )
    return {int(r["id"]) for r in await approvals.load_queue(gateway, domain)}


# -- the queue and the proposal ---------------------------------------------------------------


async def test_the_queue_holds_the_pending_company_of_the_managers_sa(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    assert await queue_ids(maria) == {pending}


async def test_the_proposal_is_the_near_miss_organization_with_its_reason(
    served: Served,
) -> None:
    async with client(served) as pulseway:
        orgs = [OrganizationCandidate(o.id, o.name) for o in await pulseway.organizations()]
    proposal = approvals.propose_target(PENDING_NAME, None, orgs, can_create=False)
    assert proposal.target == approvals.Target("link", NEAR_MISS_ORG, "Elmstead Optics")
    assert "similar" in proposal.reason and "Elmstead Optics" in proposal.reason
    with_create = approvals.propose_target(PENDING_NAME, None, orgs, can_create=True)
    assert with_create.target is not None and with_create.target.action == "create"
    assert "Elmstead Optics" in with_create.reason  # the closest one is named
    exact = approvals.propose_target("Elmstead Optics", None, orgs, can_create=True)
    assert exact.target == approvals.Target("link", NEAR_MISS_ORG, "Elmstead Optics")


# -- link -------------------------------------------------------------------------------------


async def test_approve_link_stamps_the_custom_field_and_records_synced(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    outcome = await push_link(maria, served, pending, NEAR_MISS_ORG)
    assert outcome.ok and outcome.sent
    assert served.stamp(NEAR_MISS_ORG) == str(pending)
    partner = served.partner(pending)
    assert partner["x_pulseway_sync_state"] == "synced"
    assert partner["x_pulseway_org_id"] == NEAR_MISS_ORG
    note = served.chatter(pending)[-1]
    assert "Synced to Pulseway" in note and "Elmstead Optics" in note
    assert "actor: Maria Manager" in note and "sa: East" in note
    assert pending not in await queue_ids(maria)


async def test_approving_again_sends_nothing_twice(served: Served, maria: OdooGateway) -> None:
    pending = served.partner_id(PENDING_NAME)
    await push_link(maria, served, pending, NEAR_MISS_ORG)
    again = await push_link(maria, served, pending, NEAR_MISS_ORG)
    assert again.ok and not again.sent
    assert served.faults.count("POST", "/assign") == 1


async def test_an_organization_stamped_for_another_partner_is_not_overwritten(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    other = served.partner_id("Newbury Logistics Ltd")
    await push_link(maria, served, other, NEAR_MISS_ORG)
    outcome = await push_link(maria, served, pending, NEAR_MISS_ORG)
    assert outcome.state == "failed"
    assert f"already linked to Odoo partner {other}" in outcome.message
    assert served.stamp(NEAR_MISS_ORG) == str(other)


async def test_an_unknown_organization_fails_clearly(served: Served, maria: OdooGateway) -> None:
    pending = served.partner_id(PENDING_NAME)
    outcome = await push_link(maria, served, pending, 999_999)
    assert outcome.state == "failed"
    assert "no organization 999999" in outcome.message


# -- create -----------------------------------------------------------------------------------


async def test_approve_create_where_enabled_creates_and_stamps_it(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    outcome = await push_create(maria, served, pending, PENDING_NAME, "/v2/organizations")
    assert outcome.ok and outcome.org_id
    created = served.world.pulseway.organizations[outcome.org_id]
    assert created.name == PENDING_NAME
    assert served.stamp(outcome.org_id) == str(pending)
    assert served.partner(pending)["x_pulseway_org_id"] == outcome.org_id
    assert "created Pulseway organization" in served.chatter(pending)[-1]
    # a retry finds the organization by name and creates nothing
    again = await push_create(maria, served, pending, PENDING_NAME, "/v2/organizations")
    assert again.ok and again.org_id == outcome.org_id and not again.sent
    assert served.faults.count("POST", "/v2/organizations") == 1


async def test_create_is_refused_clearly_where_not_enabled(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    before = len(served.world.pulseway.organizations)
    outcome = await push_create(maria, served, pending, PENDING_NAME, None)
    assert outcome.state == "failed"
    assert "Creating Pulseway organizations is turned off" in outcome.message
    assert "public v3 API has no endpoint" in outcome.message
    assert served.chatter(pending)[-1].startswith("Failed to sync to Pulseway: Creating")
    assert len(served.world.pulseway.organizations) == before
    assert served.faults.count("POST", "/v2/organizations") == 0


async def test_create_on_a_server_without_the_endpoint_says_so(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    outcome = await push_create(maria, served, pending, PENDING_NAME, "/v2/no-such-endpoint")
    assert outcome.state == "failed"
    assert "cannot create organizations through its API" in outcome.message


# -- failures ---------------------------------------------------------------------------------


async def test_an_api_failure_posts_the_seed_message_and_stays_retryable(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    served.faults.fail("POST", "/assign", status=500, times=10)
    outcome = await push_link(maria, served, pending, NEAR_MISS_ORG)
    assert outcome.state == "failed"
    assert served.partner(pending)["x_pulseway_sync_state"] == "failed"
    note = served.chatter(pending)[-1]
    assert note.startswith("Failed to sync to Pulseway: Pulseway failed while handling")
    assert "HTTP 500" in note and "actor: Maria Manager" in note
    assert served.stamp(NEAR_MISS_ORG) is None
    assert pending in await queue_ids(maria)  # retryable: still in the queue
    served.faults.rules.clear()
    retried = await push_link(maria, served, pending, NEAR_MISS_ORG)
    assert retried.ok
    assert served.faults.count("POST", "/assign") == 1
    assert served.stamp(NEAR_MISS_ORG) == str(pending)


async def test_a_lost_answer_is_retried_without_sending_twice(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    # the assignment takes effect, but its answer comes after the client stopped waiting
    served.faults.lose_answer("POST", "/assign", seconds=2.0)
    outcome = await push_link(maria, served, pending, NEAR_MISS_ORG, timeout=0.5)
    assert outcome.ok and not outcome.sent
    assert served.faults.count("POST", "/assign") == 1
    assert served.stamp(NEAR_MISS_ORG) == str(pending)


async def test_rate_limits_and_server_errors_on_reads_are_retried(
    served: Served, maria: OdooGateway
) -> None:
    pending = served.partner_id(PENDING_NAME)
    served.faults.fail("GET", "/customfields", status=429, times=2)
    served.faults.fail("GET", f"/organizations/{NEAR_MISS_ORG}", status=503, times=1)
    outcome = await push_link(maria, served, pending, NEAR_MISS_ORG)
    assert outcome.ok
    assert len(served.faults.failed) == 3


# -- roles, reject, unassigned ----------------------------------------------------------------


async def test_a_technician_cannot_approve(served: Served) -> None:
    pending = served.partner_id(PENDING_NAME)
    alice = served.client("alice")  # East technician: sees the partner, may not write it
    assert alice.execute_kw(PARTNER, "search", [[["id", "=", pending]]]) == [pending]
    with pytest.raises(RPCError, match=r"(?i)access|not allowed"):
        alice.execute_kw(PARTNER, "write", [[pending], {"x_pulseway_sync_state": "approved"}])
    gateway = await OdooGateway.connect(served.odoo_url, "psa", "alice", "alice")
    try:
        [membership] = await load_memberships(gateway)
        assert membership.role is Role.TECHNICIAN
        assert gateway.user is not None
        domain = approvals.approvals_domain(membership.sa_id, gateway.user.uid, membership.role)
        assert await approvals.load_queue(gateway, domain) == []
        actor = approvals.Actor(gateway.user.uid, "Alice", membership.sa_id, "East")

        async def remote() -> approvals.RemoteOutcome:
            raise AssertionError("nothing may be sent for a technician")

        with pytest.raises(AccessDenied):
            await approvals.approve(
                gateway, pending, approvals.Target("link", NEAR_MISS_ORG), actor, remote
            )
    finally:
        gateway.close()
    assert served.partner(pending)["x_pulseway_sync_state"] == "pending"
    assert served.faults.reached == []


async def test_reject_marks_skipped_with_a_note(served: Served, maria: OdooGateway) -> None:
    pending = served.partner_id(PENDING_NAME)
    outcome = await approvals.reject(maria, pending, await actor_of(maria))
    assert outcome.state == "skipped"
    assert served.partner(pending)["x_pulseway_sync_state"] == "skipped"
    assert "rejected" in served.chatter(pending)[-1] and "sa: East" in served.chatter(pending)[-1]
    assert pending not in await queue_ids(maria)
    assert served.faults.reached == []


async def test_a_new_unassigned_company_is_assigned_to_the_approvers_sa(
    served: Served, maria: OdooGateway
) -> None:
    [new] = served.client("admin").execute_kw(
        PARTNER, "create", [[{"name": "Nimbus Dental", "is_company": True}]]
    )
    assert served.partner(new)["x_sa_client_ids"] == []
    assert new in await queue_ids(maria)  # pending and unassigned: every manager sees it
    outcome = await push_create(maria, served, new, "Nimbus Dental", "/v2/organizations")
    assert outcome.ok
    edges = served.sudo(
        "x_sa_client", "search_read", [["x_partner_id", "=", new]], fields=["x_sa_id", "x_user_id"]
    )
    assert [e["x_sa_id"][1] for e in edges] == ["East"]
    assert edges[0]["x_user_id"][0] == maria.user.uid  # type: ignore[union-attr]
