"""Relay ingest benchmark: sustained durable webhook ingest, with and without SSE fan-out.

    .venv/bin/python bench/relay_ingest.py [--duration 10] [--connections 32] [--consumers 50]
                                           [--repeat 3] [--tool auto|wrk|python] [--threads 2]

Every request is a distinct, correctly signed Pulseway notification, so each one takes the
full path: size/media-type/signature/schema checks, dedupe lookup, group commit with fsync
(``synchronous=FULL``) and a 202 only after the commit. Scenarios, each on a fresh relay and
a fresh database (a subprocess started with ``psa relay``, as in production):

1. ``relay``: ingest alone;
2. ``relay + N SSE``: the same while ``--consumers`` admin streams read every event;
3. ``nginx return 202``: the same load against nginx on the same machine, when installed —
   the ceiling of "accept a POST and answer" here, for scale.

The load generator is ``wrk`` (Debian package) with a Lua script that sends pre-signed
bodies, or a Python asyncio generator when ``wrk`` is missing (it then shares the CPU with the
relay and reports lower figures; the output says which was used). After each relay run the
database is opened and the number of stored events compared with the 2xx count. Each row
also says what the run cost: the relay's CPU (all its processes, from /proc) per request, the
SSE consumers' process as a share of one core, and how busy the machine's CPUs were (from
/proc/stat) — a fan-out cost measured on a saturated machine is CPU taken from ingest.

Scenarios 1 and 2 run ``--repeat`` times, interleaved (1, 2, 1, 2, …): the shared VM's speed
drifts by ±20 % within minutes, so the fan-out cost is computed per adjacent pair and the
summary gives medians. Figures are printed; bench/RESULTS.md records them with the machine
and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECRET = "0" * 64
ADMIN_TOKEN = "bench-admin"
HOOK_PATH = "/hooks/pulseway"

WRK_SCRIPT = textwrap.dedent(
    """
    -- Sends distinct pre-signed notifications; each wrk thread takes every Nth line.
    local counter = 0
    local threads = {}
    function setup(thread)
      thread:set("tid", counter)
      counter = counter + 1
      table.insert(threads, thread)
    end
    local sigs, bodies, n, idx, step = {}, {}, 0, 0, 1
    function init(args)
      for line in io.lines(args[1]) do
        local tab = line:find("\\t", 1, true)
        n = n + 1
        sigs[n] = line:sub(1, tab - 1)
        bodies[n] = line:sub(tab + 1)
      end
      step = tonumber(args[2])
      idx = tid + 1 - step
      wrapped = 0
    end
    function request()
      idx = idx + step
      if idx > n then idx = idx - n; wrapped = wrapped + 1 end
      return wrk.format("POST", "/hooks/pulseway",
        {["Content-Type"] = "application/json", ["x-hmac-signature"] = sigs[idx]}, bodies[idx])
    end
    function done(summary, latency, requests)
      local w = 0
      for _, t in ipairs(threads) do w = w + (t:get("wrapped") or 0) end
      io.write(string.format("WRAPPED %d\\n", w))
    end
    """
)


@dataclass
class Result:
    name: str
    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int
    stored: int | None = None
    acked: int | None = None
    #: relay CPU (all its processes, user + system) per request, µs
    relay_us: float | None = None
    #: CPU of the SSE consumers' process over the run, as a share of one core
    consumers_core: float | None = None
    #: the machine's CPUs busy over the run (all processes), share of all cores
    busy: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def notification(notification_id: int) -> bytes:
    device = f"{notification_id % 5000:08x}-4b5e-6f70-8192-a3b4c5d6e7f8"
    body = {
        "Id": notification_id,
        "Title": f"Low disk space {notification_id % 97}",
        "Message": f"The free space on disk drive C: on computer 'SRV-{notification_id % 5000}' "
        "in group 'Acme Corp - HQ - Servers' is below 9% (29.94 GB free of 476.31 GB).",
        "DateTime": "2025-06-03T16:15:02Z",
        "Priority": "Critical" if notification_id % 7 == 0 else "Normal",
        "DeviceIdentifier": device,
        "OrganizationId": "4821",
    }
    return json.dumps(body).encode()


def signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def write_bodies(path: Path, first_id: int, count: int) -> None:
    with path.open("w") as handle:
        for notification_id in range(first_id, first_id + count):
            body = notification(notification_id)
            handle.write(f"{signature(body)}\t{body.decode()}\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (0 for one that is gone)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat (0, 0 where unreadable)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0, 0
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (the relay's supervisor and its workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(child) for child in children)]


# -- the relay under test ------------------------------------------------------------------


class RelayProcess:
    def __init__(self, workdir: Path, workers: int) -> None:
        self.db = workdir / "relay.sqlite3"
        env = dict(os.environ)
        env.update(
            PSA_RELAY_HOOK_SECRET=SECRET,
            PSA_RELAY_ADMIN_TOKEN=ADMIN_TOKEN,
            PSA_RELAY_LOG_LEVEL="warning",
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )
        (workdir / "relay.toml").touch()  # an empty config: ignore the user's own
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "relay", "--port", "0", "--db", str(self.db),
             "--config", str(workdir / "relay.toml"), "--workers", str(workers)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise RuntimeError("relay did not start")
        self.url = json.loads(line)["url"]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def stored_events(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


class NginxProcess:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        prefix = workdir / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(
            textwrap.dedent(
                f"""
                worker_processes auto;
                daemon off;
                pid {prefix}/nginx.pid;
                error_log {prefix}/error.log warn;
                events {{ worker_connections 1024; }}
                http {{
                    access_log off;
                    client_body_temp_path {prefix}/body;
                    proxy_temp_path {prefix}/proxy;
                    fastcgi_temp_path {prefix}/fastcgi;
                    uwsgi_temp_path {prefix}/uwsgi;
                    scgi_temp_path {prefix}/scgi;
                    server {{
                        listen 127.0.0.1:{self.port};
                        location / {{
                            default_type application/json;
                            return 202 '{{"seq":1,"duplicate":false}}';
                        }}
                    }}
                }}
                """
            )
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(
            [nginx, "-c", str(conf), "-p", str(prefix)], stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- load generators -----------------------------------------------------------------------


def run_wrk(url: str, bodies: Path, args: argparse.Namespace, workdir: Path, name: str) -> Result:
    script = workdir / "ingest.lua"
    script.write_text(WRK_SCRIPT)
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
        "-s", str(script), url, "--", str(bodies), str(args.threads),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if args.verbose:
        print(out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    seconds_text = re.search(r"requests in ([\d.]+)(\w+)", out)
    assert seconds_text is not None
    seconds = (
        float(seconds_text.group(1)) * {"s": 1.0, "ms": 0.001, "m": 60.0}[seconds_text.group(2)]
    )
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors_match = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    wrapped = re.search(r"WRAPPED (\d+)", out)
    if wrapped and int(wrapped.group(1)):
        print(f"  note: {name}: body list wrapped {wrapped.group(1)} times (duplicates sent)")
    return Result(
        name=name, tool="wrk", requests=requests, seconds=seconds,
        p50_ms=_wrk_percentile(out, "50%"), p99_ms=_wrk_percentile(out, "99%"),
        non_2xx=int(non_2xx_match.group(1)) if non_2xx_match else 0,
        errors=sum(int(g) for g in errors_match.groups()) if errors_match else 0,
    )  # fmt: skip


def _wrk_percentile(out: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


async def _python_load(
    url: str, bodies: Path, args: argparse.Namespace
) -> tuple[int, list[float], int, int]:
    host, port = url.removeprefix("http://").split(":")
    requests = []
    with bodies.open() as handle:
        for line in handle:
            sig, body = line.rstrip("\n").split("\t", 1)
            raw = body.encode()
            requests.append(
                f"POST {HOOK_PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"x-hmac-signature: {sig}\r\nContent-Length: {len(raw)}\r\n\r\n".encode()
                + raw
            )
    latencies: list[float] = []
    counters = {"sent": 0, "non2xx": 0, "errors": 0}
    deadline = time.perf_counter() + args.duration

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                index = counters["sent"] % len(requests)
                counters["sent"] += 1
                started = time.perf_counter()
                writer.write(requests[index])
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if head[9:10] != b"2":
                    counters["non2xx"] += 1
        except (OSError, asyncio.IncompleteReadError):
            counters["errors"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(args.connections)))
    return len(latencies), latencies, counters["non2xx"], counters["errors"]


def run_python(url: str, bodies: Path, args: argparse.Namespace, name: str) -> Result:
    started = time.perf_counter()
    count, latencies, non_2xx, errors = asyncio.run(_python_load(url, bodies, args))
    seconds = time.perf_counter() - started
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [0.0] * 99
    return Result(
        name, "python", count, seconds, quantiles[49] * 1000, quantiles[98] * 1000, non_2xx, errors
    )


# -- SSE consumers -------------------------------------------------------------------------


CONSUMER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    host, port, count, token = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    last = [0] * count
    ready = [False] * count

    class Reader(asyncio.Protocol):
        def __init__(self, index): self.index, self.tail = index, b""
        def data_received(self, data):
            chunk = self.tail + data
            if not ready[self.index] and b"event: ready" in chunk:
                ready[self.index] = True
                if all(ready):
                    print("READY", flush=True)
            at = chunk.rfind(b"\\nid: ")
            start = at + 5 if at >= 0 else (4 if chunk.startswith(b"id: ") else -1)
            if start >= 0:
                end = chunk.find(b"\\n", start)
                if end > 0:
                    last[self.index] = int(chunk[start:end])
            self.tail = chunk[-64:]

    async def main():
        loop = asyncio.get_running_loop()
        for i in range(count):
            transport, _ = await loop.create_connection(lambda i=i: Reader(i), host, port)
            transport.write(f"GET /events HTTP/1.1\\r\\nHost: {host}\\r\\n"
                            f"Authorization: Bearer {token}\\r\\n\\r\\n".encode())
        await loop.run_in_executor(None, sys.stdin.readline)
        print("LAST", min(last), max(last), flush=True)

    asyncio.run(main())
    """
)


class Consumers:
    def __init__(self, url: str, count: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CONSUMER_SCRIPT, host, port, str(count), ADMIN_TOKEN],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"SSE consumers did not connect: {line!r}")

    def finish(self) -> tuple[int, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        time.sleep(0.5)  # let the last flushes arrive
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        _, low, high = self.proc.stdout.readline().split()
        self.proc.wait(10)
        return int(low), int(high)


# -- scenarios -----------------------------------------------------------------------------


def measure(url: str, bodies: Path, args: argparse.Namespace, workdir: Path, name: str) -> Result:
    if args.tool == "wrk":
        return run_wrk(url, bodies, args, workdir, name)
    return run_python(url, bodies, args, name)


def relay_scenario(
    args: argparse.Namespace, workdir: Path, name: str, first_id: int, consumers: int
) -> Result:
    run_dir = workdir / name.replace(" ", "_").replace("+", "").replace("#", "")
    run_dir.mkdir()
    warm = run_dir / "warm.tsv"
    bodies = run_dir / "bodies.tsv"
    write_bodies(warm, first_id, 20_000)
    write_bodies(bodies, first_id + 100_000, args.bodies)
    relay = RelayProcess(run_dir, args.workers)
    try:
        warm_args = argparse.Namespace(**{**vars(args), "duration": 1, "verbose": False})
        warm_result = measure(relay.url, warm, warm_args, run_dir, "warm-up")
        readers = Consumers(relay.url, consumers) if consumers else None
        relay_pids = process_tree(relay.proc.pid)
        reader_pids = [readers.proc.pid] if readers is not None else []
        relay_cpu, reader_cpu = process_cpu(relay_pids), process_cpu(reader_pids)
        busy_before, total_before = machine_ticks()
        started = time.monotonic()
        result = measure(relay.url, bodies, args, run_dir, name)
        wall = time.monotonic() - started
        busy_after, total_after = machine_ticks()
        if result.requests:
            result.relay_us = (process_cpu(relay_pids) - relay_cpu) / result.requests * 1e6
        if readers is not None and wall > 0:
            result.consumers_core = (process_cpu(reader_pids) - reader_cpu) / wall
        if total_after > total_before:
            result.busy = (busy_after - busy_before) / (total_after - total_before)
        if readers is not None:
            low, high = readers.finish()
            print(f"  {name}: SSE consumers' last seq min {low}, max {high}")
    finally:
        relay.stop()
    result.stored = relay.stored_events()
    result.acked = (warm_result.requests - warm_result.non_2xx) + (result.requests - result.non_2xx)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="relay worker processes")
    parser.add_argument("--consumers", type=int, default=50, help="SSE consumers (0: skip)")
    parser.add_argument("--bodies", type=int, default=250_000, help="distinct bodies per run")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved relay / relay + SSE pairs"
    )
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.tool == "auto":
        args.tool = "wrk" if shutil.which("wrk") else "python"
    print(
        f"load generator: {args.tool}; {args.connections} connections, {args.duration} s; "
        f"relay workers: {args.workers}; {os.cpu_count()} CPUs"
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        workdir = Path(tmp)
        for run in range(1, args.repeat + 1):
            suffix = f" #{run}" if args.repeat > 1 else ""
            results.append(relay_scenario(args, workdir, f"relay{suffix}", 1_000_000, 0))
            if args.consumers:
                name = f"relay + {args.consumers} SSE{suffix}"
                results.append(relay_scenario(args, workdir, name, 5_000_000, args.consumers))
        nginx_found = shutil.which("nginx") or Path("/usr/sbin/nginx").exists()
        if nginx_found and not args.no_nginx:
            nginx = NginxProcess(workdir)
            try:
                bodies = workdir / "nginx.tsv"
                write_bodies(bodies, 9_000_000, min(args.bodies, 50_000))
                results.append(measure(nginx.url, bodies, args, workdir, "nginx return 202"))
            finally:
                nginx.stop()
        elif not args.no_nginx:
            print("nginx not installed: no baseline (apt-get install nginx)")

    print()
    print(
        "| scenario | tool | requests | req/s | p50 ms | p99 ms | non-2xx | socket errors "
        "| acked (incl. warm-up) | rows stored | relay CPU µs/req | consumers' CPU | CPUs busy |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        acked = "" if r.acked is None else str(r.acked)
        stored = "" if r.stored is None else str(r.stored)
        relay_us = "" if r.relay_us is None else f"{r.relay_us:.0f}"
        readers = "" if r.consumers_core is None else f"{r.consumers_core:.0%} of a core"
        busy = "" if r.busy is None else f"{r.busy:.0%}"
        print(
            f"| {r.name} | {r.tool} | {r.requests} | {r.rate:,.0f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.non_2xx} | {r.errors} | {acked} | {stored} | {relay_us} "
            f"| {readers} | {busy} |"
        )
    alone = [r for r in results if r.name.startswith("relay") and "SSE" not in r.name]
    fanned = [r for r in results if "SSE" in r.name]
    print(
        f"\nrelay alone: median {statistics.median(r.rate for r in alone):,.0f} req/s, "
        f"p99 median {statistics.median(r.p99_ms for r in alone):.2f} ms "
        f"({', '.join(f'{r.rate:,.0f}' for r in alone)})"
    )
    if fanned:
        costs = [1 - f.rate / a.rate for a, f in zip(alone, fanned, strict=True) if a.rate]
        print(
            f"relay + {args.consumers} SSE: median "
            f"{statistics.median(r.rate for r in fanned):,.0f} req/s, p99 median "
            f"{statistics.median(r.p99_ms for r in fanned):.2f} ms"
        )
        print(
            f"SSE fan-out to {args.consumers} consumers: ingest {statistics.median(costs):+.1%} "
            f"slower (median of pairs: {', '.join(f'{c:+.1%}' for c in costs)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
