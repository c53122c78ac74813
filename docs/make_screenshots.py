"""Take the user guide's screenshots: every pane of the console over the local demo, light and
dark, as the demo manager ``admin`` (who has every pane), plus the wall.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_screenshots.py [--out docs/screenshots]

Writes ``{pane}-{theme}.png`` for alerts, tickets, assets, unmatched, approvals and billing,
``console-{theme}.png`` (the window as it opens) and ``wall-{theme}.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PANES = ("alerts", "tickets", "assets", "unmatched", "approvals", "billing")


async def _until(predicate, limit_s: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def shoot(out: Path, themes: list[str], app) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    from console.ui import theme
    from console.ui.app import _open_window
    from console.ui.demo import start_demo
    from console.ui.main_window import wait_loaded

    demo = await start_demo("admin")
    settings = QSettings(
        str(Path(tempfile.mkdtemp()) / "screenshots.ini"), QSettings.Format.IniFormat
    )
    window = await _open_window(
        demo.gateway, settings, argparse.Namespace(sa=None), demo.relay_client
    )
    try:
        await wait_loaded(window)
        unmatched = window.unmatched_pane
        if unmatched is not None:  # the first device poll fills the queue
            await _until(lambda: unmatched.model.rowCount() >= 3, 60)
        approvals = window.approvals_pane
        if approvals is not None:
            await _until(lambda: not approvals.is_loading() and approvals.model.rowCount() > 0)
        billing = window.billing_pane
        if billing is not None:
            billing.start_preview()
            await _until(lambda: not billing.is_loading() and billing.model.rowCount() > 0)
        await asyncio.sleep(3)  # let live traffic add a few alerts
        for name in themes:
            theme.apply(app, name)
            await asyncio.sleep(0.5)
            window.grab().save(str(out / f"console-{name}.png"))
            for pane_name in PANES:
                pane = window.panes.get(pane_name)
                if pane is None:
                    continue
                window.raise_pane(pane_name)
                if pane.model.rowCount():
                    pane.view.selectRow(0)
                await asyncio.sleep(1.0)  # detail renderers read Odoo
                path = out / f"{pane_name}-{name}.png"
                window.grab().save(str(path))
                print(f"wrote {path}", file=sys.stderr)
    finally:
        window.close()
        await demo.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--themes", default="light,dark")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    themes = args.themes.split(",")

    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # the demo is closed after the window
    qasync.run(shoot(out, themes, app))
    for name in themes:  # the wall is its own window: take it through the CLI
        wall = out / f"wall-{name}.png"
        subprocess.run(
            [sys.executable, "-m", "console.cli", "console", "--demo", "--wall",
             "--theme", name, "--screenshot", str(wall)],
            cwd=ROOT, check=True, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        print(f"wrote {wall}", file=sys.stderr)
    sys.stdout.flush()
    os._exit(0)  # the figures are on disk; skip tearing down the demo's widgets


if __name__ == "__main__":
    sys.exit(main())
