"""The NOC wall (``psa console --wall``) against a real relay and a provisioned sandbox Odoo.

Alerts are posted as signed Pulseway webhooks and stamped with an SA through the relay's own
state API (``link``), exactly as consoles do; the wall signs in to Odoo and the relay as the
demo dispatcher. Time-dependent behaviour (data age) uses an injected clock, never a sleep.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from PySide6.QtWidgets import QAbstractButton, QLineEdit

from console.odoo.gateway import OdooGateway
from console.relay.app import create_app
from console.relay.client import Backoff, RelayClient
from console.relay.config import OdooServiceAccount, RelayConfig, RulesSettings
from console.relay.serving import BackgroundRelay
from console.sandbox.sa_fixture import build_sa_world
from console.ui.wall import (
    WallFeed,
    WallSettings,
    WallWindow,
    load_wall_settings,
    wait_wall_ready,
)
from console.ui.wall_model import ALL_PAGE, WallModel, WallPage
from tests.integration.relay.relay_support import ADMIN_TOKEN, SECRET, notification, sign

#: long timers: a test moves the wall itself (refresh, next_page), never waits on them
QUIET = WallSettings(cycle_seconds=3600, probe_seconds=3600, odoo_probe_seconds=3600)


@pytest.fixture(scope="module")
def world_odoo():
    from tests.conftest import _start_odoo

    running, background = _start_odoo(small_dataset=False)
    ids = build_sa_world(running.database)
    yield running, ids
    background.stop()
    running.database.close()


def start_relay(db: Path, odoo, port: int = 0) -> BackgroundRelay:
    config = RelayConfig(
        db=db,
        hook_secret=SECRET,
        admin_token=ADMIN_TOKEN,
        odoo=OdooServiceAccount(odoo.url, odoo.db_name, "admin", "admin"),
        rules=RulesSettings(enabled=False),
    )
    return BackgroundRelay(create_app(config), port=port).start()


@pytest.fixture
def relay(tmp_path, world_odoo):
    running = start_relay(tmp_path / "relay.sqlite3", world_odoo[0])
    yield running
    running.stop()


def post(url: str, sa: int | None = None, **fields) -> int:
    """A signed webhook; with ``sa``, the alert is then linked to that SA (admin token)."""
    raw = json.dumps(notification(**fields)).encode()
    response = httpx.post(
        f"{url}/hooks/pulseway",
        content=raw,
        headers={"content-type": "application/json", "x-hmac-signature": sign(raw)},
    )
    assert response.status_code == 202, response.text
    seq = int(response.json()["seq"])
    if sa is not None:
        change(url, seq, "link", sa_ids=[sa])
    return seq


def change(url: str, seq: int, action: str, **body) -> None:
    response = httpx.post(
        f"{url}/api/events/{seq}/state",
        json={"action": action, **body},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200, response.text


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_wall(
    qtbot,
    run_async,
    relay_url: str,
    odoo,
    *,
    login: str = "dispatch",
    settings: WallSettings = QUIET,
    sa: str | None = None,
    clock=None,
    wait: bool = True,
) -> WallWindow:
    quick = Backoff(base=0.05, cap=0.3)

    async def connect_relay() -> RelayClient:
        async def reauthenticate() -> str:
            return (await client.open_session(login, login)).token

        client = RelayClient(relay_url, backoff=quick, reauthenticate=reauthenticate)
        await client.open_session(login, login)
        return client

    async def connect_odoo() -> OdooGateway:
        return await OdooGateway.connect(odoo.url, odoo.db_name, login, login)

    extra = {"clock": clock} if clock is not None else {}
    feed = WallFeed(
        WallModel(),
        relay=connect_relay,
        odoo=connect_odoo,
        settings=settings,
        sa_filter=sa,
        backoff=Backoff(base=0.05, cap=0.3),
        **extra,
    )
    window = WallWindow(feed, settings)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    window.start()
    if wait:
        run_async(wait_wall_ready(window))
    return window


def close(window: WallWindow) -> None:
    feed = window.feed
    window.close()
    if feed.gateway is not None:
        feed.gateway.close()


def show(window: WallWindow, key: str) -> None:
    window.show_view(window.views.index(key))


def tile_counts(window: WallWindow) -> dict[str, str]:
    return {s: t.count.text() for s, t in window.page_view.tiles.items()}


# ----------------------------------------------------------------------------- counts


def test_wall_counts_match_what_the_relay_holds(qtbot, run_async, world_odoo, relay) -> None:
    _odoo, ids = world_odoo
    east, west = ids["sa"]["east"], ids["sa"]["west"]
    url = relay.url
    first = post(url, east, title="Backup failed", priority="Critical", device="e-1")
    post(url, east, title="Disk failing", priority="Critical", device="e-2")
    post(url, east, title="Patch pending", priority="Low", device="e-3")
    claimed = post(url, east, title="CPU high", priority="Elevated", device="e-4")
    change(url, claimed, "claim")
    resolved = post(url, west, title="Service stopped", priority="Elevated", device="w-1")
    change(url, resolved, "resolve")
    post(url, west, title="Memory low", priority="Normal", device="w-2")
    post(url, None, title="Unknown device offline", priority="Normal", device="u-1")
    # a repeat raises the count of its alert: still one open alert
    post(url, east, title="Backup failed", priority="Critical", device="e-1")

    window = make_wall(qtbot, run_async, url, world_odoo[0])
    model = window.model
    east_page = f"sa:{east}"
    figures = model.figures(east_page)
    assert figures.counts == (2, 1, 0, 1)  # critical, elevated (claimed still open), normal, low
    assert figures.unhandled == 3  # the claimed one has someone on it
    assert figures.oldest is not None and figures.oldest.seq == first
    assert model.figures(f"sa:{west}").counts == (0, 0, 1, 0)  # the resolved one is gone
    assert model.figures("unmatched").counts == (0, 0, 1, 0)
    assert model.figures(ALL_PAGE).counts == (2, 1, 2, 1)
    # the root SA's page holds its regions (SA hierarchy)
    root = ids["sa"]["root"]
    assert model.figures(f"sa:{root}").counts == (2, 1, 1, 1)

    show(window, east_page)
    assert window.title.text() == "East"
    assert tile_counts(window) == {"critical": "2", "elevated": "1", "normal": "0", "low": "1"}
    assert "Backup failed" in window.page_view.oldest.text()
    show(window, "summary")
    assert [c.text() for c in window.summary_view.cells[east_page][:5]] == [
        "East",
        "2",
        "1",
        "0",
        "1",
    ]
    assert window.relay_status.text() == "● Relay: live"
    assert window.odoo_status.text() == "● Odoo: connected"
    close(window)


def test_a_live_alert_counts_at_once_and_runs_in_the_ticker(
    qtbot, run_async, world_odoo, relay
) -> None:
    east = world_odoo[1]["sa"]["east"]
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0])
    show(window, f"sa:{east}")
    assert tile_counts(window)["critical"] == "0"
    post(relay.url, east, title="Firewall down", priority="Critical", device="e-9")
    qtbot.waitUntil(lambda: tile_counts(window)["critical"] == "1", timeout=10_000)
    assert "Firewall down" in window.page_view.ticker[0].text()
    close(window)


def test_a_technician_wall_shows_only_their_sa(qtbot, run_async, world_odoo, relay) -> None:
    ids = world_odoo[1]
    post(relay.url, ids["sa"]["east"], title="East alert", priority="Low", device="e-1")
    post(relay.url, ids["sa"]["west"], title="West alert", priority="Low", device="w-1")
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0], login="alice")
    assert window.views == [f"sa:{ids['sa']['east']}"]  # one SA: no summary, no cycling
    assert tile_counts(window)["low"] == "1"
    close(window)


# ----------------------------------------------------------------------------- staying up


def test_the_wall_rides_out_a_relay_restart_without_gaps(
    qtbot, run_async, tmp_path, world_odoo
) -> None:
    odoo, ids = world_odoo
    east = ids["sa"]["east"]
    db = tmp_path / "relay.sqlite3"
    relay = start_relay(db, odoo)
    port = relay.port
    post(relay.url, east, title="Before the outage", priority="Critical", device="e-1")
    window = make_wall(qtbot, run_async, relay.url, odoo)
    page = f"sa:{east}"
    show(window, page)
    assert window.model.figures(page).counts[0] == 1

    relay.stop()
    qtbot.waitUntil(lambda: window.relay_status.text() == "● Relay: unavailable", timeout=15_000)
    assert window.relay_status.property("level") == "red"
    assert window.model.figures(page).counts[0] == 1  # what it had stays on screen

    relay = start_relay(db, odoo, port=port)  # same store, same address: the relay restarted
    try:
        post(relay.url, east, title="While the wall was away", priority="Critical", device="e-2")
        qtbot.waitUntil(lambda: window.model.figures(page).counts[0] == 2, timeout=20_000)
        qtbot.waitUntil(lambda: window.relay_status.text() == "● Relay: live", timeout=10_000)
        assert window.model.figures(ALL_PAGE).total == 2  # resumed: nothing counted twice
        qtbot.waitUntil(lambda: tile_counts(window)["critical"] == "2", timeout=5_000)
    finally:
        close(window)
        relay.stop()


def test_stale_data_turns_amber_then_red_and_recovers(qtbot, run_async, world_odoo, relay) -> None:
    clock = FakeClock()
    settings = WallSettings(
        cycle_seconds=3600,
        probe_seconds=3600,
        odoo_probe_seconds=3600,
        stale_amber_seconds=60,
        stale_red_seconds=300,
    )
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0], settings=settings, clock=clock)
    window.refresh()
    assert window.data_age.property("level") == "ok"
    assert window.data_age.text() == "● Data age: 0s"

    clock.now += 61
    window.refresh()
    assert window.data_age.property("level") == "amber"
    assert window.data_age.text() == "● Data age: 1m"

    clock.now += 240
    window.refresh()
    assert window.data_age.property("level") == "red"

    # the relay confirms the wall holds everything: fresh again
    run_async(window.feed._probe_relay())
    window.refresh()
    assert window.data_age.property("level") == "ok"
    close(window)


def test_the_wall_rides_out_an_odoo_restart(qtbot, run_async, tmp_path) -> None:
    from console.sandbox.odoo.server import OdooServer
    from console.sandbox.serving import BackgroundServer
    from tests.conftest import _start_odoo

    odoo, background = _start_odoo(small_dataset=False)
    build_sa_world(odoo.database)
    relay = start_relay(tmp_path / "relay.sqlite3", odoo)
    try:
        window = make_wall(qtbot, run_async, relay.url, odoo)
        feed = window.feed
        background.stop()
        run_async(feed._probe_odoo())
        window.refresh()
        assert window.odoo_status.text() == "● Odoo: unavailable"
        assert window.odoo_status.property("level") == "red"
        assert window.views  # the pages it had stay up
        # Odoo back on the same address (a new process: every web session is gone)
        background = BackgroundServer(OdooServer({"psa": odoo.database}).app, port=odoo.port)
        background.start()
        run_async(feed._probe_odoo())
        window.refresh()
        assert window.odoo_status.text() == "● Odoo: connected"
        assert window.relay_status.text() == "● Relay: live"
        close(window)
    finally:
        relay.stop()
        background.stop()
        odoo.database.close()


# ----------------------------------------------------------------------------- pages


def test_the_wall_cycles_through_the_summary_and_every_sa(
    qtbot, run_async, world_odoo, relay
) -> None:
    ids = world_odoo[1]
    settings = WallSettings(cycle_seconds=0.05, probe_seconds=3600, odoo_probe_seconds=3600)
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0], settings=settings)
    expected = ["summary", *(f"sa:{ids['sa'][k]}" for k in ("root", "boston", "east", "west"))]
    assert sorted(window.views) == sorted(expected)
    assert window.views[0] == "summary"
    seen: list[str] = []
    window.pageChanged.connect(seen.append)
    qtbot.waitUntil(lambda: len(seen) >= len(window.views), timeout=10_000)
    assert set(seen[: len(window.views)]) == set(window.views)

    window.toggle_pause()
    paused_at = window.current_view()
    window.next_page()  # the keyboard still moves a paused wall
    assert window.current_view() != paused_at
    assert "(paused)" in window.page_index.text()
    close(window)


def test_sa_option_pins_the_wall_to_one_sa(qtbot, run_async, world_odoo, relay) -> None:
    west = world_odoo[1]["sa"]["west"]
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0], sa="west")
    assert window.views == [f"sa:{west}"]
    assert window.title.text() == "West"
    close(window)


def test_an_sa_the_user_is_not_in_is_said_on_the_wall(qtbot, run_async, world_odoo, relay) -> None:
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0], login="alice", sa="West")
    assert window.views == []
    assert "not a member of an SA named 'West'" in window.title.text()
    assert "East" in window.title.text()
    close(window)


def test_the_wall_offers_no_editing_at_all(qtbot, run_async, world_odoo, relay) -> None:
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0])
    assert window.findChildren(QLineEdit) == []
    assert window.findChildren(QAbstractButton) == []
    assert {a.text() for a in window.actions()} == {
        "Next page",
        "Previous page",
        "Pause cycling",
        "Full screen",
        "Quit",
    }
    close(window)


def test_type_scales_with_the_screen(qtbot, run_async, world_odoo, relay) -> None:
    window = make_wall(qtbot, run_async, relay.url, world_odoo[0])
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: "font-size: 154px" in window.styleSheet(), timeout=5000)
    window.resize(3840, 2160)
    qtbot.waitUntil(lambda: "font-size: 308px" in window.styleSheet(), timeout=5000)
    close(window)


# ----------------------------------------------------------------------------- settings


def test_wall_settings_come_from_the_config_then_the_environment(tmp_path) -> None:
    config = tmp_path / "console.toml"
    config.write_text(
        '[wall]\ncycle_seconds = 30\nstale_amber_seconds = 90\nodoo_user = "noc"\n',
        encoding="utf-8",
    )
    settings = load_wall_settings(config, {"PSA_WALL_STALE_RED_SECONDS": "600"})
    assert settings.cycle_seconds == 30
    assert settings.stale_amber_seconds == 90
    assert settings.stale_red_seconds == 600
    assert settings.odoo_user == "noc"
    assert settings.level(10) == "ok" and settings.level(95) == "amber"
    assert settings.level(601) == "red" and settings.level(None) == "red"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[wall]\ncycle_seconds = -1\n", {}, "cycle_seconds must be positive"),
        ("[wall]\ncycle = 5\n", {}, "unknown [wall] key(s): cycle"),
        ("", {"PSA_WALL_PROBE_SECONDS": "often"}, "probe_seconds must be a number"),
        ("", {"PSA_WALL_STALE_AMBER_SECONDS": "400"}, "must be below stale_red_seconds"),
        ("[wall\n", {}, "cannot read"),
    ],
)
def test_bad_wall_settings_are_refused_with_the_key_named(
    tmp_path, text: str, env: dict[str, str], message: str
) -> None:
    config = tmp_path / "console.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_wall_settings(config, env)


# ----------------------------------------------------------------------------- the model


def alert_row(seq: int, *, sa: list[int], priority: str = "Critical", state: str = "open"):
    return {
        "seq": seq,
        "alert_seq": seq,
        "kind": "alert",
        "repeat": False,
        "title": f"alert {seq}",
        "priority": priority,
        "sa_ids": sa,
        "state": state,
        "device_id": f"dev-{seq}",
        "received_at": "2026-01-01T00:00:00.000Z",
    }


def state_row(seq: int, target: int, *, state: str, sa: list[int]):
    snapshot = {**alert_row(target, sa=sa), "state": state}
    return {"seq": seq, "kind": "state", "sa_ids": sa, "payload": {"alert": snapshot}}


def test_replaying_rows_after_a_resume_counts_nothing_twice() -> None:
    model = WallModel([WallPage(ALL_PAGE, "Total"), WallPage("sa:1", "East", frozenset({1}))])
    rows = [alert_row(1, sa=[1]), alert_row(2, sa=[1]), state_row(3, 1, state="acked", sa=[1])]
    model.apply_all(rows)
    model.apply_all(rows[1:])  # a resume replays a few rows
    figures = model.figures("sa:1")
    assert figures.counts == (2, 0, 0, 0)
    assert figures.unhandled == 1 and figures.oldest is not None and figures.oldest.seq == 2


def test_a_link_moves_an_alert_between_sa_pages() -> None:
    model = WallModel(
        [WallPage("sa:1", "East", frozenset({1})), WallPage("sa:2", "West", frozenset({2}))]
    )
    model.apply_all(
        [alert_row(1, sa=[1]), alert_row(2, sa=[2]), state_row(3, 1, state="open", sa=[2])]
    )
    assert model.figures("sa:1").total == 0
    west = model.figures("sa:2")
    assert west.total == 2 and west.oldest is not None and west.oldest.seq == 1


def test_memory_is_bounded_however_much_traffic_arrives() -> None:
    model = WallModel([WallPage(ALL_PAGE, "Total")], max_open=100, ticker_size=10)
    for seq in range(1, 1001):
        model.apply(alert_row(seq, sa=[1]))
    assert model.open_count() == 100 and model.truncated
    assert len(model.ticker) == 10
    assert model.figures(ALL_PAGE).total == 100
    assert model.figures(ALL_PAGE).oldest.seq == 901  # type: ignore[union-attr]
    for seq in range(901, 1001):  # everything resolved: nothing is kept
        model.apply(state_row(1000 + seq, seq, state="resolved", sa=[1]))
    assert model.open_count() == 0 and model.figures(ALL_PAGE).counts == (0, 0, 0, 0)
