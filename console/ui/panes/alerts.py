"""The Alerts pane: live from the relay's event stream, keyboard-first triage.

Rows are alerts keyed by the seq of the event that opened them (``alert_seq``). A repeat of an
open alert raises that row's count; a state row (claim, ack, snooze, resolve, link) replaces the
row's state with the snapshot it carries. Applying rows in seq order is idempotent, so a resume
after a disconnect (which may replay a few rows) never double-counts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import httpx
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence

from console.domain.names import ClientAsset
from console.odoo.gateway import OdooGateway
from console.relay.client import RelayAuthError, RelayClient, RelayError, StreamMessage
from console.ui.formatting import age_of, parse_odoo_datetime
from console.ui.models.records import Column, Row
from console.ui.panes.pane import TablePane, html_table

log = logging.getLogger(__name__)

ALERT_KINDS = frozenset({"alert", "incident.opened"})
STATE_KIND = "state"
SEVERITY_ORDER = {"critical": 0, "elevated": 1, "normal": 2, "low": 3}
SEVERITY_COLOURS = {
    "critical": "#d64545",
    "elevated": "#e8833a",
    "normal": "#3c8fb5",
    "low": "#8a8f98",
}
SEVERITY_ICONS = {"critical": "⬤", "elevated": "▲", "normal": "●", "low": "○"}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_SNOOZE = timedelta(hours=1)


def severity(row: Mapping[str, Any]) -> str:
    return str(row.get("priority") or "normal").strip().lower()


def _severity_colour(row: Mapping[str, Any]) -> Any:
    colour = SEVERITY_COLOURS.get(severity(row))
    return QColor(colour) if colour else None


def _device(row: Mapping[str, Any]) -> str:
    payload = row.get("payload") or {}
    return str(
        row.get("device_name")
        or payload.get("hostname")
        or payload.get("Name")
        or (row.get("device_id") or "")[:13]
    )


COLUMNS = [
    Column(
        "priority",
        "Severity",
        95,
        display=lambda r: f"{SEVERITY_ICONS.get(severity(r), '●')} {severity(r).capitalize()}",
        sort_value=lambda r: SEVERITY_ORDER.get(severity(r), 9),
        roles={int(Qt.ItemDataRole.ForegroundRole): _severity_colour},
    ),
    Column("device_name", "Device", 150, display=_device),
    Column("client_name", "Client", 170, display=lambda r: str(r.get("client_name") or "")),
    Column("title", "Title", 280),
    Column(
        "last_seen",
        "Age",
        70,
        display=lambda r: age_of(r.get("received_at")),
        sort_value=lambda r: -(parse_odoo_datetime(r.get("received_at")) or _EPOCH).timestamp(),
        alignment=_RIGHT,
        filterable=False,
    ),
    Column("count", "Count", 60, sort_value=lambda r: r.get("count") or 0, alignment=_RIGHT),
    Column("state", "State", 90, display=lambda r: str(r.get("state") or "").capitalize()),
    Column("claimed_by", "Claimed by", 110),
]


def make_pane() -> TablePane:
    return TablePane("alerts", "Alerts", COLUMNS, key="seq", placeholder="Filter alerts (Ctrl+F)")


def alert_rows(message: StreamMessage) -> list[Row]:
    """What a stream message changes in the Alerts model (rows to upsert, keyed by ``seq``)."""
    data = message.data if isinstance(message.data, dict) else None
    if data is None:
        return []
    kind = data.get("kind")
    if kind == STATE_KIND:
        snapshot = (data.get("payload") or {}).get("alert")
        return [dict(snapshot)] if isinstance(snapshot, dict) else []
    if kind not in ALERT_KINDS:
        return []
    if data.get("repeat"):
        return [
            {
                "seq": data["alert_seq"],
                "count": data.get("count"),
                "last_seen": data.get("last_seen") or data.get("received_at"),
            }
        ]
    return [dict(data)]


class AlertFeed(QObject):
    """Feeds the Alerts pane from the relay: history then live, resuming after disconnects.

    Also resolves device ids to asset hostnames and clients (one Odoo RPC per batch) and raises
    a tray notification for new Critical alerts unless muted.
    """

    #: relay reachable (True) or not (False, with the reason)
    relayStateChanged = Signal(bool, str)
    #: a new Critical alert arrived (the row)
    criticalAlert = Signal(object)

    def __init__(
        self,
        pane: TablePane,
        client: RelayClient,
        gateway: OdooGateway | None,
        *,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.pane = pane
        self.client = client
        self.gateway = gateway
        self.last_seq = 0
        self.last_event_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._device_names: dict[str, tuple[str, str]] = {}
        self._unresolved: set[str] = set()
        self._resolve_timer = QTimer(self)
        self._resolve_timer.setSingleShot(True)
        self._resolve_timer.setInterval(200)
        self._resolve_timer.timeout.connect(self._resolve_devices)
        self._live = False
        self._lookups: set[asyncio.Future[None]] = set()

    def is_live(self) -> bool:
        """The stream caught up with history and is following live events."""
        return self._live

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        """Follow the stream; after any disconnect say so (banner), wait a jittered backoff and
        resume from the last seq seen, so nothing is missed and nothing is applied twice."""
        while True:
            try:
                async for message in self.client.stream(self.last_seq, reconnect=False):
                    self._apply(message)
                reason = "the relay closed the stream"
            except asyncio.CancelledError:
                raise
            except RelayAuthError as exc:
                self.relayStateChanged.emit(False, f"the relay refused this session: {exc}")
                log.warning("alert stream refused: %s", exc)
                return
            except (RelayError, httpx.HTTPError, OSError) as exc:
                reason = str(exc) or type(exc).__name__
            self._live = False
            self.relayStateChanged.emit(False, f"Relay unreachable ({reason}); reconnecting…")
            await asyncio.sleep(self.client.backoff.next_delay())

    def _apply(self, message: StreamMessage) -> None:
        if message.kind == "ready":
            self._live = True
            self.relayStateChanged.emit(True, self.client.base_url)
            return
        if message.seq is not None:
            self.last_seq = max(self.last_seq, message.seq)
            self.last_event_at = datetime.now(UTC)
        for row in alert_rows(message):
            self._upsert(row)

    def _upsert(self, row: Row) -> None:
        model = self.pane.model
        current = model.peek(row["seq"])  # includes rows still waiting for the next batch
        if current is None and "title" not in row:
            return  # a repeat of an alert outside what this console holds
        if current is not None and row.get("count") is not None:
            row["count"] = max(int(row["count"]), int(current.get("count") or 0))
        device_id = row.get("device_id") or (current or {}).get("device_id")
        if device_id:
            names = self._device_names.get(device_id.lower())
            if names:
                row["device_name"], row["client_name"] = names
            elif self.gateway is not None:
                self._unresolved.add(device_id.lower())
                if not self._resolve_timer.isActive():
                    self._resolve_timer.start()
        model.queue_upsert(row)
        if current is None and self._live and severity(row) == "critical":
            self.criticalAlert.emit(row)

    def _resolve_devices(self) -> None:
        pending, self._unresolved = self._unresolved, set()
        if pending and self.gateway is not None:
            self._lookups.add(task := asyncio.ensure_future(self._lookup(sorted(pending))))
            task.add_done_callback(self._lookups.discard)

    async def _lookup(self, device_ids: list[str]) -> None:
        assert self.gateway is not None
        try:
            with self.gateway.operation("alerts.devices"):
                assets = await self.gateway.search_read(
                    ClientAsset.MODEL,
                    [[ClientAsset.PULSEWAY_ID, "in", device_ids]],
                    [ClientAsset.PULSEWAY_ID, ClientAsset.NAME, ClientAsset.PARTNER],
                )
        except Exception as exc:  # names are a nicety; the alert shows without them
            log.info("could not resolve device names: %s", exc)
            return
        model = self.pane.model
        for asset in assets:
            client = asset[ClientAsset.PARTNER][1] if asset.get(ClientAsset.PARTNER) else ""
            names = (str(asset[ClientAsset.NAME]), str(client))
            self._device_names[str(asset[ClientAsset.PULSEWAY_ID]).lower()] = names
        for row_number, row in enumerate(model.records()):
            found = self._device_names.get(str(row.get("device_id") or "").lower())
            if found and row.get("device_name") != found[0]:
                model.queue_upsert(
                    {
                        "seq": model.record(row_number)["seq"],
                        "device_name": found[0],
                        "client_name": found[1],
                    }
                )


class AlertActions(QObject):
    """Claim / ack / snooze / resolve on the selected alerts, through the relay's state API.

    The result comes back on the stream (so every console, this one included, shows it the
    same way); a refusal is shown in the pane and nothing is changed locally.
    """

    def __init__(
        self,
        pane: TablePane,
        client: RelayClient,
        current_sa: Callable[[], int | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.pane = pane
        self.client = client
        self.current_sa = current_sa
        for keys, action, label in (
            ("C", "claim", "Claim"),
            ("A", "ack", "Acknowledge"),
            ("S", "snooze", "Snooze 1 hour"),
            ("R", "resolve", "Resolve"),
        ):
            qaction = QAction(label, pane.view)
            qaction.setShortcut(QKeySequence(keys))
            qaction.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            qaction.triggered.connect(lambda _checked=False, a=action: self.apply(a))
            pane.view.addAction(qaction)

    def apply(self, action: str) -> asyncio.Task[None] | None:
        records = self.pane.selected_records()
        if not records:
            return None
        return asyncio.ensure_future(self._send(action, [int(r["seq"]) for r in records]))

    async def _send(self, action: str, seqs: list[int]) -> None:
        args: dict[str, Any] = {}
        if action == "snooze":
            args["until"] = (datetime.now(UTC) + DEFAULT_SNOOZE).isoformat()
        failures = []
        for seq in seqs:
            try:
                await self.client.change_state(seq, action, sa=self.current_sa(), **args)
            except RelayError as exc:
                failures.append(f"#{seq}: {exc}")
        if failures:
            self.pane.show_status(
                f"Could not {action} {len(failures)} alert(s): " + "; ".join(failures[:3]),
                error=True,
            )
        else:
            self.pane.show_status("")


def sa_row_filter(sa_ids: set[int], sees_unmatched: bool) -> Callable[[Row], bool]:
    """Alerts of the SAs in force (the switcher narrows; the relay already bounds to the user's
    scope). Alerts with no SA yet are the unmatched queue: dispatchers and managers only."""

    def accepts(row: Row) -> bool:
        stamped = set(row.get("sa_ids") or ())
        if not stamped:
            return sees_unmatched
        return bool(stamped & sa_ids)

    return accepts


def detail_renderer(client: RelayClient) -> Callable[[Row], Any]:
    async def render(row: Row) -> str:
        detail = await client.event(int(row["seq"]))
        history = detail.get("history") or []
        items = "".join(
            f"<li>{escape(str(h.get('at', '')))} — <b>{escape(str(h.get('actor', '')))}</b> "
            f"{escape(str(h.get('action', '')))}</li>"
            for h in history
        )
        facts = html_table(
            {
                "Severity": severity(row).capitalize(),
                "Device": _device(row),
                "Client": row.get("client_name"),
                "Received": row.get("received_at"),
                "Last seen": row.get("last_seen"),
                "Repeats": row.get("count"),
                "State": row.get("state"),
                "Claimed by": row.get("claimed_by"),
                "Source": row.get("source"),
            }
        )
        payload = json.dumps(row.get("payload") or {}, indent=2, sort_keys=True)
        return (
            f"<h3>{escape(str(row.get('title') or ''))}</h3>{facts}"
            f"<h4>History</h4><ul>{items or '<li>no changes yet</li>'}</ul>"
            f"<h4>Raw payload</h4><pre>{escape(payload)}</pre>"
        )

    return render
