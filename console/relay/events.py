"""What producers (webhook ingest, pollers) hand to the relay's event log.

Pollers live beside the ingest path and must not know how the log is stored; they build an
:class:`IncomingEvent` and await an :class:`EventSink`, and keep their cursors in a
:class:`CursorStore`. Both are implemented by the relay's store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One event before it has a ``seq``.

    ``external_id`` is the producer's own identity of the occurrence (Pulseway notification
    ``Id``, RocketCyber incident id + transition, device id + change stamp); the log refuses a
    second event with the same ``(source, external_id)`` and answers with the first one's seq.
    ``dedupe_key`` groups repeats of one open alert (see ``console.domain.alerts``); ``None``
    for events that are not alerts (device inventory changes).
    """

    source: str  # "pulseway", "rocketcyber", ...
    kind: str  # "alert", "device.registered", "device.changed", "device.removed",
    #            "incident.opened", "incident.resolved"
    external_id: str
    title: str
    device_id: str | None = None
    priority: str | None = None
    dedupe_key: str | None = None
    sa_ids: tuple[int, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppendResult:
    seq: int
    duplicate: bool


class EventSink(Protocol):
    """Durably appends one event; returns only after it is committed."""

    async def append(self, event: IncomingEvent) -> AppendResult: ...


class CursorStore(Protocol):
    """Named poller cursors, kept in the relay's store so a restart resumes where it stopped."""

    async def get_cursor(self, name: str) -> str | None: ...

    async def set_cursor(self, name: str, value: str) -> None: ...
