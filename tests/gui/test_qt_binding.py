"""Guards against Qt binding bugs the console cannot work around.

PySide6 6.12.0 released a reference to ``True``/``False`` on each ``Signal(bool)`` delivered to
a Python slot: after a few thousand emissions the interpreter aborts ("bool_dealloc"). A wall
display emits such signals all day, so a binding with that bug must fail the suite, not the
user's screen. The checks measure the refcount around many emissions; a sound binding leaves it
where it was.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton

EMISSIONS = 200  # well under the point where a leaking binding would crash the test run


class _Emitter(QObject):
    flag = Signal(bool)
    flag_and_text = Signal(bool, str)
    anything = Signal(object)


def _refcounts() -> tuple[int, int, int]:
    return sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)


def _moved(before: tuple[int, ...], after: tuple[int, ...]) -> bool:
    """A leaking binding moves a count by about EMISSIONS; locals may hold one or two."""
    return any(abs(a - b) > EMISSIONS // 10 for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("signal", ["flag", "flag_and_text", "anything"])
def test_python_signals_keep_true_false_and_none_alive(qtbot, signal: str) -> None:
    emitter = _Emitter()
    received: list[object] = []
    bound = getattr(emitter, signal)
    bound.connect(lambda *args: received.append(args[0]))
    received.clear()
    before = _refcounts()
    for n in range(EMISSIONS):
        value = None if signal == "anything" else n % 2 == 0
        if signal == "flag_and_text":
            bound.emit(value, "x")
        else:
            bound.emit(value)
    # each stored value holds one reference; the binding must not have taken any away
    stored = (received.count(True), received.count(False), received.count(None))
    received.clear()
    after = _refcounts()
    assert len(stored) == 3 and sum(stored) == EMISSIONS
    assert not _moved(before, after), f"refcounts of (True, False, None) moved: {before} -> {after}"


def test_builtin_bool_signals_keep_true_and_false_alive(qtbot) -> None:
    button = QPushButton()
    qtbot.addWidget(button)
    button.setCheckable(True)
    states: list[bool] = []
    button.toggled.connect(states.append)
    before = _refcounts()
    for _ in range(EMISSIONS):
        button.toggle()
    assert len(states) == EMISSIONS
    states.clear()
    after = _refcounts()
    assert not _moved(before, after), f"refcounts of (True, False, None): {before} -> {after}"
