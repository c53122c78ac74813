"""The Approvals pane: partner → Pulseway pushes a manager approves, rejects or skips.

Rows are the company partners of the current SA waiting for a decision (pending), and those
whose push failed or was interrupted (retryable). Each shows the proposed action and target —
link to an existing Pulseway organization (with the reason it was ranked first) or create it
where the settings enable the seed's create endpoint — and, once acted on, its progress and
result. Keyboard: ``A``/Enter approve, ``R`` reject, ``S`` skip (decide later: nothing is
written), on one or many selected rows; the panel under the table lists every ranked
organization (or an id typed in) to pick another target. Failures stay in the row with the
reason; approving the row again retries it, and the Pulseway side never sends twice.

Managers only: the main window adds the pane when the user manages some SA; in an SA where the
user is not a manager it says so and offers no action (Odoo's rules would refuse anyway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.matching import OrganizationCandidate
from console.domain.names import Partner, PulsewaySyncState, Role
from console.odoo import approvals
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import Membership
from console.pulseway.errors import PulsewayError
from console.pulseway.push import (
    ORG_CREATE_LABEL,
    PulsewayPush,
    PushSettings,
    PushSettingsError,
    load_push_settings,
)
from console.ui.models.records import Column, Row
from console.ui.panes.pane import TablePane, html_table

log = logging.getLogger(__name__)

_STATE_LABELS = {
    PulsewaySyncState.PENDING.value: "Pending",
    PulsewaySyncState.APPROVED.value: "Approved (unfinished)",
    PulsewaySyncState.SYNCED.value: "Synced",
    PulsewaySyncState.FAILED.value: "Failed",
    PulsewaySyncState.SKIPPED.value: "Rejected",
}
_RESULT_COLOURS = {"ok": "#1f9d7a", "error": "#d64545", "busy": "#2f6fde", "skip": "#8a8a8a"}


def proposal_text(row: Mapping[str, Any]) -> str:
    """The proposed action and target as the table shows it."""
    target: approvals.Target | None = row.get("target")
    if target is None:
        return row.get("proposal_problem") or "Pick a target"
    if target.action == "create":
        return f"Create “{target.org_name}”"
    return f"Link → {target.org_name} ({target.org_id})"


def _result_colour(row: Mapping[str, Any]) -> Any:
    colour = _RESULT_COLOURS.get(str(row.get("result_kind") or ""))
    return QColor(colour) if colour else None


COLUMNS = [
    Column(Partner.NAME, "Company", 220),
    Column("proposal", "Proposed action", 260, display=proposal_text),
    Column("reason", "Why", 260),
    Column(
        Partner.PULSEWAY_SYNC_STATE,
        "State",
        130,
        display=lambda r: _STATE_LABELS.get(str(r.get(Partner.PULSEWAY_SYNC_STATE)), "Unset"),
    ),
    Column(
        "result",
        "Result",
        320,
        roles={int(Qt.ItemDataRole.ForegroundRole): _result_colour},
    ),
]


class ApprovalsPane(TablePane):
    """The pane (a :class:`TablePane` with actions and a target picker)."""

    #: one batch of decisions finished: (done, failed)
    batchFinished = Signal(int, int)

    def __init__(
        self,
        gateway: OdooGateway,
        *,
        settings_loader: Callable[[], PushSettings | None] = load_push_settings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "approvals",
            "Approvals",
            COLUMNS,
            placeholder="Filter approvals (Ctrl+F)",
            parent=parent,
        )
        self.gateway = gateway
        self.membership: Membership | None = None
        self._batch: asyncio.Task[None] | None = None
        self._busy = False
        self.settings: PushSettings | None = None
        self.settings_problem = ""
        try:
            self.settings = settings_loader()
        except PushSettingsError as exc:
            self.settings_problem = str(exc)
        if self.settings is None and not self.settings_problem:
            self.settings_problem = (
                "Pulseway is not configured: set PSA_PULSEWAY_URL and the API token "
                "(PSA_PULSEWAY_TOKEN_ID / PSA_PULSEWAY_TOKEN_SECRET, or the keyring)."
            )
        self._build_actions()
        self._build_picker()
        self.set_detail_renderer(self._render_detail)
        self.recordActivated.connect(lambda _row: self.approve_selected())
        self.currentRecordChanged.connect(self._fill_picker)
        self._update_actions()

    # ------------------------------------------------------------------ widgets
    def _build_actions(self) -> None:
        bar = QWidget(self)
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(0, 0, 0, 0)
        self.approve_button = QPushButton("Approve (A)", bar)
        self.approve_button.setObjectName("approveButton")
        self.approve_button.setToolTip("Push the selected partners as proposed (Enter or A)")
        self.reject_button = QPushButton("Reject (R)", bar)
        self.reject_button.setObjectName("rejectButton")
        self.reject_button.setToolTip("Never push the selected partners (state: skipped)")
        self.skip_button = QPushButton("Skip (S)", bar)
        self.skip_button.setObjectName("skipButton")
        self.skip_button.setToolTip("Decide later: nothing is written, the rows stay pending")
        self.retry_button = QPushButton("Retry failed", bar)
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setToolTip("Approve again every row whose push failed")
        self.mode_label = QLabel(bar)
        self.mode_label.setObjectName("approvalsMode")
        for button in (self.approve_button, self.reject_button, self.skip_button):
            layout.addWidget(button)
        layout.addWidget(self.retry_button)
        layout.addWidget(self.mode_label, 1)
        self.approve_button.clicked.connect(self.approve_selected)
        self.reject_button.clicked.connect(self.reject_selected)
        self.skip_button.clicked.connect(self.skip_selected)
        self.retry_button.clicked.connect(self.retry_failed)
        outer = self.layout()
        assert isinstance(outer, QVBoxLayout)
        outer.insertWidget(1, bar)
        self.action_bar = bar
        self.set_row_keys(
            {
                Qt.Key.Key_A: self.approve_selected,
                Qt.Key.Key_R: self.reject_selected,
                Qt.Key.Key_S: self.skip_selected,
            }
        )
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        if self.settings is not None:
            create = "on" if self.settings.can_create else "off"
            self.mode_label.setText(
                f"Pulseway: {self.settings.url} · create organizations: {create} "
                f"({ORG_CREATE_LABEL})"
            )
        else:
            self.mode_label.setText(self.settings_problem)

    def _build_picker(self) -> None:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Target for the selected company (click to choose):", box))
        self.targets = QListWidget(box)
        self.targets.setObjectName("approvalTargets")
        self.targets.itemActivated.connect(self._choose_target)
        self.targets.itemClicked.connect(self._choose_target)
        layout.addWidget(self.targets, 1)
        row = QHBoxLayout()
        self.org_id_box = QLineEdit(box)
        self.org_id_box.setObjectName("approvalOrgId")
        self.org_id_box.setPlaceholderText("Pulseway organization id")
        self.org_id_button = QPushButton("Link to this id", box)
        self.org_id_button.clicked.connect(self._choose_typed_id)
        self.org_id_box.returnPressed.connect(self._choose_typed_id)
        row.addWidget(self.org_id_box, 1)
        row.addWidget(self.org_id_button)
        layout.addLayout(row)
        self.picker = box
        self.splitter.addWidget(box)
        self.splitter.setSizes([420, 110, 130])

    # ------------------------------------------------------------------ state
    def is_manager(self) -> bool:
        return self.membership is not None and self.membership.role is Role.MANAGER

    def is_busy(self) -> bool:
        return self._busy

    def _update_actions(self) -> None:
        usable = self.is_manager() and not self.is_busy()
        selected = bool(self.view.selectionModel().selectedRows())
        for button in (self.approve_button, self.reject_button, self.skip_button):
            button.setEnabled(usable and selected)
        if self.settings is None:
            self.approve_button.setEnabled(False)
            self.approve_button.setToolTip(self.settings_problem)
        failed = any(
            r.get(Partner.PULSEWAY_SYNC_STATE) == PulsewaySyncState.FAILED.value
            for r in self.model.records()
        )
        self.retry_button.setEnabled(usable and failed and self.settings is not None)

    def actor(self) -> approvals.Actor:
        assert self.membership is not None and self.gateway.user is not None
        return approvals.Actor(
            self.gateway.user.uid,
            self.gateway.user.name,
            self.membership.sa_id,
            self.membership.sa_name,
        )

    # ------------------------------------------------------------------ loading
    def reload_for(self, membership: Membership, *, keep_rows: bool = True) -> None:
        """Load the queue of ``membership``'s SA, or say why there is none."""
        self.membership = membership
        if not self.is_manager():
            self.cancel_load()
            self.model.clear()
            self.show_status(
                f"You are not a manager in {membership.sa_name}: partner → Pulseway approvals "
                "are decided by the SA's managers.",
                error=False,
            )
            self._update_actions()
            return
        self.start_load(self._loader(membership), keep_rows=keep_rows)
        self._update_actions()

    def wants_refresh(self) -> bool:
        return self.is_manager()

    def refresh(self) -> None:
        """A company became pending (relay event) and events settled: reload the queue."""
        assert self.membership is not None
        self.reload_for(self.membership, keep_rows=True)

    def _loader(self, membership: Membership) -> Any:
        gateway = self.gateway
        assert gateway.user is not None
        domain = approvals.approvals_domain(
            membership.sa_id, gateway.user.uid, membership.role, membership.descendants
        )
        settings = self.settings

        async def load(progress: Callable[[int, int], None]) -> Any:
            rows = await approvals.load_queue(gateway, domain)
            progress(0, len(rows))
            organizations: list[OrganizationCandidate] = []
            problem = ""
            if settings is not None and rows:
                try:
                    async with settings.client() as client:
                        orgs = await client.organizations()
                    organizations = [OrganizationCandidate(o.id, o.name) for o in orgs]
                except PulsewayError as exc:
                    problem = f"Pulseway: {exc}"
            elif settings is None:
                problem = self.settings_problem
            if problem:
                self.show_status(problem, error=True)
            can_create = settings is not None and settings.can_create
            for row in rows:
                self._propose(row, organizations, can_create, problem)
            progress(len(rows), len(rows))
            yield rows

        return load

    @staticmethod
    def _propose(
        row: Row, organizations: Sequence[OrganizationCandidate], can_create: bool, problem: str
    ) -> None:
        org_id = int(row.get(Partner.PULSEWAY_ORG_ID) or 0) or None
        proposal = approvals.propose_target(
            str(row.get(Partner.NAME) or ""), org_id, organizations, can_create=can_create
        )
        row["target"] = proposal.target
        row["reason"] = proposal.reason if not problem else ""
        row["suggestions"] = proposal.suggestions
        row["proposal_problem"] = "Pulseway unavailable" if problem else ""
        row["proposal"] = ""
        row.setdefault("result", "")
        row.setdefault("result_kind", "")

    def _set_result(self, partner_id: int, text: str, kind: str, **values: Any) -> None:
        if self.model.peek(partner_id) is None:
            return  # the SA changed meanwhile: the row is not shown any more
        self.model.queue_upsert({"id": partner_id, "result": text, "result_kind": kind, **values})

    # ------------------------------------------------------------------ target picker
    def _fill_picker(self, row: Row | None) -> None:
        self.targets.clear()
        if row is None:
            return
        current: approvals.Target | None = row.get("target")
        for suggestion in row.get("suggestions") or ():
            org = suggestion.candidate
            item = QListWidgetItem(f"Link → {org.name} ({org.id}) — {suggestion.reason}")
            item.setData(Qt.ItemDataRole.UserRole, approvals.Target("link", org.id, org.name))
            if current is not None and current.action == "link" and current.org_id == org.id:
                item.setSelected(True)
            self.targets.addItem(item)
        name = str(row.get(Partner.NAME) or "").strip()
        create = QListWidgetItem(f"Create organization “{name}” ({ORG_CREATE_LABEL})")
        create.setData(Qt.ItemDataRole.UserRole, approvals.Target("create", None, name))
        if self.settings is None or not self.settings.can_create:
            create.setFlags(Qt.ItemFlag.NoItemFlags)
            create.setText(
                f"Create organization “{name}” — off: the public Pulseway v3 API cannot create "
                "organizations (enable PSA_PULSEWAY_ORG_CREATE_URL if your server can)"
            )
        self.targets.addItem(create)

    def _choose_target(self, item: QListWidgetItem) -> None:
        target = item.data(Qt.ItemDataRole.UserRole)
        row = self.current_record()
        if isinstance(target, approvals.Target) and row is not None:
            self.set_target(int(row["id"]), target, "chosen by you")

    def _choose_typed_id(self) -> None:
        row = self.current_record()
        text = self.org_id_box.text().strip()
        if row is None:
            return
        if not text.isdigit() or int(text) <= 0:
            self.show_status(f"“{text}” is not a Pulseway organization id (a number).", error=True)
            return
        org_id = int(text)
        known = next(
            (s.candidate for s in row.get("suggestions") or () if s.candidate.id == org_id), None
        )
        target = approvals.Target("link", org_id, known.name if known else "")
        self.set_target(int(row["id"]), target, "organization id typed in")
        self.org_id_box.clear()

    def set_target(self, partner_id: int, target: approvals.Target, reason: str) -> None:
        """Use ``target`` for a row (the picker, or tests)."""
        self.model.queue_upsert({"id": partner_id, "target": target, "reason": reason})
        self.model.flush()
        self.refresh_detail()

    # ------------------------------------------------------------------ actions
    def _selected_ids(self) -> list[int]:
        return [int(r["id"]) for r in self.selected_records()]

    def _start_batch(self, work: Callable[[], Any]) -> None:
        if self.is_busy() or not self.is_manager():
            return
        self._busy = True
        self._batch = asyncio.ensure_future(work())
        self._update_actions()

    def _end_batch(self, done: int, failed: int) -> None:
        self._busy = False
        self.model.flush()
        self.progress.hide()
        self._update_actions()
        self.refresh_detail()
        self.batchFinished.emit(done, failed)

    def approve_selected(self) -> None:
        """Approve the selected rows with their targets (Enter / A)."""
        ids = self._selected_ids()
        if ids and self.settings is not None:
            self._start_batch(lambda: self._approve(ids))

    def retry_failed(self) -> None:
        """Approve again every failed row."""
        ids = [
            int(r["id"])
            for r in self.model.records()
            if r.get(Partner.PULSEWAY_SYNC_STATE) == PulsewaySyncState.FAILED.value
        ]
        if ids and self.settings is not None:
            self._start_batch(lambda: self._approve(ids))

    def reject_selected(self) -> None:
        """Reject the selected rows: never push them (R)."""
        ids = self._selected_ids()
        if ids:
            self._start_batch(lambda: self._reject(ids))

    def skip_selected(self) -> None:
        """Skip: decide later. Nothing is written; the rows stay pending (S)."""
        for partner_id in self._selected_ids():
            self._set_result(partner_id, "Skipped for now — still pending", "skip")
        self.model.flush()
        self._select_next()

    def _select_next(self) -> None:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        if rows and rows[-1] + 1 < self.proxy.rowCount():
            self.view.selectRow(rows[-1] + 1)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    async def _approve(self, ids: list[int]) -> None:
        settings = self.settings
        assert settings is not None
        actor = self.actor()
        done = failed = 0
        self._progress(0, len(ids))
        try:
            async with settings.client() as client:
                push = PulsewayPush(client, partner_field=settings.partner_field)
                for number, partner_id in enumerate(ids):
                    row = self.model.peek(partner_id)
                    if row is None:
                        continue
                    target: approvals.Target | None = row.get("target")
                    if target is None:
                        self._set_result(partner_id, "Choose a target first (panel below)", "error")
                        failed += 1
                        continue
                    self._set_result(partner_id, f"Sending… ({target.describe()})", "busy")
                    ok = await self._approve_one(push, partner_id, target, actor)
                    done += ok
                    failed += not ok
                    self._progress(number + 1, len(ids))
        finally:
            self._end_batch(done, failed)

    async def _approve_one(
        self, push: PulsewayPush, partner_id: int, target: approvals.Target, actor: approvals.Actor
    ) -> bool:
        async def remote() -> approvals.RemoteOutcome:
            if target.action == "create":
                result = await push.create(target.org_name, partner_id)
            else:
                assert target.org_id is not None
                result = await push.link(target.org_id, partner_id)
            return approvals.RemoteOutcome(
                result.organization.id, result.organization.name, result.sent, result.created
            )

        try:
            outcome = await approvals.approve(self.gateway, partner_id, target, actor, remote)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an Odoo write refused or unreachable: nothing was sent
            log.warning("approval of partner %s failed in Odoo: %s", partner_id, exc)
            self._set_result(
                partner_id, f"Not approved — Odoo: {exc}. Approve again to retry.", "error"
            )
            return False
        if outcome.ok:
            org = target.org_name if target.action == "link" else "new organization"
            text = f"✓ Synced: {org} ({outcome.org_id})"
            if not outcome.sent:
                text += " — already stamped, nothing sent again"
            self._set_result(
                partner_id,
                text,
                "ok",
                **{
                    Partner.PULSEWAY_SYNC_STATE: outcome.state,
                    Partner.PULSEWAY_ORG_ID: outcome.org_id,
                },
            )
            return True
        self._set_result(
            partner_id,
            f"✗ {approvals.FAILURE_PREFIX}{outcome.message} — approve again to retry",
            "error",
            **{Partner.PULSEWAY_SYNC_STATE: outcome.state},
        )
        return False

    async def _reject(self, ids: list[int]) -> None:
        actor = self.actor()
        done = failed = 0
        try:
            for partner_id in ids:
                try:
                    outcome = await approvals.reject(self.gateway, partner_id, actor)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._set_result(partner_id, f"Not rejected — Odoo: {exc}", "error")
                    failed += 1
                    continue
                self._set_result(
                    partner_id,
                    "Rejected: will not be pushed",
                    "skip",
                    **{Partner.PULSEWAY_SYNC_STATE: outcome.state},
                )
                done += 1
        finally:
            self._end_batch(done, failed)

    # ------------------------------------------------------------------ detail
    async def _render_detail(self, row: Row) -> str:
        messages = await approvals.chatter(self.gateway, int(row["id"]))
        chatter = "".join(
            f"<div><b>{escape(m['author_id'][1] if m.get('author_id') else 'System')}</b> "
            f"<div>{m.get('body') or ''}</div></div>"
            for m in messages
        )
        target: approvals.Target | None = row.get("target")
        facts = html_table(
            {
                "Company": row.get(Partner.NAME),
                "State": _STATE_LABELS.get(str(row.get(Partner.PULSEWAY_SYNC_STATE)), "Unset"),
                "Proposed": target.describe() if target else "nothing: pick a target below",
                "Why": row.get("reason"),
                "Result": row.get("result"),
                "Assigned to an SA": "yes"
                if row.get(Partner.SA_ASSIGNMENTS)
                else "no — approving assigns it to this SA",
            }
        )
        return f"{facts}<h4>Chatter</h4>{chatter or '<p>No messages.</p>'}"


def make_pane(gateway: OdooGateway, **options: Any) -> ApprovalsPane:
    return ApprovalsPane(gateway, **options)
