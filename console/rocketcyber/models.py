"""Typed views of RocketCyber v3 incidents, agents and accounts (reference §4).

Keys are camelCase; incident and account ids are ints, agent ids strings. Each object keeps the
decoded item under ``raw`` so callers can pass on fields not named here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from console.rocketcyber.errors import RocketCyberProtocolError


def parse_rocketcyber_datetime(value: object) -> datetime | None:
    """Parse RocketCyber's ISO 8601 values (``2025-06-03T14:20:11.000Z``) into aware UTC.

    Date-only values (used in range filters) are midnight UTC; naive values are taken as UTC;
    ``None``, empty and unparseable values give ``None``.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_rocketcyber_datetime(moment: datetime) -> str:
    """RocketCyber's ``yyyy-MM-ddTHH:mm:ss.fffZ`` form, in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_range(start: datetime | None = None, end: datetime | None = None) -> str:
    """A range filter value ``start|end``; either side may be open (``2022-05-09…|``)."""
    return "|".join(
        "" if moment is None else format_rocketcyber_datetime(moment) for moment in (start, end)
    )


def _int(item: Mapping[str, Any], key: str) -> int:
    value = item.get(key)
    if isinstance(value, bool):
        value = None
    try:
        if isinstance(value, int | str | float):
            return int(value)
        raise TypeError(type(value).__name__)
    except (TypeError, ValueError):
        raise RocketCyberProtocolError(
            "RocketCyber answered with data this console does not understand.",
            detail=f"{key!r} is {value!r}, expected an integer id",
        ) from None


def _optional_int(item: Mapping[str, Any], key: str) -> int | None:
    if item.get(key) in (None, ""):
        return None
    return _int(item, key)


def _str(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value)


def _optional_str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value in (None, "") else str(value)


def _get_any_case(item: Mapping[str, Any], key: str) -> Any:
    """The value under ``key`` in any letter case (the ``/account`` shape is unconfirmed)."""
    if key in item:
        return item[key]
    lowered = key.lower()
    for candidate, value in item.items():
        if candidate.lower() == lowered:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Incident:
    """``GET /incidents`` item; ``resolved_at`` is ``None`` while the incident is open."""

    id: int
    title: str
    description: str
    remediation: str
    status: str
    account_id: int | None
    event_count: int
    created_at: datetime | None
    published_at: datetime | None
    updated_at: datetime | None
    resolved_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_resolved(self) -> bool:
        """Resolved by status or by a resolution time (either is enough)."""
        return self.status.lower() == "resolved" or self.resolved_at is not None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Incident:
        event_count = item.get("eventCount")
        return cls(
            id=_int(item, "id"),
            title=_str(item, "title"),
            description=_str(item, "description"),
            remediation=_str(item, "remediation"),
            status=_str(item, "status").lower(),
            account_id=_optional_int(item, "accountId"),
            event_count=event_count if isinstance(event_count, int) else 0,
            created_at=parse_rocketcyber_datetime(item.get("createdAt")),
            published_at=parse_rocketcyber_datetime(item.get("publishedAt")),
            updated_at=parse_rocketcyber_datetime(item.get("updatedAt")),
            resolved_at=parse_rocketcyber_datetime(item.get("resolvedAt")),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class Agent:
    """``GET /agents`` item. ``account_path`` is dot-separated, the customer id last."""

    id: str
    customer_id: int | None
    account_path: str
    hostname: str
    connectivity: str
    platform: str
    family: str
    version: str
    edition: str
    ipv4_address: str | None
    mac_address: str | None
    created_at: datetime | None
    last_connected: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Agent:
        agent_id = item.get("id")
        if agent_id in (None, ""):
            raise RocketCyberProtocolError(
                "RocketCyber answered with data this console does not understand.",
                detail="agent without an id",
            )
        return cls(
            id=str(agent_id),
            customer_id=_optional_int(item, "customerId"),
            account_path=_str(item, "accountPath"),
            hostname=_str(item, "hostname"),
            connectivity=_str(item, "connectivity").lower(),
            platform=_str(item, "platform"),
            family=_str(item, "family"),
            version=_str(item, "version"),
            edition=_str(item, "edition"),
            ipv4_address=_optional_str(item, "ipv4Address"),
            mac_address=_optional_str(item, "macAddress"),
            created_at=parse_rocketcyber_datetime(item.get("createdAt")),
            last_connected=parse_rocketcyber_datetime(item.get("lastConnected")),
            raw=item,
        )


@dataclass(frozen=True, slots=True)
class Account:
    """An account from ``GET /account``: the provider or one customer under it.

    The response shape is unconfirmed (reference §4 "Other"); keys are read in any letter case
    and sub-accounts are looked for under ``customers``/``accounts``/``children``.
    """

    id: int
    name: str
    status: str
    path: str
    type: str
    customers: tuple[Account, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def flatten(self) -> list[Account]:
        """This account and every account below it, depth first."""
        result = [self]
        for customer in self.customers:
            result.extend(customer.flatten())
        return result

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Account:
        raw_id = _get_any_case(item, "id")
        children: list[Account] = []
        for key in ("customers", "accounts", "children"):
            value = _get_any_case(item, key)
            if isinstance(value, list):
                children.extend(Account.from_api(c) for c in value if isinstance(c, dict))
        return cls(
            id=_int({"id": raw_id}, "id"),
            name=str(_get_any_case(item, "name") or ""),
            status=str(_get_any_case(item, "status") or ""),
            path=str(_get_any_case(item, "path") or ""),
            type=str(_get_any_case(item, "type") or ""),
            customers=tuple(children),
            raw=item,
        )
