"""Cycles are collected by the GUI thread's timer, never by whichever thread allocates."""

from __future__ import annotations

import gc
import threading
import weakref

from console.ui.gui_gc import GuiThreadGarbageCollector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector frees it


def test_a_worker_thread_allocating_heavily_never_runs_the_collector(qtbot) -> None:
    collector = GuiThreadGarbageCollector(interval_ms=50)
    try:
        assert not gc.isenabled()
        node = _Node()
        alive = weakref.ref(node)
        del node
        collections: list[int] = []
        gc.callbacks.append(lambda phase, _info: collections.append(threading.get_ident()))
        try:
            worker = threading.Thread(target=lambda: [[_Node()] for _ in range(50_000)])
            worker.start()
            worker.join()
            assert worker.ident not in collections  # the worker allocated, it did not collect
            assert alive() is not None
            qtbot.waitUntil(lambda: alive() is None, timeout=5000)  # the timer collected it
            assert set(collections) == {threading.get_ident()}
        finally:
            gc.callbacks.pop()
    finally:
        collector.stop()
