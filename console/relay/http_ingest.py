"""The relay's HTTP/1.1 connection protocol: webhooks answered here, everything else by uvicorn.

Why a protocol of our own: an alert storm is thousands of small ``POST /hooks/pulseway``
requests a second, and on two cores the per-request machinery of a general server (ASGI scope
and message dicts, a task and several coroutines per request, two ``send`` calls) cost as
much CPU as the webhook's own work — checks, parse, SQLite insert (bench/RESULTS.md, session
4). Here a webhook is parsed by httptools (the same C parser uvicorn uses), handed to
:class:`~console.relay.ingest.WebhookIngest` with a callback, and answered with one write
when its batch has committed: no task, no coroutine, no dicts.

Every other request — the event stream, the API, health, metrics, and a webhook that follows
one of those on the same connection — goes to uvicorn's own httptools protocol and through
ASGI to the Starlette app. The first such request on a connection hands the connection over
for good: this protocol keeps parsing (it cannot know where in a received chunk a request
began) and passes each request on re-serialized — request line and headers as received, the
body as received or re-chunked — exactly as uvicorn itself hands a WebSocket upgrade to its
WebSocket protocol. An ``Upgrade`` hands over the raw bytes that follow. uvicorn's protocol
gets one addition there: the :data:`DIRECT_BODY` ASGI extension (:class:`DirectBody`), with
which the event stream writes a consumer's chunks straight to its connection — with 50
consumers the ``send`` machinery per chunk (a coroutine through two middleware wrappers and a
timeout) was a third of the stream's cost.

What users of a web server expect is kept: keep-alive with the server's idle timeout,
pipelined requests answered in order (at most :data:`MAX_PIPELINE` waiting, then reading
pauses), ``Expect: 100-continue``, a client that stops reading its answers stops being read,
``Connection: close``, HTTP/1.0, 400 on malformed requests, and uvicorn's graceful shutdown
(the connection closes once its last answer is written). uvicorn creates this protocol
through its documented ``http`` setting (a protocol class); the constructor takes what
uvicorn passes to every HTTP protocol.
"""

from __future__ import annotations

import asyncio
import http
import logging
import time
from collections import deque
from functools import partial
from typing import Any, Final, cast

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from console.relay.ingest import HOOK_PATH, INTERNAL_ERROR, Answer, WebhookIngest
from console.relay.stream_handoff import StreamHandoff

_log = logging.getLogger(__name__)

_HOOK_PATH: Final = HOOK_PATH.encode()
_EVENTS_PATH: Final = b"/events"
#: Pipelined requests waiting for their answers before this connection stops being read.
MAX_PIPELINE: Final = 64
_STATUS_LINES: Final = {
    status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode())
    for status in http.HTTPStatus
}
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


_BAD_REQUEST: Final[Answer] = (
    400,
    b"Invalid HTTP request received.",
    ((b"content-type", b"text/plain; charset=utf-8"),),
)


class _Exchange:
    """One request's place in the answer order; ``answer`` is set when it is known."""

    __slots__ = ("answer", "close")

    def __init__(self, close: bool) -> None:
        self.answer: Answer | None = None
        self.close = close


#: ASGI scope extension: a :class:`DirectBody` for the response of this request.
DIRECT_BODY: Final = "psa.direct_body"
#: A direct write is refused past this many bytes already waiting in the connection's buffer.
DIRECT_BODY_BUFFER_LIMIT: Final = 256 * 1024


class DirectBody:
    """Writes body chunks of a streaming response (chunked transfer encoding) straight to the
    connection, without an ASGI ``send`` per chunk.

    Only once the response has started through ``send`` and is chunked, and only while the
    client keeps up: a write is refused (False) while the connection has paused writing or
    holds more than :data:`DIRECT_BODY_BUFFER_LIMIT` bytes, once the response completed or
    the client went away. A refused chunk is the caller's to send through ASGI, which waits
    for the client (with the app's own timeout). Never call it while an ASGI ``send`` of the
    same response is under way, or the order of the chunks is lost.
    """

    __slots__ = ("cycle",)

    def __init__(self) -> None:
        #: uvicorn's request/response cycle of this request, once it exists
        self.cycle: RequestResponseCycle | None = None

    @staticmethod
    def frame(data: bytes) -> bytes:
        """``data`` as one chunk of a chunked body (build it once, write it to many)."""
        return b"%x\r\n%s\r\n" % (len(data), data)

    def write(self, framed: bytes) -> bool:
        """Write a chunk made by :meth:`frame`; False (nothing written) if refused."""
        cycle = self.cycle
        try:
            if (
                cycle is None
                or not cycle.response_started
                or cycle.response_complete
                or not cycle.chunked_encoding
                or cycle.disconnected
                or cycle.flow.write_paused
            ):
                return False
            transport = cycle.transport
        except AttributeError:  # a uvicorn whose cycle looks different: always use send
            self.cycle = None
            return False
        if transport.is_closing() or transport.get_write_buffer_size() > DIRECT_BODY_BUFFER_LIMIT:
            return False
        transport.write(framed)
        return True


class _AsgiProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, offering the :data:`DIRECT_BODY` extension to the app."""

    def on_headers_complete(self) -> None:
        direct = DirectBody()
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[DIRECT_BODY] = direct
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before:
            direct.cycle = self.cycle


class RelayHttpProtocol(asyncio.Protocol):
    """One client connection (see the module docstring). ``config.app`` is the RelayApp."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        ingest = getattr(config.app, "ingest", None)
        if not isinstance(ingest, WebhookIngest):
            raise TypeError("RelayHttpProtocol serves a RelayApp (config.app.ingest)")
        self._ingest = ingest
        #: where ``GET /events`` connections go when a stream worker runs (stream_handoff.py)
        handoff = getattr(config.app, "stream_handoff", None)
        self._handoff = handoff if isinstance(handoff, StreamHandoff) else None
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._loop = _loop or asyncio.get_event_loop()
        self._idle_timeout = float(config.timeout_keep_alive)
        self._parser = httptools.HttpRequestParser(self)
        # As uvicorn: answer the first of pipelined requests even if it said "close".
        self._parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self._transport: asyncio.Transport | None = None
        self._exchanges: deque[_Exchange] = deque()
        self._last_active = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._reading = True
        self._write_paused = False
        self._in_request = False
        self._closing = False  # close once every answer is written (shutdown, "close")
        self._broken = False  # the parser failed or gave up (upgrade); nothing more is read
        self._upgrading = False
        # per request
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._exchange: _Exchange | None = None  # a webhook being read
        self._received = 0.0
        # hand-over to uvicorn's protocol
        self._forwarding = False
        self._chunked = False
        self._held: list[bytes] = []  # for uvicorn, until the webhook answers ahead are written
        self._inner: _AsgiProtocol | None = None
        # an event-stream request read whole, to hand to the stream worker once the chunk it
        # came in is parsed (nothing may follow it on the connection)
        self._stream_head: bytes | None = None
        self._stream_complete = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)
        self._server_state.connections.add(self)
        self._last_active = self._loop.time()
        self._idle_timer = self._loop.call_later(self._idle_timeout, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server_state.connections.discard(self)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._exchanges.clear()
        self._held.clear()
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def eof_received(self) -> None:
        # None: the transport closes once the client has finished sending (as uvicorn).
        if self._inner is not None:
            self._inner.eof_received()

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()
            return
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()
            return
        self._write_paused = False
        self._update_reading()

    def data_received(self, data: bytes) -> None:
        if self._broken:
            return
        self._last_active = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._keep_stream()
            self._upgraded(data[upgrade.args[0] :] if upgrade.args else b"")
        except httptools.HttpParserError:
            self._keep_stream()
            self._broken = True
            if self._inner is not None or self._forwarding:
                _log.warning("invalid HTTP request received; closing the connection")
                assert self._transport is not None
                self._transport.close()
                return
            _log.warning("invalid HTTP request received")
            exchange = _Exchange(close=True)
            exchange.answer = _BAD_REQUEST
            self._exchanges.append(exchange)
            self._flush()
        else:
            if self._stream_head is not None and self._stream_complete:
                self._hand_over_stream()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: close once the answers under way are written."""
        self._closing = True
        if self._forwarding or self._inner is not None:
            return  # uvicorn's protocol is told separately once it has the connection
        if not self._in_request and not self._exchanges:
            assert self._transport is not None
            self._transport.close()

    # -- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._keep_stream()  # a request pipelined behind GET /events: both are served here
        self._in_request = True
        self._url = b""
        self._headers = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        if not self._forwarding and not parser.should_upgrade() and self._is_hook():
            self._begin_webhook()
            return
        chunked = False
        head = [
            b"%s %s HTTP/%s\r\n"
            % (parser.get_method(), self._url, parser.get_http_version().encode())
        ]
        for name, value in self._headers:
            head.append(b"%s: %s\r\n" % (name, value))
            if name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        head.append(b"\r\n")
        if not chunked and self._handoff is not None and self._may_hand_over_stream():
            self._stream_head = b"".join(head)
            self._stream_complete = False
            return
        self._forwarding = True
        self._chunked = chunked
        self._to_inner(b"".join(head))

    def on_body(self, body: bytes) -> None:
        self._keep_stream()  # GET /events with a body: not a plain stream request
        if self._forwarding:
            self._to_inner(b"%x\r\n%s\r\n" % (len(body), body) if self._chunked else body)
            return
        exchange = self._exchange
        if exchange is None or exchange.answer is not None:
            return  # refused already: the rest of the body is read and dropped
        self._size += len(body)
        if self._size > self._ingest.max_body:
            self._refuse(exchange, self._ingest.too_large(), close=True)
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_request = False
        self._server_state.total_requests += 1
        if self._stream_head is not None:
            self._stream_complete = True
            return
        if self._forwarding:
            if self._chunked:
                self._to_inner(b"0\r\n\r\n")
            return
        exchange = self._exchange
        self._exchange = None
        if exchange is None or exchange.answer is not None:
            return
        assert self._transport is not None
        if self._transport.is_closing():
            return  # pipelined behind a request that closed the connection: never taken
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body = []
        headers = [(name.lower(), value) for name, value in self._headers]
        try:
            self._ingest.take(headers, body, self._received, partial(self._answer, exchange))
        except Exception:
            # a bug, not the client's fault: say so (500), keep the connection usable
            _log.exception("webhook handling failed")
            self._answer(exchange, INTERNAL_ERROR)

    # -- webhooks -------------------------------------------------------------------------------

    def _is_hook(self) -> bool:
        url = self._url
        if url == _HOOK_PATH:
            return True
        if not url.startswith(_HOOK_PATH):
            return False
        try:
            return bool(httptools.parse_url(url).path == _HOOK_PATH)
        except httptools.HttpParserInvalidURLError:
            return False

    def _begin_webhook(self) -> None:
        parser = self._parser
        self._received = time.time()
        exchange = _Exchange(close=not parser.should_keep_alive())
        self._exchanges.append(exchange)
        self._exchange = exchange
        self._body = []
        self._size = 0
        if parser.get_method() != b"POST":
            self._refuse(exchange, self._ingest.method_not_allowed())
            return
        expect_continue = False
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length":
                if self._ingest.declares_too_much(value):
                    self._refuse(exchange, self._ingest.too_large(), close=True)
                    return
            elif lowered == b"expect" and value.lower() == b"100-continue":
                expect_continue = True
        if expect_continue and len(self._exchanges) == 1:
            assert self._transport is not None
            self._transport.write(_CONTINUE)
        self._update_reading()

    def _refuse(self, exchange: _Exchange, answer: Answer, *, close: bool = False) -> None:
        # A refused body is not read to its end when it is too large: close after answering.
        exchange.close = exchange.close or close
        self._answer(exchange, answer)

    def _answer(self, exchange: _Exchange, answer: Answer) -> None:
        if exchange.answer is None:
            exchange.answer = answer
            self._flush()

    def _flush(self) -> None:
        """Write the answers that are ready, in request order."""
        transport = self._transport
        assert transport is not None
        exchanges = self._exchanges
        while exchanges and exchanges[0].answer is not None:
            exchange = exchanges.popleft()
            if transport.is_closing():
                exchanges.clear()
                return
            assert exchange.answer is not None
            status, body, extra = exchange.answer
            closing = exchange.close or (self._closing and not exchanges and not self._in_request)
            parts = [_STATUS_LINES[status]]
            parts.extend(b"%s: %s\r\n" % pair for pair in self._server_state.default_headers)
            if not extra or extra[0][0] != b"content-type":
                parts.append(b"content-type: application/json\r\n")
            parts.extend(b"%s: %s\r\n" % pair for pair in extra)
            parts.append(b"content-length: %d\r\n" % len(body))
            if closing:
                parts.append(b"connection: close\r\n")
            parts.append(b"\r\n")
            parts.append(body)
            transport.write(b"".join(parts))
            if closing:
                exchanges.clear()
                transport.close()
                return
        if not exchanges:
            if self._held:
                self._hand_over()
            elif self._closing and not self._in_request and not self._forwarding:
                transport.close()
                return
        self._update_reading()

    def _update_reading(self) -> None:
        if self._inner is not None or self._transport is None:
            return
        wanted = not self._write_paused and len(self._exchanges) < MAX_PIPELINE
        if wanted != self._reading and not self._transport.is_closing():
            self._reading = wanted
            if wanted:
                self._transport.resume_reading()
            else:
                self._transport.pause_reading()

    def _check_idle(self) -> None:
        """Close a keep-alive connection idle for the server's timeout (as uvicorn does)."""
        self._idle_timer = None
        transport = self._transport
        if transport is None or transport.is_closing() or self._inner is not None:
            return
        idle = self._loop.time() - self._last_active
        if not self._in_request and not self._exchanges and idle >= self._idle_timeout:
            transport.close()
            return
        self._idle_timer = self._loop.call_later(
            max(self._idle_timeout - idle, 0.05), self._check_idle
        )

    # -- the hand-over to the stream worker ---------------------------------------------------------

    def _may_hand_over_stream(self) -> bool:
        """``GET /events`` with nothing else under way on this connection."""
        if self._parser.get_method() != b"GET" or self._parser.should_upgrade():
            return False
        url = self._url
        if url != _EVENTS_PATH and not url.startswith(_EVENTS_PATH + b"?"):
            return False
        if self._exchanges or self._held or self._upgrading:
            return False
        transport = self._transport
        if transport is None or transport.is_closing() or transport.get_write_buffer_size():
            return False
        inner = self._inner
        if inner is None:
            return not self._forwarding
        # uvicorn's protocol has answered everything it was given (its own attributes)
        cycle = getattr(inner, "cycle", None)
        pipeline = getattr(inner, "pipeline", None)
        if pipeline is None or pipeline:
            return False
        return cycle is None or bool(getattr(cycle, "response_complete", False))

    def _keep_stream(self) -> None:
        """Serve a pending ``GET /events`` here after all (as any other request)."""
        head = self._stream_head
        if head is None:
            return
        self._stream_head = None
        self._forwarding = True
        self._chunked = False
        self._to_inner(head)

    def _hand_over_stream(self) -> None:
        head, self._stream_head = self._stream_head, None
        transport = self._transport
        assert head is not None and self._handoff is not None and transport is not None
        sock = transport.get_extra_info("socket")
        fd = sock.fileno() if sock is not None else -1
        if fd < 0 or transport.is_closing() or not self._handoff.offer(fd, head):
            self._stream_head = head
            self._keep_stream()
            return
        # The stream worker has the connection: close this process's descriptor only (no
        # shutdown, nothing written), and forget it here.
        self._broken = True
        self._server_state.connections.discard(self)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._inner is not None:
            self._server_state.connections.discard(self._inner)
        transport.abort()

    # -- the hand-over to uvicorn -----------------------------------------------------------------

    def _to_inner(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)
            return
        self._held.append(data)
        if not self._exchanges:
            self._hand_over()

    def _hand_over(self) -> None:
        """Give the connection to uvicorn's protocol, once every webhook answer is written."""
        transport = self._transport
        assert transport is not None
        if self._inner is None:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            if not self._reading:
                self._reading = True
                transport.resume_reading()
            self._server_state.connections.discard(self)
            inner = _AsgiProtocol(
                config=self._config,
                server_state=self._server_state,
                app_state=self._app_state,
                _loop=self._loop,
            )
            inner.connection_made(transport)
            self._inner = inner
            if self._closing:
                inner.shutdown()
            if self._write_paused:
                inner.pause_writing()
        held, self._held = self._held, []
        self._inner.data_received(b"".join(held))
        if self._upgrading and transport.get_protocol() is self:
            transport.set_protocol(self._inner)

    def _upgraded(self, rest: bytes) -> None:
        """An ``Upgrade`` request: what follows its head is not ours to parse. uvicorn's
        protocol gets the raw bytes and the transport (its WebSocket protocol, if it
        upgrades, takes the transport from it)."""
        self._broken = True
        self._upgrading = True
        if rest:
            self._to_inner(rest)
        elif not self._exchanges:
            self._hand_over()
