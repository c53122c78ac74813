"""The async client consoles use to talk to the relay: session, stream, event API, state changes.

    client = RelayClient("http://relay:8765")
    await client.open_session("alice", password)        # Odoo login, checked by the relay
    async for message in client.stream(after=last_seen):  # resumes by itself
        if message.kind == "ready": ...                   # backlog delivered, now live
        elif message.seq is not None: apply(message)
    await client.change_state(seq, "snooze", until="2025-06-03T18:00:00Z")

The stream reconnects after any network error with exponential backoff and full jitter
(so a relay restart does not get every console back in the same millisecond), resuming from
the last seq received — the relay replays exactly what was missed. A 401 stops it with
:class:`RelayAuthError` unless ``reauthenticate`` is given, which is called for a new token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

_log = logging.getLogger(__name__)


class RelayError(Exception):
    """The relay refused a request; ``str()`` is its message, ``status`` the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RelayAuthError(RelayError):
    """No session, or it expired (401): log in again."""


class RelayUnavailable(RelayError):
    """The relay or its store is unavailable (503 / connection failure): retry later."""


@dataclass(frozen=True, slots=True)
class RelaySession:
    """A console session: the bearer token, when it expires, and who it is."""

    token: str
    expires_at: str
    principal: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One message of ``GET /events``: ``seq`` None for control messages (ready, resync)."""

    seq: int | None
    kind: str
    data: Any


@dataclass(frozen=True, slots=True)
class EventPage:
    """A page of ``GET /api/events``."""

    events: list[dict[str, Any]]
    next_after: int
    last_seq: int


@dataclass(frozen=True)
class Snapshot:
    """``GET /api/snapshot``: open alerts, alerts active in the window, their links and the
    latest row of each device; stream with ``after = last_seq`` once :meth:`rows` is applied."""

    last_seq: int
    devices: list[dict[str, Any]]
    links: list[dict[str, Any]]
    alerts: list[dict[str, Any]]

    def rows(self) -> list[dict[str, Any]]:
        """The rows in the order to apply them, as if they came on the stream: devices, then
        each alert's link rows (carrying its current state), then the alerts."""
        return [*self.devices, *self.links, *self.alerts]


@dataclass
class Backoff:
    """Exponential backoff with full jitter: each delay is uniform in [0, min(cap, base·2ⁿ)]."""

    base: float = 0.5
    cap: float = 30.0
    rng: Callable[[], float] = field(default=random.random)
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt."""
        ceiling = min(self.cap, self.base * 2.0 ** min(self.attempt, 32))
        self.attempt += 1
        return ceiling * self.rng()

    def reset(self) -> None:
        """After a success: start again from ``base``."""
        self.attempt = 0


class SseParser:
    """Incremental ``text/event-stream`` parser (WHATWG rules, the subset the relay uses)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self.retry_ms: int | None = None

    def feed_line(self, line: str) -> tuple[str | None, str, str] | None:
        """Consume one line; returns ``(id, event, data)`` when a message is complete."""
        if line == "":
            if not self._data:
                self._event = ""
                self._id = None
                return None
            message = (self._id, self._event or "message", "\n".join(self._data))
            self._event, self._data, self._id = "", [], None
            return message
        if line.startswith(":"):
            return None  # comment (heartbeat)
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


class RelayClient:
    """Async HTTP client for one relay (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        stream_idle_timeout: float = 45.0,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
        reauthenticate: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.backoff = backoff or Backoff()
        self._reauthenticate = reauthenticate
        self._stream_idle_timeout = stream_idle_timeout
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        """Close connections."""
        await self._http.aclose()

    async def __aenter__(self) -> RelayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.HTTPError as exc:
            raise RelayUnavailable(0, f"cannot reach the relay at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- session -----------------------------------------------------------------------------

    async def open_session(self, login: str, password: str) -> RelaySession:
        """Log in with Odoo credentials; the client keeps the token for later calls."""
        body = await self._request(
            "POST", "/api/session", json={"login": login, "password": password}
        )
        session = RelaySession(body["token"], body["expires_at"], body["principal"])
        self.token = session.token
        return session

    async def close_session(self) -> None:
        """Log out (the token stops working) and forget the token."""
        if self.token:
            await self._request("DELETE", "/api/session")
        self.token = None

    async def whoami(self) -> dict[str, Any]:
        """The principal of the current token."""
        body = await self._request("GET", "/api/session")
        principal: dict[str, Any] = body["principal"]
        return principal

    # -- events ------------------------------------------------------------------------------

    async def events(self, after: int = 0, limit: int = 500) -> EventPage:
        """One page of the log after ``after``, filtered to the session's scope."""
        body = await self._request("GET", "/api/events", params={"after": after, "limit": limit})
        return EventPage(body["events"], int(body["next_after"]), int(body["last_seq"]))

    async def snapshot(self, hours: int | None = None) -> Snapshot | None:
        """Where a consumer that starts empty begins (see :class:`Snapshot`); resolved alerts
        changed in the last ``hours`` (the relay's default: 24) are included. None from a relay
        that predates the snapshot: replay the log from the start instead."""
        params = {} if hours is None else {"hours": hours}
        try:
            try:
                body = await self._request("GET", "/api/snapshot", params=params)
            except RelayAuthError:
                if self._reauthenticate is None:
                    raise
                # as the stream does: no session yet (the relay was down) or it expired
                self.token = await self._reauthenticate()
                body = await self._request("GET", "/api/snapshot", params=params)
        except RelayError as exc:
            if exc.status == 404:
                return None
            raise
        return Snapshot(int(body["last_seq"]), body["devices"], body["links"], body["alerts"])

    async def event(self, seq: int) -> dict[str, Any]:
        """One event with its alert and the alert's state history."""
        detail: dict[str, Any] = await self._request("GET", f"/api/events/{seq}")
        return detail

    async def change_state(
        self, seq: int, action: str, *, sa: int | None = None, **args: Any
    ) -> dict[str, Any]:
        """Claim, ack, snooze (``until=``), resolve or link (``asset_id=``, ``partner_id=``,
        ``sa_ids=``, ``ticket_id=`` and the display names ``asset_name=``, ``partner_name=``,
        ``ticket_name=``) the alert of ``seq``; returns the recorded state event."""
        body: dict[str, Any] = {"action": action, **args}
        if sa is not None:
            body["sa"] = sa
        answer = await self._request("POST", f"/api/events/{seq}/state", json=body)
        event: dict[str, Any] = answer["event"]
        return event

    # -- the unmatched queue (dispatchers and managers) ---------------------------------------

    async def unmatched(self) -> dict[str, Any]:
        """``GET /api/unmatched``: groups with no partner and alerts on unknown devices."""
        body: dict[str, Any] = await self._request("GET", "/api/unmatched")
        return body

    async def resolve_unmatched(self, key: str, map_id: int) -> dict[str, Any]:
        """Apply the ``x_pulseway_group_map`` row ``map_id`` (saved as the user) to the waiting
        group ``key``; returns the summary (``resolution_id``, ``assets_created``, ...)."""
        body: dict[str, Any] = await self._request(
            "POST", "/api/unmatched/resolve", json={"key": key, "map_id": map_id}
        )
        return body

    async def undo_unmatched(self, resolution_id: int) -> dict[str, Any]:
        """Retire what resolution ``resolution_id`` created; returns the summary."""
        body: dict[str, Any] = await self._request(
            "POST", "/api/unmatched/undo", json={"resolution_id": resolution_id}
        )
        return body

    # -- the stream --------------------------------------------------------------------------

    async def stream(
        self, after: int = 0, *, reconnect: bool = True
    ) -> AsyncIterator[StreamMessage]:
        """Events after ``after``, then live ones, forever (or until an error without
        ``reconnect``). Each reconnection resumes from the last seq received."""
        last = after
        while True:
            try:
                async for message in self._stream_once(last):
                    if message.seq is not None:
                        last = message.seq
                    elif message.kind == "resync" and isinstance(message.data, dict):
                        last = max(last, int(message.data.get("after", last)))
                    yield message
                    if message.kind == "ready":
                        self.backoff.reset()
            except RelayAuthError:
                if self._reauthenticate is None:
                    raise
                self.token = await self._reauthenticate()
                continue
            except (RelayUnavailable, httpx.HTTPError, RelayError) as exc:
                if not reconnect or (
                    isinstance(exc, RelayError) and not isinstance(exc, RelayUnavailable)
                ):
                    raise
                delay = self.backoff.next_delay()
                _log.info("event stream interrupted (%s); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            if not reconnect:
                return
            # The relay ended the stream (resync, shutdown): come back after a short pause.
            await asyncio.sleep(self.backoff.next_delay())

    async def _stream_once(self, after: int) -> AsyncIterator[StreamMessage]:
        headers = self._headers()
        headers["accept"] = "text/event-stream"
        if after:
            headers["last-event-id"] = str(after)
        timeout = httpx.Timeout(self._http.timeout.connect, read=self._stream_idle_timeout)
        try:
            async with self._http.stream(
                "GET", "/events", headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error_for(response)
                parser = SseParser()
                async for line in response.aiter_lines():
                    message = parser.feed_line(line.rstrip("\r"))
                    if message is None:
                        continue
                    event_id, kind, data = message
                    try:
                        payload = json.loads(data)
                    except ValueError:
                        payload = data
                    seq = int(event_id) if event_id and event_id.isdigit() else None
                    yield StreamMessage(seq, kind, payload)
        except httpx.HTTPError as exc:
            raise RelayUnavailable(0, f"event stream from {self.base_url} failed: {exc}") from exc


def _error_for(response: httpx.Response) -> RelayError:
    try:
        message = str(response.json().get("error") or response.text)
    except ValueError:
        message = response.text or response.reason_phrase
    if response.status_code == 401:
        return RelayAuthError(401, message)
    if response.status_code == 503:
        return RelayUnavailable(503, message)
    return RelayError(response.status_code, message)
