"""Pulseway client behaviour the stand-in cannot easily provoke (fake transport, no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from console.pulseway import (
    PulsewayClient,
    PulsewayConnectionError,
    PulsewayNotFoundError,
    PulsewayProtocolError,
    PulsewayServerError,
    RetryPolicy,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def envelope(data: object, status: int = 200, **meta: object) -> httpx.Response:
    return httpx.Response(status, json={"Data": data, "Meta": {"ResponseCode": status, **meta}})


def run(
    handler: Handler, call: Callable[[PulsewayClient], object], sleeps: list[float] | None = None
) -> object:
    recorded = sleeps if sleeps is not None else []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def main() -> object:
        policy = RetryPolicy(sleep=sleep, random=lambda: 0.0, base_delay=1.0)
        async with PulsewayClient(
            "https://pw.example/api/v3",
            "id",
            "secret",
            retry=policy,
            transport=httpx.MockTransport(handler),
        ) as client:
            return await call(client)  # type: ignore[misc]

    return asyncio.run(main())


def test_requests_use_basic_auth_and_the_self_hosted_api_path() -> None:
    recorder = Recorder(envelope({"ProductVersion": "9"}))
    run(recorder, lambda c: c.environment())
    request = recorder.requests[0]
    assert str(request.url) == "https://pw.example/api/v3/environment"
    assert request.headers["Authorization"] == "Basic aWQ6c2VjcmV0"


def test_get_is_retried_on_503_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    recorder = Recorder(httpx.Response(503), httpx.Response(503), envelope({"ok": 1}))
    assert run(recorder, lambda c: c.environment(), sleeps) == {"ok": 1}
    assert sleeps == [1.0, 2.0]


def test_server_error_after_the_last_attempt_is_a_server_error() -> None:
    recorder = Recorder(envelope(None, 500, ErrorMessage="Internal Error"))
    with pytest.raises(PulsewayServerError, match="Try again"):
        run(recorder, lambda c: c.environment())
    assert len(recorder.requests) == 5


def test_post_is_not_retried_on_a_server_error() -> None:
    recorder = Recorder(httpx.Response(502))
    with pytest.raises(PulsewayServerError):
        run(recorder, lambda c: c.notify("instance", "Title"))
    assert len(recorder.requests) == 1


def test_error_in_meta_of_a_200_answer_is_honoured() -> None:
    recorder = Recorder(
        httpx.Response(
            200,
            json={
                "Data": None,
                "Meta": {"ResponseCode": 404, "ErrorMessage": "Entity is not found."},
            },
        )
    )
    with pytest.raises(PulsewayNotFoundError, match="Entity is not found"):
        run(recorder, lambda c: c.organization(1))


def test_answer_that_is_not_an_envelope_is_a_protocol_error() -> None:
    recorder = Recorder(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(PulsewayProtocolError, match="server address"):
        run(recorder, lambda c: c.environment())


def test_unreachable_server_is_a_connection_error_after_retries() -> None:
    recorder = Recorder(httpx.ConnectError("connection refused"))
    with pytest.raises(PulsewayConnectionError, match=r"pw\.example"):
        run(recorder, lambda c: c.environment())
    assert len(recorder.requests) == 5


def test_paging_stops_at_total_count_even_with_full_pages() -> None:
    pages = [
        envelope([{"Id": i, "Name": f"O{i}"} for i in range(s, s + 2)], TotalCount=4)
        for s in (0, 2)
    ]
    recorder = Recorder(*pages, envelope([], TotalCount=4))
    client_pages: list[int] = []

    async def call(client: PulsewayClient) -> object:
        client.page_size = 2
        organizations = await client.organizations()
        client_pages.append(len(recorder.requests))
        return organizations

    result = run(recorder, call)
    assert [o.id for o in result] == [0, 1, 2, 3]  # type: ignore[attr-defined]
    assert client_pages == [2]
    assert [r.url.params["$skip"] for r in recorder.requests] == ["0", "2"]


def test_delete_without_a_body_is_success() -> None:
    recorder = Recorder(httpx.Response(200))
    assert run(recorder, lambda c: c.delete_webhook(3)) is None


def test_page_size_above_100_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="page_size"):
        PulsewayClient("https://pw.example/v3", "id", "secret", page_size=101)


def test_server_capping_top_below_the_request_does_not_end_the_listing() -> None:
    pages = [
        envelope([{"Id": i, "Name": f"O{i}"} for i in range(s, s + 2)], TotalCount=5)
        for s in (0, 2)
    ]
    recorder = Recorder(*pages, envelope([{"Id": 4, "Name": "O4"}], TotalCount=5))
    result = run(recorder, lambda c: c.organizations())  # asks for 100, gets 2 per page
    assert [o.id for o in result] == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]
    assert [r.url.params["$skip"] for r in recorder.requests] == ["0", "2", "4"]


def test_without_total_count_a_short_page_ends_the_listing() -> None:
    recorder = Recorder(envelope([{"Id": 1, "Name": "O1"}]))
    result = run(recorder, lambda c: c.organizations())
    assert len(result) == 1 and len(recorder.requests) == 1  # type: ignore[arg-type]
