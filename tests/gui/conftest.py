"""GUI test fixtures: a qasync event loop on pytest-qt's QApplication.

pytest-qt does not drive asyncio; the console runs its coroutines on a ``qasync.QEventLoop``
that *is* the Qt event loop. This fixture installs one for the test, so ``qtbot.waitSignal`` /
``waitUntil`` (which spin Qt's loop) also run the console's asyncio tasks, and
``run_async(coro)`` runs a coroutine to completion on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import qasync

T = TypeVar("T")


@pytest.fixture
def qasync_loop(qapp) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture
def run_async(qasync_loop: qasync.QEventLoop) -> Callable[[Awaitable[Any]], Any]:
    def run(awaitable: Awaitable[T], timeout: float = 30.0) -> T:
        return qasync_loop.run_until_complete(asyncio.wait_for(awaitable, timeout))

    return run
