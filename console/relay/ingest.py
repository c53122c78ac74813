"""The checks and the durable append behind ``POST /hooks/pulseway``, free of any server API.

Two front ends feed it: the relay's own HTTP protocol (:mod:`console.relay.http_ingest`, the
fast path every webhook normally takes) and the ASGI coroutine in :mod:`console.relay.app`
(a webhook sent on a connection that already carried other requests). Both hand over the
request's headers and body and get back one :data:`Answer` through a callback, so the order
of checks and the wording of every refusal exist once. The order is DESIGN §5: size (413,
checked by the front end while it reads), media type (415), signature (401), static token
(401), schema (400 + quarantine), one durable commit (202/200), store unavailable (503 +
Retry-After). The callback runs only after the commit for a 2xx: an acknowledged webhook is
on disk.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Final, TypeAlias

from console.relay.config import RelayConfig
from console.relay.events import AppendResult
from console.relay.metrics import RelayMetrics
from console.relay.pulseway_webhook import SOURCE, NotificationInvalid, SignatureCheck
from console.relay.pulseway_webhook import parse_notification as parse_pulseway_notification
from console.relay.store import EventStore, StoreUnavailable

_log = logging.getLogger(__name__)

HOOK_PATH: Final = "/hooks/pulseway"

Headers: TypeAlias = tuple[tuple[bytes, bytes], ...]
#: An HTTP answer: status, JSON body, extra headers.
Answer: TypeAlias = tuple[int, bytes, Headers]
Respond: TypeAlias = Callable[[Answer], None]

#: Headers never copied into the quarantine table (credentials).
_PRIVATE_HEADERS: Final = frozenset({b"authorization", b"cookie", b"proxy-authorization"})


def json_body(data: object) -> bytes:
    """Compact JSON bytes for an answer body."""
    return json.dumps(data, separators=(",", ":")).encode()


def is_json_media_type(value: bytes) -> bool:
    """``application/json`` or ``application/*+json``, parameters ignored."""
    media_type = value.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(b"+json")
    )


#: The answer when the relay itself failed (logged); Pulseway retries it.
INTERNAL_ERROR: Final[Answer] = (
    500,
    json_body({"error": "internal error; see the relay's log"}),
    (),
)


class WebhookIngest:
    """Turns one webhook request into one :data:`Answer` (see the module docstring).

    ``headers`` are ``(name, value)`` byte pairs with lower-case names.
    """

    def __init__(self, config: RelayConfig, store: EventStore, metrics: RelayMetrics) -> None:
        if not config.hook_secret:
            raise ValueError("RelayConfig.hook_secret is required")
        self.store = store
        self.metrics = metrics
        self.max_body = config.max_body_bytes
        self._signature = SignatureCheck(config.hook_secret)
        self._hook_token = config.hook_token.encode() if config.hook_token else None
        self._hook_token_name = config.hook_token_header
        self._hook_token_header = config.hook_token_header.lower().encode("latin-1")
        self._unavailable: Headers = ((b"retry-after", str(config.retry_after_seconds).encode()),)

    # -- refusals the front ends decide on (method, size) -----------------------------------

    def refuse(self, status: int, reason: str, message: str, extra: Headers = ()) -> Answer:
        """Count a refusal under ``reason`` and build its answer."""
        self.metrics.rejected[reason] += 1
        return status, json_body({"error": message}), extra

    def declares_too_much(self, content_length: bytes) -> bool:
        """Whether a ``Content-Length`` value announces a body over the limit."""
        return content_length.isdigit() and int(content_length) > self.max_body

    def method_not_allowed(self) -> Answer:
        return self.refuse(405, "method_not_allowed", "use POST", ((b"allow", b"POST"),))

    def too_large(self) -> Answer:
        return self.refuse(413, "too_large", f"body larger than {self.max_body} bytes")

    def store_unavailable(self) -> Answer:
        return self.refuse(
            503, "store_unavailable", "event store unavailable; retry later", self._unavailable
        )

    # -- the request ------------------------------------------------------------------------

    def take(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, received: float, respond: Respond
    ) -> None:
        """Check ``body`` and store it; ``respond`` gets the answer (now for a refusal, after
        the commit otherwise). ``received``: epoch seconds when the request arrived."""
        content_type = b""
        signature: bytes | None = None
        token: bytes | None = None
        token_header = self._hook_token_header
        for name, value in headers:
            if name == b"content-type":
                content_type = value
            elif name == b"x-hmac-signature":
                signature = value
            elif name == token_header:
                token = value
        if not is_json_media_type(content_type):
            respond(
                self.refuse(
                    415, "unsupported_media_type", "send the notification as application/json"
                )
            )
            return
        if not self._signature.verify(body, signature):
            respond(
                self.refuse(
                    401, "bad_signature", "x-hmac-signature missing or does not match the body"
                )
            )
            return
        if self._hook_token is not None and (
            token is None or not hmac.compare_digest(token.strip(), self._hook_token)
        ):
            respond(self.refuse(401, "bad_token", f"{self._hook_token_name} missing or wrong"))
            return
        try:
            event = parse_pulseway_notification(body)
        except NotificationInvalid as invalid:
            task = asyncio.ensure_future(self._quarantine(headers, body, invalid, received))
            task.add_done_callback(partial(_answer_from, respond))
            return
        try:
            # The body is valid UTF-8 JSON (parsed above): store it as received.
            committed = self.store.submit_append(event, received, body.decode())
        except StoreUnavailable:
            respond(self.store_unavailable())
            return
        committed.add_done_callback(partial(self._appended, received, respond))

    def _appended(
        self, received: float, respond: Respond, committed: asyncio.Future[AppendResult]
    ) -> None:
        error = committed.exception()
        if isinstance(error, StoreUnavailable):
            respond(self.store_unavailable())
            return
        if error is not None:
            _log.error("webhook append failed", exc_info=error)
            respond(INTERNAL_ERROR)
            return
        result = committed.result()
        self.metrics.commit_latency.observe(time.time() - received)
        if result.duplicate:
            self.metrics.duplicates += 1
            respond((200, b'{"seq":%d,"duplicate":true}' % result.seq, ()))
        else:
            self.metrics.received += 1
            respond((202, b'{"seq":%d,"duplicate":false}' % result.seq, ()))

    async def _quarantine(
        self,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        invalid: NotificationInvalid,
        received: float,
    ) -> Answer:
        kept = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in headers
            if name not in _PRIVATE_HEADERS and name != self._hook_token_header
        }
        try:
            quarantine_id = await self.store.quarantine(SOURCE, body, str(invalid), kept, received)
        except StoreUnavailable:
            return self.store_unavailable()
        self.metrics.quarantined += 1
        self.metrics.rejected[invalid.reason] += 1
        return (
            400,
            json_body(
                {"error": str(invalid), "reason": invalid.reason, "quarantine_id": quarantine_id}
            ),
            (),
        )


def _answer_from(respond: Respond, task: asyncio.Future[Answer]) -> None:
    if task.cancelled():
        respond(INTERNAL_ERROR)
        return
    error = task.exception()
    if error is not None:
        _log.error("quarantining a webhook failed", exc_info=error)
        respond(INTERNAL_ERROR)
        return
    respond(task.result())
