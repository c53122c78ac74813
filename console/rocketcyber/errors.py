"""Failures of the RocketCyber Customer API as typed errors with a message a user can act on.

``str(error)`` is the user-facing message; ``detail`` keeps what the server said for the log.
"""

from __future__ import annotations


class RocketCyberError(Exception):
    """Base class: any failure talking to RocketCyber."""

    def __init__(self, message: str, *, status: int | None = None, detail: str | None = None):
        super().__init__(message)
        self.user_message = message
        self.status = status
        self.detail = detail


class RocketCyberConnectionError(RocketCyberError):
    """The server could not be reached or did not answer in time."""


class RocketCyberAuthError(RocketCyberError):
    """401: the access token was rejected."""


class RocketCyberForbiddenError(RocketCyberError):
    """403: the token may not read this (e.g. an account outside the provider)."""


class RocketCyberNotFoundError(RocketCyberError):
    """404: usually a wrong path or the wrong region (US vs EU base URL)."""


class RocketCyberRequestError(RocketCyberError):
    """400: the server refused the query (bad parameter value, page size too large)."""


class RocketCyberRateLimitedError(RocketCyberError):
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


class RocketCyberServerError(RocketCyberError):
    """5xx (504 Gateway Timeout is common on large queries): worth retrying later."""


class RocketCyberProtocolError(RocketCyberError):
    """The answer did not have the expected shape."""


#: Errors a background job should wait out and retry rather than report as a misconfiguration.
TRANSIENT_ERRORS: tuple[type[RocketCyberError], ...] = (
    RocketCyberConnectionError,
    RocketCyberRateLimitedError,
    RocketCyberServerError,
)
