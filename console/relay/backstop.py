"""A backstop poller for Pulseway notifications whose webhook never reached the relay.

Pulseway pushes notifications only as webhooks (reference §3), and a webhook it gave up on —
the relay was down longer than Pulseway's retries, a network fault — is otherwise lost. Every
``interval`` :class:`PulsewayNotificationBackstop` lists ``GET /v3/notifications`` newest
first over a window, asks the log which of those ``Id`` values it already holds (webhook or an
earlier pass), fetches ``GET /v3/notifications/{id}`` only for the missing ones and appends
each as the same ``alert`` event the webhook path makes.

The window runs from ``max(now - lookback, cursor - overlap)`` to ``now - grace``: notifications
younger than ``grace`` are left for a later pass, so Pulseway's own retries (which carry the
title) get their chance first, and the overlap re-checks the edge of the previous window. The
cursor (the previous window's end) is saved *after* the events are appended, as the pollers in
:mod:`console.relay.pollers` do; a crash in between only repeats a pass, and the log answers a
second append of an ``Id`` as a duplicate, so a late webhook and the backstop never make two
alerts of one notification.

A recovered event differs from a webhook's in what the API cannot tell: the GET answers carry no
``Title``, so the title is the message's first line (and its dedupe key follows from that), and
the payload — the webhook's documented field set — has ``OrganizationId`` null, a note at the
end of ``Message`` (which becomes the ticket's description) and ``"Recovered": "backstop"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, runtime_checkable

from console.domain.alerts import alert_dedupe_key
from console.pulseway import (
    PulsewayClient,
    PulsewayForbiddenError,
    PulsewayNotFoundError,
    PulsewayProtocolError,
    PulsewayRequestError,
    PulsewayServerError,
    format_pulseway_datetime,
    parse_pulseway_datetime,
)
from console.relay.events import CursorStore, EventSink, IncomingEvent
from console.relay.pollers import (
    PollBackoff,
    PollerJob,
    iso_utc,
    parse_iso_utc,
    run_poll_loop,
    utc_now,
)
from console.relay.pulseway_webhook import PRIORITIES, SOURCE

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS: Final = 300.0
#: long enough for Pulseway's own webhook retries, which carry the real title
DEFAULT_GRACE: Final = timedelta(seconds=900)
#: how far the first pass (no cursor yet) looks back
DEFAULT_LOOKBACK: Final = timedelta(hours=24)
#: how much of the previous window each pass checks again
DEFAULT_OVERLAP: Final = timedelta(seconds=600)
CURSOR_NAME: Final = "pulseway.notifications.backstop"
#: the longest title made from a message's first line, "…" included
TITLE_LIMIT: Final = 120
#: ``payload["Recovered"]`` of every event the backstop appends
RECOVERED_BY: Final = "backstop"
#: appended to the recovered ``Message``, which the rules worker makes the ticket description
RECOVERED_NOTE: Final = (
    "(Recovered by the PSA relay: Pulseway never delivered this notification's webhook. "
    "Pulseway's API gives no title, so this alert's title is the message's first line.)"
)


@runtime_checkable
class NotificationLog(EventSink, CursorStore, Protocol):
    """What the backstop needs of the relay's store: append, cursors, and which ids it has."""

    async def known_external_ids(self, source: str, external_ids: Collection[str]) -> set[str]:
        """Which of ``external_ids`` the log already holds for ``source``."""
        ...


@dataclass(frozen=True, slots=True)
class BackstopCursor:
    """Where the previous pass's window ended (``now - grace`` at that pass)."""

    until: datetime

    def to_json(self) -> str:
        """Serialise for the cursor store."""
        return json.dumps({"v": 1, "until": iso_utc(self.until)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> BackstopCursor:
        """Parse :meth:`to_json` output; raises ``ValueError`` on anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not a version-1 backstop cursor")
        until = parse_iso_utc(data.get("until"))
        if until is None:
            raise ValueError("backstop cursor without its window end")
        return cls(until)


#: a detail request that failed for that notification only (see :meth:`poll_once`)
_ONE_NOTIFICATION_FAILED: Final = (
    PulsewayServerError,
    PulsewayProtocolError,
    PulsewayRequestError,
    PulsewayForbiddenError,
)


@dataclass(frozen=True, slots=True)
class BackstopSummary:
    """What one pass found. ``listed`` notifications fell in the window; of those, ``known``
    were in the log already, ``recovered`` were appended now, ``raced`` turned out to be in
    the log when appended (a webhook arrived during the pass), ``deleted`` were gone from
    Pulseway (404) by the time their detail was asked for, and ``failed`` could not be read
    (Pulseway kept failing on that one; the next pass tries again)."""

    window_start: datetime
    window_end: datetime
    listed: int
    known: int
    recovered: int
    raced: int
    deleted: int
    failed: int = 0

    @property
    def detail_requests(self) -> int:
        """``GET /v3/notifications/{id}`` calls this pass made."""
        return self.recovered + self.raced + self.deleted + self.failed


def recovered_title(message: str, notification_id: int) -> str:
    """The title of a recovered alert: the message's first non-blank line, at most
    :data:`TITLE_LIMIT` characters with "…" when cut; Pulseway's API has no ``Title``."""
    line = next((text.strip() for text in message.splitlines() if text.strip()), "")
    if not line:
        return f"Pulseway notification {notification_id}"
    if len(line) > TITLE_LIMIT:
        return line[: TITLE_LIMIT - 1].rstrip() + "…"
    return line


def _priority(value: object) -> str | None:
    """Title-case as in webhooks; GET answers send lower case (reference §2.5)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return PRIORITIES.get(value.strip().lower(), value.strip())


def _notification_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def recovered_event(
    notification_id: int, detail: Mapping[str, Any], listed_at: datetime
) -> IncomingEvent:
    """The ``alert`` event for a notification the webhook never delivered, shaped like
    :func:`console.relay.pulseway_webhook.parse_notification`'s (same source, kind,
    ``external_id``, device, priority and dedupe key function) from its GET detail.
    ``listed_at`` is the list's ``DateTime``, used when the detail has none."""
    message_value = detail.get("Message")
    message = message_value if isinstance(message_value, str) else ""
    title = recovered_title(message, notification_id)
    device_value = detail.get("ComputerIdentifier")
    device_id = device_value.strip() if isinstance(device_value, str) else ""
    priority = _priority(detail.get("Priority"))
    occurred = parse_pulseway_datetime(detail.get("DateTime")) or listed_at
    payload = {
        "Id": notification_id,
        "Title": title,
        "Message": f"{message}\n\n{RECOVERED_NOTE}" if message.strip() else RECOVERED_NOTE,
        "DateTime": format_pulseway_datetime(occurred),
        "Priority": priority,
        "DeviceIdentifier": device_id or None,
        # not in the API's answers; webhooks alone carry it
        "OrganizationId": None,
        "Recovered": RECOVERED_BY,
    }
    return IncomingEvent(
        source=SOURCE,
        kind="alert",
        external_id=str(notification_id),
        title=title,
        device_id=device_id or None,
        priority=priority,
        dedupe_key=alert_dedupe_key(SOURCE, device_id, title),
        payload=payload,
    )


class PulsewayNotificationBackstop:
    """Recovers Pulseway notifications the relay never received as webhooks (module docstring).

    ``store`` is the relay's store: the sink events go to, the cursor store, and the lookup of
    ids already held. Durations are ``timedelta``; ``interval`` is seconds, like the pollers'.
    """

    def __init__(
        self,
        client: PulsewayClient,
        store: NotificationLog,
        *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        grace: timedelta = DEFAULT_GRACE,
        lookback: timedelta = DEFAULT_LOOKBACK,
        overlap: timedelta = DEFAULT_OVERLAP,
        cursor_name: str = CURSOR_NAME,
        backoff: PollBackoff | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.interval = interval
        self.grace = grace
        self.lookback = lookback
        self.overlap = overlap
        self.cursor_name = cursor_name
        self.backoff = backoff or PollBackoff()
        self.clock = clock
        self.rng = rng or random.Random()
        self._unordered_logged = False

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run a pass every ``interval`` seconds until ``stop`` is set (or the task is cancelled)."""
        await run_poll_loop(
            "pulseway notification backstop",
            self.poll_once,
            self.interval,
            self.backoff,
            self.rng,
            stop or asyncio.Event(),
        )

    async def _load(self) -> BackstopCursor | None:
        text = await self.store.get_cursor(self.cursor_name)
        if not text:
            return None
        try:
            return BackstopCursor.from_json(text)
        except (ValueError, TypeError):
            log.warning(
                "pulseway notification backstop: unreadable cursor %r; looking back %s",
                self.cursor_name,
                self.lookback,
            )
            return None

    async def _listed(self, start: datetime, end: datetime) -> dict[int, datetime]:
        """Ids and times of the notifications from ``start`` to ``end``, newest first.

        Paging stops after the page that reaches back past ``start``, unless the server did not
        sort by ``DateTime`` — then every page is read, since an old one proves nothing.
        """
        listed: dict[int, datetime] = {}
        ordered = True
        previous: datetime | None = None
        async with contextlib.aclosing(self.client.iter_notifications()) as pages:
            async for page in pages:
                reached_start = False
                for item in page:
                    notification_id = _notification_id(item.get("Id"))
                    moment = parse_pulseway_datetime(item.get("DateTime"))
                    if notification_id is None or moment is None:
                        log.debug("pulseway notification backstop: unreadable item %r", item)
                        continue
                    if previous is not None and moment > previous:
                        ordered = False
                    previous = moment
                    if moment < start:
                        reached_start = True
                    elif moment <= end:
                        listed[notification_id] = moment
                if not ordered and not self._unordered_logged:
                    log.warning(
                        "pulseway notification backstop: the notification list is not sorted "
                        "by DateTime; reading all of it on every pass"
                    )
                    self._unordered_logged = True
                if reached_start and ordered:
                    break
        return listed

    async def poll_once(self) -> BackstopSummary:
        """One pass: list the window, fetch and append what the log lacks, save the cursor."""
        now = self.clock()
        end = now - self.grace
        cursor = await self._load()
        start = now - self.lookback
        if cursor is not None:
            start = max(start, cursor.until - self.overlap)

        listed = await self._listed(start, end)
        known = await self.store.known_external_ids(SOURCE, [str(i) for i in listed])
        missing = sorted((i for i in listed if str(i) not in known), key=lambda i: listed[i])
        recovered = raced = deleted = failed = 0
        # the next pass starts at or before the oldest notification that could not be read
        until = end
        for notification_id in missing:
            try:
                detail = await self.client.notification(notification_id)
            except PulsewayNotFoundError:
                deleted += 1  # deleted in Pulseway since it was listed
                continue
            except _ONE_NOTIFICATION_FAILED as error:
                # This one (after the client's retries), not Pulseway as a whole: go on with
                # the others rather than stall every later recovery behind it. Unreachable,
                # refused credentials or rate-limited end the pass instead (backoff).
                failed += 1
                until = min(until, listed[notification_id])
                log.warning(
                    "pulseway notification backstop: notification %d could not be read (%s); "
                    "trying again next pass",
                    notification_id,
                    error,
                )
                continue
            result = await self.store.append(
                recovered_event(notification_id, detail, listed[notification_id])
            )
            if result.duplicate:
                raced += 1
            else:
                recovered += 1
        await self.store.set_cursor(self.cursor_name, BackstopCursor(until).to_json())

        summary = BackstopSummary(
            start, end, len(listed), len(listed) - len(missing), recovered, raced, deleted, failed
        )
        log.log(
            logging.INFO if recovered or deleted else logging.DEBUG,
            "pulseway notification backstop: %d recovered, %d already in the log, %d arrived "
            "meanwhile, %d deleted in Pulseway (%d notifications from %s to %s)",
            recovered,
            summary.known,
            raced,
            deleted,
            summary.listed,
            iso_utc(start),
            iso_utc(end),
        )
        return summary


def pulseway_backstop_job(client: Callable[[], PulsewayClient], **options: Any) -> PollerJob:
    """A relay background job: opens a client, runs a :class:`PulsewayNotificationBackstop`
    until cancelled, closes the client. ``options`` go to the backstop (``interval=``, …).
    The relay hands its store as sink and cursor store; the backstop also needs its lookup."""

    async def job(sink: EventSink, cursors: CursorStore) -> None:
        if not isinstance(sink, NotificationLog):
            raise TypeError(
                f"the notification backstop needs a store that answers known_external_ids, "
                f"not {type(sink).__name__}"
            )
        async with client() as pulseway:
            await PulsewayNotificationBackstop(pulseway, sink, **options).run()

    return job
