"""Alert identity and priority: the one place these facts are decided."""

from __future__ import annotations

from collections.abc import Mapping

#: The seed's T011 default: Critical -> '2' (High), everything else -> '1' (Medium).
DEFAULT_PRIORITY_MAP: Mapping[str, str] = {
    "critical": "2",
    "elevated": "1",
    "normal": "1",
    "low": "1",
}
DEFAULT_TICKET_PRIORITY = "1"


def alert_dedupe_key(source: str, device_id: str | None, title: str) -> str:
    """Key under which repeats of one alert collapse: ``(source, device, title)``.

    Pulseway device ids are GUIDs in mixed case, so the device part is compared
    case-insensitively; titles are compared after trimming and case-folding, because a
    repeat of the same notification is what a technician sees as "the same alert".
    """
    device = (device_id or "").strip().lower()
    normalized_title = " ".join(title.split()).casefold()
    return f"{source.strip().lower()}|{device}|{normalized_title}"


def ticket_priority(
    alert_priority: str | None, priority_map: Mapping[str, str] | None = None
) -> str:
    """Odoo helpdesk priority ('0'..'3') for a Pulseway/RocketCyber priority name.

    Pulseway sends Title-case names in webhooks and lower-case ones in GET responses, so the
    lookup is case-insensitive. Unknown or missing priorities get the map's default.
    """
    mapping = {k.lower(): v for k, v in (priority_map or DEFAULT_PRIORITY_MAP).items()}
    if alert_priority is None:
        return mapping.get("default", DEFAULT_TICKET_PRIORITY)
    return mapping.get(
        alert_priority.strip().lower(), mapping.get("default", DEFAULT_TICKET_PRIORITY)
    )


def incident_dedupe_key(account_id: int | str | None, incident_id: int | str) -> str:
    """Key of a RocketCyber incident, in the same key space as :func:`alert_dedupe_key`.

    An incident is not repeated the way a Pulseway notification is: it opens once and is
    resolved once, under one id. Keying on the id (with the customer account standing in for
    the device) gives one ticket per incident, and never collides with Pulseway alert keys.
    """
    account = None if account_id is None else str(account_id)
    return alert_dedupe_key("rocketcyber", account, f"incident {incident_id}")
