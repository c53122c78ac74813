"""The RocketCyber v3 stand-in and the RocketCyber client, against each other over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from standins_support import ROCKETCYBER_KEY, FakeClock, serve

from console.rocketcyber import (
    RetryPolicy,
    RocketCyberAuthError,
    RocketCyberClient,
    RocketCyberRateLimitedError,
    RocketCyberRequestError,
)
from console.sandbox.ratelimit import RateLimit
from console.sandbox.rocketcyber import create_rocketcyber_app
from console.sandbox.world import World

pytestmark = pytest.mark.anyio

from tests.samples import SAMPLES  # noqa: E402


@pytest.fixture
def rocketcyber(world: World, clock: FakeClock) -> Iterator[str]:
    """Base URL (…/v3) of a stand-in without rate limits, on the fake clock."""
    app = create_rocketcyber_app(world, api_key=ROCKETCYBER_KEY, rate_limits=(), now=clock.now)
    with serve(app) as url:
        yield f"{url}/v3"


def bearer_get(url: str, **params: object) -> httpx.Response:
    return httpx.get(
        url,
        params=params,  # type: ignore[arg-type]
        headers={"Authorization": f"Bearer {ROCKETCYBER_KEY}"},
    )


def client_for(base_url: str, **options: object) -> RocketCyberClient:
    return RocketCyberClient(base_url, ROCKETCYBER_KEY, **options)  # type: ignore[arg-type]


def test_request_without_bearer_token_is_401(rocketcyber: str) -> None:
    response = httpx.get(f"{rocketcyber}/incidents")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


async def test_wrong_token_raises_auth_error_naming_the_setting(rocketcyber: str) -> None:
    async with RocketCyberClient(rocketcyber, "wrong") as client:
        with pytest.raises(RocketCyberAuthError) as caught:
            await client.incidents()
    assert "PSA_ROCKETCYBER_API_KEY" in str(caught.value)


def test_list_envelope_and_incident_keys_match_the_samples(rocketcyber: str) -> None:
    sample = json.loads((SAMPLES / "rocketcyber_incidents_page.json").read_text())
    body = bearer_get(f"{rocketcyber}/incidents", pageSize=2).json()
    assert set(body) == set(sample)
    assert set(body["data"][0]) == set(sample["data"][0])
    assert body["currentPage"] == 1 and body["dataCount"] == 2


def test_agent_keys_match_the_sample(rocketcyber: str) -> None:
    sample = json.loads((SAMPLES / "rocketcyber_agents_page.json").read_text())
    body = bearer_get(f"{rocketcyber}/agents", pageSize=1).json()
    assert set(body["data"][0]) == set(sample["data"][0])


async def test_client_pages_until_total_pages(rocketcyber: str, world: World) -> None:
    async with client_for(rocketcyber, page_size=4) as client:
        incidents = await client.incidents(sort="id:asc")
    assert [i.id for i in incidents] == sorted(world.rocketcyber.incidents)


async def test_empty_result_has_zero_total_pages_and_stops(rocketcyber: str) -> None:
    raw = bearer_get(f"{rocketcyber}/incidents", title="no such incident").json()
    assert raw["totalPages"] == 0 and raw["data"] == []
    async with client_for(rocketcyber) as client:
        assert await client.incidents(account_ids=[999999]) == []


async def test_status_and_repeated_account_filters(rocketcyber: str, world: World) -> None:
    accounts = sorted({i.account_id for i in world.rocketcyber.incidents.values()})[:2]
    async with client_for(rocketcyber) as client:
        found = await client.incidents(account_ids=accounts, status="open")
    expected = {
        i.id
        for i in world.rocketcyber.incidents.values()
        if i.account_id in accounts and i.status == "open"
    }
    assert {i.id for i in found} == expected
    assert all(i.resolved_at is None for i in found)


async def test_created_range_with_an_open_end(
    rocketcyber: str, world: World, clock: FakeClock
) -> None:
    since = clock.now() - timedelta(days=5)
    async with client_for(rocketcyber) as client:
        found = await client.incidents(created_after=since)
    expected = {i.id for i in world.rocketcyber.incidents.values() if i.created_at >= since}
    assert {i.id for i in found} == expected


async def test_incident_is_invisible_until_published(
    rocketcyber: str, world: World, clock: FakeClock
) -> None:
    account = world.rocketcyber.customers()[0]
    hidden = world.rocketcyber.open_incident(
        account.id,
        "Late one",
        "d",
        "r",
        created_at=clock.now() - timedelta(minutes=5),
        published_at=clock.now() + timedelta(minutes=3),
    )
    async with client_for(rocketcyber) as client:
        before = {i.id for i in await client.incidents(status="open")}
        clock.advance(180)
        after = {i.id for i in await client.incidents(status="open")}
    assert hidden.id not in before
    assert hidden.id in after


async def test_page_size_above_1000_is_refused(rocketcyber: str) -> None:
    response = bearer_get(f"{rocketcyber}/incidents", pageSize=1001)
    assert response.status_code == 400
    async with client_for(rocketcyber) as client:
        with pytest.raises(RocketCyberRequestError):
            await client.get("incidents", {"pageSize": 5000})


async def test_hostname_filter_matches_substrings_but_not_wildcards(
    rocketcyber: str, world: World
) -> None:
    agent = world.rocketcyber.agents[0]
    async with client_for(rocketcyber) as client:
        by_substring = await client.agents(hostname=agent.hostname[1:-1])
        raw_wildcard = bearer_get(f"{rocketcyber}/agents", hostname=f"{agent.hostname[:4]}*")
    assert agent.id in {a.id for a in by_substring}
    assert raw_wildcard.json()["data"] == []


async def test_account_lists_the_provider_with_its_customers(
    rocketcyber: str, world: World
) -> None:
    async with client_for(rocketcyber) as client:
        provider = await client.account()
    assert provider.id == world.rocketcyber.provider.id
    assert {a.id for a in provider.customers} == {a.id for a in world.rocketcyber.customers()}


def test_over_the_rate_answers_429_with_retry_after_5(world: World, clock: FakeClock) -> None:
    app = create_rocketcyber_app(
        world,
        api_key=ROCKETCYBER_KEY,
        rate_limits=(RateLimit(2, 60),),
        clock=clock.monotonic,
        now=clock.now,
    )
    with serve(app) as url:
        ok = [bearer_get(f"{url}/v3/agents").status_code for _ in range(2)]
        refused = bearer_get(f"{url}/v3/agents")
    assert ok == [200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"message": "Too Many Requests"}
    assert refused.headers["Retry-After"] == "5"


async def test_client_retries_after_429_and_succeeds(world: World, clock: FakeClock) -> None:
    app = create_rocketcyber_app(
        world,
        api_key=ROCKETCYBER_KEY,
        rate_limits=(RateLimit(1, 12),),
        clock=clock.monotonic,
        now=clock.now,
    )
    with serve(app) as url:
        async with client_for(f"{url}/v3", retry=RetryPolicy(sleep=clock.sleep)) as client:
            await client.agents()
            agents = await client.agents()
    assert len(agents) == len(world.rocketcyber.agents)
    # Retry-After says 5 s but the window is 12 s: the client keeps waiting as told.
    assert len(clock.sleeps) >= 2 and all(s >= 5 for s in clock.sleeps)


async def test_client_reports_rate_limit_when_attempts_run_out(
    world: World, clock: FakeClock
) -> None:
    app = create_rocketcyber_app(
        world,
        api_key=ROCKETCYBER_KEY,
        rate_limits=(RateLimit(1, 3600),),
        clock=clock.monotonic,
        now=clock.now,
    )
    with serve(app) as url:
        policy = RetryPolicy(sleep=clock.sleep, max_attempts=3)
        async with client_for(f"{url}/v3", retry=policy) as client:
            await client.account()
            with pytest.raises(RocketCyberRateLimitedError) as caught:
                await client.account()
    assert caught.value.retry_after == 5
    assert len(clock.sleeps) == 2
