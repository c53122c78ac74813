"""The unmatched queue: what the rules worker could not place, kept for a dispatcher.

Two kinds of waiting things:

* **groups** — a Pulseway organization (or, without one, a group name), or a RocketCyber
  account, that maps to no Odoo partner. A group holds the devices seen in it (no asset can be
  created without a partner, seed T010) and the alerts/incidents raised on them;
* **unknown devices** — alerts for device ids the relay has never seen in an inventory event
  and Odoo has no asset for. When the device shows up later, its alerts follow it.

The queue is plain data (JSON round trip for the relay's cursor store) with no I/O; the worker
decides what goes in and what comes out. Previews in the API are capped at :data:`PREVIEW`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

#: Devices and alerts listed per group in ``GET /api/unmatched``.
PREVIEW: Final = 25
#: The pseudo-group of alerts on devices never seen.
UNKNOWN_DEVICES_KEY: Final = "unknown-devices"


def device_key(device_id: str) -> str:
    """Pulseway device ids are GUIDs in mixed case: compare them lower-cased."""
    return device_id.strip().lower()


def group_key(
    org_id: int | None,
    org_name: str | None,
    group_name: str | None,
    *,
    source: str = "pulseway",
    account_id: int | None = None,
) -> str:
    """The queue key of a Pulseway organization/group or a RocketCyber account.

    One row per organization when Pulseway names it (resolving it once covers every site and
    group below), else one per group name (case-insensitive).
    """
    if source == "rocketcyber":
        return f"rocketcyber:{account_id if account_id is not None else 'unknown'}"
    if org_id is not None:
        return f"org:{org_id}"
    name = " ".join((org_name or group_name or "").split()).casefold()
    return f"group:{name or '(none)'}"


@dataclass(slots=True)
class WaitingDevice:
    """A device that has no asset because its group has no partner."""

    device_id: str
    hostname: str | None
    serial: str | None
    os: str | None
    last_seen: str | None
    seq: int
    facts: dict[str, Any] = field(default_factory=dict)

    def preview(self) -> dict[str, Any]:
        """The API's device preview."""
        return {
            "device_id": self.device_id,
            "hostname": self.hostname,
            "serial": self.serial,
            "os": self.os,
            "last_seen": self.last_seen,
        }


@dataclass(slots=True)
class WaitingAlert:
    """An alert (or RocketCyber incident) that could not become a ticket yet.

    ``seq`` is the alert's head row in the log (what state changes target); ``last_seq`` the
    latest occurrence applied (what the ticket's ``x_relay_seq`` becomes).
    """

    key: str
    seq: int
    last_seq: int
    source: str
    kind: str
    title: str
    priority: str | None
    device_id: str | None
    message: str | None
    count: int
    last_seen: str
    extra: dict[str, Any] = field(default_factory=dict)

    def preview(self) -> dict[str, Any]:
        """The API's alert preview."""
        return {
            "seq": self.seq,
            "title": self.title,
            "priority": self.priority,
            "device_id": self.device_id,
            "count": self.count,
            "last_seen": self.last_seen,
            "source": self.source,
        }


@dataclass(slots=True)
class UnmatchedGroup:
    """One row of the queue."""

    key: str
    source: str
    org_id: int | None
    org_name: str | None
    group_name: str | None
    site_name: str | None
    reason: str
    devices: dict[str, WaitingDevice] = field(default_factory=dict)
    alerts: dict[str, WaitingAlert] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """What a dispatcher recognises: the organization, else the group."""
        return self.org_name or self.group_name or self.key

    def to_api(self) -> dict[str, Any]:
        """``GET /api/unmatched`` form, previews newest first."""
        devices = sorted(self.devices.values(), key=lambda d: -d.seq)
        alerts = sorted(self.alerts.values(), key=lambda a: -a.last_seq)
        return {
            "key": self.key,
            "source": self.source,
            "organization_id": self.org_id,
            "organization_name": self.org_name,
            "group_name": self.group_name,
            "site_name": self.site_name,
            "device_count": len(self.devices),
            "waiting_alerts": len(self.alerts),
            "devices": [d.preview() for d in devices[:PREVIEW]],
            "alerts": [a.preview() for a in alerts[:PREVIEW]],
            "reason": self.reason,
        }


@dataclass(slots=True)
class FailedEvent:
    """An event the worker could not apply at all (Odoo refused it), kept with the reason."""

    seq: int
    kind: str
    title: str
    reason: str

    def to_api(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


#: Failed events remembered (the oldest are forgotten first).
MAX_FAILED: Final = 200


class UnmatchedQueue:
    """Groups without partner, alerts on unknown devices, and events Odoo refused."""

    def __init__(self) -> None:
        self.groups: dict[str, UnmatchedGroup] = {}
        self.unknown: dict[str, WaitingAlert] = {}
        self.failed: list[FailedEvent] = []
        self._device_group: dict[str, str] = {}
        #: set whenever the content changes; the worker clears it after saving
        self.dirty = False

    # ------------------------------------------------------------------ groups and devices
    def group(
        self,
        key: str,
        *,
        source: str,
        org_id: int | None,
        org_name: str | None,
        group_name: str | None,
        site_name: str | None,
        reason: str,
    ) -> UnmatchedGroup:
        """The group ``key``, created if new; its names and reason refreshed."""
        found = self.groups.get(key)
        if found is None:
            found = UnmatchedGroup(key, source, org_id, org_name, group_name, site_name, reason)
            self.groups[key] = found
        else:
            found.org_name = org_name or found.org_name
            found.group_name = group_name or found.group_name
            found.site_name = site_name or found.site_name
            found.reason = reason
        self.dirty = True
        return found

    def add_device(self, group: UnmatchedGroup, device: WaitingDevice) -> None:
        """Put ``device`` in ``group`` (moving it from another group), with the alerts that
        were waiting for it as an unknown device."""
        key = device_key(device.device_id)
        previous = self._device_group.get(key)
        if previous is not None and previous != group.key and previous in self.groups:
            old = self.groups[previous]
            old.devices.pop(key, None)
            for alert_key, alert in list(old.alerts.items()):
                if alert.device_id and device_key(alert.device_id) == key:
                    group.alerts[alert_key] = old.alerts.pop(alert_key)
            if not old.devices and not old.alerts:
                del self.groups[previous]
        group.devices[key] = device
        self._device_group[key] = group.key
        for alert_key, alert in list(self.unknown.items()):
            if alert.device_id and device_key(alert.device_id) == key:
                group.alerts[alert_key] = self.unknown.pop(alert_key)
        self.dirty = True

    def group_of_device(self, device_id: str) -> UnmatchedGroup | None:
        """The group a waiting device sits in."""
        key = self._device_group.get(device_key(device_id))
        return self.groups.get(key) if key is not None else None

    def forget_device(self, device_id: str) -> list[WaitingAlert]:
        """Remove a device (it got an asset, or left Pulseway); returns its waiting alerts
        (taken out of the queue) so the caller can turn them into tickets."""
        key = device_key(device_id)
        taken: list[WaitingAlert] = []
        group_name = self._device_group.pop(key, None)
        group = self.groups.get(group_name) if group_name is not None else None
        if group is not None:
            group.devices.pop(key, None)
            for alert_key, alert in list(group.alerts.items()):
                if alert.device_id and device_key(alert.device_id) == key:
                    taken.append(group.alerts.pop(alert_key))
            if not group.devices and not group.alerts:
                del self.groups[group.key]
        for alert_key, alert in list(self.unknown.items()):
            if alert.device_id and device_key(alert.device_id) == key:
                taken.append(self.unknown.pop(alert_key))
        if group_name is not None or taken:
            self.dirty = True
        return taken

    def remove_device(self, device_id: str) -> None:
        """A waiting device left Pulseway: drop it (its alerts stay where they wait)."""
        key = device_key(device_id)
        group_name = self._device_group.pop(key, None)
        group = self.groups.get(group_name) if group_name is not None else None
        if group is not None:
            group.devices.pop(key, None)
            if not group.devices and not group.alerts:
                del self.groups[group.key]
            self.dirty = True

    def take_group(self, key: str) -> UnmatchedGroup | None:
        """Remove and return a whole group (a dispatcher resolved it)."""
        group = self.groups.pop(key, None)
        if group is None:
            return None
        for device in group.devices:
            self._device_group.pop(device, None)
        self.dirty = True
        return group

    def restore_group(self, group: UnmatchedGroup) -> None:
        """Put a group back (undo of a resolution), merging with what arrived meanwhile."""
        current = self.groups.get(group.key)
        if current is None:
            self.groups[group.key] = group
            current = group
        else:
            current.devices.update(group.devices)
            current.alerts.update(group.alerts)
            current.reason = group.reason
        for device in current.devices:
            self._device_group[device] = current.key
        self.dirty = True

    # ------------------------------------------------------------------ alerts
    def add_alert(self, group: UnmatchedGroup | None, alert: WaitingAlert) -> WaitingAlert:
        """Queue an alert in ``group`` (None: unknown device); a repeat of a waiting alert
        raises its count instead."""
        target = self.unknown if group is None else group.alerts
        existing = target.get(alert.key)
        if existing is not None:
            if alert.last_seq > existing.last_seq:
                existing.count = max(existing.count + 1, alert.count)
                existing.last_seq = alert.last_seq
                existing.last_seen = alert.last_seen
                existing.message = alert.message or existing.message
                self.dirty = True
            return existing
        target[alert.key] = alert
        self.dirty = True
        return alert

    def remove_alert(self, key: str) -> WaitingAlert | None:
        """Take an alert out of wherever it waits (e.g. an incident resolved while waiting)."""
        found = self.unknown.pop(key, None)
        if found is None:
            for group in list(self.groups.values()):
                found = group.alerts.pop(key, None)
                if found is not None:
                    if not group.devices and not group.alerts:
                        del self.groups[group.key]
                    break
        if found is not None:
            self.dirty = True
        return found

    def record_failure(self, failure: FailedEvent) -> None:
        """Remember an event Odoo refused, newest last."""
        self.failed.append(failure)
        del self.failed[:-MAX_FAILED]
        self.dirty = True

    # ------------------------------------------------------------------ views
    def waiting_alert_count(self) -> int:
        """Alerts waiting anywhere in the queue."""
        return len(self.unknown) + sum(len(g.alerts) for g in self.groups.values())

    def to_api(self) -> dict[str, Any]:
        """``GET /api/unmatched`` body (groups with the most waiting alerts first)."""
        groups = sorted(
            self.groups.values(), key=lambda g: (-len(g.alerts), -len(g.devices), g.name.lower())
        )
        unknown = sorted(self.unknown.values(), key=lambda a: -a.last_seq)
        device_ids = {a.device_id for a in self.unknown.values() if a.device_id}
        return {
            "groups": [g.to_api() for g in groups],
            "unknown_devices": {
                "key": UNKNOWN_DEVICES_KEY,
                "organization_id": None,
                "organization_name": None,
                "group_name": "Devices never seen",
                "device_count": len(device_ids),
                "waiting_alerts": len(self.unknown),
                "devices": [
                    {
                        "device_id": device_id,
                        "hostname": None,
                        "serial": None,
                        "os": None,
                        "last_seen": None,
                    }
                    for device_id in sorted(device_ids)[:PREVIEW]
                ],
                "alerts": [a.preview() for a in unknown[:PREVIEW]],
                "reason": "alerts for devices that no inventory poll has reported and that "
                "have no asset in Odoo",
            },
            "failed": [f.to_api() for f in reversed(self.failed[-PREVIEW:])],
        }

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> str:
        """Compact JSON for the cursor store."""
        return json.dumps(
            {
                "v": 1,
                "groups": [_group_json(g) for g in self.groups.values()],
                "unknown": [asdict(a) for a in self.unknown.values()],
                "failed": [asdict(f) for f in self.failed],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> UnmatchedQueue:
        """Parse :meth:`to_json`; raises ValueError on anything else."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != 1:
                raise ValueError("not a version-1 unmatched queue")
            queue = cls()
            for raw in data["groups"]:
                group = group_from_json(raw)
                queue.groups[group.key] = group
                for device in group.devices:
                    queue._device_group[device] = group.key
            for raw in data["unknown"]:
                alert = WaitingAlert(**raw)
                queue.unknown[alert.key] = alert
            queue.failed = [FailedEvent(**raw) for raw in data.get("failed", [])]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"unreadable unmatched queue: {exc}") from exc
        return queue


def _group_json(group: UnmatchedGroup) -> dict[str, Any]:
    data = asdict(group)
    data["devices"] = list(data["devices"].values())
    data["alerts"] = list(data["alerts"].values())
    return data


def group_to_json(group: UnmatchedGroup) -> dict[str, Any]:
    """A group as JSON (kept with a resolution so that undo can put it back)."""
    return _group_json(group)


def group_from_json(raw: Mapping[str, Any]) -> UnmatchedGroup:
    """The inverse of :func:`group_to_json`."""
    devices: Iterable[Mapping[str, Any]] = raw.get("devices", [])
    alerts: Iterable[Mapping[str, Any]] = raw.get("alerts", [])
    group = UnmatchedGroup(
        key=str(raw["key"]),
        source=str(raw.get("source", "pulseway")),
        org_id=raw.get("org_id"),
        org_name=raw.get("org_name"),
        group_name=raw.get("group_name"),
        site_name=raw.get("site_name"),
        reason=str(raw.get("reason", "")),
    )
    for item in devices:
        device = WaitingDevice(**item)
        group.devices[device_key(device.device_id)] = device
    for item in alerts:
        alert = WaitingAlert(**item)
        group.alerts[alert.key] = alert
    return group
