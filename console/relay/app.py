"""The relay's ASGI application: the webhook ingest beside a small Starlette app.

``POST /hooks/pulseway`` normally never reaches ASGI: the relay's HTTP protocol
(:mod:`console.relay.http_ingest`) answers it directly. When a webhook does arrive here (on a
connection that carried other requests first), a plain ASGI coroutine reads it and hands it
to the same checks (:mod:`console.relay.ingest`) — no Starlette routing, Request object or
middleware for the one endpoint that takes internet traffic at volume.

Everything else (stream, event API, sessions, health, metrics) is ordinary Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    MutableMapping,
    MutableSequence,
)
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from console.relay.config import RelayConfig
from console.relay.http_ingest import DIRECT_BODY
from console.relay.hub import (
    RESYNC_EVENT,
    DirectWriter,
    StreamHub,
    Subscription,
    control_frame,
    sse_frame,
)
from console.relay.ingest import HOOK_PATH, Answer, WebhookIngest
from console.relay.metrics import RelayMetrics
from console.relay.sessions import (
    ADMIN,
    NoOdooAuthority,
    Principal,
    SessionAuthority,
    SessionRefused,
    SessionTokens,
)
from console.relay.store import (
    EventStore,
    StateChange,
    StateChangeConflict,
    StateChangeRejected,
    StoredEvent,
    StoreUnavailable,
    UnknownEvent,
    utc_timestamp,
)
from console.relay.stream_handoff import StreamHandoff

if TYPE_CHECKING:
    from console.relay.rules_worker import RulesWorker

_log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Rows read from the store per catch-up query.
PAGE_SIZE: Final = 500
MAX_API_LIMIT: Final = 5000
#: ``GET /api/snapshot``: resolved alerts changed in this many hours are still included
SNAPSHOT_HOURS: Final = 24
MAX_SNAPSHOT_HOURS: Final = 24 * 31

_JSON_HEADERS: Final = [(b"content-type", b"application/json")]
_SSE_HEADERS: Final = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


class RelayApp:
    """The relay as one ASGI callable. Owns the store, the hub and the session table.

    ``background`` jobs from the config are started after the store opens and cancelled at
    shutdown; each receives the store as :class:`~console.relay.events.EventSink` and
    :class:`~console.relay.events.CursorStore`.
    """

    def __init__(
        self,
        config: RelayConfig,
        store: EventStore,
        authority: SessionAuthority | None = None,
        rules: RulesWorker | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.authority: SessionAuthority = authority or NoOdooAuthority()
        self.hub = StreamHub(
            max_pending=config.consumer_queue_limit, flush_interval=config.stream_flush_seconds
        )
        self.sessions = SessionTokens(store, config.session_ttl_seconds)
        self.metrics = RelayMetrics(
            consumers=lambda: self.consumers,
            store_available=lambda: store.unavailable_reason is None,
            last_seq=lambda: self.hub.last_seq,
            jobs_running=lambda: self._jobs_running,
        )
        #: the webhook checks and append, shared by both HTTP front ends
        self.ingest = WebhookIngest(config, store, self.metrics)
        self._admin_token = config.admin_token.encode() if config.admin_token else None
        self._background: list[asyncio.Task[None]] = []
        self._job_count = 0
        self._jobs_running = False
        #: the rules worker (T010/T011) and the unmatched queue it keeps; None without Odoo
        self.rules = rules
        #: which process this is: "relay" (the only one), "ingest" (one of several workers)
        #: or "stream" (the worker that serves every event stream); the ``ready`` message
        #: of ``GET /events`` says it
        self.role = "relay"
        #: set in an ingest worker when a stream worker runs: ``GET /events`` goes there
        self.stream_handoff: StreamHandoff | None = None
        #: consumers of every process of this relay (``psa relay --workers N``), or None
        self._consumer_counts: MutableSequence[int] | None = None
        self._rest = Starlette(
            routes=[
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.metrics_text, methods=["GET"]),
                Route("/events", self.event_stream, methods=["GET"]),
                Route("/api/events", self.list_events, methods=["GET"]),
                Route("/api/snapshot", self.snapshot, methods=["GET"]),
                Route("/api/events/{seq:int}", self.event_detail, methods=["GET"]),
                Route("/api/events/{seq:int}/state", self.change_state, methods=["POST"]),
                Route("/api/session", self.open_session, methods=["POST"]),
                Route("/api/session", self.session_info, methods=["GET"]),
                Route("/api/session", self.close_session, methods=["DELETE"]),
                Route("/api/quarantine", self.list_quarantine, methods=["GET"]),
                Route("/api/unmatched", self.list_unmatched, methods=["GET"]),
                Route("/api/unmatched/resolve", self.resolve_unmatched, methods=["POST"]),
                Route("/api/unmatched/undo", self.undo_unmatched, methods=["POST"]),
            ],
            exception_handlers={HTTPException: self._http_error},  # type: ignore[dict-item]
            lifespan=self._lifespan,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == HOOK_PATH:
            await self._ingest(scope, receive, send)
        else:
            await self._rest(scope, receive, send)

    # -- lifecycle ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.store.start()
        self.store.add_commit_listener(self.hub)
        with contextlib.suppress(StoreUnavailable):
            self.hub.last_seq = await self.store.last_seq()
        jobs: list[Callable[[], Coroutine[Any, Any, None]]] = [
            partial(self._supervise, job) for job in self.config.background
        ]
        if self.rules is not None:
            rules = self.rules
            jobs.append(partial(self._supervise, lambda _sink, _cursors: rules.run()))
        # Several relays sharing one store run these once, in the one that leads.
        self._job_count = len(jobs)
        lead = getattr(self.store, "lead", None)
        if jobs and lead is not None:
            self._background.append(asyncio.create_task(lead(partial(self._run_jobs, jobs))))
        elif jobs:
            self._background.append(asyncio.create_task(self._run_jobs(jobs)))
        try:
            yield
        finally:
            self.begin_shutdown()
            for task in self._background:
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)
            await self.store.close()
            await self.authority.aclose()

    async def _run_jobs(self, jobs: list[Callable[[], Coroutine[Any, Any, None]]]) -> None:
        """Run ``jobs`` together (``/healthz`` says so); cancelling this cancels them all."""
        self._jobs_running = True
        try:
            await asyncio.gather(*(job() for job in jobs))
        finally:
            self._jobs_running = False

    async def _supervise(self, job: Callable[..., Awaitable[None]]) -> None:
        name = getattr(job, "__qualname__", repr(job))
        try:
            await job(self.store, self.store)
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("background job %s stopped with an error", name)
        else:
            _log.info("background job %s finished", name)

    def begin_shutdown(self) -> None:
        """End every event stream, so the server's graceful shutdown only waits for requests."""
        self.hub.close()

    @property
    def consumers(self) -> int:
        """Connected event-stream consumers: of the whole relay when its processes share
        their counts (:meth:`share_consumer_counts`), else of this process."""
        counts = self._consumer_counts
        return self.hub.consumers if counts is None else sum(counts)

    def share_consumer_counts(self, counts: MutableSequence[int], slot: int) -> None:
        """Keep this process's number of consumers in ``counts[slot]`` (shared memory of
        ``psa relay --workers N``), and report the sum: with a stream worker the process that
        answers ``/healthz`` has none of its own."""
        self._consumer_counts = counts

        def publish(count: int) -> None:
            counts[slot] = count

        self.hub.on_consumers = publish
        publish(self.hub.consumers)

    # -- ingest ------------------------------------------------------------------------------

    async def _ingest(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A webhook that arrived through ASGI (see :mod:`console.relay.http_ingest` for the
        usual path): read the body within the size limit, then the shared checks."""
        received = time.time()
        ingest = self.ingest
        answer: Answer | None = None
        if scope["method"] != "POST":
            answer = ingest.method_not_allowed()
        else:
            for name, value in scope["headers"]:
                if name == b"content-length" and ingest.declares_too_much(value):
                    answer = ingest.too_large()
        if answer is None:
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > ingest.max_body:
                    answer = ingest.too_large()
                    break
                chunks.append(chunk)
                more = message.get("more_body", False)
        if answer is None:
            answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()

            def respond(result: Answer) -> None:
                if not answered.done():  # the request may have gone away meanwhile
                    answered.set_result(result)

            ingest.take(scope["headers"], b"".join(chunks), received, respond)
            answer = await answered
        status, body, extra = answer
        headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # -- authentication ----------------------------------------------------------------------

    async def _principal(self, request: Request) -> Principal:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise HTTPException(
                401,
                "log in first (POST /api/session) and send the token as "
                "'Authorization: Bearer TOKEN'",
                headers={"www-authenticate": "Bearer"},
            )
        token = credentials.strip()
        if self._admin_token is not None and hmac.compare_digest(token.encode(), self._admin_token):
            return ADMIN
        try:
            principal = await self.sessions.lookup(token)
        except StoreUnavailable:
            raise HTTPException(
                503,
                "event store unavailable; retry later",
                headers={"retry-after": str(self.config.retry_after_seconds)},
            ) from None
        if principal is None:
            raise HTTPException(
                401,
                "session unknown or expired; log in again",
                headers={"www-authenticate": 'Bearer error="invalid_token"'},
            )
        return principal

    async def _http_error(self, _request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    def _store_unavailable(self) -> Response:
        return JSONResponse(
            {
                "error": "event store unavailable; retry later",
                "reason": self.store.unavailable_reason,
            },
            503,
            headers={"retry-after": str(self.config.retry_after_seconds)},
        )

    # -- health and metrics ------------------------------------------------------------------

    async def healthz(self, _request: Request) -> Response:
        """200 while the store accepts writes, 503 with the reason otherwise."""
        reason = self.store.unavailable_reason
        body = {
            "status": "ok" if reason is None else "unavailable",
            "store": reason or "ok",
            "last_seq": self.hub.last_seq,
            "consumers": self.consumers,
            # pollers and rules worker: "running" here, "standby" while another relay on the
            # shared store leads, "none" when this relay has none configured
            "jobs": "none"
            if not self._job_count
            else "running"
            if self._jobs_running
            else "standby",
        }
        return JSONResponse(body, 200 if reason is None else 503)

    async def metrics_text(self, _request: Request) -> Response:
        """Prometheus text exposition."""
        text = self.metrics.render()
        if self.rules is not None:
            text += "\n".join(self.rules.metrics_lines(self.hub.last_seq)) + "\n"
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    # -- sessions ----------------------------------------------------------------------------

    async def open_session(self, request: Request) -> Response:
        """Odoo login → token bound to the user's SA scope."""
        body = await _read_json_object(request)
        login, password = body.get("login"), body.get("password")
        if not isinstance(login, str) or not isinstance(password, str):
            raise HTTPException(400, 'send {"login": ..., "password": ...}')
        try:
            principal = await self.authority.open_session(login, password)
        except SessionRefused as refused:
            return JSONResponse({"error": str(refused)}, refused.status)
        try:
            issued = await self.sessions.issue(principal)
        except StoreUnavailable:
            return self._store_unavailable()
        _log.info("session opened for %s (SAs %s)", principal.login, list(principal.sa_ids))
        return JSONResponse(
            {
                "token": issued.token,
                "expires_at": utc_timestamp(issued.expires_at),
                "principal": principal.to_json(),
            }
        )

    async def session_info(self, request: Request) -> Response:
        """Who the bearer is."""
        return JSONResponse({"principal": (await self._principal(request)).to_json()})

    async def close_session(self, request: Request) -> Response:
        """Log out: the token stops working."""
        await self._principal(request)
        token = request.headers["authorization"].partition(" ")[2].strip()
        try:
            await self.sessions.revoke(token)
        except StoreUnavailable:
            return self._store_unavailable()
        return Response(status_code=204)

    # -- events ------------------------------------------------------------------------------

    async def list_events(self, request: Request) -> Response:
        """``GET /api/events?after=&limit=``: the log as JSON pages, filtered to the caller."""
        principal = await self._principal(request)
        after = _int_param(request, "after", 0)
        limit = min(_int_param(request, "limit", 500), MAX_API_LIMIT)
        if limit < 1:
            raise HTTPException(400, "limit must be at least 1")
        visible: list[dict[str, Any]] = []
        cursor = after
        try:
            while len(visible) < limit:
                rows = await self.store.read_after(cursor, max(limit, PAGE_SIZE))
                for row in rows:
                    cursor = row.seq
                    if principal.can_see(row.sa_ids):
                        visible.append(row.to_json())
                        if len(visible) == limit:
                            break
                if len(rows) < max(limit, PAGE_SIZE):
                    break
        except StoreUnavailable:
            return self._store_unavailable()
        return JSONResponse(
            {"events": visible, "next_after": cursor, "last_seq": max(self.hub.last_seq, cursor)}
        )

    async def snapshot(self, request: Request) -> Response:
        """``GET /api/snapshot?hours=24``: where a console or wall that starts empty begins,
        instead of replaying the whole log — every open alert, the alerts opened or changed in
        the last ``hours``, their ``link`` rows and the latest row of each device, filtered to
        the caller; then it streams ``after = last_seq``. Apply ``devices``, ``links``, then
        ``alerts`` as stream rows (each link row carries its alert's current state)."""
        principal = await self._principal(request)
        hours = _int_param(request, "hours", SNAPSHOT_HOURS)
        if hours > MAX_SNAPSHOT_HOURS:
            raise HTTPException(400, f"hours must be at most {MAX_SNAPSHOT_HOURS}")
        since = utc_timestamp(time.time() - hours * 3600)
        try:
            snapshot = await self.store.snapshot(since)
        except StoreUnavailable:
            return self._store_unavailable()
        alerts = [alert for alert in snapshot.alerts if principal.can_see(alert.sa_ids)]
        visible = {alert.seq for alert in alerts}
        return JSONResponse(
            {
                "last_seq": snapshot.last_seq,
                "since": since,
                "devices": [
                    device.to_json()
                    for device in snapshot.devices
                    if principal.can_see(device.sa_ids)
                ],
                # a link row is visible with its alert (its own sa_ids span before and after)
                "links": [link.to_json() for link in snapshot.links if link.alert_seq in visible],
                "alerts": [alert.to_json() for alert in alerts],
            }
        )

    async def _visible_alert(self, principal: Principal, seq: int) -> StoredEvent:
        try:
            event = await self.store.get(seq)
            if event.alert_seq != event.seq:
                event = await self.store.get(event.alert_seq)
        except UnknownEvent:
            raise HTTPException(404, f"no event with seq {seq}") from None
        if not principal.can_see(event.sa_ids):
            # Same answer as for a missing event: do not confirm what is out of scope.
            raise HTTPException(404, f"no event with seq {seq}")
        return event

    async def event_detail(self, request: Request) -> Response:
        """One event with the state history of its alert."""
        principal = await self._principal(request)
        seq = int(request.path_params["seq"])
        try:
            event = await self.store.get(seq)
            if not principal.can_see(event.sa_ids):
                raise UnknownEvent(seq)
            alert = event if event.alert_seq == event.seq else await self.store.get(event.alert_seq)
            history = await self.store.history(seq)
        except UnknownEvent:
            raise HTTPException(404, f"no event with seq {seq}") from None
        except StoreUnavailable:
            return self._store_unavailable()
        return JSONResponse(
            {
                "event": event.to_json(),
                "alert": alert.to_json(),
                "history": [entry.to_json() for entry in history],
            }
        )

    async def change_state(self, request: Request) -> Response:
        """Claim, ack, snooze, resolve or link, stamped ``{actor, sa}`` and broadcast."""
        principal = await self._principal(request)
        seq = int(request.path_params["seq"])
        body = await _read_json_object(request)
        action = body.pop("action", None)
        if not isinstance(action, str):
            raise HTTPException(400, 'send {"action": "claim|ack|snooze|resolve|link", ...}')
        sa = body.pop("sa", None)
        if sa is not None and (not isinstance(sa, int) or isinstance(sa, bool) or sa < 1):
            raise HTTPException(400, "sa must be an SA id (positive integer) or null")
        try:
            alert = await self._visible_alert(principal, seq)
        except StoreUnavailable:
            return self._store_unavailable()
        if sa is None:
            sa = next((s for s in alert.sa_ids if principal.can_act_in(s)), None)
        elif not principal.can_act_in(sa):
            raise HTTPException(403, f"you are not a member of SA {sa}")
        new_sas = body.get("sa_ids") if action == "link" else None
        if isinstance(new_sas, list):
            outside = [s for s in new_sas if isinstance(s, int) and not principal.can_act_in(s)]
            if outside:
                raise HTTPException(403, f"you cannot assign SA(s) {outside} outside your scope")
        change = StateChange(action=action, actor=principal.login, sa=sa, args=body)
        try:
            row = await self.store.change_state(alert.seq, change)
        except StateChangeConflict as conflict:
            return JSONResponse({"error": str(conflict)}, 409)
        except StateChangeRejected as invalid:
            return JSONResponse({"error": str(invalid)}, 400)
        except UnknownEvent:
            raise HTTPException(404, f"no event with seq {seq}") from None
        except StoreUnavailable:
            return self._store_unavailable()
        self.metrics.state_changes += 1
        return JSONResponse({"event": row.to_json()})

    async def list_quarantine(self, request: Request) -> Response:
        """Quarantined bodies, newest first (admin token only)."""
        if await self._principal(request) is not ADMIN:
            raise HTTPException(403, "the quarantine is for relay operators (admin token)")
        limit = min(max(_int_param(request, "limit", 100), 1), MAX_API_LIMIT)
        try:
            entries = await self.store.quarantined(limit)
        except StoreUnavailable:
            return self._store_unavailable()
        return JSONResponse({"entries": [entry.to_json() for entry in entries]})

    # -- the unmatched queue (dispatchers, managers, admin token) -----------------------------

    async def _unmatched_principal(self, request: Request) -> Principal:
        principal = await self._principal(request)
        if not principal.sees_unmatched:
            raise HTTPException(
                403,
                "the unmatched queue is for dispatchers and managers; ask one to map this "
                "Pulseway group, or to give you the dispatcher role",
            )
        if self.rules is None:
            raise HTTPException(
                503,
                "the rules worker is not running on this relay (no Odoo service account "
                "configured, or [rules] enabled = false)",
                headers={"retry-after": str(self.config.retry_after_seconds)},
            )
        if not self.rules.running:
            raise HTTPException(
                503,
                "the rules worker is not running here right now (starting, stopped after an "
                "error, or another relay on the shared store leads); try again or another relay",
                headers={"retry-after": str(self.config.retry_after_seconds)},
            )
        return principal

    async def list_unmatched(self, request: Request) -> Response:
        """``GET /api/unmatched``: groups without partner, alerts on unknown devices."""
        await self._unmatched_principal(request)
        assert self.rules is not None
        return JSONResponse(await self.rules.unmatched())

    async def resolve_unmatched(self, request: Request) -> Response:
        """``POST /api/unmatched/resolve {"key", "map_id"}``: apply a saved group-map row."""
        from console.relay.rules_worker import UnmatchedRequestError

        principal = await self._unmatched_principal(request)
        assert self.rules is not None
        body = await _read_json_object(request)
        key, map_id = body.get("key"), body.get("map_id")
        if not isinstance(key, str) or not key:
            raise HTTPException(400, 'send {"key": <group key>, "map_id": <group map row id>}')
        if not isinstance(map_id, int) or isinstance(map_id, bool) or map_id < 1:
            raise HTTPException(400, "map_id must be the id of an x_pulseway_group_map row")
        try:
            summary = await self.rules.resolve(key, map_id, principal.login)
        except UnmatchedRequestError as refused:
            return JSONResponse({"error": str(refused)}, refused.status)
        return JSONResponse(summary)

    async def undo_unmatched(self, request: Request) -> Response:
        """``POST /api/unmatched/undo {"resolution_id"}``: retire what a resolution created."""
        from console.relay.rules_worker import UnmatchedRequestError

        principal = await self._unmatched_principal(request)
        assert self.rules is not None
        body = await _read_json_object(request)
        resolution_id = body.get("resolution_id")
        if (
            not isinstance(resolution_id, int)
            or isinstance(resolution_id, bool)
            or resolution_id < 1
        ):
            raise HTTPException(400, 'send {"resolution_id": <id from the resolve answer>}')
        try:
            summary = await self.rules.undo(resolution_id, principal.login)
        except UnmatchedRequestError as refused:
            return JSONResponse({"error": str(refused)}, refused.status)
        return JSONResponse(summary)

    # -- the stream --------------------------------------------------------------------------

    async def event_stream(self, request: Request) -> Response:
        """``GET /events``: SSE from ``Last-Event-ID``/``?after=``, then live, SA-filtered."""
        principal = await self._principal(request)
        header = request.headers.get("last-event-id", "").strip()
        if header:
            if not header.isdigit():
                raise HTTPException(400, "Last-Event-ID must be an event seq")
            after = int(header)
        else:
            after = _int_param(request, "after", 0)
        subscription = self.hub.subscribe(principal)
        try:
            first_page = await self.store.read_after(after, PAGE_SIZE)
        except StoreUnavailable:
            subscription.close()
            return self._store_unavailable()
        # Under `psa relay` the server lets the hub write this stream's live chunks itself.
        direct = request.scope.get("extensions", {}).get(DIRECT_BODY)
        return _ConsumerStream(
            self._stream(subscription, after, first_page, direct),
            subscription,
            write_timeout=self.config.stream_write_timeout_seconds,
        )

    async def _stream(
        self,
        subscription: Subscription,
        after: int,
        page: list[StoredEvent],
        direct: DirectWriter | None = None,
    ) -> AsyncIterator[bytes]:
        principal = subscription.principal
        last = after
        ready = False
        heartbeat = self.config.heartbeat_seconds
        try:
            yield b"retry: 2000\n\n"
            while True:
                # Catch up from the store: at the start, and after a gap (rows committed that
                # the hub had no frames for). The subscription was opened first, so whatever
                # commits meanwhile is queued there; frames at or below `last` are skipped.
                while True:
                    frames = [sse_frame(row) for row in page if principal.can_see(row.sa_ids)]
                    if page:
                        last = page[-1].seq
                    if frames:
                        yield b"".join(frames)
                    if len(page) < PAGE_SIZE:
                        break
                    page = await self.store.read_after(last, PAGE_SIZE)
                if subscription.overflowed or subscription.gap:
                    # fell behind while reading, or rows came without frames: read again
                    subscription.reset_overflow()
                    page = await self.store.read_after(last, PAGE_SIZE)
                    continue
                if not ready:
                    ready = True
                    yield control_frame("ready", {"seq": last, "worker": self.role})
                # Live: frames as the hub queues them, until shutdown, overflow or a gap.
                while not subscription.gap:
                    if direct is not None and not subscription.pending:
                        # caught up: the hub writes the next chunks itself while we wait
                        subscription.last = last
                        subscription.direct = direct
                    woken = await subscription.wait(heartbeat)
                    subscription.direct = None  # anything sent from here goes through send
                    last = max(last, subscription.last)
                    if not woken:
                        yield b": heartbeat\n\n"
                        continue
                    if subscription.closed:
                        yield control_frame(RESYNC_EVENT, {"after": last, "reason": "shutdown"})
                        return
                    if subscription.overflowed:
                        yield control_frame(RESYNC_EVENT, {"after": last, "reason": "too_slow"})
                        return
                    fresh = [(seq, frame) for seq, frame in subscription.take() if seq > last]
                    if fresh:
                        last = fresh[-1][0]
                        yield b"".join(frame for _, frame in fresh)
                subscription.reset_overflow()  # a gap: what is pending is in the store too
                page = await self.store.read_after(last, PAGE_SIZE)
        except StoreUnavailable:
            yield control_frame(RESYNC_EVENT, {"after": last, "reason": "store_unavailable"})
        finally:
            subscription.close()


class _ConsumerStream(Response):
    """An SSE response written straight to the server, one ``send`` per chunk.

    Not Starlette's StreamingResponse: with 50 consumers its per-chunk machinery (a task group,
    a wrapper coroutine and a timeout task per chunk) cost more loop time than the webhooks
    being fanned out (bench/RESULTS.md, session 4). A consumer that disconnects is noticed by
    one task waiting for ``http.disconnect``, which ends the stream. The hub never waits for a
    consumer (its queue is bounded), but a send would wait forever on a full socket; after
    ``write_timeout`` the connection is given up and the consumer, once back, resumes from
    its last id.
    """

    def __init__(self, content: AsyncIterator[bytes], subscription: Subscription, *,
                 write_timeout: float) -> None:  # fmt: skip
        # not Response.__init__: it would announce a Content-Length of 0
        self.status_code = 200
        self.background = None
        self.raw_headers = list(_SSE_HEADERS)
        self.content = content
        self.subscription = subscription
        self.write_timeout = write_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.content:
                async with asyncio.timeout(self.write_timeout):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            client = scope.get("client")
            _log.warning(
                "closing an event stream to %s: it took nothing for %.1f s",
                f"{client[0]}:{client[1]}" if client else "a consumer",
                self.write_timeout,
            )
        except OSError:
            pass  # the consumer went away (uvicorn's ClientDisconnected)
        finally:
            watcher.cancel()
            # end the generator now (its finally leaves the hub), not whenever it is collected
            closer = getattr(self.content, "aclose", None)
            if closer is not None:
                await closer()

    async def _watch_disconnect(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.subscription.close()


async def _read_json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    return body


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer") from None
    if value < 0:
        raise HTTPException(400, f"{name} must not be negative")
    return value


def create_app(
    config: RelayConfig,
    store: EventStore | None = None,
    authority: SessionAuthority | None = None,
) -> RelayApp:
    """The relay for ``config``: its configured store and, with Odoo settings, Odoo logins and
    the rules worker (unless ``[rules] enabled = false``)."""
    if store is None:
        store = open_store(config)
    rules: RulesWorker | None = None
    if config.odoo is not None and config.rules.enabled:
        from console.relay.rules_worker import build_rules_worker

        rules = build_rules_worker(config, store)
    if authority is None and config.odoo is not None:
        from console.relay.sessions import OdooSessionAuthority

        authority = OdooSessionAuthority(
            config.odoo.url, config.odoo.db, config.odoo.user, config.odoo.password
        )
    return RelayApp(config, store, authority, rules)


def open_store(config: RelayConfig) -> EventStore:
    """The store the config names (not started yet)."""
    if config.store == "postgres":
        from console.relay.postgres_store import PostgresEventStore

        assert config.postgres_dsn is not None
        postgres: EventStore = PostgresEventStore(config.postgres_dsn)
        return postgres
    from console.relay.sqlite_store import SqliteEventStore

    # Several worker processes write one file: serialize their batches and tail the file.
    return SqliteEventStore(config.db, shared=config.workers > 1)
