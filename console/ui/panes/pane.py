"""A table pane: filter box, sortable table, column chooser, progress, detail panel.

Alerts, Tickets and Assets are all this widget with different columns, a different loader and
a different detail renderer. Loading is a coroutine on the qasync loop; starting a new load
cancels the one still running (SA switch, refresh), so rows of the previous scope never land in
the new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QSplitter,
    QTableView,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console.ui.models.records import Column, FilterSortProxyModel, RecordTableModel, Row

log = logging.getLogger(__name__)

#: loader(progress) -> async iterator of row pages; progress(loaded, total)
Loader = Callable[[Callable[[int, int], None]], AsyncIterator[list[Row]]]
#: detail renderer: row -> HTML for the detail panel (may be a coroutine for extra reads)
DetailRenderer = Callable[[Row], Any]


#: after events that change a pane, wait this long for more before reloading it
REFRESH_DEBOUNCE_MS = 2000


class TablePane(QWidget):
    """One pane. ``name`` keys its saved state; ``columns`` describe the table."""

    #: the selected row changed (None when nothing is selected)
    currentRecordChanged = Signal(object)
    #: a load finished: (rows loaded, error message or "")
    loadFinished = Signal(int, str)
    #: a row was activated (Enter / double-click)
    recordActivated = Signal(object)

    def __init__(
        self,
        name: str,
        title: str,
        columns: list[Column],
        *,
        key: str = "id",
        placeholder: str = "Filter (Ctrl+F)",
        default_sort: int = -1,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.title = title
        self.setObjectName(f"pane-{name}")
        self.model = RecordTableModel(columns, key=key, parent=self)
        self.proxy = FilterSortProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self._load_task: asyncio.Task[None] | None = None
        self._replace_on_first_page = False
        self._detail_task: asyncio.Task[None] | None = None
        self._detail_renderer: DetailRenderer | None = None

        self.filter_box = QLineEdit(self)
        self.filter_box.setObjectName(f"{name}-filter")
        self.filter_box.setPlaceholderText(placeholder)
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.proxy.set_filter_text)
        self.filter_box.textChanged.connect(self._update_count)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("paneCount")
        self.columns_button = QToolButton(self)
        self.columns_button.setText("Columns")
        self.columns_button.setToolTip("Choose the columns to show")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self.columns_button)
        self.columns_button.setMenu(self.columns_menu)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("paneProgress")
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("paneStatus")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        self.view = QTableView(self)
        self.view.setObjectName(f"{name}-table")
        self.view.setModel(self.proxy)
        # ``default_sort`` (ascending) or load order until the user clicks a header; enabling
        # sorting with no indicator set would sort by column 0 descending at once
        self.default_sort = default_sort
        self.view.horizontalHeader().setSortIndicator(default_sort, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.view.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(
            lambda pos: self.columns_menu.exec(header.mapToGlobal(pos))
        )
        for number, column in enumerate(columns):
            self.view.setColumnWidth(number, column.width)
            if column.hidden_by_default:
                self.view.setColumnHidden(number, True)
        selection = self.view.selectionModel()
        selection.selectionChanged.connect(self._on_selection)
        selection.currentRowChanged.connect(self._on_selection)
        self._shown_key: Any = None
        self.view.doubleClicked.connect(lambda _index: self._activate_current())
        self._build_columns_menu()
        self.proxy.set_hidden_columns(self.hidden_columns())
        self.model.rowsInserted.connect(self._update_count)
        self.model.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)

        self.detail = QTextBrowser(self)
        self.detail.setObjectName(f"{name}-detail")
        self.detail.setOpenExternalLinks(False)
        self.detail.setPlaceholderText("Select a row to see its details.")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_box, 1)
        top.addWidget(self.count_label)
        top.addWidget(self.columns_button)
        table_box = QWidget(self)
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.setSpacing(2)
        table_layout.addWidget(self.progress)
        table_layout.addWidget(self.status_label)
        table_layout.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName(f"{name}-splitter")
        self.splitter.addWidget(table_box)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([480, 110])  # the table gets the room; drag for more detail
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

        activate = QAction("Open", self)
        activate.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        activate.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        activate.triggered.connect(self._activate_current)
        self.view.addAction(activate)
        self._row_keys: dict[int, Callable[[], object]] = {}
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DEBOUNCE_MS)
        self._refresh_timer.timeout.connect(self._refresh_now)
        self._update_count()

    # ------------------------------------------------------------------ row keys
    def set_row_keys(self, keys: Mapping[Qt.Key, Callable[[], object]]) -> None:
        """Plain letter keys on the table (an event filter: they must not reach the view's
        keyboard search, and they work whether or not the window is active)."""
        self._row_keys = {int(key): action for key, action in keys.items()}
        self.view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.KeyPress and self._row_keys:
            assert isinstance(event, QKeyEvent)
            handler = self._row_keys.get(int(event.key()))
            plain = event.modifiers() in (
                Qt.KeyboardModifier.NoModifier,
                Qt.KeyboardModifier.ShiftModifier,
            )
            if handler is not None and plain:
                handler()
                return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ live refresh
    def schedule_refresh(self) -> None:
        """Events arrived that change this pane: reload once they settle (not on every event),
        never while a load or the pane's own work (:meth:`is_busy`) runs."""
        if self.wants_refresh() and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh_now(self) -> None:
        if not self.wants_refresh():
            return
        if self.is_busy() or self.is_loading():
            self._refresh_timer.start()
            return
        self.refresh()

    def wants_refresh(self) -> bool:
        """Whether :meth:`schedule_refresh` should reload this pane at all."""
        return True

    def is_busy(self) -> bool:
        """The pane's own work (actions on rows) is running; refreshes wait for it."""
        return False

    def refresh(self) -> None:
        """Reload, keeping the rows on screen until the new ones arrive (panes that
        :meth:`schedule_refresh` override this)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ columns
    def _build_columns_menu(self) -> None:
        self.columns_menu.clear()
        for number, column in enumerate(self.model.columns):
            action = self.columns_menu.addAction(column.title)
            action.setCheckable(True)
            action.setChecked(not self.view.isColumnHidden(number))
            action.toggled.connect(lambda shown, n=number: self.set_column_shown(n, shown))

    def set_column_shown(self, number: int, shown: bool) -> None:
        if not shown and len(self.hidden_columns()) >= len(self.model.columns) - 1:
            self._build_columns_menu()  # never hide the last visible column
            return
        self.view.setColumnHidden(number, not shown)
        self.proxy.set_hidden_columns(self.hidden_columns())

    def hidden_columns(self) -> list[int]:
        return [n for n in range(len(self.model.columns)) if self.view.isColumnHidden(n)]

    # ------------------------------------------------------------------ loading
    def is_loading(self) -> bool:
        return self._load_task is not None and not self._load_task.done()

    def start_load(self, loader: Loader, *, keep_rows: bool = False) -> asyncio.Task[None]:
        """Load the pane with ``loader``, cancelling a load still running.

        A new scope clears the pane at once; a refresh (``keep_rows``) keeps the rows shown
        until the first page arrives, so a failed refresh leaves the pane usable read-only.
        """
        self.cancel_load()
        self._replace_on_first_page = keep_rows
        if not keep_rows:
            self.model.clear()
            self.detail.clear()
            self._shown_key = None
        self.status_label.hide()
        self.progress.setRange(0, 0)  # busy until the total is known
        self.progress.show()
        self._load_task = asyncio.ensure_future(self._load(loader))
        return self._load_task

    def cancel_load(self) -> None:
        """Stop the load under way and drop a pending live refresh (a new load replaces it;
        a closing window must not start one after its clients are closed)."""
        self._refresh_timer.stop()
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        self._load_task = None
        self.progress.hide()

    async def _load(self, loader: Loader) -> None:
        loaded = 0
        error = ""
        self.proxy.begin_bulk()
        try:
            async for page in loader(self._on_progress):
                if self._replace_on_first_page:
                    self._replace_on_first_page = False
                    self.model.clear()
                self.model.append_rows(page)
                loaded += len(page)
            if self._replace_on_first_page:  # the refresh found nothing: nothing to show
                self._replace_on_first_page = False
                self.model.clear()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown in the pane; details in the log
            log.warning("loading %s failed: %s", self.name, exc, exc_info=True)
            error = str(exc) or type(exc).__name__
            self.show_status(f"Could not load {self.title.lower()}: {error}", error=True)
        finally:
            self.proxy.end_bulk()
            self.progress.hide()
        self._update_count()
        self.loadFinished.emit(loaded, error)

    def _on_progress(self, loaded: int, total: int) -> None:
        if total <= 0:
            self.progress.setRange(0, 0)
            return
        self.progress.setRange(0, total)
        self.progress.setValue(min(loaded, total))

    def show_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setProperty("error", error)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def _update_count(self, *_args: Any) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        text = f"{total:,}" if shown == total else f"{shown:,} of {total:,}"
        self.count_label.setText(text)

    # ------------------------------------------------------------------ selection and detail
    def set_detail_renderer(self, renderer: DetailRenderer) -> None:
        self._detail_renderer = renderer

    def current_record(self) -> Row | None:
        """The row the detail panel is about: the current row if selected, else the first
        selected row."""
        selection = self.view.selectionModel()
        index = self.view.currentIndex()
        if index.isValid() and selection.isRowSelected(index.row()):
            return self.proxy.record_at(index.row())
        rows = selection.selectedRows()
        if rows:
            return self.proxy.record_at(min(i.row() for i in rows))
        return None

    def selected_records(self) -> list[Row]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.proxy.record_at(r) for r in rows]

    def _on_selection(self, *_args: Any) -> None:
        record = self.current_record()
        key = None if record is None else record.get(self.model.key)
        if key == self._shown_key and record is not None:
            return
        self._shown_key = key
        self.currentRecordChanged.emit(record)
        self._show_detail(record)

    def _show_detail(self, record: Row | None) -> None:
        if self._detail_task is not None and not self._detail_task.done():
            self._detail_task.cancel()
        if record is None or self._detail_renderer is None:
            self.detail.clear()
            return
        result = self._detail_renderer(record)
        if asyncio.iscoroutine(result):
            self.detail.setHtml("<p><i>Loading…</i></p>")
            self._detail_task = asyncio.ensure_future(self._render_async(result))
            # a selection that moves on before the task ran cancels it unstarted: close the
            # renderer's coroutine then, or Python warns that it was never awaited
            coroutine = result
            self._detail_task.add_done_callback(lambda _task: coroutine.close())
        else:
            self.detail.setHtml(str(result))

    async def _render_async(self, pending: Any) -> None:
        try:
            html = await pending
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            html = f"<p class='error'>Could not load details: {exc}</p>"
        self.detail.setHtml(str(html))

    def refresh_detail(self) -> None:
        """Re-render the detail panel (after the selected record changed underneath)."""
        self._show_detail(self.current_record())

    def _activate_current(self) -> None:
        record = self.current_record()
        if record is not None:
            self.recordActivated.emit(record)

    def focus_filter(self) -> None:
        self.filter_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_box.selectAll()

    # ------------------------------------------------------------------ persistence
    def save_state(self, settings: QSettings) -> None:
        settings.beginGroup(f"panes/{self.name}")
        settings.setValue("header", self.view.horizontalHeader().saveState())
        settings.setValue("splitter", self.splitter.saveState())
        settings.setValue("filter", self.filter_box.text())
        settings.setValue("sort_column", self.proxy.sort_column())
        settings.setValue("sort_order", int(self.proxy.sort_order().value))
        settings.endGroup()

    def restore_state(self, settings: QSettings) -> None:
        settings.beginGroup(f"panes/{self.name}")
        try:
            header = settings.value("header")
            if isinstance(header, QByteArray | bytes) and header:
                self.view.horizontalHeader().restoreState(QByteArray(header))
            splitter = settings.value("splitter")
            if isinstance(splitter, QByteArray | bytes) and splitter:
                self.splitter.restoreState(QByteArray(splitter))
            self.filter_box.setText(str(settings.value("filter", "") or ""))
            column = _int(settings.value("sort_column"), self.default_sort)
            order = Qt.SortOrder(_int(settings.value("sort_order"), 0))
            if 0 <= column < len(self.model.columns):
                self.view.sortByColumn(column, order)
        finally:
            settings.endGroup()
        self._build_columns_menu()
        self.proxy.set_hidden_columns(self.hidden_columns())


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def html_table(pairs: Mapping[str, Any]) -> str:
    """A small key/value table for detail panels (values escaped)."""
    from html import escape

    cells = "".join(
        f"<tr><th align='left'>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
        for k, v in pairs.items()
        if v not in (None, False, "")
    )
    return f"<table cellspacing='4'>{cells}</table>"
