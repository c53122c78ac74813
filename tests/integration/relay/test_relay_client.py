"""RelayClient (what consoles use) against a real relay: session, stream resume, state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from relay_support import USERS, RunningRelay, StaticAuthority, notification

from console.relay.client import Backoff, RelayAuthError, RelayClient, RelayError
from console.relay.sqlite_store import SqliteEventStore


def test_session_events_and_state_changes(relay: RunningRelay) -> None:
    seq = relay.post_hook(notification()).json()["seq"]
    relay.change(seq, relay.admin(), action="link", sa_ids=[1])

    async def scenario() -> None:
        async with RelayClient(relay.url) as client:
            session = await client.open_session("tech1", "secret")
            assert session.principal["sa_ids"] == [1]
            page = await client.events()
            assert page.events[0]["seq"] == seq
            state = await client.change_state(seq, "claim")
            assert state["payload"]["actor"] == "tech1"
            detail = await client.event(seq)
            assert [h["action"] for h in detail["history"]] == ["link", "claim"]
            await client.close_session()
            with pytest.raises(RelayAuthError):
                await client.events()

    asyncio.run(scenario())


def test_refusals_carry_the_relays_message(relay: RunningRelay) -> None:
    seq = relay.post_hook(notification()).json()["seq"]

    async def scenario() -> None:
        async with RelayClient(relay.url, token="admin-token-for-tests") as client:
            await client.change_state(seq, "resolve")
            with pytest.raises(RelayError) as refused:
                await client.change_state(seq, "ack")
            assert refused.value.status == 409
            assert "already resolved" in str(refused.value)

    asyncio.run(scenario())


def test_wrong_password_raises_auth_error(relay: RunningRelay) -> None:
    async def scenario() -> None:
        async with RelayClient(relay.url) as client:
            with pytest.raises(RelayAuthError):
                await client.open_session("tech1", "wrong")

    asyncio.run(scenario())


def test_stream_resumes_after_a_relay_restart_without_loss_or_duplicates(
    relay_factory: Callable[..., RunningRelay],
) -> None:
    first = relay_factory(authority=StaticAuthority(USERS))
    port = int(first.url.rsplit(":", 1)[1])
    seqs = [first.post_hook(notification()).json()["seq"] for _ in range(2)]
    restarted: list[RunningRelay] = []

    async def scenario() -> list[int]:
        received: list[int] = []
        client = RelayClient(
            first.url, token="admin-token-for-tests", backoff=Backoff(base=0.05, cap=0.2)
        )
        async with client:
            restarting = True
            async for message in client.stream():
                if message.seq is not None:
                    received.append(message.seq)
                if message.kind == "ready" and restarting:
                    restarting = False
                    # Restart the relay on the same port and store; post while it is down
                    # or just back, the client must catch up either way.
                    await asyncio.to_thread(first.background.stop)
                    second = await asyncio.to_thread(
                        relay_factory, store=SqliteEventStore(first.config.db),
                        authority=StaticAuthority(USERS), port=port,
                    )  # fmt: skip
                    restarted.append(second)
                    for _ in range(3):
                        await asyncio.to_thread(second.post_hook, notification())
                if len(received) >= 5:
                    return received
        return received

    received = asyncio.run(asyncio.wait_for(scenario(), 30))

    assert received == [*seqs, 3, 4, 5]
    assert restarted


def test_snapshot_signs_in_first_and_is_none_from_a_relay_without_one(relay: RunningRelay) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from console.sandbox.serving import BackgroundServer

    seq = relay.post_hook(notification()).json()["seq"]
    relay.change(seq, relay.admin(), action="link", sa_ids=[1])

    async def older_relay_events(_request: object) -> JSONResponse:
        return JSONResponse({"events": [], "next_after": 0, "last_seq": 0})

    older = BackgroundServer(Starlette(routes=[Route("/api/events", older_relay_events)])).start()

    async def scenario() -> None:
        async def sign_in() -> str:
            return (await client.open_session("tech1", "secret")).token

        # no token yet (the relay was down when the console started): it signs in first
        async with RelayClient(relay.url, reauthenticate=sign_in) as client:
            snapshot = await client.snapshot()
            assert snapshot is not None and client.token is not None
            assert [a["seq"] for a in snapshot.alerts] == [seq]
            assert [row["kind"] for row in snapshot.rows()] == ["state", "alert"]
            assert snapshot.last_seq == seq + 1
        async with RelayClient(older.url, token="t") as client:
            assert await client.snapshot() is None  # 404: the caller replays the log

    try:
        asyncio.run(scenario())
    finally:
        older.stop()
