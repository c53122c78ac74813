"""How the Pulseway stand-in delivers notification webhooks: body, signature, retries.

The body carries exactly the documented fields (reference §3) with ``OrganizationId`` as a
string, its documented type. The signature is ``base64(HMAC-SHA256(UTF-8 SecretKey, body))`` in
``x-hmac-signature`` — what :func:`console.pulseway.webhook.verify_signature` checks. Pulseway
documents no retry behaviour; this one retries any non-2xx answer or network failure with
exponential backoff and jitter, which is what a receiver must be ready for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from console.pulseway.dates import format_pulseway_datetime
from console.pulseway.webhook import SIGNATURE_HEADER, sign_body

if TYPE_CHECKING:
    from console.sandbox.world import PulsewayNotification

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry budget for one delivery; ``attempts`` counts the first try."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    timeout: float = 10.0

    def delay(self, retry_index: int, rng: random.Random) -> float:
        """Backoff before retry ``retry_index`` (0-based), jittered downwards."""
        ceiling = min(self.max_delay, self.base_delay * (2.0**retry_index))
        return ceiling * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Outcome of one delivery after its retries."""

    url: str
    status: int | None  # last HTTP status, None if the receiver was never reached
    attempts: int
    delivered: bool
    error: str | None = None


def notification_payload(
    *,
    notification_id: int,
    title: str,
    message: str,
    priority: str,
    device_id: str,
    organization_id: int | str | None,
    occurred_at: datetime,
) -> dict[str, Any]:
    """The webhook body of one notification, keys in the documented order."""
    return {
        "Id": notification_id,
        "Title": title,
        "Message": message,
        "DateTime": format_pulseway_datetime(occurred_at),
        "Priority": priority,
        "DeviceIdentifier": device_id,
        "OrganizationId": organization_id
        if not isinstance(organization_id, int)
        else str(organization_id),
    }


def recorded_notification_payload(
    notification: PulsewayNotification, organization_id: int | None
) -> dict[str, Any]:
    """The webhook body of a notification the stand-in recorded, as Pulseway sends it;
    ``organization_id`` is its device's organization (None for a device that is gone)."""
    return notification_payload(
        notification_id=notification.id,
        title=notification.title,
        message=notification.message,
        priority=notification.priority,
        device_id=notification.device_id,
        organization_id=organization_id,
        occurred_at=notification.created_at,
    )


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """Serialise a body the way it is signed and sent (UTF-8 JSON)."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class WebhookDeliverer:
    """Posts signed bodies to receivers, retrying non-2xx answers per :class:`DeliveryPolicy`."""

    def __init__(
        self,
        *,
        policy: DeliveryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or DeliveryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = httpx.AsyncClient(
            timeout=self.policy.timeout,
            transport=transport,
            headers={"User-Agent": "Pulseway-Webhooks (psa sandbox)"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def deliver(
        self,
        url: str,
        body: bytes,
        secret: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        signature: str | None = None,
        retry: bool = True,
    ) -> DeliveryResult:
        """POST ``body`` to ``url`` signed with ``secret`` (or the given ``signature``).

        ``signature`` overrides the computed one and ``secret=None`` sends none: both exist to
        produce deliberately bad deliveries. With ``retry=False`` there is a single attempt.
        """
        sent_headers = {**(headers or {}), "Content-Type": content_type}
        if signature is not None:
            sent_headers[SIGNATURE_HEADER] = signature
        elif secret is not None:
            sent_headers[SIGNATURE_HEADER] = sign_body(body, secret)
        attempts = self.policy.attempts if retry else 1
        status: int | None = None
        error: str | None = None
        for attempt in range(max(1, attempts)):
            if attempt:
                await self._sleep(self.policy.delay(attempt - 1, self._rng))
            try:
                response = await self._http.post(url, content=body, headers=sent_headers)
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
                log.debug("webhook to %s failed (attempt %d): %s", url, attempt + 1, error)
                continue
            status = response.status_code
            if 200 <= status < 300:
                return DeliveryResult(url, status, attempt + 1, True)
            error = f"HTTP {status}: {response.text[:200]}"
            log.debug("webhook to %s answered %s (attempt %d)", url, status, attempt + 1)
        return DeliveryResult(url, status, max(1, attempts), False, error)
