"""How values read in the panes: ages, Odoo timestamps, priorities. Presentation only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

#: helpdesk.ticket priority keys and the words Odoo shows for them
TICKET_PRIORITIES: Mapping[str, str] = {"0": "Low", "1": "Medium", "2": "High", "3": "Urgent"}


def parse_odoo_datetime(value: Any) -> datetime | None:
    """Odoo's ``"YYYY-MM-DD HH:MM:SS"`` (UTC) or ISO 8601 text → aware datetime; else None."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def humanize_age(seconds: float) -> str:
    """``42s``, ``5m``, ``3h 10m``, ``2d 4h``: compact, for a column a technician scans."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def age_of(value: Any, now: datetime | None = None) -> str:
    moment = parse_odoo_datetime(value)
    if moment is None:
        return ""
    return humanize_age(((now or datetime.now(UTC)) - moment).total_seconds())


#: Odoo's own datetime format, to the minute (the seconds do not show)
_ODOO_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def short_datetime(value: Any) -> str:
    """``2026-11-23 09:24`` in local time, for last-audit style columns.

    A 100,000-row pane formats one per row (display and filter text): Odoo's
    ``YYYY-MM-DD HH:MM:SS`` values go through a per-minute cache, since converting to local
    time is the expensive part and audit times cluster."""
    if isinstance(value, str) and len(value) == 19 and _ODOO_MINUTE.match(value):
        return _local_minute(value[:16])
    return _format_local(parse_odoo_datetime(value))


@lru_cache(maxsize=65_536)
def _local_minute(minute: str) -> str:
    return _format_local(parse_odoo_datetime(minute + ":00"))


def _format_local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone()
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


def many2one_name(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) == 2:
        return str(value[1])
    return ""


def many2one_id(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
