"""The console's main window: panes as docks, the SA switcher, status bar and service banner."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QTextBrowser,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from console.domain.names import Role
from console.domain.scope import Pane, and_domains, scope_domain
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership
from console.odoo.triage import AlertTriage, TriageContext
from console.relay.client import RelayClient
from console.ui.formatting import humanize_age
from console.ui.panes import alerts, assets, tickets
from console.ui.panes import approvals as approvals_panes
from console.ui.panes import billing as billing_panes
from console.ui.panes import unmatched as unmatched_panes
from console.ui.panes.pane import TablePane

log = logging.getLogger(__name__)

#: (keys, what they do) for the shortcuts overlay; the one list the overlay and docs use
SHORTCUTS: Sequence[tuple[str, str]] = (
    ("Ctrl+1 / Ctrl+2 / Ctrl+3", "Alerts / Tickets / Assets pane"),
    ("Ctrl+4", "Unmatched pane: Pulseway groups with no client (dispatchers, managers)"),
    ("M / N / Ctrl+Z", "Unmatched: map to a client / create the company / undo"),
    ("Ctrl+5", "Approvals pane (managers)"),
    ("A / R / S", "Approvals: approve / reject / skip the selected companies"),
    ("Ctrl+6", "Billing pane: managed-seat recount (managers)"),
    ("Ctrl+F", "Filter the current pane"),
    ("Enter", "Open the selected row"),
    ("L", "Alerts: link to an asset or client (ranked suggestions)"),
    ("T", "Alerts: create a ticket, or attach to an open one"),
    ("C / A", "Alerts: claim / acknowledge"),
    ("S", "Alerts: snooze (15 min, 1 h, 4 h, tomorrow 08:00, custom)"),
    ("R", "Alerts: resolve"),
    ("Menu key / right-click", "Alerts: the same actions"),
    ("F5", "Reload every pane"),
    ("Ctrl+K", "Switch Serviced Account"),
    ("F1 or ?", "This list of shortcuts"),
)

_BADGE_COLOURS = ("#2f6fde", "#1f9d7a", "#b8589b", "#d0802a", "#5a64c8", "#3c8fb5", "#9a6b2f")


def badge_colour(sa_id: int) -> str:
    """A stable colour per SA, so the badge of "East" is the same colour on every console."""
    digest = hashlib.sha256(str(sa_id).encode()).digest()
    return _BADGE_COLOURS[digest[0] % len(_BADGE_COLOURS)]


class ServiceBanner(QFrame):
    """A non-modal strip at the top of the window: which service is down, and a retry."""

    retryRequested = Signal()
    #: whether there is anything to show (the window shows or hides the banner's row)
    visibilityChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serviceBanner")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.retry = QPushButton("Retry now", self)
        self.retry.clicked.connect(self.retryRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry)
        self._problems: dict[str, str] = {}
        self.hide()

    def set_problem(self, service: str, message: str | None) -> None:
        """Show (message) or clear (None) the problem of one service."""
        if message:
            self._problems[service] = message
        else:
            self._problems.pop(service, None)
        self.label.setText(
            "  ·  ".join(f"<b>{s}</b>: {m}" for s, m in sorted(self._problems.items()))
            + (
                "<br>The console keeps working read-only from what it has."
                if self._problems
                else ""
            )
        )
        self.setVisible(bool(self._problems))
        self.visibilityChanged.emit(bool(self._problems))

    def problems(self) -> dict[str, str]:
        return dict(self._problems)


class ShortcutsOverlay(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsOverlay")
        self.setWindowTitle("Keyboard shortcuts")
        text = QTextBrowser(self)
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        text.setHtml(f"<table cellspacing='6'>{rows}</table>")
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        layout.addWidget(close)
        self.resize(460, 300)


class MainWindow(QMainWindow):
    """Owns the panes and reloads them for the selected SA; knows nothing of how to log in."""

    #: the SA context changed: the membership now in force
    scopeChanged = Signal(object)
    #: every pane finished its first load after a scope change
    panesLoaded = Signal()

    def __init__(
        self,
        gateway: OdooGateway,
        memberships: Sequence[Membership],
        *,
        settings: QSettings | None = None,
        relay: RelayClient | None = None,
        sees_unmatched: bool = False,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.gateway = gateway
        self.memberships = list(memberships)
        self.settings = settings or QSettings()
        self.current: Membership | None = None
        self._pending_loads = 0

        self.banner = ServiceBanner(self)
        self.banner.retryRequested.connect(lambda: self.reload())

        self.sa_switcher = QComboBox(self)
        self.sa_switcher.setObjectName("saSwitcher")
        self.sa_switcher.setMinimumContentsLength(18)
        for membership in self.memberships:
            self.sa_switcher.addItem(membership.label, membership.sa_id)
        self.sa_switcher.currentIndexChanged.connect(self._on_switch)
        self.sa_badge = QLabel(self)
        self.sa_badge.setObjectName("saBadge")
        toolbar = QToolBar("Context", self)
        toolbar.setObjectName("contextToolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(QLabel(" Serviced Account: ", self))
        toolbar.addWidget(self.sa_switcher)
        toolbar.addWidget(self.sa_badge)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

        # the banner sits in its own toolbar row under the SA bar; the docks get all the rest
        # of the window (a QMainWindow without a central widget lets its docks fill it)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.banner_bar = QToolBar("Service status", self)
        self.banner_bar.setObjectName("bannerToolbar")
        self.banner_bar.setMovable(False)
        self.banner_bar.addWidget(self.banner)
        self.banner.visibilityChanged.connect(self.banner_bar.setVisible)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.banner_bar)
        self.banner_bar.setVisible(False)
        self.setDockNestingEnabled(True)
        self.empty_hint = QLabel("No Serviced Account: ask a manager to add you to one.", self)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if not self.memberships:
            self.setCentralWidget(self.empty_hint)
        else:
            self.empty_hint.hide()

        self.panes: dict[str, TablePane] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.relay = relay
        self.sees_unmatched = sees_unmatched
        self.alerts_pane: TablePane | None = None
        self.alert_feed: alerts.AlertFeed | None = None
        if relay is not None:
            self.alerts_pane = self._add_pane(alerts.make_pane())
            self.alerts_pane.set_detail_renderer(alerts.detail_renderer(relay))
            self.alert_feed = alerts.AlertFeed(self.alerts_pane, relay, gateway, parent=self)
            self.alert_feed.relayStateChanged.connect(
                lambda ok, detail: self.set_service_state("Relay", ok, detail)
            )
            self.alert_feed.criticalAlert.connect(self._notify_critical)
            self.alert_actions = alerts.AlertActions(
                self.alerts_pane,
                relay,
                lambda: self.current.sa_id if self.current else None,
                parent=self,
                triage=self._alert_triage,
                device_facts=self.alert_feed.device_facts,
            )
            self.alert_actions.ticketsChanged.connect(self._reload_tickets)
        self.tickets_pane = self._add_pane(tickets.make_pane())
        self.tickets_pane.set_detail_renderer(tickets.detail_renderer(gateway))
        self.assets_pane = self._add_pane(assets.make_pane())
        self.assets_pane.set_detail_renderer(assets.detail_renderer(gateway))
        for pane in (self.tickets_pane, self.assets_pane):
            pane.loadFinished.connect(self._on_pane_loaded)
        # --- Unmatched pane (issue 7): dispatchers and managers; absent for technicians -----
        self.unmatched_pane: unmatched_panes.UnmatchedPane | None = None
        if relay is not None and sees_unmatched:
            self.unmatched_pane = unmatched_panes.make_pane(gateway, relay)
            self._add_pane(self.unmatched_pane)
            self.scopeChanged.connect(self.unmatched_pane.set_membership)
            self.unmatched_pane.resolved.connect(lambda _summary: self.reload())
            self.unmatched_pane.undone.connect(lambda _summary: self.reload())
            if self.alerts_pane is not None:  # relay events: refresh the queue (debounced)
                self.alerts_pane.model.rowsInserted.connect(self.unmatched_pane.schedule_refresh)
                self.alerts_pane.model.dataChanged.connect(self.unmatched_pane.schedule_refresh)
        # --- end Unmatched pane ------------------------------------------------------------
        # --- Approvals pane (issue 8): managers only; absent for everyone else ---------------
        self.approvals_pane: approvals_panes.ApprovalsPane | None = None
        if any(m.role is Role.MANAGER for m in self.memberships):
            self.approvals_pane = approvals_panes.make_pane(gateway)
            self._add_pane(self.approvals_pane)
            if self.alert_feed is not None:  # new pending companies show up without F5
                self.alert_feed.partnerPending.connect(self.approvals_pane.schedule_refresh)
        # --- end Approvals pane ------------------------------------------------------------
        # --- Billing pane (issue 8): managers only; previews on demand, not on SA switch -----
        self.billing_pane: billing_panes.BillingPane | None = None
        if any(m.role is Role.MANAGER for m in self.memberships):
            self.billing_pane = billing_panes.BillingPane(gateway)
            self._add_pane(self.billing_pane)
            self.scopeChanged.connect(self.billing_pane.set_membership)
        # --- end Billing pane --------------------------------------------------------------
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(self.windowIcon(), self)
            self.tray.show()
        self.mute_notifications = bool(self.settings.value("notifications/mute", False, type=bool))
        self.mute_action = QAction("Mute critical-alert notifications", self)
        self.mute_action.setObjectName("muteNotifications")
        self.mute_action.setCheckable(True)
        self.mute_action.setChecked(self.mute_notifications)
        self.mute_action.toggled.connect(self.set_notifications_muted)
        self.menuBar().addMenu("&View").addAction(self.mute_action)
        if self.tray is not None:
            tray_menu = QMenu(self)
            tray_menu.addAction(self.mute_action)
            self.tray.setContextMenu(tray_menu)

        self.status_odoo = QLabel(self)
        self.status_relay = QLabel(self)
        self.status_age = QLabel(self)
        self.status_latency = QLabel(self)
        for label in (self.status_odoo, self.status_relay, self.status_age, self.status_latency):
            self.statusBar().addPermanentWidget(label)
        if relay is None:
            self.status_relay.setText("Relay: not configured")
        self.set_service_state("Odoo", True, gateway.endpoint.url)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start()
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(30_000)
        self._age_timer.timeout.connect(
            lambda: self.tickets_pane.model.refresh_column("create_date")
        )
        self._age_timer.start()

        self._install_shortcuts()
        self.resize(1366, 768)
        if self.alerts_pane is not None:
            self.resizeDocks(
                [self.docks["alerts"], self.docks["tickets"]], [380, 300], Qt.Orientation.Vertical
            )
        self.docks["tickets"].raise_()  # the first tab below the alerts, until a layout is saved
        self._restore()

    # ------------------------------------------------------------------ panes
    def _add_pane(self, pane: TablePane) -> TablePane:
        """Alerts on top; Tickets and Assets tabbed below it (the user may rearrange)."""
        dock = QDockWidget(pane.title, self)
        dock.setObjectName(f"dock-{pane.name}")
        dock.setWidget(pane)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        below = [d for name, d in self.docks.items() if name != "alerts"]
        if pane.name == "alerts":
            self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, dock)
        elif below:
            self.tabifyDockWidget(below[0], dock)
        else:
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.panes[pane.name] = pane
        self.docks[pane.name] = dock
        return pane

    def raise_pane(self, name: str) -> None:
        dock = self.docks.get(name)
        if dock is None:
            return
        dock.show()
        dock.raise_()
        self.panes[name].view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def active_pane(self) -> TablePane | None:
        focus = self.focusWidget()
        for pane in self.panes.values():
            if focus is not None and pane.isAncestorOf(focus):
                return pane
        for name, dock in self.docks.items():
            if not dock.visibleRegion().isEmpty():
                return self.panes[name]
        return next(iter(self.panes.values()), None)

    # ------------------------------------------------------------------ SA context
    def _on_switch(self, index: int) -> None:
        if 0 <= index < len(self.memberships):
            self.switch_to(self.memberships[index])

    def switch_to(self, membership: Membership) -> None:
        """Narrow every pane to ``membership``'s SA: cancel running loads, reload, remember."""
        self.current = membership
        index = self.memberships.index(membership)
        if self.sa_switcher.currentIndex() != index:
            self.sa_switcher.blockSignals(True)
            self.sa_switcher.setCurrentIndex(index)
            self.sa_switcher.blockSignals(False)
        colour = badge_colour(membership.sa_id)
        self.sa_badge.setText(f"  {membership.sa_name}  ")
        self.sa_badge.setStyleSheet(
            f"background:{colour}; color:white; border-radius:9px; padding:2px 8px; font-weight:600;"
        )
        self.setWindowTitle(
            f"{membership.sa_name} ({membership.role.value}) — PSA Technician Console"
        )
        self.settings.setValue("scope/sa_id", membership.sa_id)
        if self.alerts_pane is not None:
            in_force = {membership.sa_id}
            if membership.role is Role.MANAGER:
                in_force |= set(membership.descendants)
            self.alerts_pane.proxy.set_extra_filter(
                alerts.sa_row_filter(in_force, self.sees_unmatched)
            )
        self.scopeChanged.emit(membership)
        self.reload(keep_rows=False)

    def domain_for(self, pane: Pane) -> list[Any]:
        assert self.current is not None and self.gateway.user is not None
        return and_domains(
            scope_domain(
                pane,
                self.current.sa_id,
                self.gateway.user.uid,
                self.current.role,
                descendants=self.current.descendants,
            )
        )

    def reload(self, *, keep_rows: bool = True) -> None:
        """(Re)load every Odoo pane for the current SA (F5, Retry: keeping what is shown until
        fresh rows arrive; an SA switch: from empty)."""
        if self.current is None:
            return
        self._pending_loads = 2
        self.tickets_pane.start_load(
            tickets.loader(self.gateway, self.domain_for(Pane.TICKETS)), keep_rows=keep_rows
        )
        self.assets_pane.start_load(
            assets.loader(self.gateway, self.domain_for(Pane.ASSETS)), keep_rows=keep_rows
        )
        if self.approvals_pane is not None:
            self.approvals_pane.reload_for(self.current, keep_rows=keep_rows)
        if self.unmatched_pane is not None:
            self.unmatched_pane.reload(keep_rows=keep_rows)

    def _on_pane_loaded(self, _rows: int, error: str) -> None:
        self.set_service_state("Odoo", not error, error or self.gateway.endpoint.url)
        self._pending_loads -= 1
        if self._pending_loads == 0:
            self.panesLoaded.emit()

    # ------------------------------------------------------------------ status
    def set_service_state(self, service: str, ok: bool, detail: str) -> None:
        label = self.status_odoo if service == "Odoo" else self.status_relay
        label.setText(f"{service}: {'connected' if ok else 'unavailable'}")
        label.setToolTip(detail)
        label.setProperty("ok", ok)
        self.banner.set_problem(service, None if ok else detail)

    def _refresh_status(self) -> None:
        latency = self.gateway.stats.last_latency_s
        if latency is not None:
            self.status_latency.setText(f"RPC {latency * 1000:.0f} ms")
        feed = self.alert_feed
        if feed is not None and feed.last_event_at is not None:
            age = (datetime.now(UTC) - feed.last_event_at).total_seconds()
            self.status_age.setText(f"Last event {humanize_age(age)} ago")

    def _refresh_ages(self) -> None:
        self.tickets_pane.model.refresh_column("create_date")
        if self.alerts_pane is not None:
            self.alerts_pane.model.refresh_column("last_seen")

    def _notify_critical(self, row: dict[str, Any]) -> None:
        if self.mute_notifications or self.tray is None:
            return
        if self.alerts_pane is not None and not self.alerts_pane.proxy.accepts_record(row):
            return
        self.tray.showMessage(
            "Critical alert",
            f"{row.get('title', '')} — {row.get('device_name') or row.get('device_id') or ''}",
            QSystemTrayIcon.MessageIcon.Critical,
            10_000,
        )

    def set_notifications_muted(self, muted: bool) -> None:
        self.mute_notifications = muted
        self.settings.setValue("notifications/mute", muted)
        if self.mute_action.isChecked() != muted:
            self.mute_action.setChecked(muted)

    def _alert_triage(self) -> AlertTriage | None:
        """Link/ticket operations as the logged-in user in the SA in force."""
        if self.current is None or self.gateway.user is None:
            return None
        context = TriageContext.for_user(self.gateway.user.uid, self.current, self.memberships)
        return AlertTriage(self.gateway, context)

    def _reload_tickets(self) -> None:
        """After a ticket was made or joined from an alert: refresh the Tickets pane."""
        if self.current is not None:
            if not self.tickets_pane.is_loading():
                self._pending_loads += 1  # a running load is replaced: it counts already
            self.tickets_pane.start_load(
                tickets.loader(self.gateway, self.domain_for(Pane.TICKETS)), keep_rows=True
            )

    # ------------------------------------------------------------------ keyboard
    def _install_shortcuts(self) -> None:
        def add(keys: Sequence[str], handler: Callable[[], None], name: str) -> None:
            action = QAction(name, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            action.triggered.connect(handler)
            self.addAction(action)

        add(["Ctrl+1"], lambda: self.raise_pane("alerts"), "Alerts pane")
        add(["Ctrl+2"], lambda: self.raise_pane("tickets"), "Tickets pane")
        add(["Ctrl+3"], lambda: self.raise_pane("assets"), "Assets pane")
        add(["Ctrl+4"], lambda: self.raise_pane("unmatched"), "Unmatched pane")
        add(["Ctrl+5"], lambda: self.raise_pane("approvals"), "Approvals pane")
        add(["Ctrl+6"], lambda: self.raise_pane("billing"), "Billing pane")
        add(["Ctrl+F"], self._focus_filter, "Filter")
        add(["F5"], lambda: self.reload(), "Reload")
        add(["Ctrl+K"], self._focus_switcher, "Switch SA")
        add(["F1", "?"], self._show_shortcuts_action, "Shortcuts")

    def _focus_filter(self) -> None:
        pane = self.active_pane()
        if pane is not None:
            pane.focus_filter()

    def _focus_switcher(self) -> None:
        self.sa_switcher.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.sa_switcher.showPopup()

    def _show_shortcuts_action(self) -> None:
        self.show_shortcuts()

    def show_shortcuts(self) -> ShortcutsOverlay:
        overlay = ShortcutsOverlay(self)
        overlay.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        overlay.show()
        return overlay

    # ------------------------------------------------------------------ persistence
    def start(self) -> None:
        """Pick the remembered SA (or the first) and load; start the live alert stream."""
        if self.alert_feed is not None:
            self.alert_feed.start()
        if not self.memberships:
            return
        remembered = self.settings.value("scope/sa_id")
        chosen = next(
            (m for m in self.memberships if str(m.sa_id) == str(remembered)),
            default_membership(self.memberships),
        )
        self.switch_to(chosen)

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry:
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if state:
            self.restoreState(state)
        for pane in self.panes.values():
            pane.restore_state(self.settings)

    def save(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        for pane in self.panes.values():
            pane.save_state(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save()
        for pane in self.panes.values():
            pane.cancel_load()
        if self.alert_feed is not None:
            self.alert_feed.stop()
        super().closeEvent(event)


def default_membership(memberships: Sequence[Membership]) -> Membership:
    """Where a first start lands: a manager's topmost SA (it sees everything below); for the
    other roles, whose reach stops at their SA, the first SA without children, where the clients
    are (a dispatcher of "Northwind IT" and its regions starts in the first region)."""
    for membership in memberships:
        if membership.role is Role.MANAGER:
            return membership
    for membership in memberships:
        if not membership.descendants:
            return membership
    return memberships[0]


async def wait_loaded(window: MainWindow, *, live: bool = True) -> None:
    """Resolve once every Odoo pane finished loading and (with ``live``) the alert stream is up
    (for --screenshot and tests)."""
    if any(p.is_loading() for p in (window.tickets_pane, window.assets_pane)):
        done = asyncio.Event()
        window.panesLoaded.connect(done.set)
        await done.wait()
    if live and window.alert_feed is not None and not window.alert_feed.is_live():
        ready = asyncio.Event()

        def on_state(ok: bool, _detail: str) -> None:
            if ok:
                ready.set()

        window.alert_feed.relayStateChanged.connect(on_state)
        await ready.wait()
    if window.alerts_pane is not None:
        window.alerts_pane.model.flush()
