"""RocketCyber Customer API v3 stand-in: an ASGI app serving ``world.rocketcyber``.

* ``Authorization: Bearer <api key>``, 401 ``{"message": "Unauthorized"}`` otherwise;
* ``GET /v3/account``, ``GET /v3/agents``, ``GET /v3/incidents`` with the list envelope
  ``{totalCount, currentPage, totalPages, dataCount, data}``, ``page`` (1-based) and ``pageSize``
  (1..1000, else 400);
* the filters of reference §4: ``accountId`` (repeatable), ``id``, ``title``/``description``/
  ``hostname`` substrings (a ``*`` wildcard matches nothing, as on the real API), ``status``
  (``open``/``resolved``; ``all``/``closed`` return nothing), ``createdAt``/``resolvedAt`` ranges
  ``start|end``, ``connectivity``, and ``sort=field:asc|desc``;
* incidents become visible at their ``publishedAt``, some minutes after ``createdAt`` — the lag
  the poller's overlap exists for;
* 60 requests / min by default, then 429 ``{"message": "Too Many Requests"}`` with
  ``Retry-After: 5`` (both assumptions of the reference, configurable).
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from console.rocketcyber.models import format_rocketcyber_datetime
from console.sandbox.ratelimit import RateLimit, SlidingWindowLimiter
from console.sandbox.world import RocketCyberAccount, RocketCyberIncident, World

DEFAULT_ROCKETCYBER_RATE_LIMITS: tuple[RateLimit, ...] = (RateLimit(60, 60.0),)
MAX_PAGE_SIZE = 1000


class QueryError(Exception):
    """A query parameter the API would refuse (400)."""


def _message(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": text}, status_code=status, headers=headers)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_rocketcyber_datetime(moment)


def incident_item(incident: RocketCyberIncident) -> dict[str, Any]:
    """An incident with the corroborated keys only (reference §4 "Incident fields")."""
    return {
        "id": incident.id,
        "title": incident.title,
        "description": incident.description,
        "remediation": incident.remediation,
        "status": incident.status,
        "accountId": incident.account_id,
        "eventCount": incident.event_count,
        "createdAt": _time(incident.created_at),
        "publishedAt": _time(incident.published_at),
        "updatedAt": _time(incident.updated_at),
        "resolvedAt": _time(incident.resolved_at),
    }


def account_item(account: RocketCyberAccount) -> dict[str, Any]:
    """An account as ``/account`` shows it (the real shape is unconfirmed)."""
    return {
        "id": account.id,
        "name": account.name,
        "status": account.status,
        "path": account.path,
        "type": account.type,
    }


def _parse_instant(text: str, *, end: bool) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:
            # Date-only: a start means that midnight, an end the whole of that day.
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(f"invalid date {text!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_range(text: str) -> tuple[datetime | None, datetime | None]:
    """``start|end`` with either side optional."""
    if "|" not in text:
        raise QueryError(f"a range must look like 'start|end', got {text!r}")
    start_text, _, end_text = text.partition("|")
    start = _parse_instant(start_text, end=False) if start_text.strip() else None
    end = _parse_instant(end_text, end=True) if end_text.strip() else None
    return start, end


def _in_range(moment: datetime | None, bounds: tuple[datetime | None, datetime | None]) -> bool:
    start, end = bounds
    if moment is None:
        return False
    return (start is None or moment >= start) and (end is None or moment <= end)


def _substring_filter(value: str | None) -> Callable[[str], bool] | None:
    if value is None:
        return None
    needle = value.lower()
    if "*" in needle:
        # Celerium: wildcards return no results; the API already matches substrings.
        return lambda _text: False
    return lambda text: needle in text.lower()


def _int_list(request: Request, name: str) -> set[int] | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    try:
        return {int(v) for value in values for v in value.split(",") if v.strip()}
    except ValueError:
        raise QueryError(f"{name} must be an integer") from None


def _sorted(items: list[dict[str, Any]], sort: str | None, default: str) -> list[dict[str, Any]]:
    field, _, direction = (sort or default).partition(":")
    direction = direction.lower() or "asc"
    if direction not in ("asc", "desc"):
        raise QueryError(f"sort direction must be asc or desc, got {direction!r}")
    if items and field not in items[0]:
        raise QueryError(f"cannot sort by {field!r}")
    return sorted(
        items,
        key=lambda item: (item.get(field) is not None, item.get(field) or 0),
        reverse=direction == "desc",
    )


class RocketCyberStandIn:
    """State and handlers behind :func:`create_rocketcyber_app`."""

    def __init__(
        self,
        world: World,
        *,
        api_key: str,
        rate_limits: Sequence[RateLimit],
        retry_after_seconds: int | None,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self.world = world
        self.tenant = world.rocketcyber
        self._api_key = api_key.encode()
        self.limiter = SlidingWindowLimiter(rate_limits, clock)
        self.retry_after_seconds = retry_after_seconds
        self.now = now

    def endpoint(self, handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
        """Wrap a handler with Bearer auth, the rate limit and 400s for bad queries."""

        async def wrapped(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), self._api_key
            ):
                return _message(401, "Unauthorized")
            if self.limiter.acquire("provider") is not None:
                headers = (
                    None
                    if self.retry_after_seconds is None
                    else {"Retry-After": str(self.retry_after_seconds)}
                )
                return _message(429, "Too Many Requests", headers)
            try:
                return handler(request)
            except QueryError as exc:
                return _message(400, str(exc))

        return wrapped

    @staticmethod
    def _page(request: Request, items: list[dict[str, Any]]) -> JSONResponse:
        try:
            page = int(request.query_params.get("page", 1))
            page_size = int(request.query_params.get("pageSize", MAX_PAGE_SIZE))
        except ValueError:
            raise QueryError("page and pageSize must be integers") from None
        if page < 1:
            raise QueryError("page must be 1 or more")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise QueryError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        total = len(items)
        data = items[(page - 1) * page_size : page * page_size]
        return JSONResponse(
            {
                "totalCount": total,
                "currentPage": page,
                "totalPages": math.ceil(total / page_size),
                "dataCount": len(data),
                "data": data,
            }
        )

    def account(self, request: Request) -> Response:
        ids = _int_list(request, "accountId")
        details = request.query_params.get("details", "false").lower() == "true"
        root = self.tenant.provider
        if ids:
            account = self.tenant.accounts.get(min(ids))
            if account is None:
                return _message(404, "Account not found")
            root = account
        item = account_item(root)
        if details and root.type == "provider":
            item["customers"] = [account_item(a) for a in self.tenant.customers()]
        return JSONResponse(item)

    def _account_filter(self, request: Request) -> set[int] | None:
        ids = _int_list(request, "accountId")
        if ids is None:
            return None
        # The provider's own id stands for every account under it.
        if self.tenant.provider.id in ids:
            return None
        return ids

    def agents(self, request: Request) -> Response:
        params = request.query_params
        accounts = self._account_filter(request)
        hostname = _substring_filter(params.get("hostname"))
        connectivity = params.get("connectivity")
        wanted_ids = set(params.getlist("id")) or None
        with self.tenant.lock:
            agents = list(self.tenant.agents)
        items = []
        for agent in agents:
            if accounts is not None and agent.account_id not in accounts:
                continue
            if wanted_ids is not None and agent.id not in wanted_ids:
                continue
            if hostname is not None and not hostname(agent.hostname):
                continue
            if connectivity and agent.connectivity != connectivity.lower():
                continue
            items.append(agent.to_api())
        return self._page(request, _sorted(items, params.get("sort"), "hostname:asc"))

    def incidents(self, request: Request) -> Response:
        params = request.query_params
        accounts = self._account_filter(request)
        ids = _int_list(request, "id")
        title = _substring_filter(params.get("title"))
        description = _substring_filter(params.get("description"))
        status = params.get("status")
        created = parse_range(params["createdAt"]) if "createdAt" in params else None
        resolved = parse_range(params["resolvedAt"]) if "resolvedAt" in params else None
        now = self.now()
        items = []
        for incident in self.tenant.incident_list():
            if incident.published_at > now:
                continue  # not published yet
            if accounts is not None and incident.account_id not in accounts:
                continue
            if ids is not None and incident.id not in ids:
                continue
            if status is not None and incident.status != status.lower():
                continue
            if title is not None and not title(incident.title):
                continue
            if description is not None and not description(incident.description):
                continue
            if created is not None and not _in_range(incident.created_at, created):
                continue
            if resolved is not None and not _in_range(incident.resolved_at, resolved):
                continue
            items.append(incident_item(incident))
        return self._page(request, _sorted(items, params.get("sort"), "id:asc"))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _message(404, "Not Found")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_rocketcyber_app(
    world: World,
    *,
    api_key: str,
    rate_limits: Sequence[RateLimit] = DEFAULT_ROCKETCYBER_RATE_LIMITS,
    retry_after_seconds: int | None = 5,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = _utc_now,
) -> Starlette:
    """The RocketCyber v3 stand-in serving ``world.rocketcyber``; clients use ``…/v3``.

    ``rate_limits=()`` disables the limiter; ``retry_after_seconds=None`` omits the header.
    ``now`` decides which incidents are published yet (pass the world's clock in tests).
    """
    service = RocketCyberStandIn(
        world,
        api_key=api_key,
        rate_limits=rate_limits,
        retry_after_seconds=retry_after_seconds,
        clock=clock,
        now=now,
    )
    e = service.endpoint
    app = Starlette(
        routes=[
            Route("/v3/account", e(service.account), methods=["GET"]),
            Route("/v3/agents", e(service.agents), methods=["GET"]),
            Route("/v3/incidents", e(service.incidents), methods=["GET"]),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.rocketcyber = service
    return app
