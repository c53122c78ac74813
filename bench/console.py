"""Bench: the console GUI against the issue 6 targets (offscreen Qt, qasync loop).

Measures, in this order, and prints one line per figure (asserts nothing):

1. cold start to first paint: a fresh ``python -c`` process imports the console, creates the
   QApplication (theme applied) and the real MainWindow (no memberships, a relay client that is
   never contacted), shows it and waits for the window's first Paint event; timed from just
   before the process is spawned (CLOCK_MONOTONIC is system-wide) to that event.
2. a 100,000-row Assets pane loaded from the Odoo sandbox served by a child process (as Odoo
   is another process in real life; bench/odoo_sandbox.py, plus
   ``helpdesk.ticket.x_asset_id`` and ``--tickets`` open tickets) through the real gateway and
   the Assets pane's loader (domain ``[]``, as admin), start_load -> loadFinished, after one
   run of the loader alone for the split network/GUI; then filter keystrokes typed into the
   pane's filter box one prefix at a time (textChanged -> ``proxy.set_filter_text`` + count
   label), and the repaint that follows.
3. RSS of this process after the 100k load (VmRSS; VmHWM is the peak).
4. webhook POST -> row in the Alerts model: a relay (SQLite, admin token, no Odoo) in a
   background thread, an AlertFeed on an Alerts pane, N distinct signed Pulseway
   notifications POSTed with seeded Poisson arrivals at ``--rate`` per second from another
   thread with httpx; latency from just before each POST to the ``rowsInserted`` that carries
   its Id. The 100k Assets pane stays loaded and shown meanwhile.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/console.py [--rows 100000]
        [--tickets 2000] [--notifications 300] [--rate 10] [--cold-runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD_START = r"""
import asyncio, sys, tempfile, time, types
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication
import qasync
import console.ui.app  # noqa: F401  (what `psa console` imports)
from console.relay.client import RelayClient
from console.ui import theme
from console.ui.main_window import MainWindow
imported = time.monotonic()
app = QApplication(sys.argv[:1])
app.setOrganizationName("psa-bench")
app.setApplicationName("console-bench")
theme.apply(app, None)
loop = qasync.QEventLoop(app)
painted = loop.create_future()

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not painted.done():
            painted.set_result(time.monotonic())
        return False

gateway = types.SimpleNamespace(endpoint=types.SimpleNamespace(url="http://127.0.0.1:9"))
settings = QSettings(str(Path(tempfile.mkdtemp()) / "bench.ini"), QSettings.Format.IniFormat)
relay = RelayClient("http://127.0.0.1:9", token="unused")
window = MainWindow(gateway, [], settings=settings, relay=relay)
constructed = time.monotonic()
watcher = FirstPaint()
window.installEventFilter(watcher)
window.show()
first_paint = loop.run_until_complete(asyncio.wait_for(painted, 30))
print(f"TIMES {imported} {constructed} {first_paint}", flush=True)
"""


# ---------------------------------------------------------------------------------- helpers
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


# ---------------------------------------------------------------------------------- 1. cold
def cold_start(runs: int) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    totals, imports, builds = [], [], []
    for _ in range(runs):
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", COLD_START, str(ROOT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("TIMES ")), None)
        if line is None:
            print(f"cold start: child failed (rc {done.returncode}): {done.stderr[-2000:]}")
            return
        imported, constructed, painted = (float(v) for v in line.split()[1:])
        totals.append(painted - started)
        imports.append(imported - started)
        builds.append(constructed - started)
    print(
        f"cold start to first paint: median {statistics.median(totals) * 1000:.0f} ms, "
        f"first {totals[0] * 1000:.0f} ms, best {min(totals) * 1000:.0f} ms over {runs} runs "
        f"(interpreter + imports done at {statistics.median(imports) * 1000:.0f} ms, "
        f"window built at {statistics.median(builds) * 1000:.0f} ms) [target < 1500 ms]"
    )
    print("  runs (ms): " + ", ".join(f"{t * 1000:.0f}" for t in totals))


# ---------------------------------------------------------------------------------- 2. assets
def add_tickets(db: Any, rows: int, tickets: int) -> None:
    """The product's ``helpdesk.ticket.x_asset_id`` (bench/odoo_sandbox.py does not add it; the
    Assets loader counts open tickets per page with it) and ``tickets`` tickets on assets."""
    from console.sandbox.odoo.orm import SUPERUSER_ID

    call = db.call_kw
    [model_id] = call(SUPERUSER_ID, "ir.model", "search", [[["model", "=", "helpdesk.ticket"]]], {})
    field = {"model_id": model_id, "name": "x_asset_id", "field_description": "Asset"}
    field.update(ttype="many2one", relation="x_client_asset")
    call(SUPERUSER_ID, "ir.model.fields", "create", [field], {})
    step = max(1, rows // max(1, tickets))
    values = [{"name": f"Ticket {n}", "x_asset_id": 1 + n * step} for n in range(tickets)]
    call(SUPERUSER_ID, "helpdesk.ticket", "create", [values], {})


def _serve_child(rows: int, tickets: int, conn: Any) -> None:
    from bench.odoo_sandbox import build_database
    from console.sandbox.odoo.server import OdooServer
    from console.sandbox.serving import BackgroundServer

    t0 = time.perf_counter()
    db = build_database(rows)
    add_tickets(db, rows, tickets)
    server = BackgroundServer(OdooServer({"psa": db}).app).start()
    conn.send((server.url, time.perf_counter() - t0))
    conn.recv()  # until the parent says stop
    server.stop()
    db.close()


def serve_in_child(rows: int, tickets: int) -> tuple[str, Any]:
    """The 100k sandbox in a child process (forked before Qt starts); returns (url, stop)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_child, args=(rows, tickets, child), daemon=True)
    process.start()
    url, built_s = parent.recv()
    print(
        f"(sandbox with {rows:,} x_client_asset rows and {tickets:,} tickets built in "
        f"{built_s:.0f} s, served by a child process)"
    )

    def stop() -> None:
        parent.send("stop")
        process.join(10)

    return url, stop


async def wait_signal(signal: Any, limit_s: float) -> tuple[Any, ...]:
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def fire(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(fire)
    try:
        return await asyncio.wait_for(future, limit_s)
    finally:
        signal.disconnect(fire)


KEYSTROKES = ["birc", "ws-0421", "client 04", "ubuntu", "decom"]


async def assets_bench(url: str, rows: int, host: Any) -> Any:
    from PySide6.QtWidgets import QApplication

    from console.odoo.gateway import OdooGateway
    from console.ui.panes import assets

    app = QApplication.instance()
    gateway = await OdooGateway.connect(url, "psa", "admin", "admin")
    # the loader alone (gateway pages + the open-ticket read_group per page), no pane
    started = time.perf_counter()
    bare = 0
    async for page in assets.loader(gateway, [])(lambda _done, _total: None):
        bare += len(page)
    bare_s = time.perf_counter() - started

    pane = assets.make_pane()
    host.add(pane)
    inserting: list[float] = []
    spans: list[float] = []
    pane.model.rowsAboutToBeInserted.connect(lambda *_: inserting.append(time.perf_counter()))
    # connected after the proxy's and the view's handlers: the span covers their work too
    pane.model.rowsInserted.connect(lambda *_: spans.append(time.perf_counter() - inserting[-1]))
    started = time.perf_counter()
    pending = wait_signal(pane.loadFinished, 600)
    pane.start_load(assets.loader(gateway, []))
    loaded, error = await pending
    elapsed = time.perf_counter() - started
    t0 = time.perf_counter()
    app.processEvents()
    repaint = time.perf_counter() - t0
    if error:
        print(f"assets load FAILED after {elapsed:.2f} s: {error}")
    print(
        f"assets: {loaded:,} rows loaded into the pane in {elapsed:.2f} s "
        f"(start_load -> loadFinished; then {repaint * 1000:.0f} ms to process pending "
        f"events/paint) [target < 3 s]"
    )
    print(
        f"  of which GUI thread inserting {len(spans)} pages (model + proxy + view): "
        f"{sum(spans):.2f} s (max {max(spans, default=0) * 1000:.0f} ms per page); the loader "
        f"alone without a pane (gateway + open-ticket read_group per page): {bare_s:.2f} s "
        f"for {bare:,} rows"
    )
    rss, hwm = rss_mb()
    print(
        f"RSS after the {loaded:,}-row load: {rss:.0f} MB (peak so far {hwm:.0f} MB) [target < 400 MB]"
    )

    typed: list[float] = []
    painted: list[float] = []
    direct: list[float] = []
    per_key: list[str] = []
    for word in KEYSTROKES:
        for end in range(1, len(word) + 1):
            t0 = time.perf_counter()
            pane.filter_box.setText(word[:end])  # textChanged -> set_filter_text + count
            t1 = time.perf_counter()
            app.processEvents()
            t2 = time.perf_counter()
            typed.append(t1 - t0)
            painted.append(t2 - t0)
            per_key.append(f"{word[:end]!r}={(t1 - t0) * 1000:.0f}/{pane.proxy.rowCount()}")
        t0 = time.perf_counter()
        pane.filter_box.clear()
        typed.append(time.perf_counter() - t0)
        app.processEvents()
        # the bare proxy call, as the issue states it
        for end in range(1, len(word) + 1):
            t0 = time.perf_counter()
            pane.proxy.set_filter_text(word[:end])
            direct.append(time.perf_counter() - t0)
        pane.proxy.set_filter_text("")
    ms = [v * 1000 for v in typed]
    print(
        f"filter keystroke on {loaded:,} rows via the filter box ({len(ms)} keystrokes incl. "
        f"clears): median {statistics.median(ms):.1f} ms, p90 {pct(ms, 90):.1f} ms, "
        f"max {max(ms):.1f} ms [target < 50 ms]"
    )
    ms = [v * 1000 for v in painted]
    print(
        f"filter keystroke incl. repaint (processEvents): median {statistics.median(ms):.1f} "
        f"ms, max {max(ms):.1f} ms"
    )
    ms = [v * 1000 for v in direct]
    print(
        f"proxy.set_filter_text alone ({len(ms)} calls): median {statistics.median(ms):.1f} "
        f"ms, max {max(ms):.1f} ms"
    )
    print("  per keystroke (ms/rows shown): " + ", ".join(per_key))
    return gateway, pane


# ---------------------------------------------------------------------------------- 3. alerts
def notification(number: int) -> dict[str, Any]:
    priority = ("Critical", "Elevated", "Normal", "Low")[number % 4]
    return {
        "Id": 9_000_000 + number,
        "Title": f"Low disk space ({number})",
        "Message": f"The free space on disk drive C: on the computer 'BENCH-{number:04d}' is low.",
        "DateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Priority": priority,
        "DeviceIdentifier": str(uuid.uuid4()),
        "OrganizationId": "4821",
    }


def send_notifications(
    url: str, secret: str, count: int, rate: float, sent: dict[int, float], acked: dict[int, float]
) -> None:
    import httpx

    from console.pulseway.webhook import sign_body

    bodies = []
    for number in range(count):
        document = notification(number)
        raw = json.dumps(document).encode()
        bodies.append((document["Id"], raw, sign_body(raw, secret)))
    # Poisson arrivals (seeded): a fixed period would phase-lock with the model's 100 ms
    # coalescing timer and make the figure depend on the rate chosen
    rng = random.Random(6)
    with httpx.Client(timeout=10) as client:
        due = time.monotonic()
        for ident, raw, signature in bodies:
            due += rng.expovariate(rate)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent[ident] = time.monotonic()
            response = client.post(
                f"{url}/hooks/pulseway",
                content=raw,
                headers={"content-type": "application/json", "x-hmac-signature": signature},
            )
            if response.status_code == 202 or response.is_success:
                acked[ident] = time.monotonic()
            else:
                print(f"  POST {ident}: {response.status_code} {response.text[:200]}")


def row_ident(row: dict[str, Any]) -> int | None:
    payload = row.get("payload") or {}
    value = payload.get("Id", row.get("external_id"))
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def alerts_bench(count: int, rate: float, host: Any) -> None:
    from console.relay.app import create_app
    from console.relay.client import RelayClient
    from console.relay.config import RelayConfig
    from console.relay.serving import BackgroundRelay
    from console.ui.panes import alerts

    workdir = Path(tempfile.mkdtemp(prefix="psa-bench-console-"))
    secret, admin = secrets.token_hex(32), secrets.token_hex(16)
    config = RelayConfig(db=workdir / "relay.sqlite3", hook_secret=secret, admin_token=admin)
    relay = await asyncio.to_thread(BackgroundRelay(create_app(config)).start)
    client = RelayClient(relay.url, token=admin)
    pane = alerts.make_pane()
    host.add(pane)
    feed = alerts.AlertFeed(pane, client, None)
    seen: dict[int, float] = {}

    def on_rows(_parent: Any, first: int, last: int) -> None:
        now = time.monotonic()
        for number in range(first, last + 1):
            ident = row_ident(pane.model.record(number))
            if ident is not None:
                seen.setdefault(ident, now)

    pane.model.rowsInserted.connect(on_rows)
    live = wait_signal(feed.relayStateChanged, 30)
    feed.start()
    ok, detail = await live
    if not ok:
        print(f"alerts: the feed did not go live: {detail}")
        return
    sent: dict[int, float] = {}
    acked: dict[int, float] = {}
    await asyncio.to_thread(send_notifications, relay.url, secret, count, rate, sent, acked)
    for _ in range(100):  # the last rows: at most a coalescing period or two after the ack
        if set(acked) <= set(seen):
            break
        await asyncio.sleep(0.05)
    latencies = [(seen[i] - sent[i]) * 1000 for i in sent if i in seen]
    acks = [(acked[i] - sent[i]) * 1000 for i in acked]
    feed.stop()
    await client.aclose()
    await asyncio.to_thread(relay.stop)
    if not latencies:
        print(f"webhook -> Alerts row: no rows seen ({len(acked)}/{count} acked)")
        return
    print(
        f"webhook POST -> row in the Alerts model: p50 {pct(latencies, 50):.0f} ms, "
        f"p99 {pct(latencies, 99):.0f} ms, max {max(latencies):.0f} ms "
        f"({len(latencies)}/{count} rows seen, {len(acked)} acked, Poisson {rate:g}/s; model coalesces "
        f"every 100 ms) [target p50/p99 < 100 ms]"
    )
    print(
        f"  of which POST -> 202: p50 {pct(acks, 50):.1f} ms, p99 {pct(acks, 99):.1f} ms; "
        f"batches: {len(set(seen.values()))}"
    )


# ---------------------------------------------------------------------------------- main
class Host:
    """A shown top-level window holding the panes (so the views lay out and paint)."""

    def __init__(self) -> None:
        from PySide6.QtWidgets import QTabWidget

        self.tabs = QTabWidget()
        self.tabs.resize(1366, 768)
        self.tabs.show()

    def add(self, pane: Any) -> None:
        self.tabs.addTab(pane, pane.title)
        self.tabs.setCurrentWidget(pane)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--notifications", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="notifications per second")
    parser.add_argument("--tickets", type=int, default=2000, help="open tickets on assets")
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()

    print(
        f"platform {os.environ['QT_QPA_PLATFORM']}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}"
    )
    cold_start(args.cold_runs)

    import qasync
    from PySide6.QtWidgets import QApplication

    # Odoo is another process in real life: serve the sandbox from a child process, so its
    # request handling does not share this process's GIL with the GUI and the gateway
    url, stop_server = serve_in_child(args.rows, args.tickets)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    host = Host()
    try:
        gateway, _pane = loop.run_until_complete(assets_bench(url, args.rows, host))
        loop.run_until_complete(alerts_bench(args.notifications, args.rate, host))
        rss, hwm = rss_mb()
        print(f"RSS at the end (Assets + Alerts panes): {rss:.0f} MB, peak {hwm:.0f} MB")
        gateway.close()
    finally:
        stop_server()
    sys.stdout.flush()
    # the figures are printed: skip tearing down 100,000 rows of widgets and models
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
