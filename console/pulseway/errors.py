"""Failures of the Pulseway REST API as typed errors with a message a user can act on.

``str(error)`` is the user-facing message (what happened, what to do next); ``detail`` keeps
what the server said for the log.
"""

from __future__ import annotations


class PulsewayError(Exception):
    """Base class: any failure talking to Pulseway."""

    def __init__(self, message: str, *, status: int | None = None, detail: str | None = None):
        super().__init__(message)
        self.user_message = message
        self.status = status
        self.detail = detail


class PulsewayConnectionError(PulsewayError):
    """The server could not be reached or did not answer in time."""


class PulsewayAuthError(PulsewayError):
    """401: the token id/secret pair was rejected."""


class PulsewayForbiddenError(PulsewayError):
    """403: the token is valid but may not do this."""


class PulsewayNotFoundError(PulsewayError):
    """404: the entity (or the endpoint) does not exist."""


class PulsewayRequestError(PulsewayError):
    """400: the server refused the request as invalid (e.g. a custom-field conflict)."""


class PulsewayRateLimitedError(PulsewayError):
    """429 after the retry budget was spent; ``retry_after`` is the server's hint, if any."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        detail: str | None = None,
    ):
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class PulsewayServerError(PulsewayError):
    """5xx: Pulseway failed; worth retrying later."""


class PulsewayProtocolError(PulsewayError):
    """The answer did not have the documented shape (not JSON, no envelope, wrong types)."""


class PulsewayUnsupportedError(PulsewayError):
    """The operation is not offered by this Pulseway server (e.g. creating organizations)."""


#: Errors a background job should wait out and retry rather than report as a misconfiguration.
TRANSIENT_ERRORS: tuple[type[PulsewayError], ...] = (
    PulsewayConnectionError,
    PulsewayRateLimitedError,
    PulsewayServerError,
)
