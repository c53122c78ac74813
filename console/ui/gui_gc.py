"""Cyclic garbage is collected on the GUI thread only.

Python's cycle collector runs in whichever thread happens to allocate when a threshold is
crossed. The console runs Odoo RPCs on worker threads; if a collection starts there and frees a
cycle that holds a Qt object (a pane's closure, a finished dialog), Qt deletes that object on the
wrong thread — a warning at best ("Timers cannot be stopped from another thread"), a crash at
worst. So automatic collection is switched off and a timer on the GUI thread collects instead,
generation by generation with the interpreter's own thresholds (the approach pyqtgraph
documents), which keeps each pause as short as the automatic collector's would be.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadGarbageCollector(QObject):
    """Owns automatic garbage collection while it lives (``stop`` gives it back)."""

    def __init__(self, interval_ms: int = 250, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> int:
        """Collect the generations whose allocation counts passed their thresholds."""
        counts = gc.get_count()
        collected = 0
        if counts[0] > self._threshold[0]:
            collected += gc.collect(0)
            if counts[1] > self._threshold[1]:
                collected += gc.collect(1)
                if counts[2] > self._threshold[2]:
                    collected += gc.collect(2)
        return collected

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
