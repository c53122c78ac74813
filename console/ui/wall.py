"""``psa console --wall``: the NOC wall display. Full-screen, read-only, large type.

Per page (all SAs, then each SA in turn) it shows the open alerts by severity, the oldest
unhandled alert and its age, a ticker of new alerts, and along the bottom the relay and Odoo
status and the age of the newest data, which turns amber and then red when it gets stale.

It never asks twice for a password: the first start signs in through the login dialog (tick
"Remember password"), later starts take the password from the keyring; an unattended wall can
instead sign in with a read-only service login from the environment or ``[wall]`` in
``console.toml``. It never logs out: the relay session is renewed when it expires, the stream
resumes after a relay restart from the last seq it holds (nothing missed, nothing twice), and
Odoo is probed on a timer, so an Odoo restart only turns its status red for a while.

The counts live in :class:`console.ui.wall_model.WallModel` (bounded, incremental); this module
is the Qt shell around it: :class:`WallFeed` (relay stream, freshness probe, Odoo probe) and
:class:`WallWindow` (what is on the screen).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import tomllib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.domain.names import ClientAsset, Role
from console.odoo import errors
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership, load_memberships
from console.relay.client import Backoff, RelayAuthError, RelayClient, RelayError
from console.ui.formatting import humanize_age
from console.ui.panes.alerts import SEVERITY_COLOURS, SEVERITY_ICONS
from console.ui.wall_model import (
    ALL_PAGE,
    SEVERITIES,
    UNMATCHED_PAGE,
    PageFigures,
    WallModel,
    WallPage,
)

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_S = 60.0
STATUS_COLOURS = {"ok": "#3fb950", "amber": "#f0a020", "red": "#f85149"}
#: device id → (name, client) names kept for the wall's few visible rows
NAME_CACHE_SIZE = 2048


# ---------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class WallSettings:
    """How the wall behaves; ``[wall]`` in console.toml, each key overridable by ``PSA_WALL_*``."""

    #: seconds each page stays on screen when cycling
    cycle_seconds: float = 20.0
    #: data older than this shows amber, older than ``stale_red_seconds`` red
    stale_amber_seconds: float = 60.0
    stale_red_seconds: float = 300.0
    #: how often the relay is asked whether the wall holds everything (data age)
    probe_seconds: float = 15.0
    #: how often Odoo is checked (and the SA list refreshed)
    odoo_probe_seconds: float = 60.0
    #: rows in the ticker of new alerts
    ticker_rows: int = 6
    #: a read-only service login (password: PSA_ODOO_PASSWORD or the keyring)
    odoo_url: str | None = None
    odoo_db: str | None = None
    odoo_user: str | None = None

    def level(self, age: float | None) -> str:
        """``ok``, ``amber`` or ``red`` for data ``age`` seconds old (None: no data yet)."""
        if age is None or age >= self.stale_red_seconds:
            return "red"
        if age >= self.stale_amber_seconds:
            return "amber"
        return "ok"


_NUMBER_KEYS = (
    "cycle_seconds",
    "stale_amber_seconds",
    "stale_red_seconds",
    "probe_seconds",
    "odoo_probe_seconds",
)


def load_wall_settings(config: Path | None, env: dict[str, str] | None = None) -> WallSettings:
    """``[wall]`` of ``config`` (if it exists), then ``PSA_WALL_<KEY>`` from the environment.

    Raises ``ValueError`` with a message naming the key for a bad value.
    """
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    if config is not None and config.exists():
        try:
            document = tomllib.loads(config.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"cannot read {config}: {exc}") from exc
        section = document.get("wall") or {}
        if not isinstance(section, dict):
            raise ValueError(f"{config}: [wall] must be a table")
        unknown = set(section) - {f for f in WallSettings.__dataclass_fields__}
        if unknown:
            raise ValueError(f"{config}: unknown [wall] key(s): {', '.join(sorted(unknown))}")
        values.update(section)
    for name in WallSettings.__dataclass_fields__:
        text = env.get(f"PSA_WALL_{name.upper()}")
        if text is not None and text.strip():
            values[name] = text.strip()
    if "odoo_url" not in values and env.get("PSA_ODOO_URL"):
        values["odoo_url"] = env["PSA_ODOO_URL"]
    if "odoo_db" not in values and env.get("PSA_ODOO_DB"):
        values["odoo_db"] = env["PSA_ODOO_DB"]
    if "odoo_user" not in values and env.get("PSA_ODOO_USER"):
        values["odoo_user"] = env["PSA_ODOO_USER"]
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        if name in _NUMBER_KEYS:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"wall setting {name} must be a number, not {value!r}") from None
            if number <= 0:
                raise ValueError(f"wall setting {name} must be positive, not {number}")
            parsed[name] = number
        elif name == "ticker_rows":
            try:
                rows = int(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"wall setting ticker_rows must be a whole number: {value!r}"
                ) from None
            if not 1 <= rows <= 20:
                raise ValueError(f"wall setting ticker_rows must be 1..20, not {rows}")
            parsed[name] = rows
        else:
            if not isinstance(value, str):
                raise ValueError(f"wall setting {name} must be text")
            parsed[name] = value.strip() or None
    settings = WallSettings(**parsed)
    if settings.stale_amber_seconds >= settings.stale_red_seconds:
        raise ValueError(
            "wall setting stale_amber_seconds must be below stale_red_seconds "
            f"({settings.stale_amber_seconds:g} >= {settings.stale_red_seconds:g})"
        )
    return settings


def pages_for(
    memberships: Sequence[Membership], *, sees_unmatched: bool, only: str | None = None
) -> list[WallPage]:
    """The wall's pages: "All SAs", one per SA (with the SAs below it), and "Unmatched".

    With ``only`` (``--sa NAME``) just that SA; raises ``LookupError`` naming the choices when
    the user is not a member of it.
    """
    sa_pages = [
        WallPage(f"sa:{m.sa_id}", m.sa_name, frozenset((m.sa_id, *m.descendants)))
        for m in memberships
    ]
    if only is not None:
        wanted = only.casefold()
        chosen = [p for p in sa_pages if p.title.casefold() == wanted]
        if not chosen:
            names = ", ".join(p.title for p in sa_pages) or "none"
            raise LookupError(f"You are not a member of an SA named {only!r} (yours: {names}).")
        return chosen
    pages = [WallPage(ALL_PAGE, "Total"), *sa_pages]
    if sees_unmatched:
        pages.append(WallPage(UNMATCHED_PAGE, "Unmatched", frozenset(), unmatched=True))
    return pages


# ---------------------------------------------------------------------------------- the feed
RelayFactory = Callable[[], Awaitable[RelayClient]]
OdooFactory = Callable[[], Awaitable[OdooGateway]]


class WallFeed(QObject):
    """Keeps a :class:`WallModel` current from the relay, and knows how fresh it is.

    * the relay's snapshot (open alerts and the last day's, so a restart does not replay
      months of history), then the stream, live; after any failure a jittered backoff and a
      resume from the last seq held. Never gives up (an unattended wall has nobody to press
      Retry). A relay without the snapshot is replayed from its first event;
    * every ``probe_seconds`` while live: ``GET /api/events?after=<last seq>&limit=1``; an
      empty answer proves the wall holds everything, which is what the data age measures;
    * every ``odoo_probe_seconds``: the user's SAs from Odoo (status, and the page list).
    """

    changed = Signal()
    relayStateChanged = Signal(bool, str)
    odooStateChanged = Signal(bool, str)
    pagesChanged = Signal()

    def __init__(
        self,
        model: WallModel,
        *,
        relay: RelayFactory,
        odoo: OdooFactory | None,
        settings: WallSettings,
        sa_filter: str | None = None,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.settings = settings
        self.clock = clock
        self.sa_filter = sa_filter
        self.client: RelayClient | None = None
        self.gateway: OdooGateway | None = None
        self.relay_ok = False
        self.relay_detail = "connecting…"
        self.odoo_ok: bool | None = None if odoo is not None else False
        self.odoo_detail = "signing in…" if odoo is not None else "not configured"
        #: clock() when the relay last confirmed that the wall holds everything
        self.last_sync: float | None = None
        self.pages_loaded = odoo is None
        self.problem = ""
        self._relay_factory = relay
        self._odoo_factory = odoo
        self._backoff = backoff or Backoff(base=1.0, cap=60.0)
        self._live = False
        self._started = False  # the snapshot is applied (or the relay has none)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stream_task: asyncio.Task[None] | None = None
        self._names: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._looking_up: set[str] = set()
        model.names = self._name_of
        self._probe_timer = QTimer(self)
        self._probe_timer.setInterval(int(settings.probe_seconds * 1000))
        self._probe_timer.timeout.connect(lambda: self._spawn(self._probe_relay()))
        self._odoo_timer = QTimer(self)
        self._odoo_timer.setInterval(int(settings.odoo_probe_seconds * 1000))
        self._odoo_timer.timeout.connect(lambda: self._spawn(self._probe_odoo()))

    # ---------------------------------------------------------------- lifecycle
    def is_live(self) -> bool:
        """History is in and the stream follows live events."""
        return self._live

    def start(self) -> None:
        if self._stream_task is None or self._stream_task.done():
            self._stream_task = self._spawn(self._follow())
        if self._odoo_factory is not None:
            self._spawn(self._probe_odoo())
            self._odoo_timer.start()
        self._probe_timer.start()

    def stop(self) -> None:
        self._probe_timer.stop()
        self._odoo_timer.stop()
        for task in list(self._tasks):
            task.cancel()
        self._stream_task = None

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---------------------------------------------------------------- relay
    def _set_relay(self, ok: bool, detail: str) -> None:
        changed = (ok, detail) != (self.relay_ok, self.relay_detail)
        self.relay_ok, self.relay_detail = ok, detail
        if changed:
            self.relayStateChanged.emit(ok, detail)

    async def _follow(self) -> None:
        while True:
            try:
                if self.client is None:
                    self.client = await self._relay_factory()
                if not self._started:
                    snapshot = await self.client.snapshot()
                    self._started = True
                    if snapshot is not None:
                        self.model.apply_all(snapshot.rows())
                        # rows newer than its last seq come again on the stream, in order
                        self.model.last_seq = snapshot.last_seq
                        self.changed.emit()
                async for message in self.client.stream(self.model.last_seq, reconnect=False):
                    if message.kind == "ready":
                        self._live = True
                        self.last_sync = self.clock()
                        self._backoff.reset()
                        self._set_relay(True, self.client.base_url)
                        self.changed.emit()
                    elif message.seq is not None and isinstance(message.data, dict):
                        self.model.apply(message.data)
                        if self._live:
                            self.last_sync = self.clock()
                        self.changed.emit()
                reason = "the relay closed the stream"
            except asyncio.CancelledError:
                raise
            except RelayAuthError as exc:
                # the stored password no longer works: say so, and keep trying (it may be
                # fixed in the keyring or the service account without touching the wall)
                reason = f"the relay refused the wall's login ({exc})"
            except (RelayError, httpx.HTTPError, OSError, errors.OdooGatewayError) as exc:
                reason = str(exc) or type(exc).__name__
            self._live = False
            self._set_relay(False, f"{reason}; reconnecting…")
            self.changed.emit()
            await asyncio.sleep(self._backoff.next_delay())

    async def _probe_relay(self) -> None:
        client = self.client
        if client is None or not self._live:
            return
        last = self.model.last_seq
        try:
            page = await client.events(after=last, limit=1)
        except (RelayError, httpx.HTTPError, OSError) as exc:
            log.info("wall: relay freshness probe failed: %s", exc)
            return
        if not page.events and self._live:
            self.last_sync = self.clock()
            self.changed.emit()

    # ---------------------------------------------------------------- odoo
    def _set_odoo(self, ok: bool, detail: str) -> None:
        changed = (ok, detail) != (self.odoo_ok, self.odoo_detail)
        self.odoo_ok, self.odoo_detail = ok, detail
        if changed:
            self.odooStateChanged.emit(ok, detail)
            self.changed.emit()

    async def _probe_odoo(self) -> None:
        if self._odoo_factory is None:
            return
        try:
            if self.gateway is None:
                self.gateway = await self._odoo_factory()
            memberships = await load_memberships(self.gateway)
        except asyncio.CancelledError:
            raise
        except errors.OdooGatewayError as exc:
            self._set_odoo(False, str(exc))
            return
        except Exception as exc:  # a wall never dies of a probe; the log has the details
            log.exception("wall: Odoo probe failed")
            self._set_odoo(False, f"{type(exc).__name__}: {exc}")
            return
        sees_unmatched = any(m.role is not Role.TECHNICIAN for m in memberships)
        try:
            pages = pages_for(memberships, sees_unmatched=sees_unmatched, only=self.sa_filter)
        except LookupError as exc:
            self.problem = str(exc)
            pages = []
        else:
            self.problem = "" if memberships else "This login is not a member of any SA."
        self._set_odoo(True, self.gateway.endpoint.url)
        if pages != self.model.pages or not self.pages_loaded:
            self.model.set_pages(pages)
            self.pages_loaded = True
            self.pagesChanged.emit()
            self.changed.emit()

    # ---------------------------------------------------------------- device names
    def _name_of(self, device_id: str) -> tuple[str, str] | None:
        return self._names.get(device_id.lower())

    def resolve_names(self, device_ids: set[str]) -> None:
        """Look up the asset names of the devices shown (one RPC, a bounded cache)."""
        gateway = self.gateway
        wanted = {d.lower() for d in device_ids} - set(self._names) - self._looking_up
        if not wanted or gateway is None or not self.odoo_ok:
            return
        self._looking_up |= wanted
        self._spawn(self._lookup(gateway, sorted(wanted)))

    async def _lookup(self, gateway: OdooGateway, device_ids: list[str]) -> None:
        try:
            with gateway.operation("wall.devices"):
                assets = await gateway.search_read(
                    ClientAsset.MODEL,
                    [[ClientAsset.PULSEWAY_ID, "in", device_ids]],
                    [ClientAsset.PULSEWAY_ID, ClientAsset.NAME, ClientAsset.PARTNER],
                )
        except Exception as exc:  # names are a nicety: the id shows without them
            log.info("wall: could not resolve device names: %s", exc)
            return
        finally:
            self._looking_up.difference_update(device_ids)
        for asset in assets:
            partner = asset.get(ClientAsset.PARTNER)
            client = str(partner[1]) if partner else ""
            self._names[str(asset[ClientAsset.PULSEWAY_ID]).lower()] = (
                str(asset[ClientAsset.NAME]),
                client,
            )
        for device_id in device_ids:  # unknown devices: remember the miss too
            self._names.setdefault(device_id, (device_id[:13], ""))
        while len(self._names) > NAME_CACHE_SIZE:
            self._names.popitem(last=False)
        self.changed.emit()

    def data_age(self) -> float | None:
        """Seconds since the relay last confirmed the wall is complete (None: never)."""
        return None if self.last_sync is None else max(0.0, self.clock() - self.last_sync)


# ---------------------------------------------------------------------------------- the window
_WALL_QSS = """
QWidget#wall {{ background: #0d1117; color: #e6edf3; }}
QWidget#wall QLabel {{ color: #e6edf3; font-size: {unit}px; }}
QWidget#wall QLabel#wallTitle {{ font-size: {title}px; font-weight: 600; }}
QWidget#wall QLabel#wallClock, QWidget#wall QLabel#wallPageIndex {{ font-size: {title}px; color: #8b949e; }}
QWidget#wall QFrame#wallTile {{ border-radius: {radius}px; background: #161b22; }}
QWidget#wall QLabel#tileCount {{ font-size: {count}px; font-weight: 700; }}
QWidget#wall QLabel#tileName {{ font-size: {unit}px; color: #8b949e; }}
QWidget#wall QLabel#wallOldest {{ font-size: {large}px; }}
QWidget#wall QLabel#wallSectionTitle {{ font-size: {small}px; color: #8b949e; }}
QWidget#wall QLabel#tickerRow {{ font-size: {unit}px; }}
QWidget#wall QLabel#summaryHeader {{ font-size: {small}px; color: #8b949e; }}
QWidget#wall QLabel#summaryCell {{ font-size: {large}px; }}
QWidget#wall QLabel#wallStatus {{ font-size: {large}px; font-weight: 600; }}
QWidget#wall QLabel#wallNotice {{ font-size: {small}px; color: #f0a020; }}
"""


def _severity_label(name: str) -> str:
    return f"{SEVERITY_ICONS.get(name, '●')} {name.capitalize()}"


class _Tile(QFrame):
    """One big number: open alerts of one severity."""

    def __init__(self, severity: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("wallTile")
        self.count = QLabel("–", self)
        self.count.setObjectName("tileCount")
        self.count.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.count.setStyleSheet(f"color: {SEVERITY_COLOURS[severity]};")
        self.name = QLabel(_severity_label(severity), self)
        self.name.setObjectName("tileName")
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count, 1)
        layout.addWidget(self.name)


class _SaPageView(QWidget):
    """One SA (or all of them): four tiles, the oldest unhandled alert, the ticker."""

    def __init__(self, rows: int, parent: QWidget) -> None:
        super().__init__(parent)
        self.tiles = {s: _Tile(s, self) for s in SEVERITIES}
        tiles = QHBoxLayout()
        for severity in SEVERITIES:
            tiles.addWidget(self.tiles[severity], 1)
        self.unhandled = QLabel(self)
        self.unhandled.setObjectName("wallSectionTitle")
        self.oldest = QLabel(self)
        self.oldest.setObjectName("wallOldest")
        self.oldest.setTextFormat(Qt.TextFormat.PlainText)
        ticker_title = QLabel("New alerts", self)
        ticker_title.setObjectName("wallSectionTitle")
        # a fixed set of rows whose text changes: nothing accumulates however long it runs
        self.ticker = [QLabel(self) for _ in range(rows)]
        layout = QVBoxLayout(self)
        layout.addLayout(tiles, 5)
        layout.addWidget(self.unhandled)
        layout.addWidget(self.oldest)
        layout.addSpacing(8)
        layout.addWidget(ticker_title)
        for row in self.ticker:
            row.setObjectName("tickerRow")
            row.setTextFormat(Qt.TextFormat.PlainText)
            layout.addWidget(row)
        layout.addStretch(1)


class _SummaryView(QWidget):
    """Every page on one screen: a row per SA with its counts and oldest unhandled age."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setHorizontalSpacing(24)
        self.cells: dict[str, list[QLabel]] = {}
        self._headers: list[QLabel] = []

    def set_pages(self, pages: Sequence[WallPage]) -> None:
        """Rebuilt only when the SA list changes (rare); counts change label texts in place."""
        for labels in self.cells.values():
            for label in labels:
                self.grid.removeWidget(label)
                label.deleteLater()
        for label in self._headers:
            self.grid.removeWidget(label)
            label.deleteLater()
        self.cells, self._headers = {}, []
        for row in range(self.grid.rowCount()):
            self.grid.setRowStretch(row, 0)
        headers = [
            "Serviced Account",
            *(_severity_label(s) for s in SEVERITIES),
            "Oldest unhandled",
        ]
        for column, text in enumerate(headers):
            label = QLabel(text, self)
            label.setObjectName("summaryHeader")
            if 1 <= column <= len(SEVERITIES):
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(label, 0, column)
            self._headers.append(label)
        for row, page in enumerate(pages, start=1):
            labels = []
            for column in range(len(headers)):
                label = QLabel(page.title if column == 0 else "–", self)
                label.setObjectName("summaryCell")
                if 1 <= column <= len(SEVERITIES):
                    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    label.setStyleSheet(f"color: {SEVERITY_COLOURS[SEVERITIES[column - 1]]};")
                self.grid.addWidget(label, row, column)
                labels.append(label)
            self.cells[page.key] = labels
        self.grid.setRowStretch(len(pages) + 1, 1)


class WallWindow(QWidget):
    """The wall: read-only (no editing action anywhere), sized for reading from 5 m."""

    #: the page on screen changed (its key, or "summary")
    pageChanged = Signal(str)

    def __init__(
        self, feed: WallFeed, settings: WallSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wall")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setWindowTitle("PSA NOC wall")
        self.feed = feed
        self.model = feed.model
        self.settings = settings
        self.views: list[str] = []
        self.index = 0
        self.paused = False

        self.title = QLabel(self)
        self.title.setObjectName("wallTitle")
        self.page_index = QLabel(self)
        self.page_index.setObjectName("wallPageIndex")
        self.clock = QLabel(self)
        self.clock.setObjectName("wallClock")
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.page_index)
        header.addSpacing(24)
        header.addWidget(self.clock)

        self.stack = QStackedWidget(self)
        self.page_view = _SaPageView(settings.ticker_rows, self.stack)
        self.summary_view = _SummaryView(self.stack)
        self.stack.addWidget(self.page_view)
        self.stack.addWidget(self.summary_view)

        self.relay_status = QLabel(self)
        self.odoo_status = QLabel(self)
        self.data_age = QLabel(self)
        footer = QHBoxLayout()
        for label in (self.relay_status, self.odoo_status, self.data_age):
            label.setObjectName("wallStatus")
            footer.addWidget(label, 1)
        self.notice = QLabel(self)
        self.notice.setObjectName("wallNotice")
        self.notice.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.notice)
        layout.addLayout(footer)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(1000)
        self._refresh_timer.timeout.connect(self.refresh)
        # bursts of events: at most a few repaints a second
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(250)
        self._coalesce.timeout.connect(self.refresh)
        self._cycle_timer = QTimer(self)
        self._cycle_timer.setInterval(int(settings.cycle_seconds * 1000))
        self._cycle_timer.timeout.connect(self.next_page)
        feed.changed.connect(self._schedule_refresh)
        feed.pagesChanged.connect(self._rebuild_views)
        self._install_keys()
        self._rebuild_views()
        self._apply_scale(768)

    # ---------------------------------------------------------------- keys (no editing)
    def _install_keys(self) -> None:
        def add(keys: Sequence[str], handler: Callable[[], object], name: str) -> None:
            action = QAction(name, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(handler)
            self.addAction(action)

        add(["Right", "Space", "PgDown"], self.next_page, "Next page")
        add(["Left", "PgUp"], self.previous_page, "Previous page")
        add(["P"], self.toggle_pause, "Pause cycling")
        add(["F11"], self.toggle_full_screen, "Full screen")
        add(["Ctrl+Q"], self.close, "Quit")

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._cycle_timer.stop()
        elif len(self.views) > 1:
            self._cycle_timer.start()
        self.refresh()

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    # ---------------------------------------------------------------- pages
    def _rebuild_views(self) -> None:
        pages = self.model.pages
        sa_pages = [p.key for p in pages if p.key not in (ALL_PAGE, UNMATCHED_PAGE)]
        if len(sa_pages) > 1:
            self.views = ["summary", *sa_pages]
        elif sa_pages:
            self.views = sa_pages
        else:
            self.views = [p.key for p in pages[:1]]
        self.summary_view.set_pages(pages)
        self.index = min(self.index, max(0, len(self.views) - 1))
        if len(self.views) > 1 and not self.paused:
            self._cycle_timer.start()
        else:
            self._cycle_timer.stop()
        self.refresh()

    def current_view(self) -> str | None:
        return self.views[self.index] if self.views else None

    def show_view(self, index: int) -> None:
        if not self.views:
            return
        self.index = index % len(self.views)
        self.refresh()
        self.pageChanged.emit(self.views[self.index])
        if self._cycle_timer.isActive():
            self._cycle_timer.start()  # a manual move gives the page its full time

    def next_page(self) -> None:
        self.show_view(self.index + 1)

    def previous_page(self) -> None:
        self.show_view(self.index - 1)

    # ---------------------------------------------------------------- drawing
    def start(self) -> None:
        self.feed.start()
        self._refresh_timer.start()

    def _schedule_refresh(self) -> None:
        if not self._coalesce.isActive():
            self._coalesce.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._apply_scale(event.size().height())
        super().resizeEvent(event)

    def _apply_scale(self, height: int) -> None:
        # type scaled to the screen: a 1080-line screen gets 36 px body text and 150 px counts
        unit = max(14, height // 30)
        self.setStyleSheet(
            _WALL_QSS.format(
                unit=unit,
                small=max(12, int(unit * 0.8)),
                large=int(unit * 1.25),
                title=int(unit * 1.5),
                count=max(40, height // 7),
                radius=max(6, unit // 3),
            )
        )

    def refresh(self) -> None:
        """Redraw from the model and the feed (every second, and soon after a change)."""
        now = self.feed.clock()
        self.clock.setText(datetime.fromtimestamp(now).strftime("%H:%M"))
        view = self.current_view()
        if view is None:
            self.title.setText(self.feed.problem or "Loading the Serviced Accounts…")
            self.page_index.setText("")
        elif view == "summary":
            self._draw_summary(now)
        else:
            self._draw_page(self.model.figures(view), now)
        if len(self.views) > 1:
            self.page_index.setText(
                f"{self.index + 1} / {len(self.views)}" + (" (paused)" if self.paused else "")
            )
        self._draw_status(now)
        keys = [k for k in self.views if k != "summary"] or [p.key for p in self.model.pages]
        self.feed.resolve_names(self.model.device_ids_shown(keys, self.settings.ticker_rows))

    def _draw_page(self, figures: PageFigures, now: float) -> None:
        self.stack.setCurrentWidget(self.page_view)
        self.title.setText(figures.page.title)
        view = self.page_view
        for severity, count in zip(SEVERITIES, figures.counts, strict=True):
            view.tiles[severity].count.setText(f"{count:,}")
        view.unhandled.setText(
            f"{figures.total:,} open · {figures.unhandled:,} unhandled — oldest unhandled:"
        )
        oldest = figures.oldest
        if oldest is None:
            view.oldest.setText(
                "none: every open alert has someone on it" if figures.total else "no open alerts"
            )
        else:
            where = " · ".join(p for p in (oldest.device, oldest.client) if p)
            age = humanize_age(now - oldest.opened_at) if oldest.opened_at else "?"
            view.oldest.setText(
                f"{age}  {SEVERITY_ICONS.get(oldest.severity, '●')} {oldest.title}"
                + (f" — {where}" if where else "")
            )
        items = self.model.ticker_for(figures.page, len(view.ticker))
        for label, item in zip(view.ticker, [*items, *[None] * len(view.ticker)], strict=False):
            if item is None:
                label.setText("")
                continue
            device = item.device
            if not device and item.device_id:
                named = self.feed._name_of(item.device_id)
                device = named[0] if named else item.device_id[:13]
            at = datetime.fromtimestamp(item.at).strftime("%H:%M") if item.at else "--:--"
            label.setText(
                f"{at}  {SEVERITY_ICONS.get(item.severity, '●')} {item.title}"
                + (f" — {device}" if device else "")
            )
            label.setStyleSheet(f"color: {SEVERITY_COLOURS.get(item.severity, '#e6edf3')};")

    def _draw_summary(self, now: float) -> None:
        self.stack.setCurrentWidget(self.summary_view)
        self.title.setText("All Serviced Accounts")
        for key, labels in self.summary_view.cells.items():
            figures = self.model.figures(key)
            for column, count in enumerate(figures.counts, start=1):
                labels[column].setText(f"{count:,}")
            oldest = figures.oldest
            labels[-1].setText(
                humanize_age(now - oldest.opened_at) if oldest and oldest.opened_at else "–"
            )

    def _draw_status(self, now: float) -> None:
        feed = self.feed
        relay_level = "ok" if feed.relay_ok else "red"
        self._set_status(
            self.relay_status,
            "Relay: live" if feed.relay_ok else "Relay: unavailable",
            relay_level,
            feed.relay_detail,
        )
        if feed.odoo_ok is None:
            odoo_text, odoo_level = "Odoo: connecting", "amber"
        elif feed.odoo_ok:
            odoo_text, odoo_level = "Odoo: connected", "ok"
        else:
            odoo_text, odoo_level = "Odoo: unavailable", "red"
        self._set_status(self.odoo_status, odoo_text, odoo_level, feed.odoo_detail)
        age = feed.data_age()
        level = self.settings.level(age)
        self._set_status(
            self.data_age,
            "Data: none yet" if age is None else f"Data age: {humanize_age(age)}",
            level,
            "time since the relay last confirmed this wall holds every event",
        )
        notices = []
        if feed.problem:
            notices.append(feed.problem)
        if not feed.relay_ok:
            notices.append(f"Relay: {feed.relay_detail}")
        if feed.odoo_ok is False and feed.odoo_detail != "not configured":
            notices.append(f"Odoo: {feed.odoo_detail}")
        if self.model.truncated:
            notices.append(
                f"More than {self.model.max_open:,} open alerts: counts show the newest ones."
            )
        self.notice.setText("   ·   ".join(notices))
        self.notice.setVisible(bool(notices))

    @staticmethod
    def _set_status(label: QLabel, text: str, level: str, detail: str) -> None:
        label.setText(f"● {text}")
        label.setToolTip(detail)
        if label.property("level") != level:
            label.setProperty("level", level)
            label.setStyleSheet(f"color: {STATUS_COLOURS[level]};")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._refresh_timer.stop()
        self._cycle_timer.stop()
        self.feed.stop()
        super().closeEvent(event)


async def wait_wall_ready(window: WallWindow) -> None:
    """Resolve once the SA pages are loaded and the stream is live (for --screenshot, tests)."""
    feed = window.feed
    ready = asyncio.Event()

    def check() -> None:
        if feed.is_live() and feed.pages_loaded:
            ready.set()

    feed.changed.connect(check)
    check()
    try:
        await ready.wait()
    finally:
        feed.changed.disconnect(check)
    window.refresh()


# ---------------------------------------------------------------------------------- sign-in
@dataclass
class WallLogin:
    """Where the wall's Odoo login comes from; ``password`` never leaves memory."""

    url: str
    db: str
    login: str
    password: str
    origin: str  # "service login" or "keyring"


def stored_login(settings: QSettings, wall: WallSettings) -> WallLogin | None:
    """The service login (env / ``[wall]``), else the remembered login with its keyring
    password; None when neither is complete (the first start then shows the login dialog)."""
    from console.ui.login import load_password

    if wall.odoo_url and wall.odoo_db and wall.odoo_user:
        password = os.environ.get("PSA_ODOO_PASSWORD") or load_password(
            wall.odoo_url, wall.odoo_db, wall.odoo_user
        )
        if password:
            return WallLogin(wall.odoo_url, wall.odoo_db, wall.odoo_user, password, "service login")
    url = str(settings.value("login/url", "") or "")
    db = str(settings.value("login/db", "") or "")
    login = str(settings.value("login/login", "") or "")
    if url and db and login:
        password = load_password(url, db, login)
        if password:
            return WallLogin(url, db, login, password, "keyring")
    return None


async def run_wall(args: argparse.Namespace, settings: QSettings, closed: asyncio.Event) -> int:
    """``psa console --wall`` (``--demo``, ``--sa``, ``--screenshot`` apply)."""
    from console.ui.app import ConsoleFailure, demo_settings_path, open_relay, relay_url

    config = Path(args.config) if args.config else _default_config()
    try:
        wall = load_wall_settings(config)
    except ValueError as exc:
        raise ConsoleFailure(str(exc)) from None
    demo: Any = None
    feed: WallFeed | None = None
    relay_factory: RelayFactory
    odoo_factory: OdooFactory | None
    try:
        if args.demo:
            from console.ui.demo import start_demo  # only --demo imports the sandboxes

            print("psa console: starting the demo services…", file=sys.stderr)
            try:
                demo = await start_demo(getattr(args, "login", None) or "dispatch")
            except ValueError as exc:
                raise ConsoleFailure(str(exc)) from None
            relay_factory = _ready(demo.relay_client)
            odoo_factory = _ready(demo.gateway)
            settings = QSettings(str(demo_settings_path()), QSettings.Format.IniFormat)
        else:
            url = relay_url(args)
            if not url:
                raise ConsoleFailure(
                    "the wall needs the relay: set PSA_RELAY_URL or relay_url in the [console] "
                    "section of console.toml"
                )
            login = stored_login(settings, wall)
            gateway: OdooGateway | None = None
            if login is None:
                # the first start: sign in once; "Remember password" makes it the last time
                from console.ui.app import _login_interactively

                gateway, credentials = await _login_interactively(
                    settings, getattr(args, "login", None)
                )
                if gateway is None or credentials is None:
                    return 1
                login = WallLogin(
                    gateway.endpoint.url, gateway.db, credentials[0], credentials[1], "dialog"
                )
                if not settings.value("login/remember", False, type=bool):
                    print(
                        "psa console: the password was not remembered, so the wall will ask "
                        "again on its next start (tick 'Remember password' to avoid that)",
                        file=sys.stderr,
                    )
            else:
                log.info("wall: signing in as %s (%s)", login.login, login.origin)
            odoo_factory = _odoo_connector(login, gateway)
            admin_token = os.environ.get("PSA_RELAY_ADMIN_TOKEN", "").strip()
            if admin_token:
                relay_factory = _ready(RelayClient(url, token=admin_token))
            else:
                signed = login

                async def relay_factory() -> RelayClient:
                    return await open_relay(url, signed.login, signed.password)

        model = WallModel()
        feed = WallFeed(
            model,
            relay=relay_factory,
            odoo=odoo_factory,
            settings=wall,
            sa_filter=args.sa,
        )
        window = WallWindow(feed, wall)
        window.start()
        if args.screenshot:
            window.resize(1920, 1080)
            window.show()
            await _screenshot(window, Path(args.screenshot))
            window.close()
            return 0
        window.showFullScreen()
        await closed.wait()
        return 0
    finally:
        if feed is not None:
            feed.stop()
        if demo is not None:
            await demo.close()
        elif feed is not None:
            if feed.gateway is not None:
                feed.gateway.close()
            if feed.client is not None:
                await feed.client.aclose()


def _default_config() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("psa")) / "console.toml"


def _ready(value: Any) -> Callable[[], Awaitable[Any]]:
    async def factory() -> Any:
        return value

    return factory


def _odoo_connector(login: WallLogin, first: OdooGateway | None) -> OdooFactory:
    """Connects (again) with the stored login; the dialog's gateway is used the first time."""
    pending = [first] if first is not None else []

    async def connect() -> OdooGateway:
        if pending:
            return pending.pop()
        return await OdooGateway.connect(login.url, login.db, login.login, login.password)

    return connect


async def _screenshot(window: WallWindow, path: Path) -> None:
    from console.ui.app import ConsoleFailure

    try:
        await asyncio.wait_for(wait_wall_ready(window), SCREENSHOT_TIMEOUT_S)
    except TimeoutError:
        raise ConsoleFailure(
            f"the wall was not live within {SCREENSHOT_TIMEOUT_S:.0f} s "
            f"(relay: {window.feed.relay_detail}; Odoo: {window.feed.odoo_detail}); no screenshot"
        ) from None
    await asyncio.sleep(0.3)  # let the layout land (never processEvents() in a coroutine)
    window.refresh()
    pixmap = window.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(path)):
        raise ConsoleFailure(f"could not write the screenshot to {path}")
    print(f"screenshot written to {path}", file=sys.stderr)
