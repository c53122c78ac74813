"""TablePane: async paged loading with progress, cancellation, filter, state that survives."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QSettings, Qt

from console.ui.models.records import Column
from console.ui.panes.pane import TablePane

COLUMNS = [
    Column("name", "Name"),
    Column("os", "OS"),
    Column("n", "N", sort_value=lambda r: r["n"]),
]


def pages(count: int, page_size: int, gate: asyncio.Event | None = None, prefix: str = "WS"):
    async def loader(progress):
        progress(0, count)
        for start in range(0, count, page_size):
            if gate is not None:
                await gate.wait()
            await asyncio.sleep(0)
            page = [
                {
                    "id": i,
                    "name": f"{prefix}-{i:03d}",
                    "os": "Linux" if i % 2 else "Windows",
                    "n": i,
                }
                for i in range(start, min(count, start + page_size))
            ]
            progress(start + len(page), count)
            yield page

    return loader


@pytest.fixture
def pane(qtbot, qasync_loop) -> TablePane:
    widget = TablePane("assets", "Assets", COLUMNS)
    qtbot.addWidget(widget)
    return widget


def test_load_fills_the_model_and_reports_done(qtbot, pane: TablePane) -> None:
    with qtbot.waitSignal(pane.loadFinished, timeout=5000) as done:
        pane.start_load(pages(25, 10))
    assert done.args == [25, ""]
    assert pane.model.rowCount() == 25
    assert pane.progress.isHidden()
    assert pane.count_label.text() == "25"


def test_progress_is_visible_while_loading(qtbot, pane: TablePane) -> None:
    gate = asyncio.Event()
    pane.start_load(pages(20, 10, gate))
    qtbot.waitUntil(lambda: pane.progress.isVisible() or not pane.isVisible(), timeout=2000)
    assert pane.is_loading()
    gate.set()
    qtbot.waitUntil(lambda: not pane.is_loading(), timeout=5000)


def test_a_new_load_cancels_the_previous_one(qtbot, pane: TablePane) -> None:
    gate = asyncio.Event()
    first = pane.start_load(pages(50, 10, gate, prefix="OLD"))
    with qtbot.waitSignal(pane.loadFinished, timeout=5000):
        pane.start_load(pages(5, 10, prefix="NEW"))
    gate.set()
    qtbot.waitUntil(first.done, timeout=2000)
    assert first.cancelled()
    names = {pane.model.record(r)["name"] for r in range(pane.model.rowCount())}
    assert names and all(n.startswith("NEW") for n in names)


def test_failed_load_shows_the_error_in_the_pane(qtbot, pane: TablePane) -> None:
    async def broken(progress):
        raise RuntimeError("Odoo does not allow this")
        yield []  # pragma: no cover - makes this an async generator

    with qtbot.waitSignal(pane.loadFinished, timeout=5000) as done:
        pane.start_load(broken)
    assert done.args[1] == "Odoo does not allow this"
    assert "Odoo does not allow this" in pane.status_label.text()


def test_filter_box_filters_and_counts(qtbot, pane: TablePane) -> None:
    with qtbot.waitSignal(pane.loadFinished, timeout=5000):
        pane.start_load(pages(30, 30))
    qtbot.keyClicks(pane.filter_box, "LINUX")
    assert pane.proxy.rowCount() == 15
    assert pane.count_label.text() == "15 of 30"


def test_hiding_a_column_removes_it_from_filter_matches(qtbot, pane: TablePane) -> None:
    with qtbot.waitSignal(pane.loadFinished, timeout=5000):
        pane.start_load(pages(10, 10))
    pane.set_column_shown(1, False)
    pane.filter_box.setText("linux")
    assert pane.proxy.rowCount() == 0


def test_state_survives_a_restart(qtbot, qasync_loop, tmp_path) -> None:
    settings = QSettings(str(tmp_path / "state.ini"), QSettings.Format.IniFormat)
    first = TablePane("assets", "Assets", COLUMNS)
    qtbot.addWidget(first)
    first.view.setColumnWidth(0, 222)
    first.set_column_shown(1, False)
    first.view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    first.filter_box.setText("ws-01")
    first.save_state(settings)
    settings.sync()

    second = TablePane("assets", "Assets", COLUMNS)
    qtbot.addWidget(second)
    second.restore_state(QSettings(str(tmp_path / "state.ini"), QSettings.Format.IniFormat))
    assert second.view.columnWidth(0) == 222
    assert second.view.isColumnHidden(1)
    assert second.proxy.sort_column() == 2
    assert second.proxy.sort_order() == Qt.SortOrder.DescendingOrder
    assert second.filter_box.text() == "ws-01"


def test_detail_panel_renders_the_selected_row(qtbot, pane: TablePane) -> None:
    pane.set_detail_renderer(lambda row: f"<h3>{row['name']}</h3>")
    with qtbot.waitSignal(pane.loadFinished, timeout=5000):
        pane.start_load(pages(3, 3))
    pane.view.selectRow(1)
    assert "WS-001" in pane.detail.toPlainText()


def test_async_detail_renderer(qtbot, pane: TablePane) -> None:
    async def render(row):
        await asyncio.sleep(0)
        return f"<p>tickets of {row['name']}</p>"

    pane.set_detail_renderer(render)
    with qtbot.waitSignal(pane.loadFinished, timeout=5000):
        pane.start_load(pages(3, 3))
    pane.view.selectRow(2)
    qtbot.waitUntil(lambda: "tickets of WS-002" in pane.detail.toPlainText(), timeout=2000)


class _Refreshing(TablePane):
    def refresh(self) -> None:
        self.start_load(pages(3, 3), keep_rows=True)


def test_a_pending_live_refresh_is_dropped_when_the_pane_stops_loading(qtbot, qasync_loop) -> None:
    # a window closing after a relay event must not reload with its clients already closed
    pane = _Refreshing("unmatched", "Unmatched", COLUMNS)
    qtbot.addWidget(pane)
    pane.schedule_refresh()
    assert pane._refresh_timer.isActive()
    pane.cancel_load()
    assert not pane._refresh_timer.isActive()
    pane.schedule_refresh()
    with qtbot.waitSignal(pane.loadFinished, timeout=5000):
        pane.start_load(pages(2, 2))  # a new load makes the pending refresh moot
    assert not pane._refresh_timer.isActive()
