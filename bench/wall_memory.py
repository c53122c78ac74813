"""Bench: the NOC wall's memory over a simulated day of traffic, compressed in time.

Drives the real wall — :class:`~console.ui.wall_model.WallModel` behind a shown
:class:`~console.ui.wall.WallWindow` (offscreen Qt, 1920×1080) — with synthetic relay rows
shaped exactly like the stream's JSON (``StoredEvent.to_json``, raw Pulseway payload included):
new alerts over ``--sas`` SAs and the unmatched queue, repeats of open alerts, claims, acks and
resolves. Simulated time advances with the rows (an injected clock); the window redraws once
per simulated ``--redraw`` seconds, cycling through its pages as on a wall. RSS (VmRSS) is
sampled every simulated hour.

Two scenarios, each in a fresh process so they do not share an allocator's high-water mark:

* ``steady``: alerts are handled and resolved after an exponentially distributed lifetime
  (mean ``--lifetime`` minutes), as in a working NOC: the open set reaches a steady state;
* ``flood``: nothing is ever resolved (the relay's queue is abandoned): the open set grows
  until the model's cap (``max_open``, 50,000) and stays there.

Prints one line per sampled hour and a summary line per scenario; asserts nothing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/wall_memory.py [--hours 24] [--rate 5]
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: in the flood scenario, repeats and state changes go to the newest this many alerts
GENERATOR_WINDOW = 2000
PRIORITIES = ("Critical", "Elevated", "Normal", "Normal", "Low", "Low")
TITLES = (
    "Low disk space",
    "CPU usage above 90%",
    "Memory usage high",
    "Service stopped",
    "Backup failed",
    "Device offline",
    "Windows update pending",
    "Antivirus definitions out of date",
)


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def iso(epoch: float) -> str:
    millis = int((epoch - int(epoch)) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}Z"


class Traffic:
    """Rows as the relay would stream them, in seq order."""

    def __init__(self, rng: random.Random, sas: int, start: float, resolve: bool, lifetime: float):
        self.rng = rng
        self.sas = sas
        self.seq = 0
        self.now = start
        self.resolve = resolve
        self.lifetime = lifetime
        self.open: dict[int, dict[str, Any]] = {}
        self.open_keys: list[int] = []
        self.due: list[tuple[float, int]] = []  # (when, alert seq) to resolve
        self.notification_id = 0

    def _row(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        row = {
            "seq": self.seq,
            "source": "pulseway",
            "kind": kind,
            "received_at": iso(self.now),
            "external_id": str(self.notification_id),
            "title": "",
            "device_id": None,
            "priority": None,
            "dedupe_key": None,
            "sa_ids": [],
            "state": "open",
            "count": 1,
            "last_seen": iso(self.now),
            "alert_seq": self.seq,
            "repeat": False,
            "claimed_by": None,
            "snoozed_until": None,
            "asset_id": None,
            "partner_id": None,
            "payload": {},
        }
        row.update(fields)
        return row

    def new_alert(self) -> dict[str, Any]:
        rng = self.rng
        self.notification_id += 1
        device = f"{rng.getrandbits(64):016x}-{self.notification_id:08d}"
        title = rng.choice(TITLES)
        priority = rng.choice(PRIORITIES)
        sa = [] if rng.random() < 0.1 else [rng.randrange(1, self.sas + 1)]
        payload = {
            "Id": self.notification_id,
            "Title": title,
            "Message": f"{title} on the computer 'HOST-{self.notification_id}' (simulated).",
            "DateTime": iso(self.now),
            "Priority": priority,
            "DeviceIdentifier": device,
            "OrganizationId": "4821",
        }
        row = self._row(
            "alert",
            title=title,
            device_id=device,
            priority=priority,
            dedupe_key=f"pulseway|{device}|{title.lower()}",
            sa_ids=sa,
            payload=payload,
        )
        self.open[row["seq"]] = row
        self.open_keys.append(row["seq"])
        if len(self.open_keys) > 4 * len(self.open) + 100:
            self.open_keys = list(self.open)  # drop resolved/forgotten keys (generator memory)
        if not self.resolve and len(self.open) > GENERATOR_WINDOW:
            # abandoned alerts get no more traffic; the generator forgets them so that its own
            # memory does not count as the wall's (the wall still holds them, up to its cap)
            self.open.pop(next(iter(self.open)))
        if self.resolve:
            heapq.heappush(self.due, (self.now + rng.expovariate(1 / self.lifetime), row["seq"]))
        return row

    def repeat(self) -> dict[str, Any] | None:
        head = self._some_open()
        if head is None:
            return None
        head["count"] += 1
        return self._row(
            "alert",
            title=head["title"],
            device_id=head["device_id"],
            priority=head["priority"],
            sa_ids=head["sa_ids"],
            state=head["state"],
            count=head["count"],
            alert_seq=head["seq"],
            repeat=True,
            payload=head["payload"],
        )

    def change(self, head: dict[str, Any], action: str, state: str) -> dict[str, Any]:
        head["state"] = state
        snapshot = {k: v for k, v in head.items() if k != "payload"}
        row = self._row(
            "state",
            source="relay",
            title=action,
            device_id=head["device_id"],
            priority=head["priority"],
            sa_ids=head["sa_ids"],
            state=state,
            alert_seq=head["seq"],
            payload={"target": head["seq"], "action": action, "actor": "tech", "alert": snapshot},
        )
        if state == "resolved":
            self.open.pop(head["seq"], None)
        return row

    def _some_open(self) -> dict[str, Any] | None:
        while self.open_keys:
            index = self.rng.randrange(len(self.open_keys))
            seq = self.open_keys[index]
            if seq in self.open:
                return self.open[seq]
            self.open_keys[index] = self.open_keys[-1]  # resolved meanwhile: forget it
            self.open_keys.pop()
        return None

    def step(self, dt: float) -> list[dict[str, Any]]:
        """The rows of the next ``dt`` simulated seconds, one event."""
        self.now += dt
        rows: list[dict[str, Any]] = []
        if self.resolve:
            while self.due and self.due[0][0] <= self.now:
                _when, seq = heapq.heappop(self.due)
                head = self.open.get(seq)
                if head is not None:
                    rows.append(self.change(head, "resolve", "resolved"))
        draw = self.rng.random()
        if draw < 0.6:
            rows.append(self.new_alert())
        elif draw < 0.85:
            row = self.repeat()
            if row is not None:
                rows.append(row)
        else:
            head = self._some_open()
            if head is not None and head["state"] == "open":
                action, state = self.rng.choice((("claim", "claimed"), ("ack", "acked")))
                rows.append(self.change(head, action, state))
        return rows


def run_scenario(
    name: str, hours: float, rate: float, sas: int, lifetime_min: float, redraw: float
) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from console.ui.wall import WallFeed, WallSettings, WallWindow
    from console.ui.wall_model import ALL_PAGE, UNMATCHED_PAGE, WallModel, WallPage

    start = 1_800_000_000.0
    clock_now = [start]
    pages = [
        WallPage(ALL_PAGE, "Total"),
        *(WallPage(f"sa:{i}", f"SA {i}", frozenset({i})) for i in range(1, sas + 1)),
        WallPage(UNMATCHED_PAGE, "Unmatched", frozenset(), unmatched=True),
    ]
    model = WallModel(pages)

    async def never() -> Any:
        raise RuntimeError("the bench drives the model itself")

    settings = WallSettings()
    feed = WallFeed(model, relay=never, odoo=None, settings=settings, clock=lambda: clock_now[0])
    feed.relay_ok, feed.pages_loaded = True, True
    window = WallWindow(feed, settings)
    window.resize(1920, 1080)
    window.show()
    window._rebuild_views()
    app.processEvents()

    rng = random.Random(7)
    traffic = Traffic(rng, sas, start, resolve=(name == "steady"), lifetime=lifetime_min * 60)
    mean_gap = 1.0 / rate
    baseline = rss_mib()
    print(f"[{name}] baseline RSS after setup: {baseline:.1f} MiB", flush=True)
    next_redraw = start + redraw
    next_sample = start + 3600
    events = 0
    samples: list[tuple[int, float]] = []
    started = time.perf_counter()
    end = start + hours * 3600
    while traffic.now < end:
        for row in traffic.step(rng.expovariate(1 / mean_gap)):
            model.apply(row)
            events += 1
        clock_now[0] = traffic.now
        feed.last_sync = traffic.now
        if traffic.now >= next_redraw:
            next_redraw += redraw
            window.next_page()  # cycles pages and redraws
            app.processEvents()
        if traffic.now >= next_sample:
            next_sample += 3600
            hour = round((traffic.now - start) / 3600)
            rss = rss_mib()
            samples.append((hour, rss))
            print(
                f"[{name}] hour {hour:2d}: {events:>9,} rows applied, "
                f"{model.open_count():>6,} open alerts tracked, ticker {len(model.ticker)}, "
                f"RSS {rss:.1f} MiB, Python blocks {sys.getallocatedblocks():,}",
                flush=True,
            )
    elapsed = time.perf_counter() - started
    first = samples[0][1] if samples else baseline
    last = samples[-1][1] if samples else baseline
    peak = max((r for _h, r in samples), default=baseline)
    print(
        f"[{name}] {hours:g} h simulated in {elapsed:.1f} s: {events:,} rows "
        f"({events / elapsed:,.0f} rows/s applied incl. redraws); RSS baseline {baseline:.1f}, "
        f"after hour 1 {first:.1f}, after hour {samples[-1][0] if samples else 0} {last:.1f}, "
        f"peak {peak:.1f} MiB; open alerts at the end {model.open_count():,}"
        + (" (capped: truncated)" if model.truncated else ""),
        flush=True,
    )
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--rate", type=float, default=5.0, help="relay rows per simulated second")
    parser.add_argument("--sas", type=int, default=8, help="number of SA pages")
    parser.add_argument("--lifetime", type=float, default=30.0, help="mean alert lifetime, minutes")
    parser.add_argument("--redraw", type=float, default=60.0, help="simulated seconds per redraw")
    parser.add_argument("--scenario", choices=("steady", "flood", "both"), default="both")
    args = parser.parse_args()
    if args.scenario == "both":
        for scenario in ("steady", "flood"):
            argv = [sys.executable, __file__, *sys.argv[1:], "--scenario", scenario]
            subprocess.run(argv, check=True)
        return
    print(
        f"wall memory bench: {args.hours:g} h at {args.rate:g} rows/s, {args.sas} SAs, "
        f"Python {sys.version.split()[0]}, pid {os.getpid()}",
        flush=True,
    )
    run_scenario(args.scenario, args.hours, args.rate, args.sas, args.lifetime, args.redraw)


if __name__ == "__main__":
    main()
