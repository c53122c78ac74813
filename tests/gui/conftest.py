"""GUI test fixtures: a qasync event loop on pytest-qt's QApplication.

pytest-qt does not drive asyncio; the console runs its coroutines on a ``qasync.QEventLoop``
that *is* the Qt event loop. This fixture installs one marked as running (as it is inside
``qasync.run`` in the real app), so ``asyncio.get_running_loop()`` works in callbacks and
``qtbot.waitSignal`` / ``waitUntil`` (which spin Qt's loop) run the console's asyncio tasks.
``run_async(coro)`` schedules a coroutine and spins Qt until it is done.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import qasync

from console.ui.gui_gc import GuiThreadGarbageCollector

T = TypeVar("T")


@pytest.fixture(autouse=True)
def gui_thread_gc(qapp) -> Iterator[None]:
    """As in the app (console/ui/gui_gc.py): cycles are collected on the GUI thread only, and
    what a test leaves behind is collected at its end, here, not in a later test's thread."""
    collector = GuiThreadGarbageCollector()
    try:
        yield
    finally:
        collector.stop()
        collector.deleteLater()
        gc.collect()


@pytest.fixture
def qasync_loop(qapp) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        deadline = 200
        while pending and deadline:
            qapp.processEvents()
            pending = [t for t in pending if not t.done()]
            deadline -= 1
        # end "running" without loop.stop(): that calls QApplication.exit(), which would make
        # every later qtbot wait return at once
        loop._after_run_forever()
        loop._QEventLoop__is_running = False
        asyncio.events._set_running_loop(None)  # undo what already_running=True set
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture
def run_async(qtbot, qasync_loop: qasync.QEventLoop) -> Callable[..., Any]:
    def run(awaitable: Awaitable[T], timeout: float = 30.0) -> T:
        task = asyncio.ensure_future(awaitable, loop=qasync_loop)
        qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
        return task.result()

    return run
