"""Pane item models: Qt's model contract, coalesced live upserts, fast filter and sort."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from console.ui.models.records import (
    Column,
    FilterSortProxyModel,
    KeyRole,
    RecordRole,
    RecordTableModel,
)

COLUMNS = [
    Column("x_name", "Hostname"),
    Column("x_partner_id", "Client"),
    Column("x_os_info", "OS"),
    Column("count", "Count", sort_value=lambda row: row.get("count", 0)),
]


def asset(i: int, **extra) -> dict:
    return {
        "id": i,
        "x_name": f"WS-{i:03d}",
        "x_partner_id": [100 + i % 3, f"Client {i % 3}"],
        "x_os_info": "Windows 11" if i % 2 else "Ubuntu 24.04",
        "count": i,
        **extra,
    }


@pytest.fixture
def model(qtbot) -> RecordTableModel:
    model = RecordTableModel(COLUMNS, coalesce_ms=10)
    model.append_rows([asset(i) for i in range(10)])
    return model


@pytest.fixture
def proxy(model: RecordTableModel) -> FilterSortProxyModel:
    proxy = FilterSortProxyModel()
    proxy.setSourceModel(model)
    return proxy


def test_table_model_passes_qt_model_tester(qtmodeltester, model: RecordTableModel) -> None:
    qtmodeltester.check(model)


def test_proxy_passes_qt_model_tester_while_filtering(qtmodeltester, proxy) -> None:
    qtmodeltester.check(proxy)
    proxy.set_filter_text("client 1")
    qtmodeltester.check(proxy)


def test_many2one_shows_its_display_name(model: RecordTableModel) -> None:
    assert model.data(model.index(1, 1)) == "Client 1"
    assert model.data(model.index(1, 0), RecordRole)["id"] == 1
    assert model.data(model.index(1, 0), KeyRole) == 1


def test_live_upserts_are_coalesced_into_one_insert(qtbot, model: RecordTableModel) -> None:
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserts.append((first, last)))
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    with qtbot.waitSignal(model.batchApplied, timeout=2000) as blocker:
        for i in range(10, 60):
            model.queue_upsert(asset(i))
    assert blocker.args == [50, 0]
    assert inserts == [(10, 59)]
    assert resets == []


def test_upsert_of_a_known_key_updates_in_place(qtbot, model: RecordTableModel) -> None:
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda tl, br, roles=(): changed.append((tl.row(), br.row())))
    with qtbot.waitSignal(model.batchApplied, timeout=2000):
        model.queue_upsert({"id": 3, "count": 99})
        model.queue_upsert({"id": 4, "count": 98})
    assert model.rowCount() == 10
    assert model.record(3)["count"] == 99 and model.record(3)["x_name"] == "WS-003"
    assert changed == [(3, 4)]


def test_filter_is_case_insensitive_across_visible_columns(proxy) -> None:
    proxy.set_filter_text("UBUNTU")
    assert proxy.rowCount() == 5
    proxy.set_filter_text("ws-00")
    assert proxy.rowCount() == 10
    proxy.set_hidden_columns([2])  # OS hidden: its text no longer matches
    proxy.set_filter_text("ubuntu")
    assert proxy.rowCount() == 0


def test_sort_uses_sort_values_not_text(proxy) -> None:
    proxy.sort(3, Qt.SortOrder.DescendingOrder)
    assert [proxy.record_at(r)["count"] for r in range(3)] == [9, 8, 7]


def test_live_insert_lands_in_filtered_sorted_view(qtbot, model, proxy) -> None:
    proxy.set_filter_text("client 1")
    proxy.sort(3, Qt.SortOrder.DescendingOrder)
    before = proxy.rowCount()
    with qtbot.waitSignal(model.batchApplied, timeout=2000):
        model.queue_upsert(asset(100))  # client 1, largest count
        model.queue_upsert(asset(101))  # client 2: filtered out
    assert proxy.rowCount() == before + 1
    assert proxy.record_at(0)["id"] == 100


def test_update_that_stops_matching_leaves_the_filtered_view(qtbot, model, proxy) -> None:
    proxy.set_filter_text("ubuntu")
    assert proxy.rowCount() == 5
    with qtbot.waitSignal(model.batchApplied, timeout=2000):
        model.queue_upsert({"id": 0, "x_os_info": "Windows 11"})
    assert proxy.rowCount() == 4


def test_selection_follows_its_row_through_a_resort(qtbot, proxy) -> None:
    from PySide6.QtCore import QPersistentModelIndex

    persistent = QPersistentModelIndex(proxy.index(2, 0))
    key = proxy.data(persistent, KeyRole)
    proxy.sort(3, Qt.SortOrder.DescendingOrder)
    assert persistent.isValid()
    assert proxy.data(proxy.index(persistent.row(), 0), KeyRole) == key


def test_remove_keys(model: RecordTableModel) -> None:
    model.remove_keys([2, 5, 999])
    assert model.rowCount() == 8
    assert model.row_of(2) is None
    assert model.record(model.row_of(6))["id"] == 6


def test_an_isolated_event_lands_at_once_and_a_burst_after_it_in_one_batch(qtbot, model) -> None:
    batches: list[list[int]] = []
    model.batchApplied.connect(lambda inserted, updated: batches.append([inserted, updated]))
    with qtbot.waitSignal(model.batchApplied, timeout=2000):
        model.queue_upsert(asset(200))
    with qtbot.waitSignal(model.batchApplied, timeout=2000):
        for i in range(201, 211):
            model.queue_upsert(asset(i))
    assert batches == [[1, 0], [10, 0]]


def _reference_view(rows: list[dict], needle: str, column: int, descending: bool) -> list[int]:
    """What the proxy must show, computed the slow, obvious way from the display texts."""

    def text(row: dict, c: Column) -> str:
        return c.text(row).casefold()

    shown = [r for r in rows if not needle or any(needle in text(r, c) for c in COLUMNS)]
    if column >= 0:
        shown = sorted(shown, key=lambda r: (COLUMNS[column].sort_key(r),), reverse=descending)
    return [r["id"] for r in shown]


@pytest.mark.parametrize("bulk", [False, True], ids=["live", "bulk-load"])
@pytest.mark.parametrize("column", [-1, 0, 2, 3])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_updates_and_sort_agree_with_a_from_scratch_view(
    qtbot, column, descending, bulk
) -> None:
    """Cached filter texts and sort keys stay right through paged loads and in-place updates."""
    model = RecordTableModel(COLUMNS, coalesce_ms=1)
    proxy = FilterSortProxyModel()
    proxy.setSourceModel(model)
    order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    if column >= 0:
        proxy.sort(column, order)
    proxy.set_filter_text("client 1")
    rows = [asset(i) for i in (7, 3, 11, 0, 25, 14, 2, 19, 8, 30, 5, 22)]
    if bulk:  # as TablePane loads: pages appended as they come, sorted once at the end
        proxy.begin_bulk()
    for start in range(0, len(rows), 5):  # pages, as a loader delivers them
        model.append_rows(rows[start : start + 5])
        if start == 5:
            proxy.set_filter_text("client")  # a keystroke while the load runs
            proxy.set_filter_text("client 1")
    if bulk:
        proxy.end_bulk()
    with qtbot.waitSignal(model.batchApplied, timeout=2000):
        model.queue_upsert({"id": 3, "x_name": "AAA-first", "count": 99})
        model.queue_upsert({"id": 14, "x_partner_id": [102, "Client 2"]})  # leaves the filter
    current = {r["id"]: r for r in rows}
    current[3] = {**current[3], "x_name": "AAA-first", "count": 99}
    current[14] = {**current[14], "x_partner_id": [102, "Client 2"]}
    expected = _reference_view(list(current.values()), "client 1", column, descending)
    shown = [proxy.record_at(r)["id"] for r in range(proxy.rowCount())]
    if column < 0:
        assert sorted(shown) == sorted(expected)  # load order, no sort
    else:
        assert [COLUMNS[column].sort_key(current[i]) for i in shown] == [
            COLUMNS[column].sort_key(current[i]) for i in expected
        ]
        assert sorted(shown) == sorted(expected)
