"""What the NOC wall shows, kept incrementally from the relay's event rows. No Qt, no I/O.

:meth:`WallModel.apply` takes the rows of ``GET /events`` / ``GET /api/events`` in seq order
(history first, then live) and keeps only what the wall displays:

* one small record per *open* alert (anything not resolved); a resolved alert is dropped at
  once, and at most ``max_open`` are tracked (beyond that the oldest is forgotten and
  :attr:`WallModel.truncated` says the counts are a lower bound);
* per page (an SA, its sub-SAs, "all SAs", "unmatched") the counts of open alerts by
  severity, updated on every change (never recounted), and the unhandled alerts in the order
  they opened, so the oldest is found without a scan;
* the newest ``ticker_size`` new alerts for the ticker (a bounded deque).

So memory depends on how many alerts are open, never on how long the wall has been up.
"Unhandled" means state ``open``: nobody claimed, acknowledged or snoozed it yet.

Applying rows in seq order is idempotent for the wall as for the Alerts pane: a resume after a
disconnect that replays a few rows changes nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

#: The domain's priority names, most urgent first (Pulseway's Critical/Elevated/Normal/Low).
SEVERITIES: tuple[str, ...] = ("critical", "elevated", "normal", "low")
_SEVERITY_INDEX = {name: index for index, name in enumerate(SEVERITIES)}
_DEFAULT_SEVERITY = _SEVERITY_INDEX["normal"]
#: Rows that open an alert (the same set the Alerts pane shows).
ALERT_KINDS = frozenset({"alert", "incident.opened"})
STATE_KIND = "state"
OPEN = "open"
RESOLVED = "resolved"
DEFAULT_MAX_OPEN = 50_000
DEFAULT_TICKER_SIZE = 64

ALL_PAGE = "all"
UNMATCHED_PAGE = "unmatched"


def severity_index(priority: Any) -> int:
    """0 (Critical) … 3 (Low); a missing or unknown priority counts as Normal."""
    return _SEVERITY_INDEX.get(str(priority or "").strip().lower(), _DEFAULT_SEVERITY)


def parse_instant(value: Any) -> float | None:
    """The relay's ISO-8601 UTC text (``2025-06-03T16:15:02.123Z``) → epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class WallPage:
    """One page of the wall: which alerts it counts.

    ``sa_ids`` None counts every alert the wall receives (the "all SAs" page); otherwise an
    alert counts when it is stamped with one of ``sa_ids`` (an SA and the SAs below it), or,
    for the ``unmatched`` page, when it has no SA at all.
    """

    key: str
    title: str
    sa_ids: frozenset[int] | None = None
    unmatched: bool = False

    def holds(self, sa_ids: Sequence[int]) -> bool:
        if self.sa_ids is None:
            return True
        if not sa_ids:
            return self.unmatched
        return not self.sa_ids.isdisjoint(sa_ids)


class OldestAlert(NamedTuple):
    seq: int
    title: str
    device: str
    client: str
    severity: str
    opened_at: float | None


class TickerItem(NamedTuple):
    seq: int
    at: float | None
    severity: str
    title: str
    device: str
    device_id: str
    sa_ids: tuple[int, ...]


@dataclass(frozen=True)
class PageFigures:
    """What one page shows, at one moment."""

    page: WallPage
    counts: tuple[int, ...]  # open alerts per severity, in SEVERITIES order
    unhandled: int
    oldest: OldestAlert | None

    @property
    def total(self) -> int:
        return sum(self.counts)


class _OpenAlert:
    __slots__ = (
        "client",
        "device",
        "device_id",
        "opened_at",
        "pages",
        "sa_ids",
        "seq",
        "severity",
        "state",
        "title",
    )

    def __init__(self, seq: int, row: Mapping[str, Any]) -> None:
        self.seq = seq
        self.severity = severity_index(row.get("priority"))
        self.title = str(row.get("title") or "")
        self.device_id = str(row.get("device_id") or "")
        self.device = str(row.get("device_name") or "")
        self.client = str(row.get("client_name") or "")
        self.opened_at = parse_instant(row.get("received_at"))
        self.sa_ids: tuple[int, ...] = _sa_ids(row)
        self.state = str(row.get("state") or OPEN)
        self.pages: tuple[_PageTally, ...] = ()


class _PageTally:
    """Counts and unhandled alerts of one page, kept incrementally."""

    __slots__ = ("counts", "in_order", "last_key", "page", "unhandled")

    def __init__(self, page: WallPage) -> None:
        self.page = page
        self.counts = [0] * len(SEVERITIES)
        self.unhandled: dict[int, None] = {}
        self.in_order = True
        self.last_key = 0

    def add(self, alert: _OpenAlert) -> None:
        self.counts[alert.severity] += 1
        if alert.state == OPEN:
            self.mark_unhandled(alert.seq)

    def remove(self, alert: _OpenAlert) -> None:
        self.counts[alert.severity] -= 1
        self.unhandled.pop(alert.seq, None)

    def mark_unhandled(self, seq: int) -> None:
        if seq in self.unhandled:
            return
        if seq < self.last_key:
            self.in_order = False  # sorted again lazily, when the oldest is asked for
        self.last_key = max(self.last_key, seq)
        self.unhandled[seq] = None

    def oldest_seq(self) -> int | None:
        if not self.unhandled:
            return None
        if not self.in_order:
            self.unhandled = dict.fromkeys(sorted(self.unhandled))
            self.in_order = True
        return next(iter(self.unhandled))


def _sa_ids(row: Mapping[str, Any]) -> tuple[int, ...]:
    raw = row.get("sa_ids") or ()
    return tuple(sorted({int(s) for s in raw if isinstance(s, int) and not isinstance(s, bool)}))


class WallModel:
    """Open alerts by page and severity, the oldest unhandled, the ticker (module docstring)."""

    def __init__(
        self,
        pages: Iterable[WallPage] = (),
        *,
        max_open: int = DEFAULT_MAX_OPEN,
        ticker_size: int = DEFAULT_TICKER_SIZE,
    ) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.max_open = max_open
        self.last_seq = 0
        #: epoch seconds of the newest row received (its ``received_at``)
        self.newest_at: float | None = None
        self.truncated = False
        self.ticker: deque[TickerItem] = deque(maxlen=ticker_size)
        self._alerts: dict[int, _OpenAlert] = {}
        self._pages: list[WallPage] = []
        self._tallies: dict[str, _PageTally] = {}
        #: device id → (device name, client name), filled by whoever resolves names (bounded)
        self.names: Callable[[str], tuple[str, str] | None] = lambda _device_id: None
        self.set_pages(pages)

    # ---------------------------------------------------------------- pages
    @property
    def pages(self) -> list[WallPage]:
        return list(self._pages)

    def set_pages(self, pages: Iterable[WallPage]) -> None:
        """Change which pages are counted (after the SA list changed): counted again once."""
        self._pages = list(pages)
        self._tallies = {page.key: _PageTally(page) for page in self._pages}
        for alert in sorted(self._alerts.values(), key=lambda a: a.seq):
            self._file(alert)

    def _file(self, alert: _OpenAlert) -> None:
        alert.pages = tuple(t for t in self._tallies.values() if t.page.holds(alert.sa_ids))
        for tally in alert.pages:
            tally.add(alert)

    def _unfile(self, alert: _OpenAlert) -> None:
        for tally in alert.pages:
            tally.remove(alert)
        alert.pages = ()

    # ---------------------------------------------------------------- rows
    def apply_all(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.apply(row)

    def apply(self, row: Mapping[str, Any]) -> None:
        """One row of the log (the JSON object of a stream message or an events page)."""
        seq = row.get("seq")
        if isinstance(seq, int) and seq > self.last_seq:
            self.last_seq = seq
        received = parse_instant(row.get("received_at"))
        if received is not None and (self.newest_at is None or received > self.newest_at):
            self.newest_at = received
        kind = row.get("kind")
        if kind == STATE_KIND:
            payload = row.get("payload") or {}
            snapshot = payload.get("alert") if isinstance(payload, Mapping) else None
            if isinstance(snapshot, Mapping):
                args = payload.get("args") if isinstance(payload.get("args"), Mapping) else {}
                self._apply_snapshot(snapshot, args or {})
        elif kind in ALERT_KINDS and isinstance(seq, int):
            if row.get("repeat"):
                alert_seq = row.get("alert_seq")
                if isinstance(alert_seq, int) and alert_seq not in self._alerts:
                    # the opening row was out of this wall's view (or before a truncation)
                    self._open(alert_seq, row, ticker=False)
            else:
                self._open(seq, row, ticker=True)

    def _open(self, seq: int, row: Mapping[str, Any], *, ticker: bool) -> None:
        state = str(row.get("state") or OPEN)
        if state == RESOLVED or seq in self._alerts:
            return
        alert = _OpenAlert(seq, row)
        self._alerts[seq] = alert
        self._file(alert)
        if ticker:
            self.ticker.append(
                TickerItem(
                    seq,
                    alert.opened_at,
                    SEVERITIES[alert.severity],
                    alert.title,
                    alert.device,
                    alert.device_id,
                    alert.sa_ids,
                )
            )
        if len(self._alerts) > self.max_open:
            self.truncated = True
            self._drop(next(iter(self._alerts)))

    def _drop(self, seq: int) -> None:
        alert = self._alerts.pop(seq, None)
        if alert is not None:
            self._unfile(alert)

    def _apply_snapshot(self, snapshot: Mapping[str, Any], args: Mapping[str, Any]) -> None:
        seq = snapshot.get("seq")
        if not isinstance(seq, int):
            return
        state = str(snapshot.get("state") or OPEN)
        if state == RESOLVED:
            self._drop(seq)
            return
        alert = self._alerts.get(seq)
        if alert is None:
            # e.g. a link moved an alert into this wall's scope: its snapshot is the whole alert
            self._open(seq, snapshot, ticker=False)
            alert = self._alerts.get(seq)
            if alert is None:
                return
        if args.get("asset_name"):
            alert.device = str(args["asset_name"])
        if args.get("partner_name"):
            alert.client = str(args["partner_name"])
        sa_ids = _sa_ids(snapshot)
        if sa_ids != alert.sa_ids:
            self._unfile(alert)
            alert.sa_ids = sa_ids
            alert.state = state
            self._file(alert)
        elif state != alert.state:
            alert.state = state
            for tally in alert.pages:
                if state == OPEN:
                    tally.mark_unhandled(seq)
                else:
                    tally.unhandled.pop(seq, None)

    # ---------------------------------------------------------------- reading
    def open_count(self) -> int:
        """Open alerts tracked (all pages)."""
        return len(self._alerts)

    def figures(self, key: str) -> PageFigures:
        """Counts, unhandled and oldest unhandled alert of the page ``key``."""
        tally = self._tallies[key]
        oldest_seq = tally.oldest_seq()
        oldest = None
        if oldest_seq is not None:
            alert = self._alerts[oldest_seq]
            device, client = alert.device, alert.client
            if not device and alert.device_id:
                named = self.names(alert.device_id)
                device, client = named if named else (alert.device_id[:13], client)
            oldest = OldestAlert(
                alert.seq,
                alert.title,
                device,
                client,
                SEVERITIES[alert.severity],
                alert.opened_at,
            )
        return PageFigures(tally.page, tuple(tally.counts), len(tally.unhandled), oldest)

    def ticker_for(self, page: WallPage, limit: int) -> list[TickerItem]:
        """The newest ``limit`` new alerts of ``page``, newest first."""
        items: list[TickerItem] = []
        for item in reversed(self.ticker):
            alert = self._alerts.get(item.seq)
            if alert is not None:  # still open: where it belongs now (a link may have moved it)
                item = item._replace(sa_ids=alert.sa_ids, device=alert.device or item.device)
            if page.holds(item.sa_ids):
                items.append(item)
                if len(items) == limit:
                    break
        return items

    def device_ids_shown(self, keys: Iterable[str], ticker_limit: int) -> set[str]:
        """Device ids the wall would show without a name (to resolve them in one lookup)."""
        wanted: set[str] = set()
        for key in keys:
            tally = self._tallies.get(key)
            if tally is None:
                continue
            oldest = tally.oldest_seq()
            if oldest is not None:
                alert = self._alerts[oldest]
                if not alert.device and alert.device_id:
                    wanted.add(alert.device_id)
            wanted.update(
                i.device_id for i in self.ticker_for(tally.page, ticker_limit) if not i.device
            )
        wanted.discard("")
        return wanted
