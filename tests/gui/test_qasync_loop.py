"""The qasync fixture really runs asyncio on Qt's loop (so GUI tests can trust it)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QTimer


def test_coroutines_and_qt_timers_share_one_loop(qtbot, run_async) -> None:
    fired: list[str] = []

    async def scenario() -> str:
        QTimer.singleShot(0, lambda: fired.append("qt"))
        await asyncio.sleep(0.05)  # yields to Qt: the timer fires meanwhile
        return "done"

    assert run_async(scenario()) == "done"
    assert fired == ["qt"]


def test_qtbot_waits_also_advance_asyncio_tasks(qtbot, qasync_loop) -> None:
    done: list[bool] = []

    async def background() -> None:
        await asyncio.sleep(0)
        done.append(True)

    qasync_loop.create_task(background())
    qtbot.waitUntil(lambda: done == [True], timeout=2000)
