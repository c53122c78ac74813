"""Alert actions in the console (L link, T ticket, C/A/S/R, Enter, context menu, mute) against a
real relay whose sessions are real Odoo logins to the sandbox's Northwind IT world."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QSettings

from console.domain.names import HelpdeskTicket
from console.odoo.gateway import OdooGateway
from console.odoo.memberships import load_memberships
from console.odoo.triage import AlertTriage, LinkTarget, TriageContext
from console.relay.app import RelayApp
from console.relay.client import RelayClient, RelayUnavailable
from console.relay.config import RelayConfig
from console.relay.serving import BackgroundRelay
from console.relay.sessions import OdooSessionAuthority
from console.relay.sqlite_store import SqliteEventStore
from console.sandbox.odoo.orm import SUPERUSER_ID
from console.sandbox.sa_fixture import build_sa_world
from console.ui.dialogs.alert_ticket import AlertTicketDialog
from console.ui.dialogs.link_alert import LinkAlertDialog
from console.ui.dialogs.snooze import SnoozeDialog, snooze_choices
from console.ui.main_window import SHORTCUTS, MainWindow
from console.ui.panes import alerts
from tests.integration.relay.relay_support import ADMIN_TOKEN, SECRET, notification, sign

ACME_WS_DEVICE = "00000000-0000-4000-8000-000000000001"  # the world's ACME-WS01
UNKNOWN_DEVICE = "a7d1e6f0-1111-4222-8333-000000000999"


@pytest.fixture(autouse=True)
def collect_widgets_on_the_gui_thread() -> Iterator[None]:
    """Collect each test's widgets here, on the GUI thread, once everything else is torn down.

    Panes, feeds and dialogs reference each other (parents keep their children's wrappers);
    left to Python's cyclic GC they would be destroyed on whichever thread next allocates —
    an RPC worker — and Qt warns (rightly) about objects with timers dying on another thread.
    """
    yield
    gc.collect()


@pytest.fixture(scope="module")
def world():
    from tests.conftest import _start_odoo

    running, background = _start_odoo(small_dataset=False)
    ids = build_sa_world(running.database)
    yield running, ids
    background.stop()
    running.database.close()


@pytest.fixture(scope="module")
def relay(world, tmp_path_factory) -> Iterator[BackgroundRelay]:
    odoo, _ids = world
    config = RelayConfig(
        db=tmp_path_factory.mktemp("relay") / "relay.sqlite3",
        hook_secret=SECRET,
        admin_token=ADMIN_TOKEN,
    )
    # real Odoo logins, but no rules worker: these tests make every ticket themselves
    authority = OdooSessionAuthority(odoo.url, odoo.db_name, "admin", "admin")
    app = RelayApp(config, SqliteEventStore(config.db), authority)
    running = BackgroundRelay(app).start()
    yield running
    running.stop()


def post(relay: BackgroundRelay, **fields: Any) -> int:
    raw = json.dumps(notification(**fields)).encode()
    response = httpx.post(
        f"{relay.url}/hooks/pulseway",
        content=raw,
        headers={"content-type": "application/json", "x-hmac-signature": sign(raw)},
    )
    assert response.status_code in (200, 202), response.text
    return int(response.json()["seq"])


def admin_change(relay: BackgroundRelay, seq: int, **body: Any) -> None:
    response = httpx.post(
        f"{relay.url}/api/events/{seq}/state",
        json=body,
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text


class Console:
    """One user's Alerts pane: live feed and actions, Odoo as that user, relay session."""

    def __init__(self, qtbot, run_async, odoo, relay, login: str, sa_name: str | None = None):
        self.qtbot, self.run_async = qtbot, run_async
        self.gateway = run_async(OdooGateway.connect(odoo.url, odoo.db_name, login, login))
        memberships = run_async(load_memberships(self.gateway))
        self.current = next(m for m in memberships if sa_name in (None, m.sa_name))
        self.context = TriageContext.for_user(self.gateway.user.uid, self.current, memberships)
        self.client = RelayClient(relay.url)
        run_async(self.client.open_session(login, login))
        self.pane = alerts.make_pane()
        self.pane.set_detail_renderer(alerts.detail_renderer(self.client))
        qtbot.addWidget(self.pane)
        # parented to the pane, so Qt destroys them with it, on the GUI thread
        self.feed = alerts.AlertFeed(self.pane, self.client, self.gateway, parent=self.pane)
        # the callbacks capture locals, not ``self``: a Console <-> pane reference cycle would
        # let Python's GC destroy the pane on whichever thread happens to collect
        device_events: dict[str, dict[str, Any]] = {}
        self.device_events = device_events
        feed, gateway, context, sa_id = self.feed, self.gateway, self.context, self.current.sa_id
        self.actions = alerts.AlertActions(
            self.pane,
            self.client,
            lambda: sa_id,
            self.pane,
            triage=lambda: AlertTriage(gateway, context),
            device_facts=lambda d: device_events.get(d or "") or feed.device_facts(d),
        )
        with qtbot.waitSignal(self.feed.relayStateChanged, timeout=15_000):
            self.feed.start()

    def close(self) -> None:
        if self.actions.dialog is not None:
            self.actions.dialog.reject()
        self.feed.stop()
        self.run_async(self.client.aclose())
        self.gateway.close()

    def row(self, seq: int) -> dict[str, Any] | None:
        model = self.pane.model
        number = model.row_of(seq)
        return None if number is None else model.record(number)

    def wait_row(self, seq: int, **expected: Any) -> dict[str, Any]:
        def matches() -> bool:
            row = self.row(seq)
            return row is not None and all(row.get(k) == v for k, v in expected.items())

        self.qtbot.waitUntil(matches, timeout=10_000)
        row = self.row(seq)
        assert row is not None
        return row

    def select(self, seq: int) -> None:
        self.wait_row(seq)
        source = self.pane.model.index(self.pane.model.row_of(seq), 0)
        self.pane.view.selectRow(self.pane.proxy.mapFromSource(source).row())

    def display(self, seq: int, column: str) -> str:
        model = self.pane.model
        return str(model.data(model.index(model.row_of(seq), model.column_of(column))))


@pytest.fixture
def console_for(qtbot, run_async, world, relay):
    odoo, _ids = world
    opened: list[Console] = []

    def open_console(login: str, sa_name: str | None = None) -> Console:
        console = Console(qtbot, run_async, odoo, relay, login, sa_name)
        opened.append(console)
        return console

    yield open_console
    for console in opened:
        console.close()


def ticket_row(world, ticket_id: int, fields: list[str]) -> dict[str, Any]:
    odoo, _ids = world
    [row] = odoo.database.call_kw(
        SUPERUSER_ID, HelpdeskTicket.MODEL, "read", [[ticket_id]], {"fields": fields}
    )
    return row


def tickets_for_seq(world, seq: int) -> list[int]:
    odoo, _ids = world
    return odoo.database.call_kw(
        SUPERUSER_ID, HelpdeskTicket.MODEL, "search", [[("x_relay_seq", "=", seq)]], {}
    )


# ---------------------------------------------------------------------------------- link


def test_link_dialog_ranks_the_hostname_match_first_and_every_console_sees_the_link(
    qtbot, world, relay, console_for
) -> None:
    _odoo, ids = world
    dispatch = console_for("dispatch", "East")
    seq = post(relay, title="Link dialog test", device=UNKNOWN_DEVICE)
    dispatch.device_events[UNKNOWN_DEVICE] = {"hostname": "ACME-WS01.acme.local"}
    dispatch.select(seq)

    dialog = dispatch.actions.link()
    assert isinstance(dialog, LinkAlertDialog)
    qtbot.waitUntil(lambda: dialog.suggestions_loaded, timeout=10_000)
    top = dialog.targets()[0]
    assert top.asset_id == ids["assets"]["acme_ws"]
    assert dialog.reasons()[0] == "same hostname ACME-WS01"
    assert any("similar" in reason for reason in dialog.reasons()[1:])

    dialog.choose()
    qtbot.waitUntil(lambda: dialog.chosen is not None, timeout=10_000)
    row = dispatch.wait_row(seq, asset_name="ACME-WS01")
    assert row["sa_ids"] == [ids["sa"]["east"]]
    assert dispatch.display(seq, "client_name") == "Acme Corp"
    assert dispatch.display(seq, "asset_name") == "ACME-WS01"

    # alice (technician in East) did not see the unmatched alert; now it is hers to see
    alice = console_for("alice")
    alice.wait_row(seq, asset_name="ACME-WS01", partner_name="Acme Corp")


def test_link_search_finds_clients_in_scope_only(qtbot, relay, console_for) -> None:
    bob = console_for("bob")
    seq = post(relay, title="Search test")
    admin_change(relay, seq, action="link", sa_ids=[bob.current.sa_id])
    bob.select(seq)
    dialog = bob.actions.link()
    qtbot.waitUntil(lambda: dialog.suggestions_loaded, timeout=10_000)
    dialog.search.setText("acme")
    qtbot.waitUntil(lambda: bool(dialog.targets()), timeout=10_000)
    # Acme West Branch is bob's (West); Acme Corp (East) is not offered
    labels = {t.label for t in dialog.targets()}
    assert any("Acme West Branch" in label for label in labels)
    assert not any("Acme Corp" in label for label in labels)


def test_technician_cannot_link_into_another_sa_and_is_told_why(
    qtbot, world, relay, console_for
) -> None:
    _odoo, ids = world
    bob = console_for("bob")
    seq = post(relay, title="Bob links East")
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["west"]])
    bob.select(seq)
    dialog = bob.actions.link()
    qtbot.waitUntil(lambda: dialog.suggestions_loaded, timeout=10_000)
    dialog.select(LinkTarget(ids["assets"]["acme_ws"], "ACME-WS01", ids["partners"]["acme"], None))
    dialog.choose()
    qtbot.waitUntil(lambda: not dialog.message.isHidden(), timeout=10_000)
    assert "not in a Serviced Account you work in" in dialog.message.text()
    assert dialog.isVisible() and dialog.chosen is None
    assert bob.row(seq)["asset_id"] is None

    # the relay refuses too, whatever a client sends; the pane says why
    bob.run_async(bob.actions._send("link", [seq], sa_ids=[ids["sa"]["east"]]))
    assert "outside your scope" in bob.pane.status_label.text()


# ---------------------------------------------------------------------------------- ticket


def open_ticket_dialog(qtbot, console: Console, seq: int) -> AlertTicketDialog:
    console.select(seq)
    with qtbot.waitSignal(console.actions.dialogOpened, timeout=10_000) as opened:
        console.actions.ticket()
    dialog = opened.args[0]
    assert isinstance(dialog, AlertTicketDialog)
    qtbot.waitUntil(lambda: dialog.tickets_loaded, timeout=10_000)
    return dialog


def test_ticket_from_alert_is_created_in_odoo_and_shown_on_the_alert(
    qtbot, world, relay, console_for
) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="GUI ticket test", device=ACME_WS_DEVICE, priority="Critical")
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    dialog = open_ticket_dialog(qtbot, alice, seq)
    assert dialog.create_mode.isChecked()
    assert dialog.title.text() == "Alert: GUI ticket test"

    with qtbot.waitSignal(alice.actions.ticketsChanged, timeout=10_000):
        dialog.submit()
    ticket = dialog.result_ticket
    row = ticket_row(
        world, ticket.id, ["name", "x_sa_id", "x_asset_id", "partner_id", "priority", "x_relay_seq"]
    )
    assert row["name"] == "Alert: GUI ticket test"
    assert row["x_sa_id"][0] == ids["sa"]["east"]
    assert row["x_asset_id"][0] == ids["assets"]["acme_ws"]
    assert row["partner_id"][0] == ids["partners"]["acme"]
    assert (row["priority"], row["x_relay_seq"]) == ("2", seq)
    alice.wait_row(seq, ticket_id=ticket.id)
    assert alice.display(seq, "ticket_id") == f"#{ticket.id} Alert: GUI ticket test"


def test_an_open_ticket_for_the_same_alert_makes_attach_the_default(
    qtbot, world, relay, console_for
) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="Already ticketed", device=ACME_WS_DEVICE)
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    triage = AlertTriage(alice.gateway, alice.context)
    alert = alice.wait_row(seq)
    target = alice.run_async(triage.target_for_alert(alert))
    existing = alice.run_async(triage.create_ticket(alert, target))  # e.g. the rules worker's
    dialog = open_ticket_dialog(qtbot, alice, seq)
    assert dialog.attach_mode.isChecked()
    assert dialog.open_ticket_choices()[0].id == existing.id
    assert f"#{existing.id} is already open for this alert" in dialog.tickets_note.text()


def test_attach_to_an_open_ticket_from_the_dialog(qtbot, world, relay, console_for) -> None:
    odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="GUI attach test", device=ACME_WS_DEVICE)
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    existing = ids["tickets"]["east_alice"]  # Acme printer offline: alice's, same asset
    before = ticket_row(world, existing, ["x_alert_count"])["x_alert_count"]
    dialog = open_ticket_dialog(qtbot, alice, seq)
    offered = {t.id for t in dialog.open_ticket_choices()}
    assert ids["tickets"]["east_maria"] not in offered  # maria's: a technician sees own only
    dialog.select_ticket(existing)
    assert dialog.ok.text() == "Attach"
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.result_ticket is not None, timeout=10_000)
    assert ticket_row(world, existing, ["x_alert_count"])["x_alert_count"] == before + 1
    bodies = odoo.database.call_kw(
        SUPERUSER_ID,
        "mail.message",
        "search_read",
        [[("model", "=", HelpdeskTicket.MODEL), ("res_id", "=", existing)]],
        {"fields": ["body"]},
    )
    assert any("GUI attach test" in str(m["body"]) for m in bodies)
    alice.wait_row(seq, ticket_id=existing)


def test_odoo_refusal_is_shown_with_retry_and_nothing_is_recorded(
    qtbot, world, relay, console_for
) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="Refused ticket")
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    alice.select(seq)
    forged = LinkTarget(
        ids["assets"]["initech_ws"], "INITECH-WS01", ids["partners"]["initech"], "Initech",
        sa_ids=(ids["sa"]["west"],),
    )  # fmt: skip
    recorded: list[Any] = []

    async def record(ticket: Any) -> None:
        recorded.append(ticket)

    dialog = AlertTicketDialog(
        AlertTriage(alice.gateway, alice.context), alice.row(seq), forged, record
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.tickets_loaded, timeout=10_000)
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.message.isHidden(), timeout=10_000)
    assert "Odoo does not allow this" in dialog.message.text()
    assert "press Retry" in dialog.message.text()
    assert dialog.ok.text() == "Retry"
    assert recorded == [] and tickets_for_seq(world, seq) == []


def test_relay_failure_after_the_ticket_exists_is_retried_without_a_second_ticket(
    qtbot, world, relay, console_for
) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="Record retry", device=ACME_WS_DEVICE)
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    alice.select(seq)
    triage = AlertTriage(alice.gateway, alice.context)
    target = alice.run_async(triage.target_for_alert(alice.row(seq)))
    attempts: list[int] = []

    async def record(ticket: Any) -> None:
        attempts.append(ticket.id)
        if len(attempts) == 1:
            raise RelayUnavailable(0, "cannot reach the relay")

    dialog = AlertTicketDialog(triage, alice.row(seq), target, record)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.tickets_loaded, timeout=10_000)
    dialog.submit()
    qtbot.waitUntil(lambda: not dialog.message.isHidden(), timeout=10_000)
    assert "is done in Odoo, but recording it on the alert failed" in dialog.message.text()
    dialog.submit()  # Retry
    qtbot.waitUntil(lambda: dialog.result_ticket is not None, timeout=10_000)
    assert len(set(attempts)) == 1 and len(attempts) == 2
    assert tickets_for_seq(world, seq) == [attempts[0]]


# ---------------------------------------------------------------------------------- state


def test_claims_from_two_consoles_show_on_both(qtbot, world, relay, console_for) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    maria = console_for("maria")
    first = post(relay, title="Two consoles A")
    second = post(relay, title="Two consoles B")
    for seq in (first, second):
        admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    alice.select(first)
    alice.actions.apply("claim")
    maria.select(second)
    maria.actions.apply("claim")
    for console in (alice, maria):
        console.wait_row(first, claimed_by="alice", state="claimed")
        console.wait_row(second, claimed_by="maria", state="claimed")


def test_snooze_picker_snoozes_until_the_chosen_time(qtbot, world, relay, console_for) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="Snooze picker")
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    alice.select(seq)
    dialog = alice.actions.pick_snooze()
    assert isinstance(dialog, SnoozeDialog)
    dialog.choose(2)  # 4 hours
    before = datetime.now(UTC)
    dialog.accept()
    row = alice.wait_row(seq, state="snoozed")
    until = datetime.fromisoformat(row["snoozed_until"].replace("Z", "+00:00"))
    assert before + timedelta(hours=4) - timedelta(seconds=5) <= until
    assert until <= datetime.now(UTC) + timedelta(hours=4)


def test_snooze_picker_refuses_a_custom_time_in_the_past(qtbot) -> None:
    dialog = SnoozeDialog()
    qtbot.addWidget(dialog)
    dialog.choose(4)
    assert dialog.custom.isEnabled()
    dialog.custom.setMinimumDateTime(dialog.custom.minimumDateTime().addDays(-2))
    dialog.custom.setDateTime(dialog.custom.minimumDateTime())
    dialog.accept()
    assert dialog.until() is None
    assert "in the future" in dialog.error.text()


def test_snooze_presets_include_tomorrow_morning() -> None:
    now = datetime(2026, 3, 4, 22, 30, tzinfo=UTC)
    labels = [label for label, _until in snooze_choices(now)]
    assert labels[:3] == ["15 minutes", "1 hour", "4 hours"]
    _label, tomorrow = snooze_choices(now)[3]
    assert tomorrow > now and (tomorrow.hour, tomorrow.minute) == (8, 0)


def test_a_conflict_is_shown_in_the_pane(qtbot, world, relay, console_for) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="Already resolved")
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    admin_change(relay, seq, action="resolve")
    alice.wait_row(seq, state="resolved")
    alice.select(seq)
    alice.run_async(alice.actions.apply("ack"))
    assert "Someone changed this alert first" in alice.pane.status_label.text()
    assert "already resolved" in alice.pane.status_label.text()


def test_enter_opens_the_detail_and_the_context_menu_offers_every_action(
    qtbot, world, relay, console_for
) -> None:
    _odoo, ids = world
    alice = console_for("alice")
    seq = post(relay, title="Detail test")
    admin_change(relay, seq, action="link", sa_ids=[ids["sa"]["east"]])
    alice.pane.show()
    alice.select(seq)
    alice.pane.splitter.setSizes([500, 0])
    alice.pane.recordActivated.emit(alice.row(seq))
    qtbot.waitUntil(lambda: "History" in alice.pane.detail.toHtml(), timeout=10_000)
    assert alice.pane.splitter.sizes()[1] > 0
    labels = [a.text() for a in alice.pane.view.actions()]
    for label in ("Link to asset or client…", "Ticket…", "Claim", "Acknowledge", "Snooze…"):
        assert label in labels
    keys = {a.shortcut().toString() for a in alice.pane.view.actions()}
    assert {"L", "T", "C", "A", "S", "R"} <= keys
    overlay = {k for k, _what in SHORTCUTS}
    assert {"L", "T", "S", "R"} <= overlay and "C / A" in overlay


def test_device_events_on_the_stream_feed_the_link_hints(qtbot, qasync_loop) -> None:
    pane = alerts.make_pane()
    qtbot.addWidget(pane)
    feed = alerts.AlertFeed(pane, RelayClient("http://127.0.0.1:9"), None)
    message = alerts.StreamMessage(
        7,
        "device.changed",
        {"kind": "device.changed", "device_id": "AB-1", "payload": {"hostname": "WS-7"}},
    )
    feed._apply(message)
    assert feed.device_facts("ab-1") == {"hostname": "WS-7"}
    assert feed.device_facts("other") is None


# ---------------------------------------------------------------------------------- mute


class RecordingTray:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def showMessage(self, title: str, text: str, *_args: Any) -> None:
        self.messages.append((title, text))


def test_muted_console_shows_no_tray_message_and_remembers_it(
    qtbot, run_async, world, relay, tmp_path
) -> None:
    odoo, _ids = world
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    gateway = run_async(OdooGateway.connect(odoo.url, odoo.db_name, "alice", "alice"))
    memberships = run_async(load_memberships(gateway))
    client = RelayClient(relay.url)
    window = MainWindow(gateway, memberships, settings=settings, relay=client)
    qtbot.addWidget(window)
    tray = RecordingTray()
    window.tray = tray  # type: ignore[assignment]  # offscreen has no system tray
    critical = {"seq": 1, "title": "Server down", "priority": "Critical", "sa_ids": []}
    window.alerts_pane.proxy.set_extra_filter(None)

    window._notify_critical(critical)
    assert tray.messages == [("Critical alert", "Server down — ")]

    window.mute_action.trigger()
    assert window.mute_action.isChecked() and window.mute_notifications
    window._notify_critical(critical)
    assert len(tray.messages) == 1
    window.save()

    again = MainWindow(gateway, memberships, settings=settings, relay=client)
    qtbot.addWidget(again)
    assert again.mute_action.isChecked() and again.mute_notifications
    again.mute_action.trigger()
    assert settings.value("notifications/mute", type=bool) is False
    run_async(client.aclose())
    gateway.close()


def test_a_link_state_row_carries_names_and_ticket_into_the_alert_row() -> None:
    snapshot = {"seq": 9, "title": "Disk", "asset_id": 3, "partner_id": 4, "state": "open"}
    message = alerts.StreamMessage(
        12,
        "state",
        {
            "kind": "state",
            "payload": {
                "action": "link",
                "args": {"asset_id": 3, "asset_name": "WS-1", "partner_name": "Acme"},
                "alert": snapshot,
            },
        },
    )
    [row] = alerts.alert_rows(message)
    assert (row["seq"], row["asset_name"], row["partner_name"]) == (9, "WS-1", "Acme")
    assert "ticket_id" not in row  # an earlier ticket on the row stays as it was

    ticket = alerts.StreamMessage(
        13,
        "state",
        {
            "kind": "state",
            "payload": {"action": "link", "args": {"ticket_id": 77}, "alert": snapshot},
        },
    )
    [row] = alerts.alert_rows(ticket)
    assert row["ticket_id"] == 77 and "asset_name" not in row
