"""RocketCyber Customer API v3: async read-only client and typed errors.

RocketCyber has no webhooks: incidents are polled (see ``console.relay.pollers``). Facts and
their sources are in ``/work/shared/reference/pulseway_rocketcyber_v3.md`` §4.
"""

from console.rocketcyber.client import (
    DEFAULT_BASE_URL,
    EU_BASE_URL,
    MAX_PAGE_SIZE,
    RocketCyberClient,
)
from console.rocketcyber.errors import (
    TRANSIENT_ERRORS,
    RocketCyberAuthError,
    RocketCyberConnectionError,
    RocketCyberError,
    RocketCyberForbiddenError,
    RocketCyberNotFoundError,
    RocketCyberProtocolError,
    RocketCyberRateLimitedError,
    RocketCyberRequestError,
    RocketCyberServerError,
)
from console.rocketcyber.models import (
    Account,
    Agent,
    Incident,
    format_range,
    format_rocketcyber_datetime,
    parse_rocketcyber_datetime,
)
from console.rocketcyber.retry import RetryPolicy, parse_retry_after

__all__ = [
    "DEFAULT_BASE_URL",
    "EU_BASE_URL",
    "MAX_PAGE_SIZE",
    "TRANSIENT_ERRORS",
    "Account",
    "Agent",
    "Incident",
    "RetryPolicy",
    "RocketCyberAuthError",
    "RocketCyberClient",
    "RocketCyberConnectionError",
    "RocketCyberError",
    "RocketCyberForbiddenError",
    "RocketCyberNotFoundError",
    "RocketCyberProtocolError",
    "RocketCyberRateLimitedError",
    "RocketCyberRequestError",
    "RocketCyberServerError",
    "format_range",
    "format_rocketcyber_datetime",
    "parse_retry_after",
    "parse_rocketcyber_datetime",
]
