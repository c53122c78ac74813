"""Pulseway notification webhooks: the ``x-hmac-signature`` check and the body's fields.

Pulseway signs each delivery with "a base64 encoded SHA-256 hash based on the JSON body and
Secret Key" (reference §3). How the 64-hex-character SecretKey becomes key bytes is not
documented: the UTF-8 bytes of the text are the likely answer, the hex-decoded bytes the other
candidate, so verification accepts either and signing (used by the stand-in) uses UTF-8.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.pulseway.dates import parse_pulseway_datetime

SIGNATURE_HEADER = "x-hmac-signature"

#: Pulseway's priority names as sent in webhooks (Title-case; GET responses use lower case).
PRIORITIES = ("Low", "Normal", "Elevated", "Critical")


def signing_keys(secret: str) -> tuple[bytes, ...]:
    """The HMAC keys a secret may stand for: its UTF-8 bytes, and its hex decoding if valid."""
    keys = [secret.encode("utf-8")]
    try:
        decoded = bytes.fromhex(secret)
    except ValueError:
        pass
    else:
        if decoded and decoded not in keys:
            keys.append(decoded)
    return tuple(keys)


class SignatureCheck:
    """Verifies ``x-hmac-signature`` against every accepted encoding of the secret.

    The HMAC key schedule is computed once here; each request copies the keyed state.
    """

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the webhook secret is empty")
        self._keyed = tuple(hmac.new(key, digestmod=hashlib.sha256) for key in signing_keys(secret))

    def sign(self, body: bytes) -> str:
        """The signature Pulseway sends for ``body`` (UTF-8 key; what the stand-in emits)."""
        mac = self._keyed[0].copy()
        mac.update(body)
        return base64.b64encode(mac.digest()).decode("ascii")

    def verify(self, body: bytes, signature: bytes | str | None) -> bool:
        """True when ``signature`` matches ``body`` under one of the keys (constant-time)."""
        if not signature:
            return False
        given = signature.strip() if isinstance(signature, bytes) else signature.strip().encode()
        matched = False
        for keyed in self._keyed:
            mac = keyed.copy()
            mac.update(body)
            # Evaluate every key, so the time taken does not say which one matched.
            matched |= hmac.compare_digest(base64.b64encode(mac.digest()), given)
        return matched


def sign_body(raw: bytes, secret: str) -> str:
    """The ``x-hmac-signature`` value Pulseway sends for ``raw``: base64 HMAC-SHA256, UTF-8 key
    (an empty secret signs too, as Pulseway would; nothing verifies against it)."""
    if not secret:
        return base64.b64encode(hmac.new(b"", raw, hashlib.sha256).digest()).decode("ascii")
    return SignatureCheck(secret).sign(raw)


def verify_signature(raw: bytes, header: str, secret: str) -> bool:
    """Whether ``header`` is a valid Pulseway signature of the exact bytes ``raw``.

    Accepts the key as UTF-8 text or, when ``secret`` is hex, as the decoded bytes, compared in
    constant time (:class:`SignatureCheck`). An empty secret never verifies.
    """
    if not secret:
        return False
    return SignatureCheck(secret).verify(raw, header)


class WebhookPayloadError(ValueError):
    """The body is not a usable Pulseway notification; ``reason`` says why (kept in quarantine)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WebhookNotification:
    """The documented fields of one notification delivery (reference §3)."""

    id: int
    title: str
    message: str
    priority: str
    device_id: str
    organization_id: int | None
    occurred_at: datetime | None
    raw: dict[str, Any]


def _required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WebhookPayloadError(f"field {key!r} is missing or not a non-empty string")
    return value


def parse_webhook_notification(raw: bytes) -> WebhookNotification:
    """Parse and validate a notification body; raises :class:`WebhookPayloadError`.

    Accepts ``OrganizationId`` as a string (its documented type) or an int (as seen in the
    wild), and the priority in any letter case (normalised to Pulseway's Title-case names).
    """
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookPayloadError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WebhookPayloadError("body is not a JSON object")
    notification_id = body.get("Id")
    if isinstance(notification_id, bool) or not isinstance(notification_id, int | str):
        raise WebhookPayloadError("field 'Id' is missing or not an integer")
    try:
        notification_id = int(notification_id)
    except ValueError:
        raise WebhookPayloadError("field 'Id' is not an integer") from None
    title = _required_str(body, "Title")
    device_id = _required_str(body, "DeviceIdentifier")
    priority_text = _required_str(body, "Priority")
    priority = next((p for p in PRIORITIES if p.lower() == priority_text.strip().lower()), None)
    if priority is None:
        raise WebhookPayloadError(f"field 'Priority' has unknown value {priority_text!r}")
    message = body.get("Message")
    if message is not None and not isinstance(message, str):
        raise WebhookPayloadError("field 'Message' is not a string")
    organization_id: int | None = None
    raw_org = body.get("OrganizationId")
    if raw_org not in (None, ""):
        try:
            organization_id = int(raw_org)
        except (TypeError, ValueError):
            raise WebhookPayloadError("field 'OrganizationId' is not an integer") from None
    return WebhookNotification(
        id=notification_id,
        title=title,
        message=message or title,
        priority=priority,
        device_id=device_id.strip(),
        organization_id=organization_id,
        occurred_at=parse_pulseway_datetime(body.get("DateTime")),
        raw=body,
    )
