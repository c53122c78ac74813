"""The Pulseway client's retry policy: the shared one in :mod:`console.domain.retry`."""

from console.domain.retry import NO_RETRY, RetryPolicy, parse_retry_after

__all__ = ["NO_RETRY", "RetryPolicy", "parse_retry_after"]
