"""The Billing pane (managers): preview the managed-seat recount of the SA, then apply it.

A preview is five RPCs however many subscriptions the SA has, but it is still a deliberate act:
switching SA does not run one. The pane says which SA the shown preview is for and when it ran;
"Preview recount" loads it off the GUI thread with progress; "Apply N changes…"
lists the changes in a confirmation dialog and then writes them (the gateway's executor), shows
what was done and lists failures with a Retry. In an SA where the user is not a manager the pane
says so instead of showing a table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from console.domain.billing import SeatDiff
from console.domain.names import Role
from console.odoo import errors
from console.odoo.billing import ApplyResult, BillingPreview, BillingScope, apply, preview
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership
from console.ui.models.records import Column, Row
from console.ui.panes.pane import TablePane, html_table

log = logging.getLogger(__name__)

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CHANGE_BACKGROUND = QColor(255, 196, 0, 60)  # amber, readable in both themes
_UP, _DOWN = QColor("#1f9d55"), QColor("#d64545")


def _qty(value: Any) -> str:
    return "—" if value is None else f"{float(value):g}"


def _delta_text(row: Mapping[str, Any]) -> str:
    delta = float(row.get("delta") or 0)
    return f"{delta:+g}" if delta else "0"


def _changed(row: Mapping[str, Any]) -> Any:
    return _CHANGE_BACKGROUND if row.get("action") != "nothing" else None


def _delta_colour(row: Mapping[str, Any]) -> Any:
    delta = float(row.get("delta") or 0)
    return _UP if delta > 0 else _DOWN if delta < 0 else None


def _on_changed_rows(
    extra: dict[int, Callable[[Mapping[str, Any]], Any]],
) -> dict[int, Callable[[Mapping[str, Any]], Any]]:
    return {int(Qt.ItemDataRole.BackgroundRole): _changed, **extra}


_ACTION_TEXT = {"update_line": "Update line", "create_line": "Add line", "nothing": ""}

COLUMNS = [
    Column("order_name", "Order", 110, roles=_on_changed_rows({})),
    Column("partner_name", "Client", 220, roles=_on_changed_rows({})),
    Column(
        "current_qty",
        "Current",
        80,
        display=lambda r: _qty(r.get("current_qty")),
        sort_value=lambda r: -1 if r.get("current_qty") is None else r["current_qty"],
        alignment=_RIGHT,
        roles=_on_changed_rows({}),
    ),
    Column(
        "active_assets",
        "Active",
        80,
        display=lambda r: str(r.get("active_assets", "")),
        sort_value=lambda r: r.get("active_assets") or 0,
        alignment=_RIGHT,
        roles=_on_changed_rows({}),
    ),
    Column(
        "delta",
        "Delta",
        80,
        display=_delta_text,
        sort_value=lambda r: r.get("delta") or 0,
        alignment=_RIGHT,
        roles=_on_changed_rows({int(Qt.ItemDataRole.ForegroundRole): _delta_colour}),
    ),
    Column(
        "action",
        "Action",
        110,
        display=lambda r: _ACTION_TEXT.get(str(r.get("action")), ""),
        roles=_on_changed_rows({}),
    ),
]


def detail_html(row: Row) -> str:
    """The detail panel: the numbers and the assets added / decommissioned since last time."""

    def names(refs: Sequence[dict[str, Any]]) -> str:
        if not refs:
            return "<li>none</li>"
        return "".join(f"<li>{escape(str(r.get('name', '')))}</li>" for r in refs)

    facts = html_table(
        {
            "Client": row.get("partner_name"),
            "Managed seats now": _qty(row.get("current_qty")),
            "Active assets": row.get("active_assets"),
            "Delta": _delta_text(row),
        }
    )
    return (
        f"<h3>{escape(str(row.get('order_name', '')))}</h3>{facts}"
        f"<h4>Added since the last recount</h4><ul>{names(row.get('added') or [])}</ul>"
        f"<h4>Decommissioned since the last recount</h4>"
        f"<ul>{names(row.get('decommissioned') or [])}</ul>"
    )


class ApplyConfirmDialog(QDialog):
    """Lists the changes about to be written; Apply or Cancel (Escape)."""

    def __init__(self, billing: BillingPreview, sa_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("billingConfirm")
        changes = billing.changes
        self.setWindowTitle(f"Apply the seat recount of {sa_name}")
        intro = QLabel(
            f"{len(changes)} subscription{'s' if len(changes) != 1 else ''} of {escape(sa_name)} "
            "will be changed in Odoo, and each gets the chatter note "
            "<i>Auto-updated Asset count to N</i>:",
            self,
        )
        intro.setWordWrap(True)
        self.listing = QTextBrowser(self)
        self.listing.setObjectName("billingConfirmList")
        rows = "".join(
            f"<tr><td>{escape(d.order_name)}</td><td>{escape(billing.partner_name(d.partner_id))}"
            f"</td><td align='right'>{_qty(d.current_quantity)} → {d.active_assets}</td></tr>"
            for d in changes
        )
        self.listing.setHtml(f"<table cellspacing='6'>{rows}</table>")
        buttons = QDialogButtonBox(self)
        self.apply_button = buttons.addButton(
            f"Apply {len(changes)} change{'s' if len(changes) != 1 else ''}",
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.listing, 1)
        layout.addWidget(buttons)
        self.resize(520, 360)


class BillingPane(TablePane):
    """Preview and apply the seat recount of the selected SA (managers only)."""

    #: a preview finished: (the preview or None, error message or "")
    previewFinished = Signal(object, str)
    #: an apply finished: the ApplyResult (or None when it could not start) and an error text
    applyFinished = Signal(object, str)

    def __init__(self, gateway: OdooGateway, parent: QWidget | None = None) -> None:
        super().__init__(
            "billing",
            "Billing",
            COLUMNS,
            key="order_id",
            placeholder="Filter subscriptions (Ctrl+F)",
            parent=parent,
        )
        self.gateway = gateway
        self.membership: Membership | None = None
        self.result: BillingPreview | None = None
        self.last_apply: ApplyResult | None = None
        self.confirm_dialog: ApplyConfirmDialog | None = None
        self._apply_task: asyncio.Task[None] | None = None
        #: orders whose last apply failed (None: the whole apply failed before any order)
        self._failed_ids: list[int] | None = None
        self.set_detail_renderer(detail_html)
        self.loadFinished.connect(lambda *_args: self._update_apply_button())

        self.preview_button = QPushButton("Preview recount", self)
        self.preview_button.setObjectName("billingPreview")
        self.preview_button.setToolTip("Recount every subscription of this SA now")
        self.preview_button.clicked.connect(self.start_preview)
        self.apply_button = QPushButton("Apply changes…", self)
        self.apply_button.setObjectName("billingApply")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.confirm_apply)
        self.retry_button = QPushButton("Retry failed", self)
        self.retry_button.setObjectName("billingRetry")
        self.retry_button.hide()
        self.retry_button.clicked.connect(self.retry_failed)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("billingState")
        self.state_label.setWordWrap(True)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.preview_button)
        bar.addWidget(self.apply_button)
        bar.addWidget(self.retry_button)
        bar.addWidget(self.state_label, 1)
        self.action_bar = QWidget(self)
        self.action_bar.setLayout(bar)
        self.apply_label = QLabel(self)
        self.apply_label.setObjectName("billingApplyResult")
        self.apply_label.setWordWrap(True)
        self.apply_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.apply_label.hide()
        self.not_manager = QLabel(self)
        self.not_manager.setObjectName("billingNotManager")
        self.not_manager.setWordWrap(True)
        self.not_manager.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.not_manager.hide()
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(0, self.action_bar)
        layout.insertWidget(1, self.apply_label)
        layout.addWidget(self.not_manager, 1)

        self._set_state("Choose a Serviced Account.")

    # ------------------------------------------------------------------ scope
    def is_manager(self) -> bool:
        return self.membership is not None and self.membership.role is Role.MANAGER

    def set_membership(self, membership: Membership) -> None:
        """The SA switcher moved: forget the previous SA's preview (a preview is not re-run on
        every switch; the state line says what to do)."""
        self.cancel_load()
        self.membership = membership
        self.result = None
        self.last_apply = None
        self.model.clear()
        self.detail.clear()
        self.retry_button.hide()
        self.show_status("")
        self.show_apply_result("")
        manager = self.is_manager()
        for widget in (self.action_bar, self.splitter, self.filter_box, self.count_label):
            widget.setVisible(manager)
        self.columns_button.setVisible(manager)
        self.not_manager.setVisible(not manager)
        if not manager:
            self.not_manager.setText(
                f"You are a {membership.role.value} in {membership.sa_name}. The seat recount "
                "is for its managers: switch to an SA you manage (Ctrl+K)."
            )
            self._update_apply_button()
            return
        self._set_state(
            f"{membership.sa_name}: not previewed yet. Press Preview recount to recount "
            "its subscriptions."
        )
        self._update_apply_button()

    def scope(self) -> BillingScope | None:
        if self.membership is None:
            return None
        m = self.membership
        return BillingScope(m.sa_id, m.sa_name, tuple(m.descendants))

    # ------------------------------------------------------------------ preview
    def start_preview(self) -> asyncio.Task[None] | None:
        """Recount the SA's subscriptions (managers only); replaces the table when done."""
        scope = self.scope()
        if scope is None or not self.is_manager() or self.is_applying():
            return None
        self.result = None
        self._update_apply_button()
        self._set_state(f"{scope.sa_name}: recounting…")
        return self.start_load(self._loader(scope), keep_rows=True)

    def _loader(
        self, scope: BillingScope
    ) -> Callable[[Callable[[int, int], None]], AsyncIterator[list[Row]]]:
        async def load(progress: Callable[[int, int], None]) -> AsyncIterator[list[Row]]:
            assert self.gateway.user is not None
            try:
                result = await preview(
                    self.gateway, scope, actor=self.gateway.user.uid, on_progress=progress
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.previewFinished.emit(None, str(exc) or type(exc).__name__)
                self._set_state(
                    f"{scope.sa_name}: the preview failed. Press Preview recount to try again."
                )
                raise
            self.result = result
            rows = result.rows()
            changes = len(result.changes)
            when = datetime.now().strftime("%H:%M")
            text = (
                f"{scope.sa_name}: previewed at {when} — {len(rows)} subscription"
                f"{'s' if len(rows) != 1 else ''}, "
                + (f"{changes} to change (highlighted)." if changes else "all up to date.")
            )
            if result.warnings:
                text += " " + " ".join(f"⚠ {w}." for w in result.warnings)
            self._set_state(text)
            self._update_apply_button()
            self.previewFinished.emit(result, "")
            yield rows

        return load

    # ------------------------------------------------------------------ apply
    def is_applying(self) -> bool:
        return self._apply_task is not None and not self._apply_task.done()

    def _update_apply_button(self) -> None:
        changes = len(self.result.changes) if self.result is not None else 0
        self.apply_button.setText(f"Apply {changes} change{'s' if changes != 1 else ''}…")
        self.apply_button.setEnabled(self.is_manager() and changes > 0 and not self.is_applying())
        self.preview_button.setEnabled(self.is_manager() and not self.is_applying())

    def confirm_apply(self) -> ApplyConfirmDialog | None:
        """Open the confirmation listing the changes; accepting it applies them."""
        if self.result is None or not self.result.changes or not self.is_manager():
            return None
        assert self.membership is not None
        dialog = ApplyConfirmDialog(self.result, self.membership.sa_name, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.start_apply)
        dialog.finished.connect(lambda _code: setattr(self, "confirm_dialog", None))
        self.confirm_dialog = dialog
        dialog.open()
        return dialog

    def start_apply(self, only: Sequence[int] | None = None) -> asyncio.Task[None] | None:
        """Write the previewed changes (all, or the orders in ``only``)."""
        if self.result is None or not self.is_manager() or self.is_applying():
            return None
        self._apply_task = asyncio.ensure_future(self._apply(self.result, only))
        self._update_apply_button()
        return self._apply_task

    async def _apply(self, billing: BillingPreview, only: Sequence[int] | None) -> None:
        assert self.membership is not None
        sa_name = self.membership.sa_name
        self._set_state(f"{sa_name}: applying…")
        self.progress.setRange(0, 0)
        self.progress.show()

        def progress(done: int, total: int) -> None:
            if total > 0:
                self.progress.setRange(0, total)
                self.progress.setValue(done)

        try:
            result = await apply(self.gateway, billing, only=only, on_progress=progress)
        except asyncio.CancelledError:
            raise
        except errors.OdooGatewayError as exc:
            self.progress.hide()
            self.show_apply_result(f"Could not apply the recount: {escape(str(exc))}", error=True)
            self.retry_button.setVisible(True)
            self._failed_ids = list(only) if only else None
            self._set_state(f"{sa_name}: nothing confirmed written. Retry when Odoo is back.")
            self._apply_task = None
            self._update_apply_button()
            self.applyFinished.emit(None, str(exc))
            return
        self.progress.hide()
        self.last_apply = result
        self._apply_task = None
        self._failed_ids = [f.order_id for f in result.failures if f.order_id is not None]
        if result.failures:
            items = "".join(f"<li>{escape(str(f))}</li>" for f in result.failures)
            self.show_apply_result(
                f"{len(result.applied)} applied; {len(result.failures)} failed — Retry "
                f"finishes them:<ul>{items}</ul>",
                error=True,
            )
            self.retry_button.show()
        else:
            self.show_apply_result(
                f"Applied {len(result.applied)} change{'s' if len(result.applied) != 1 else ''}"
                + (
                    f" ({len(result.already_done)} already up to date)"
                    if result.already_done
                    else ""
                )
                + "."
            )
            self.retry_button.hide()
        self.applyFinished.emit(result, "")
        # show what Odoo holds now
        self.start_preview()

    def retry_failed(self) -> asyncio.Task[None] | None:
        """Preview again, then apply what is still different among the failed orders."""
        failed = self._failed_ids
        self.retry_button.hide()
        self.show_apply_result("")

        async def again() -> None:
            task = self.start_preview()
            if task is not None:
                await task
            if self.result is None:
                return
            ids = [d.order_id for d in self.result.changes]
            if failed:
                ids = [i for i in ids if i in set(failed)]
            if ids or self.result.plan.mark_counted or self.result.plan.mark_uncounted:
                applying = self.start_apply(ids if failed else None)
                if applying is not None:
                    await applying

        return asyncio.ensure_future(again())

    # ------------------------------------------------------------------ helpers
    def show_apply_result(self, html: str, *, error: bool = False) -> None:
        """What the last apply did; stays until the next apply or SA switch."""
        self.apply_label.setProperty("error", error)
        self.apply_label.style().unpolish(self.apply_label)
        self.apply_label.style().polish(self.apply_label)
        self.apply_label.setText(html)
        self.apply_label.setVisible(bool(html))

    def _set_state(self, text: str) -> None:
        self.state_label.setText(text)

    def changes_shown(self) -> list[SeatDiff]:
        return list(self.result.changes) if self.result is not None else []
