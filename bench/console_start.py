"""Bench: how long the console's Alerts pane takes to go live over a relay with a long history.

Fills a relay store with ``--alerts`` alerts received three days ago (``--resolved`` of them
resolved), plus ``--today`` alerts received now (half resolved), starts ``psa relay`` on it (a
child process, one worker, admin token), then starts an Alerts pane's ``AlertFeed`` (offscreen
Qt, qasync loop) twice and times ``start()`` → live (the relay's ``ready`` after the history)
→ every queued row in the model:

* ``snapshot``: as the console does — ``GET /api/snapshot`` (open alerts, the last day's, their
  links, devices), then the stream after its last seq;
* ``replay``: as the console did before the snapshot, and still does with a relay that has
  none — the whole log from seq 0 over the stream.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/console_start.py [--alerts 100000]
        [--resolved 0.97] [--today 500]

Prints one line per figure; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.relay_ingest import ADMIN_TOKEN, RelayProcess  # noqa: E402
from console.domain.alerts import alert_dedupe_key  # noqa: E402
from console.relay.events import IncomingEvent  # noqa: E402
from console.relay.sqlite_store import SqliteEventStore  # noqa: E402
from console.relay.store import StateChange, utc_timestamp  # noqa: E402

CHUNK = 2000


def _alert(number: int) -> IncomingEvent:
    device = f"dev-{number % 3000:04d}"
    title = f"Low disk space {number}"
    return IncomingEvent(
        source="pulseway",
        kind="alert",
        external_id=str(number),
        title=title,
        device_id=device,
        priority="Critical" if number % 7 == 0 else "Normal",
        dedupe_key=alert_dedupe_key("pulseway", device, title),
        payload={
            "Id": number,
            "Title": title,
            "Message": f"The free space on disk drive C: on computer '{device}' is below 9%.",
            "DateTime": "2026-12-01T08:00:00Z",
            "Priority": "Normal",
            "DeviceIdentifier": device,
        },
    )


async def _fill(store: SqliteEventStore, first: int, count: int, resolved: float) -> None:
    """Append ``count`` alerts and resolve the first ``resolved`` share of them, in chunks."""
    resolve_below = first + int(count * resolved)
    for start in range(first, first + count, CHUNK):
        numbers = range(start, min(start + CHUNK, first + count))
        results = await asyncio.gather(*(store.append(_alert(n)) for n in numbers))
        await asyncio.gather(
            *(
                store.change_state(result.seq, StateChange("resolve", actor="bench"))
                for n, result in zip(numbers, results, strict=True)
                if n < resolve_below
            )
        )


def build_store(path: Path, alerts: int, resolved: float, today: int) -> int:
    async def run() -> None:
        store = SqliteEventStore(path)
        await store.start()
        try:
            await _fill(store, 1, alerts, resolved)
        finally:
            await store.close()

    asyncio.run(run())
    old = utc_timestamp(time.time() - 3 * 86400)
    with sqlite3.connect(path) as conn:  # three days ago
        conn.execute("UPDATE events SET received_at = ?, last_seen = ?", (old, old))
        conn.execute("UPDATE event_history SET at = ?", (old,))

    async def run_today() -> None:
        store = SqliteEventStore(path)
        await store.start()
        try:
            await _fill(store, alerts + 1, today, 0.5)
        finally:
            await store.close()

    asyncio.run(run_today())
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


async def time_start(url: str, mode: str) -> tuple[float, int]:
    from console.relay.client import RelayClient
    from console.ui.panes import alerts

    pane = alerts.make_pane()
    client = RelayClient(url, token=ADMIN_TOKEN, stream_idle_timeout=300)
    if mode == "replay":

        async def no_snapshot(hours: int | None = None) -> None:
            return None

        client.snapshot = no_snapshot  # type: ignore[method-assign]
    feed = alerts.AlertFeed(pane, client, None)
    live = asyncio.Event()
    feed.relayStateChanged.connect(lambda ok, _detail: live.set() if ok else None)
    started = time.perf_counter()
    feed.start()
    await live.wait()  # the relay's "ready": the history is in
    pane.model.flush()
    elapsed = time.perf_counter() - started
    rows = pane.model.rowCount()
    feed.stop()
    await client.aclose()
    pane.deleteLater()
    return elapsed, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000, help="alerts three days old")
    parser.add_argument("--resolved", type=float, default=0.97, help="share of those resolved")
    parser.add_argument("--today", type=int, default=500, help="alerts received now")
    args = parser.parse_args()

    import qasync
    from PySide6.QtWidgets import QApplication

    with tempfile.TemporaryDirectory(prefix="console-start-") as tmp:
        workdir = Path(tmp)
        db = workdir / "relay.sqlite3"
        began = time.perf_counter()
        rows = build_store(db, args.alerts, args.resolved, args.today)
        print(f"log: {rows:,} rows ({args.alerts:,} alerts three days old, "
              f"{args.resolved:.0%} resolved; {args.today} today) "
              f"built in {time.perf_counter() - began:.1f} s")  # fmt: skip
        relay = RelayProcess(workdir, workers=1)  # on the store just built (relay.sqlite3)
        url = relay.url
        app = QApplication.instance() or QApplication(sys.argv[:1])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        try:
            for mode in ("snapshot", "replay", "snapshot"):
                elapsed, shown = loop.run_until_complete(time_start(url, mode))
                print(f"{mode:>8}: start -> live with every row in the model {elapsed:6.2f} s, "
                      f"{shown:,} alert rows")  # fmt: skip
        finally:
            relay.stop()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
