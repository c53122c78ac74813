"""Pulseway REST API v3: async client, typed errors, and the webhook signature check.

Facts and their sources are in ``/work/shared/reference/pulseway_rocketcyber_v3.md``; where the
vendor is silent (rate limits, HMAC key encoding) the behaviour here is configurable.
"""

from console.pulseway.client import DEFAULT_BASE_URL, MAX_PAGE_SIZE, PulsewayClient
from console.pulseway.dates import format_pulseway_datetime, parse_pulseway_datetime
from console.pulseway.errors import (
    TRANSIENT_ERRORS,
    PulsewayAuthError,
    PulsewayConnectionError,
    PulsewayError,
    PulsewayForbiddenError,
    PulsewayNotFoundError,
    PulsewayProtocolError,
    PulsewayRateLimitedError,
    PulsewayRequestError,
    PulsewayServerError,
    PulsewayUnsupportedError,
)
from console.pulseway.models import (
    Asset,
    CustomField,
    CustomFieldAssignment,
    CustomFieldValue,
    Device,
    Group,
    Organization,
    Site,
    Webhook,
    device_key,
)
from console.pulseway.retry import RetryPolicy, parse_retry_after
from console.pulseway.webhook import (
    SIGNATURE_HEADER,
    WebhookNotification,
    WebhookPayloadError,
    parse_webhook_notification,
    sign_body,
    verify_signature,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PAGE_SIZE",
    "SIGNATURE_HEADER",
    "TRANSIENT_ERRORS",
    "Asset",
    "CustomField",
    "CustomFieldAssignment",
    "CustomFieldValue",
    "Device",
    "Group",
    "Organization",
    "PulsewayAuthError",
    "PulsewayClient",
    "PulsewayConnectionError",
    "PulsewayError",
    "PulsewayForbiddenError",
    "PulsewayNotFoundError",
    "PulsewayProtocolError",
    "PulsewayRateLimitedError",
    "PulsewayRequestError",
    "PulsewayServerError",
    "PulsewayUnsupportedError",
    "RetryPolicy",
    "Site",
    "Webhook",
    "WebhookNotification",
    "WebhookPayloadError",
    "device_key",
    "format_pulseway_datetime",
    "parse_pulseway_datetime",
    "parse_retry_after",
    "parse_webhook_notification",
    "sign_body",
    "verify_signature",
]
