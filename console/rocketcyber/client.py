"""Async client for the RocketCyber Customer API v3 (reference §4), read-only.

* ``Authorization: Bearer <provider access token>``;
* the list envelope ``{totalCount, currentPage, totalPages, dataCount, data}``, paged with
  ``page`` (1-based) and ``pageSize`` (≤ 1000), stopping on ``totalPages`` (which may be 0) —
  never on a short page and never by rewriting some other parameter (Celerium's ``_page`` bug);
* 429 / 504 / network failures retried per :class:`RetryPolicy`, honouring ``Retry-After``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx

from console.rocketcyber.errors import (
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
from console.rocketcyber.models import Account, Agent, Incident, format_range
from console.rocketcyber.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api-us.rocketcyber.com/v3"
EU_BASE_URL = "https://api-eu.rocketcyber.com/v3"
#: "pageSize (default 1000, max 1000)" per Celerium's help (reference §4).
MAX_PAGE_SIZE = 1000

_RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})

QueryValue = str | int | Sequence[str | int]


class RocketCyberClient:
    """One provider account's access token. Use as ``async with RocketCyberClient(...) as rc:``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        page_size: int = MAX_PAGE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        self.base_url = base_url.rstrip("/") + "/"
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "psa-console",
            },
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def get(
        self, path: str, params: Mapping[str, QueryValue] | None = None, *, what: str = "the data"
    ) -> Any:
        """``GET path`` with retries; return the decoded JSON body.

        Sequence values in ``params`` are sent as repeated keys (``accountId=1&accountId=2``).
        """
        policy = self.retry
        attempts = max(1, policy.max_attempts)
        query = _query(params)
        for attempt in range(attempts):
            last_attempt = attempt + 1 >= attempts
            try:
                response = await self._http.get(path, params=query)
            except httpx.TransportError as exc:
                if not last_attempt:
                    delay = policy.backoff_delay(attempt)
                    log.info("RocketCyber GET %s failed (%s); retry in %.1fs", path, exc, delay)
                    await policy.sleep(delay)
                    continue
                reason = str(exc) or type(exc).__name__
                raise RocketCyberConnectionError(
                    f"Cannot reach RocketCyber at {self._http.base_url.host}: {reason}. "
                    "Check the network and the API region (US/EU).",
                    detail=repr(exc),
                ) from exc
            status = response.status_code
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"), policy.now())
                wait = None if last_attempt else policy.rate_limited_delay(retry_after, attempt)
                if wait is not None:
                    log.info("RocketCyber rate limit on %s; retry in %.1fs", path, wait)
                    await policy.sleep(wait)
                    continue
                raise _error_for(response, what, retry_after=retry_after)
            if status in _RETRYABLE_SERVER_STATUSES and not last_attempt:
                delay = policy.backoff_delay(attempt)
                log.info("RocketCyber GET %s answered %s; retry in %.1fs", path, status, delay)
                await policy.sleep(delay)
                continue
            if status >= 400:
                raise _error_for(response, what)
            # node-rocketcyber reads bodies as text before parsing: some errors are not JSON.
            try:
                return response.json()
            except ValueError:
                raise RocketCyberProtocolError(
                    "RocketCyber answered with something that is not JSON. Check that the "
                    "address is the API (https://api-us.rocketcyber.com/v3 or the EU one).",
                    status=status,
                    detail=response.text[:500],
                ) from None
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    async def iter_pages(
        self, path: str, params: Mapping[str, QueryValue] | None = None, *, what: str = "the list"
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield each page's ``data``, asking for ``page`` 1, 2, … until ``totalPages``."""
        page = 1
        while True:
            body = await self.get(
                path, {**(params or {}), "page": page, "pageSize": self.page_size}, what=what
            )
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise RocketCyberProtocolError(
                    "RocketCyber answered with data this console does not understand.",
                    detail=f"GET {path}: no 'data' list in the answer",
                )
            items = [item for item in body["data"] if isinstance(item, dict)]
            if items:
                yield items
            total_pages = body.get("totalPages")
            current = body.get("currentPage", page)
            if not isinstance(total_pages, int) or not isinstance(current, int):
                # Without paging information, one page is all we can trust.
                return
            if current >= total_pages or not items:
                return
            page = current + 1

    async def account(self, account_id: int | None = None, *, details: bool = True) -> Account:
        """``GET /account``: the provider (or one customer) with its sub-accounts."""
        params: dict[str, QueryValue] = {"details": "true" if details else "false"}
        if account_id is not None:
            params["accountId"] = account_id
        body = await self.get("account", params, what="the account")
        item = body.get("data", body) if isinstance(body, dict) else None
        if isinstance(item, list) and item:
            item = item[0]
        if not isinstance(item, dict):
            raise RocketCyberProtocolError(
                "RocketCyber answered with data this console does not understand.",
                detail="GET /account: not an object",
            )
        return Account.from_api(item)

    async def iter_incidents(
        self,
        *,
        account_ids: Sequence[int] | None = None,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        resolved_after: datetime | None = None,
        resolved_before: datetime | None = None,
        sort: str | None = "createdAt:asc",
    ) -> AsyncIterator[list[Incident]]:
        """Incidents page by page; ``status`` is ``open`` or ``resolved`` (``all`` fails)."""
        params: dict[str, QueryValue] = {}
        if account_ids:
            params["accountId"] = list(account_ids)
        if status:
            params["status"] = status
        if created_after or created_before:
            params["createdAt"] = format_range(created_after, created_before)
        if resolved_after or resolved_before:
            params["resolvedAt"] = format_range(resolved_after, resolved_before)
        if sort:
            params["sort"] = sort
        async for page in self.iter_pages("incidents", params, what="the incidents"):
            yield [Incident.from_api(item) for item in page]

    async def incidents(self, **filters: Any) -> list[Incident]:
        """Every incident matching the filters of :meth:`iter_incidents`."""
        collected: list[Incident] = []
        async for page in self.iter_incidents(**filters):
            collected.extend(page)
        return collected

    async def iter_agents(
        self,
        *,
        account_ids: Sequence[int] | None = None,
        hostname: str | None = None,
        connectivity: str | None = None,
        sort: str | None = None,
    ) -> AsyncIterator[list[Agent]]:
        """Agents page by page; ``hostname`` matches substrings (wildcards return nothing)."""
        params: dict[str, QueryValue] = {}
        if account_ids:
            params["accountId"] = list(account_ids)
        if hostname:
            params["hostname"] = hostname.replace("*", "")
        if connectivity:
            params["connectivity"] = connectivity
        if sort:
            params["sort"] = sort
        async for page in self.iter_pages("agents", params, what="the agents"):
            yield [Agent.from_api(item) for item in page]

    async def agents(self, **filters: Any) -> list[Agent]:
        """Every agent matching the filters of :meth:`iter_agents`."""
        collected: list[Agent] = []
        async for page in self.iter_agents(**filters):
            collected.extend(page)
        return collected


def _query(
    params: Mapping[str, QueryValue] | None,
) -> list[tuple[str, str | int | float | bool | None]]:
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in (params or {}).items():
        if isinstance(value, str | int):
            pairs.append((key, value))
        else:
            pairs.extend((key, item) for item in value)
    return pairs


def _error_for(
    response: httpx.Response, what: str, *, retry_after: float | None = None
) -> RocketCyberError:
    status = response.status_code
    detail = response.text[:500]
    try:
        body = response.json()
    except ValueError:
        body = None
    server_message = body.get("message") if isinstance(body, dict) else None
    if status == 401:
        return RocketCyberAuthError(
            "RocketCyber rejected the access token (HTTP 401). Generate a new key under Provider "
            "Settings → RocketCyber API and set PSA_ROCKETCYBER_API_KEY.",
            status=status,
            detail=detail,
        )
    if status == 403:
        return RocketCyberForbiddenError(
            f"RocketCyber refused access to {what} (HTTP 403). The token must be the provider's "
            "token, not a customer account's.",
            status=status,
            detail=detail,
        )
    if status == 404:
        return RocketCyberNotFoundError(
            f"RocketCyber has no {what.removeprefix('the ')} at this address (HTTP 404). Check the "
            "API region (api-us vs api-eu) and the /v3 path.",
            status=status,
            detail=detail,
        )
    if status == 429:
        wait = f" in {retry_after:.0f} s" if retry_after is not None else " later"
        return RocketCyberRateLimitedError(
            f"RocketCyber is rate-limiting this token (HTTP 429); try again{wait}.",
            retry_after=retry_after,
            detail=detail,
        )
    if status >= 500:
        return RocketCyberServerError(
            f"RocketCyber failed while reading {what} (HTTP {status}). Try again in a few minutes.",
            status=status,
            detail=detail,
        )
    if status in (400, 422):
        return RocketCyberRequestError(
            f"RocketCyber refused the query for {what}: {server_message or 'bad request'}.",
            status=status,
            detail=detail,
        )
    return RocketCyberError(
        f"RocketCyber answered HTTP {status} for {what}.", status=status, detail=detail
    )
