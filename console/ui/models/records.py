"""Table models for the panes: rows in a Python list, columns described once, live upserts batched.

``RecordTableModel`` holds every row a pane has loaded (plain dicts keyed by ``key``) and exposes
them through Qt's item-model interface. Live updates (SSE events, refreshed pages) go through
``queue_upsert``: an isolated event is applied on the next loop turn, a burst at most once per
coalescing interval (50 ms: at most 20 repaints a second in a storm), each time in one ``beginInsertRows``/``endInsertRows`` and one
``dataChanged`` per run of changed rows — never a model reset per event.

``FilterSortProxyModel`` filters and sorts in Python over precomputed lower-case "haystacks"
rather than through ``QSortFilterProxyModel``: calling back into Python's ``data()`` for each of
100,000 rows costs half a second per keystroke, a list comprehension over cached strings a few
milliseconds (measured; see bench/console).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractProxyModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

Row = dict[str, Any]
AnyIndex = QModelIndex | QPersistentModelIndex

#: The row dict behind an index (for detail panels and actions).
RecordRole = int(Qt.ItemDataRole.UserRole) + 1
#: A value that sorts correctly (numbers as numbers, dates as ISO strings).
SortRole = int(Qt.ItemDataRole.UserRole) + 2
#: The row's key (Odoo id, event seq).
KeyRole = int(Qt.ItemDataRole.UserRole) + 3


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], int):
        return str(value[1])  # Odoo many2one [id, display_name]
    return str(value)


@dataclass(frozen=True)
class Column:
    """One column of a pane: where its value comes from and how it shows."""

    key: str
    title: str
    width: int = 120
    #: turns the row into the displayed text; default: the field's value (many2one → name)
    display: Callable[[Mapping[str, Any]], str] | None = None
    #: turns the row into a sortable value; default: the display text, case-folded
    sort_value: Callable[[Mapping[str, Any]], Any] | None = None
    alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    #: extra roles (decoration, foreground, tooltip) computed from the row
    roles: Mapping[int, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)
    hidden_by_default: bool = False
    #: whether the filter box matches this column's text (ages change every minute: no)
    filterable: bool = True

    def text(self, row: Mapping[str, Any]) -> str:
        if self.display is not None:
            return self.display(row)
        return _text(row.get(self.key))

    def sort_key(self, row: Mapping[str, Any]) -> Any:
        if self.sort_value is not None:
            return self.sort_value(row)
        return self.text(row).casefold()


class RecordTableModel(QAbstractTableModel):
    """Rows of one pane. The GUI thread owns it; feed it from coroutines on the qasync loop."""

    #: emitted after a batch of live changes was applied: (inserted, updated)
    batchApplied = Signal(int, int)

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        key: str = "id",
        coalesce_ms: int = 50,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns: list[Column] = list(columns)
        self.key = key
        self._rows: list[Row] = []
        self._index_of: dict[Any, int] = {}
        self._pending: dict[Any, Row] = {}
        self._coalesce_ms = coalesce_ms
        self._last_flush = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(coalesce_ms)
        self._timer.timeout.connect(self.flush)

    # ------------------------------------------------------------------ Qt interface
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == RecordRole:
            return row
        if role == KeyRole:
            return row.get(self.key)
        if role == SortRole:
            return column.sort_key(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.alignment)
        compute = column.roles.get(role)
        if compute is not None:
            return compute(row)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].title
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(self.columns[section].alignment)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # ------------------------------------------------------------------ access
    def record(self, row: int) -> Row:
        return self._rows[row]

    def records(self) -> list[Row]:
        return self._rows

    def peek(self, key: Any) -> Row | None:
        """The row for ``key`` as it will be after the queued upserts (None if unknown)."""
        row = self._index_of.get(key)
        current = self._rows[row] if row is not None else None
        pending = self._pending.get(key)
        if pending is None:
            return current
        return {**current, **pending} if current is not None else pending

    def row_of(self, key: Any) -> int | None:
        return self._index_of.get(key)

    def column_of(self, key: str) -> int:
        for number, column in enumerate(self.columns):
            if column.key == key:
                return number
        raise KeyError(key)

    # ------------------------------------------------------------------ loading
    def clear(self) -> None:
        self._pending.clear()
        if not self._rows:
            return
        self.beginResetModel()
        self._rows = []
        self._index_of = {}
        self.endResetModel()

    def append_rows(self, rows: Iterable[Row]) -> None:
        """Append a loaded page (rows whose key is already present update in place)."""
        new: list[Row] = []
        updated: list[int] = []
        seen: set[Any] = set()
        for row in rows:
            key = row.get(self.key)
            existing = self._index_of.get(key)
            if existing is not None:
                self._rows[existing] = row
                updated.append(existing)
            elif key not in seen:
                seen.add(key)
                new.append(row)
        self._emit_updates(updated)
        self._append(new)

    def queue_upsert(self, row: Row) -> None:
        """Schedule an insert-or-update; applied with others on the coalescing timer."""
        key = row.get(self.key)
        pending = self._pending.get(key)
        self._pending[key] = {**pending, **row} if pending else row
        if not self._timer.isActive():
            # idle: apply on the next loop turn (everything queued in this turn goes together);
            # busy: at most one batch per coalescing interval, so a storm costs few repaints
            since_last = (time.monotonic() - self._last_flush) * 1000
            self._timer.start(0 if since_last >= self._coalesce_ms else self._coalesce_ms)

    def flush(self) -> None:
        """Apply queued upserts now (the timer calls this; tests may too)."""
        self._timer.stop()
        if not self._pending:
            return
        self._last_flush = time.monotonic()
        batch, self._pending = self._pending, {}
        new: list[Row] = []
        updated: list[int] = []
        for key, row in batch.items():
            existing = self._index_of.get(key)
            if existing is None:
                new.append(row)
            else:
                self._rows[existing] = {**self._rows[existing], **row}
                updated.append(existing)
        self._emit_updates(updated)
        self._append(new)
        self.batchApplied.emit(len(new), len(updated))

    def remove_keys(self, keys: Iterable[Any]) -> None:
        """Remove rows (e.g. records that left the SA scope), one signal per contiguous run."""
        rows = sorted({r for k in keys if (r := self._index_of.get(k)) is not None}, reverse=True)
        for row in rows:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()
        if rows:
            self._index_of = {r.get(self.key): n for n, r in enumerate(self._rows)}

    def _append(self, new: list[Row]) -> None:
        """Append rows with unknown keys in one beginInsertRows/endInsertRows."""
        if not new:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        for offset, row in enumerate(new):
            self._index_of[row.get(self.key)] = first + offset
        self._rows.extend(new)
        self.endInsertRows()

    def refresh_column(self, key: str) -> None:
        """Repaint one column everywhere (values computed from the clock, like ages)."""
        if self._rows:
            column = self.column_of(key)
            self.dataChanged.emit(
                self.index(0, column),
                self.index(len(self._rows) - 1, column),
                [Qt.ItemDataRole.DisplayRole],
            )

    def _emit_updates(self, rows: list[int]) -> None:
        if not rows:
            return
        rows.sort()
        last_column = len(self.columns) - 1
        start = previous = rows[0]
        for row in [*rows[1:], None]:
            if row is not None and row == previous + 1:
                previous = row
                continue
            self.dataChanged.emit(self.index(start, 0), self.index(previous, last_column))
            if row is not None:
                start = previous = row


class FilterSortProxyModel(QAbstractProxyModel):
    """Incremental, case-insensitive filtering across visible columns, and sorting, in Python.

    Keeps ``_source_rows`` (source row numbers in display order) and its inverse. A keystroke
    recomputes the list with one comprehension over cached per-row haystacks; live inserts in
    the source are filtered and appended without disturbing the rest.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self._hidden: set[int] = set()
        self._haystacks: list[str] = []
        self._source_rows: list[int] = []
        self._proxy_row_of: dict[int, int] = {}
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        #: the sort column's key per source row, computed once per row (not per re-sort)
        self._sort_keys: list[tuple[int, Any]] = []
        #: every source row in sort order (None: recompute), so a keystroke only filters
        self._order_cache: list[int] | None = None
        #: a paged load in progress: pages are appended as they come, sorted once at the end
        self._bulk = False
        self._bulk_unsorted = False
        self._extra_filter: Callable[[Row], bool] | None = None

    # ------------------------------------------------------------------ wiring
    def setSourceModel(self, source: QAbstractItemModel) -> None:
        old = self.sourceModel()
        if old is not None:
            for signal, slot in self._connections(old):
                signal.disconnect(slot)
        self.beginResetModel()
        super().setSourceModel(source)
        for signal, slot in self._connections(source):
            signal.connect(slot)
        self._rebuild()
        self.endResetModel()

    def _connections(self, source: QAbstractItemModel) -> list[tuple[Any, Callable[..., None]]]:
        return [
            (source.rowsInserted, self._on_rows_inserted),
            (source.rowsRemoved, self._on_rows_removed),
            (source.dataChanged, self._on_data_changed),
            (source.modelReset, self._on_reset),
            (source.layoutChanged, self._on_reset),
        ]

    def _records(self) -> RecordTableModel:
        source = self.sourceModel()
        assert isinstance(source, RecordTableModel)
        return source

    # ------------------------------------------------------------------ filtering
    def filter_text(self) -> str:
        return self._needle

    def set_filter_text(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle == self._needle:
            return
        self._needle = needle
        self._refilter()

    def set_extra_filter(self, predicate: Callable[[Row], bool] | None) -> None:
        """A structured filter (state, severity...) on top of the text filter."""
        self._extra_filter = predicate
        self._refilter()

    def set_hidden_columns(self, hidden: Iterable[int]) -> None:
        """Columns hidden in the view do not match the filter text."""
        hidden_set = set(hidden)
        if hidden_set == self._hidden:
            return
        self._hidden = hidden_set
        self._haystacks = self._haystacks_of(self._records().records())
        if self._needle:
            self._refilter()

    def _haystack(self, row: Row) -> str:
        return self._haystacks_of([row])[0]

    def _haystacks_of(self, rows: Sequence[Row]) -> list[str]:
        """The filter text of each row: its filterable, shown columns joined, case-folded once.
        (Built for every loaded row, so it is written for speed: 100,000 rows per load.)"""
        columns = [
            c
            for n, c in enumerate(self._records().columns)
            if c.filterable and n not in self._hidden
        ]
        if not columns:
            return [""] * len(rows)
        # column by column: plain fields inline (no call per cell for the common str value)
        values: list[list[str]] = []
        for column in columns:
            if column.display is not None:
                values.append([column.display(row) for row in rows])
            else:
                key = column.key
                values.append([v if type(v := row.get(key)) is str else _text(v) for row in rows])
        join = "\x1f".join
        return [join(parts).casefold() for parts in zip(*values, strict=True)]

    def _accepts(self, source_row: int) -> bool:
        if self._needle and self._needle not in self._haystacks[source_row]:
            return False
        if self._extra_filter is not None:
            return self._extra_filter(self._records().record(source_row))
        return True

    def _matching(self, rows: Iterable[int]) -> list[int]:
        needle, haystacks, extra = self._needle, self._haystacks, self._extra_filter
        if extra is None:
            if not needle:
                return list(rows)
            return [r for r in rows if needle in haystacks[r]]
        records = self._records().records()
        return [r for r in rows if (not needle or needle in haystacks[r]) and extra(records[r])]

    def _all_ordered(self) -> Iterable[int]:
        """Every source row in display order (load order when unsorted)."""
        if self._sort_column < 0:
            return range(len(self._haystacks))
        if self._order_cache is None:
            self._order_cache = self._ordered(list(range(len(self._haystacks))))
        return self._order_cache

    def _ordered(self, rows: list[int]) -> list[int]:
        if self._sort_column < 0:
            return rows
        # rows arrive mostly in order (a sorted list plus a loaded page): Timsort merges runs
        return sorted(
            rows,
            key=self._sort_keys.__getitem__,
            reverse=self._sort_order == Qt.SortOrder.DescendingOrder,
        )

    def _sort_keys_of(self, records: Sequence[Row]) -> list[tuple[int, Any]]:
        if self._sort_column < 0:
            return []
        column = self._records().columns[self._sort_column]
        if column.sort_value is None and column.display is None:
            key = column.key  # the common case inline: a plain text field, case-folded
            return [
                _sortable(v.casefold() if type(v := row.get(key)) is str else _text(v).casefold())
                for row in records
            ]
        return [_sortable(column.sort_key(row)) for row in records]

    def _rebuild(self) -> None:
        source = self.sourceModel()
        if not isinstance(source, RecordTableModel):
            self._haystacks, self._source_rows, self._proxy_row_of = [], [], {}
            return
        self._haystacks = self._haystacks_of(source.records())
        self._sort_keys = self._sort_keys_of(source.records())
        self._order_cache = None
        self._set_rows(self._matching(self._all_ordered()))

    def _set_rows(self, rows: list[int]) -> None:
        self._source_rows = rows
        self._proxy_row_of = {s: p for p, s in enumerate(rows)}

    def _refilter(self) -> None:
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        old_sources = [self.mapToSource(i) for i in old_persistent]
        self._set_rows(self._matching(self._all_ordered()))
        self.changePersistentIndexList(old_persistent, [self.mapFromSource(s) for s in old_sources])
        self.layoutChanged.emit()

    # ------------------------------------------------------------------ sorting
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column != self._sort_column:
            self._sort_column = column
            self._sort_keys = self._sort_keys_of(self._records().records())
        self._sort_order = order
        self._order_cache = None
        self._bulk_unsorted = False
        self._refilter()

    def begin_bulk(self) -> None:
        """A paged load starts: append its pages as they come, sort once in ``end_bulk``
        (re-sorting 100,000 rows for each of 20 pages costs more than the load itself)."""
        self._bulk = True

    def end_bulk(self) -> None:
        self._bulk = False
        if self._bulk_unsorted:
            self._bulk_unsorted = False
            self._order_cache = None
            self._refilter()

    def sort_column(self) -> int:
        return self._sort_column

    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

    # ------------------------------------------------------------------ source signals
    def _on_reset(self) -> None:
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        source = self._records()
        records = source.records()
        self._haystacks.extend(self._haystacks_of(records[first : last + 1]))
        self._sort_keys.extend(self._sort_keys_of(records[first : last + 1]))
        if first != len(self._haystacks) - (last - first + 1):
            # inserted in the middle: indices shift, rebuild (the table model only appends)
            self._on_reset()
            return
        if self._sort_column >= 0:
            if self._bulk:
                self._bulk_unsorted = True
                self._order_cache = None
            elif self._order_cache is not None:  # merge the new rows in (Timsort: two runs)
                self._order_cache = self._ordered(self._order_cache + list(range(first, last + 1)))
        accepted = self._matching(range(first, last + 1))
        if not accepted:
            return
        if self._sort_column < 0 or self._bulk:
            start = len(self._source_rows)
            self.beginInsertRows(QModelIndex(), start, start + len(accepted) - 1)
            self._source_rows.extend(accepted)
            for offset, s in enumerate(accepted):
                self._proxy_row_of[s] = start + offset
            self.endInsertRows()
        else:
            # keep sort order: a layout change moves persistent indexes (selection) correctly
            self.layoutAboutToBeChanged.emit()
            old_persistent = self.persistentIndexList()
            old_sources = [self.mapToSource(i) for i in old_persistent]
            self._set_rows(self._matching(self._all_ordered()))
            self.changePersistentIndexList(
                old_persistent, [self.mapFromSource(s) for s in old_sources]
            )
            self.layoutChanged.emit()

    def _on_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        self._on_reset()

    def _on_data_changed(
        self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Any = ()
    ) -> None:
        source = self._records()
        touched = source.columns[top_left.column() : bottom_right.column() + 1]
        if not any(c.filterable for c in touched) and not (
            top_left.column() <= self._sort_column <= bottom_right.column()
        ):
            # e.g. the age column ticking: nothing to refilter, just repaint what is shown
            if self._source_rows:
                self.dataChanged.emit(
                    self.index(0, top_left.column()),
                    self.index(len(self._source_rows) - 1, bottom_right.column()),
                )
            return
        records = source.records()
        changed = range(top_left.row(), bottom_right.row() + 1)
        membership_changed = False
        for r in changed:
            self._haystacks[r] = self._haystack(records[r])
            if (r in self._proxy_row_of) != self._accepts(r):
                membership_changed = True
        if self._sort_column >= 0:  # sort keys are empty when unsorted
            self._sort_keys[changed.start : changed.stop] = self._sort_keys_of(
                records[changed.start : changed.stop]
            )
            self._order_cache = None
        if membership_changed or self._sort_column >= 0:
            self._refilter()
            return
        for r in changed:
            p = self._proxy_row_of.get(r)
            if p is not None:
                self.dataChanged.emit(
                    self.index(p, top_left.column()), self.index(p, bottom_right.column())
                )

    # ------------------------------------------------------------------ proxy interface
    def mapToSource(self, proxy_index: AnyIndex) -> QModelIndex:
        source = self.sourceModel()
        if source is None or not proxy_index.isValid():
            return QModelIndex()
        row = proxy_index.row()
        if not 0 <= row < len(self._source_rows):
            return QModelIndex()
        return source.index(self._source_rows[row], proxy_index.column())

    def mapFromSource(self, source_index: AnyIndex) -> QModelIndex:
        if not source_index.isValid():
            return QModelIndex()
        row = self._proxy_row_of.get(source_index.row())
        if row is None:
            return QModelIndex()
        return self.index(row, source_index.column())

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < len(self._source_rows)):
            return QModelIndex()
        if not 0 <= column < self.columnCount():
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        return QModelIndex()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._source_rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        source = self.sourceModel()
        return 0 if parent.isValid() or source is None else source.columnCount()

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and bool(self._source_rows)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        source = self.sourceModel()
        if source is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return source.headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._source_rows):
            return section + 1
        return None

    def accepts_record(self, row: Row) -> bool:
        """Whether ``row`` passes the structured filter in force (the text filter aside)."""
        return self._extra_filter is None or self._extra_filter(row)

    def record_at(self, proxy_row: int) -> Row:
        return self._records().record(self._source_rows[proxy_row])


def _sortable(value: Any) -> tuple[int, Any]:
    """Sort keys of mixed types without TypeError: empties last, numbers before text."""
    if value is None or value is False or value == "":
        return (2, "")
    if isinstance(value, bool | int | float):
        return (0, value)
    return (1, value)
