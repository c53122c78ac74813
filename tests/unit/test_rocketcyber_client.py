"""RocketCyber client paging and retries against a fake transport (no network)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import httpx
import pytest

from console.rocketcyber import (
    RetryPolicy,
    RocketCyberClient,
    RocketCyberNotFoundError,
    RocketCyberProtocolError,
    RocketCyberServerError,
)


def incidents_server(
    total: int, *, total_pages_override: int | None = None, fail_first: int = 0
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    requests: list[httpx.Request] = []
    failures = [fail_first]

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if failures[0] > 0:
            failures[0] -= 1
            return httpx.Response(504, text="Gateway Timeout")
        page = int(request.url.params.get("page", 1))
        size = int(request.url.params.get("pageSize", 1000))
        items = [{"id": i, "title": f"I{i}", "status": "open"} for i in range(total)]
        data = items[(page - 1) * size : page * size]
        pages = math.ceil(total / size) if total_pages_override is None else total_pages_override
        return httpx.Response(
            200,
            json={
                "totalCount": total,
                "currentPage": page,
                "totalPages": pages,
                "dataCount": len(data),
                "data": data,
            },
        )

    return handler, requests


def run(
    handler: Callable[[httpx.Request], httpx.Response],
    page_size: int,
    call: Callable[[RocketCyberClient], object],
    sleeps: list[float] | None = None,
) -> object:
    recorded = sleeps if sleeps is not None else []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def main() -> object:
        policy = RetryPolicy(sleep=sleep, random=lambda: 0.0, base_delay=1.0)
        async with RocketCyberClient(
            "https://api-eu.rocketcyber.com/v3",
            "key",
            retry=policy,
            page_size=page_size,
            transport=httpx.MockTransport(handler),
        ) as client:
            return await call(client)  # type: ignore[misc]

    return asyncio.run(main())


def test_pages_are_requested_explicitly_until_total_pages() -> None:
    handler, requests = incidents_server(7)
    incidents = run(handler, 3, lambda c: c.incidents())
    assert [i.id for i in incidents] == list(range(7))  # type: ignore[attr-defined]
    assert [r.url.params["page"] for r in requests] == ["1", "2", "3"]
    assert requests[0].headers["Authorization"] == "Bearer key"


def test_zero_total_pages_stops_after_the_first_request() -> None:
    handler, requests = incidents_server(0)
    assert run(handler, 10, lambda c: c.incidents()) == []
    assert len(requests) == 1


def test_filters_become_repeated_keys_and_ranges() -> None:
    handler, requests = incidents_server(1)
    run(handler, 10, lambda c: c.incidents(account_ids=[1, 2], status="open"))
    params = requests[0].url.params
    assert params.get_list("accountId") == ["1", "2"]
    assert params["status"] == "open" and params["sort"] == "createdAt:asc"


def test_gateway_timeouts_are_retried_with_backoff() -> None:
    sleeps: list[float] = []
    handler, _requests = incidents_server(2, fail_first=2)
    incidents = run(handler, 10, lambda c: c.incidents(), sleeps)
    assert len(incidents) == 2  # type: ignore[arg-type]
    assert sleeps == [1.0, 2.0]


def test_persistent_gateway_timeout_is_a_server_error() -> None:
    handler, _requests = incidents_server(2, fail_first=99)
    with pytest.raises(RocketCyberServerError, match="504"):
        run(handler, 10, lambda c: c.incidents())


def test_not_found_mentions_the_region() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="Not Found")

    with pytest.raises(RocketCyberNotFoundError, match="api-eu"):
        run(handler, 10, lambda c: c.agents())


def test_non_json_answer_is_a_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>")

    with pytest.raises(RocketCyberProtocolError):
        run(handler, 10, lambda c: c.agents())


def test_page_size_above_1000_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="page_size"):
        RocketCyberClient("https://api-us.rocketcyber.com/v3", "key", page_size=1001)
