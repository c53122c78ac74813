"""Pulseway notification webhooks at the relay: the strict body → :class:`IncomingEvent` parser.

The signature check itself is :class:`console.pulseway.webhook.SignatureCheck` (one
implementation for the relay, the stand-in and the tests).

Facts (reference §3): the body is a JSON object with exactly the documented fields ``Id``,
``Title``, ``Message``, ``DateTime``, ``Priority``, ``DeviceIdentifier``, ``OrganizationId``;
``x-hmac-signature`` is ``base64(HMAC-SHA256(key, raw body))``, and the key's encoding is
undocumented (UTF-8 text most likely, hex-decoded bytes accepted too). There is no timestamp
or nonce, so replays are handled by deduplicating on ``Id``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from console.domain.alerts import alert_dedupe_key
from console.pulseway.webhook import SignatureCheck, signing_keys
from console.relay.events import IncomingEvent

__all__ = [
    "DOCUMENTED_FIELDS",
    "SOURCE",
    "NotificationInvalid",
    "SignatureCheck",
    "parse_notification",
    "signing_keys",
]

SOURCE: Final = "pulseway"
PRIORITIES: Final = {p.lower(): p for p in ("Low", "Normal", "Elevated", "Critical")}
DOCUMENTED_FIELDS: Final = (
    "Id", "Title", "Message", "DateTime", "Priority", "DeviceIdentifier", "OrganizationId",
)  # fmt: skip


class NotificationInvalid(ValueError):
    """The body is not a Pulseway notification; ``reason`` is a short metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


#: One decoder for every body (``json.loads`` with an option builds a new one per call).
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def parse_notification(body: bytes) -> IncomingEvent:
    """Validate a notification body and turn it into the event the log stores.

    Raises :class:`NotificationInvalid` with reason ``invalid_json`` (not UTF-8 JSON) or
    ``invalid_schema`` (a documented field missing or of the wrong type).
    """
    try:
        text = body.decode("utf-8")
        document = _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotificationInvalid("invalid_json", f"body is not UTF-8 JSON: {exc}") from None
    if not isinstance(document, dict):
        raise NotificationInvalid("invalid_schema", "body must be a JSON object")
    if "\\u" in text and _has_lone_surrogate(document):
        raise NotificationInvalid("invalid_json", "body contains an unpaired UTF-16 surrogate")
    missing = [name for name in DOCUMENTED_FIELDS if name not in document]
    if missing:
        raise NotificationInvalid("invalid_schema", f"missing field(s): {', '.join(missing)}")
    notification_id = document["Id"]
    if (
        isinstance(notification_id, str)
        and 0 < len(notification_id) <= 19
        and notification_id.isascii()
        and notification_id.isdigit()
    ):
        notification_id = int(notification_id)
    if (
        not isinstance(notification_id, int)
        or isinstance(notification_id, bool)
        or not 0 <= notification_id < 2**63
    ):
        raise NotificationInvalid("invalid_schema", "Id must be a non-negative 64-bit integer")
    title = _text(document, "Title", required=True)
    _text(document, "Message", required=False)
    device_id = _text(document, "DeviceIdentifier", required=True)
    date_text = _text(document, "DateTime", required=True)
    try:
        datetime.fromisoformat(date_text.replace("Z", "+00:00"))
    except ValueError:
        raise NotificationInvalid(
            "invalid_schema", f"DateTime is not an ISO-8601 date and time: {date_text[:64]!r}"
        ) from None
    priority_text = _text(document, "Priority", required=True)
    priority = PRIORITIES.get(priority_text.strip().lower())
    if priority is None:
        raise NotificationInvalid(
            "invalid_schema",
            f"Priority must be one of {', '.join(PRIORITIES.values())}, not {priority_text[:32]!r}",
        )
    organization = document["OrganizationId"]
    if not (
        isinstance(organization, str)
        or (isinstance(organization, int) and not isinstance(organization, bool))
    ):
        raise NotificationInvalid("invalid_schema", "OrganizationId must be a string or an integer")
    return IncomingEvent(
        source=SOURCE,
        kind="alert",
        external_id=str(notification_id),
        title=title,
        device_id=device_id,
        priority=priority,
        dedupe_key=alert_dedupe_key(SOURCE, device_id, title),
        payload=document,
    )


def _text(document: dict[str, Any], name: str, *, required: bool) -> str:
    value = document[name]
    if not isinstance(value, str):
        raise NotificationInvalid("invalid_schema", f"{name} must be a string")
    if required and not value.strip():
        raise NotificationInvalid("invalid_schema", f"{name} must not be empty")
    return value


def _has_lone_surrogate(document: Any) -> bool:
    """True if any string in ``document`` cannot be encoded as UTF-8 (``\\ud800`` escapes).

    Iterative, because a body may nest as deep as the JSON parser allows.
    """
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
