"""Pulseway's date/time values, which come in several shapes (reference §1 "Date/time formats").

* ISO 8601 UTC with ``Z`` (notification ``DateTime``, asset ``LastSeenOnline``);
* ISO 8601 without a zone (webhook ``CreatedAt``, scope ``UpdatedAt``) — treated as UTC, an
  assumption the reference marks [A];
* Unix epoch seconds as ints (the ``GET /v3/notifications`` list example);
* empty strings where a value is unknown (``LastUpdated``, ``LastReboot``).

Localised display text (``"Thursday, July 2, 2015 1:00 AM"``) is *not* a timestamp and is
returned as ``None`` rather than guessed at.
"""

from __future__ import annotations

from datetime import UTC, datetime

# Epoch values above this are taken as milliseconds. 10^11 s is the year 5138, so no plausible
# seconds value is misread, while every millisecond value after 1973 is caught.
_EPOCH_MILLISECONDS_THRESHOLD = 100_000_000_000


def parse_pulseway_datetime(value: object) -> datetime | None:
    """Parse any Pulseway date/time value into an aware UTC ``datetime``.

    Returns ``None`` for ``None``, empty strings and values that are not a timestamp (display
    text, booleans). Naive ISO values are taken to be UTC.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        if abs(seconds) >= _EPOCH_MILLISECONDS_THRESHOLD:
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return parse_pulseway_datetime(int(text))
    try:
        # Python 3.11's fromisoformat accepts "Z", fractions and offsets.
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_pulseway_datetime(moment: datetime) -> str:
    """Format as Pulseway's ISO form with ``Z`` and whole seconds (``2023-07-12T16:15:02Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
