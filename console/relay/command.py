"""``psa relay``: load the settings, open the store, serve until SIGINT/SIGTERM.

Prints one JSON line ``{"ready": true, "url": ...}`` on stdout once listening (like
``psa sandbox``), so scripts and tests can start it with ``--port 0`` and read the port back.
Exit codes: 0 after a clean shutdown, 1 if it could not start, 2 for configuration errors.

With ``workers > 1`` this process binds the socket and supervises that many worker processes
serving it (the kernel spreads connections over them); they share the store, which then
serializes their write batches with a lock. One more process, the stream worker, serves every
event stream: the workers hand it each ``GET /events`` connection (``stream_worker = false``
turns that off; :mod:`console.relay.stream_handoff` says why). bench/RESULTS.md, "Relay
ingest", has what one and two workers give on two cores.

The Pulseway device poller, the Pulseway notification backstop (webhooks Pulseway gave up on,
:mod:`console.relay.backstop`) and the RocketCyber incident poller run as background jobs when
their ``url`` is configured, and the Odoo partner watch (new companies → pending Pulseway push
approvals, :mod:`console.relay.partner_watch`) when the Odoo service account is — in the one
process, or in worker 0 only (they are built in the worker, after the spawn, so nothing
unpicklable crosses the process boundary).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.queues
import os
import queue
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from console.relay.app import create_app
from console.relay.config import BackgroundTask, ConfigError, RelayConfig, describe, load_config
from console.relay.serving import RelayServer, bind_socket, socket_url
from console.relay.stream_handoff import StreamHandoff

_log = logging.getLogger("console.relay")

#: A worker that dies sooner than this after starting is not restarted (it would loop).
_MIN_WORKER_LIFETIME_SECONDS = 5.0


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s",
    )
    # one INFO line per poller request would drown the journal; failures still show
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


def _uvicorn_log_level(config: RelayConfig) -> str:
    # uvicorn's own INFO lines (startup banners) add nothing to ours.
    return "warning" if config.log_level == "info" else config.log_level


def with_pollers(config: RelayConfig) -> RelayConfig:
    """``config`` with the configured pollers appended to its background jobs.

    Logs one line per poller (endpoint and interval, never a secret).
    """
    from console.pulseway import PulsewayClient
    from console.relay.backstop import pulseway_backstop_job
    from console.relay.pollers import pulseway_device_job, rocketcyber_incident_job
    from console.rocketcyber import RocketCyberClient

    jobs: list[BackgroundTask] = []
    pulseway = config.pulseway
    if pulseway is not None:
        jobs.append(
            pulseway_device_job(
                lambda: PulsewayClient(pulseway.url, pulseway.token_id, pulseway.token_secret),
                interval=pulseway.interval_seconds,
            )
        )
        _log.info(
            "Pulseway device poller started: %s every %gs", pulseway.url, pulseway.interval_seconds
        )
        if pulseway.backstop_seconds > 0:
            # Same API token: webhooks Pulseway gave up on are fetched from its notification list.
            jobs.append(
                pulseway_backstop_job(
                    lambda: PulsewayClient(pulseway.url, pulseway.token_id, pulseway.token_secret),
                    interval=pulseway.backstop_seconds,
                    grace=timedelta(seconds=pulseway.backstop_grace_seconds),
                    lookback=timedelta(hours=pulseway.backstop_lookback_hours),
                )
            )
            _log.info(
                "Pulseway notification backstop started: %s every %gs, %gs grace, first pass "
                "looks back %gh",
                pulseway.url,
                pulseway.backstop_seconds,
                pulseway.backstop_grace_seconds,
                pulseway.backstop_lookback_hours,
            )
    rocketcyber = config.rocketcyber
    if rocketcyber is not None:
        jobs.append(
            rocketcyber_incident_job(
                lambda: RocketCyberClient(rocketcyber.url, rocketcyber.api_key),
                interval=rocketcyber.interval_seconds,
            )
        )
        _log.info(
            "RocketCyber incident poller started: %s every %gs",
            rocketcyber.url,
            rocketcyber.interval_seconds,
        )
    odoo = config.odoo
    if odoo is not None:
        # Approvals (issue 8): new company partners become pending Pulseway pushes.
        from console.relay.partner_watch import partner_watch_job

        jobs.append(partner_watch_job(odoo.url, odoo.db, odoo.user, odoo.password))
        _log.info("Odoo partner watch started: %s (database %s)", odoo.url, odoo.db)
    if not jobs:
        return config
    return replace(config, background=[*config.background, *jobs])


def log_rules_worker(config: RelayConfig) -> None:
    """One line saying whether the rules worker (T010/T011, unmatched queue) will run, and why
    not when it will not."""
    if not config.rules.enabled:
        _log.info("rules worker off ([rules] enabled = false / PSA_RULES_ENABLED)")
    elif config.odoo is None:
        _log.warning(
            "rules worker not started: no Odoo service account (set PSA_ODOO_URL, PSA_ODOO_DB, "
            "PSA_ODOO_USER and PSA_ODOO_PASSWORD); alerts will not become tickets"
        )
    else:
        _log.info(
            "rules worker started: Odoo %s as %s, team %s, priority map %s",
            config.odoo.url,
            config.odoo.user,
            config.rules.team_xmlid,
            dict(config.rules.priority_map) if config.rules.priority_map else "seed default",
        )


def run(args: argparse.Namespace) -> int:
    """Run the relay with ``psa relay`` arguments; returns the process exit code."""
    try:
        config = load_config(
            Path(args.config) if args.config else None,
            overrides={
                "host": args.host,
                "port": args.port,
                "db": args.db,
                "workers": getattr(args, "workers", None),
            },
        )
    except ConfigError as exc:
        print(f"psa relay: {exc}", file=sys.stderr)
        return 2
    _configure_logging(config.log_level)
    _log.info("starting relay with %s", describe(config))
    log_rules_worker(config)
    try:
        sock = bind_socket(config.host, config.port)
    except OSError as exc:
        print(f"psa relay: {exc}", file=sys.stderr)
        return 1
    url = socket_url(sock)
    store = str(config.db) if config.store == "sqlite" else "postgres"
    ready_line = json.dumps({"ready": True, "url": url, "store": store, "workers": config.workers})
    try:
        if config.workers == 1:
            return _serve_here(config, sock, ready_line)
        return _supervise(config, sock, ready_line)
    finally:
        sock.close()


def _serve_here(config: RelayConfig, sock: socket.socket, ready_line: str) -> int:
    relay = create_app(with_pollers(config))
    server = RelayServer(
        relay,
        log_level=_uvicorn_log_level(config),
        on_ready=lambda: print(ready_line, flush=True),
    )
    server.run(sockets=[sock])
    return 0 if server.started else 1


def _worker_main(
    config: RelayConfig,
    sock: socket.socket,
    index: int,
    ready: multiprocessing.queues.Queue[int],
    stream_socket: Path | None = None,
    consumer_counts: Any = None,
) -> None:
    """Body of a worker process: serve the shared socket until told to stop.

    ``index`` ``config.workers`` is the stream worker: it listens on ``stream_socket`` only
    and serves the event streams the other workers hand it."""
    _configure_logging(config.log_level)
    _exit_with_parent()
    streams_only = index == config.workers
    # Pollers and the rules worker run in worker 0 only (one consumer of the log).
    config = (
        with_pollers(config)
        if index == 0
        else replace(config, background=[], rules=replace(config.rules, enabled=False))
    )
    relay = create_app(config)
    relay.role = "stream" if streams_only else "ingest"
    if consumer_counts is not None:
        relay.share_consumer_counts(consumer_counts, index)
    if stream_socket is not None and not streams_only:
        relay.stream_handoff = StreamHandoff(stream_socket)
    server = RelayServer(
        relay,
        log_level=_uvicorn_log_level(config),
        on_ready=lambda: ready.put(index),
        stream_socket=stream_socket if streams_only else None,
    )
    server.run(sockets=[] if streams_only else [sock])
    sys.exit(0 if server.started else 1)


def _exit_with_parent() -> None:
    """Shut this worker down gracefully if the supervisor dies (even by SIGKILL).

    Orphaned workers would keep the port and the database busy with nobody to stop them.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        _log.error("relay supervisor %d is gone; worker %d stops", parent, os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="relay-parent-watch", daemon=True).start()


class _Supervisor:
    """Starts the workers, restarts one that dies, stops them all on SIGINT/SIGTERM."""

    def __init__(self, config: RelayConfig, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        self.context = multiprocessing.get_context("spawn")
        self.ready: multiprocessing.queues.Queue[int] = self.context.Queue()
        self.workers: dict[int, tuple[Any, float]] = {}
        self.stopping = False
        #: the stream worker's hand-over socket, in a directory only this user can enter
        self.private_dir: Path | None = None
        self.stream_socket: Path | None = None
        # descriptor passing over SOCK_SEQPACKET: Linux (macOS has no AF_UNIX SEQPACKET)
        if config.stream_worker and sys.platform.startswith("linux"):
            self.private_dir = Path(tempfile.mkdtemp(prefix="psa-relay-"))
            self.stream_socket = self.private_dir / "streams.sock"
        #: each process's number of stream consumers, for /healthz and /metrics in all of them
        self.consumer_counts = self.context.Array("q", len(self.indexes), lock=False)

    @property
    def indexes(self) -> range:
        """Worker indexes: the ingest workers, then the stream worker if there is one."""
        return range(self.config.workers + (1 if self.stream_socket is not None else 0))

    def spawn(self, index: int) -> None:
        name = "stream" if index == self.config.workers else f"worker-{index}"
        self.consumer_counts[index] = 0  # a restarted worker's consumers are gone
        process = self.context.Process(
            target=_worker_main,
            args=(
                self.config,
                self.sock,
                index,
                self.ready,
                self.stream_socket,
                self.consumer_counts,
            ),
            name=f"psa-relay-{name}",
        )
        process.start()
        self.workers[index] = (process, time.monotonic())

    def stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for process, _ in self.workers.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    def wait_ready(self, timeout: float) -> bool:
        pending = set(self.workers)
        deadline = time.monotonic() + timeout
        while pending and not self.stopping:
            try:
                pending.discard(self.ready.get(timeout=0.2))
            except queue.Empty:
                if any(not self.workers[i][0].is_alive() for i in pending):
                    return False
                if time.monotonic() > deadline:
                    return False
        return not pending

    def watch(self) -> int:
        while True:
            sentinels = {process.sentinel: index for index, (process, _) in self.workers.items()}
            if not sentinels:
                return 0
            for sentinel in multiprocessing.connection.wait(list(sentinels), timeout=1.0):
                index = sentinels[sentinel]
                process, started = self.workers.pop(index)
                process.join()
                if self.stopping:
                    continue
                lived = time.monotonic() - started
                _log.error(
                    "relay worker %d exited with %s after %.0fs", index, process.exitcode, lived
                )
                if lived < _MIN_WORKER_LIFETIME_SECONDS:
                    _log.error("worker %d keeps failing; stopping the relay", index)
                    self.stop(signal.SIGTERM, None)
                    return 1
                self.spawn(index)


def _supervise(config: RelayConfig, sock: socket.socket, ready_line: str) -> int:
    supervisor = _Supervisor(config, sock)
    previous = {sig: signal.signal(sig, supervisor.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in supervisor.indexes:
            supervisor.spawn(index)
        if not supervisor.wait_ready(timeout=60):
            if not supervisor.stopping:
                print("psa relay: workers did not start; see the log above", file=sys.stderr)
                supervisor.stop(signal.SIGTERM, None)
                supervisor.watch()
                return 1
        else:
            print(ready_line, flush=True)
        return supervisor.watch()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if supervisor.private_dir is not None:
            shutil.rmtree(supervisor.private_dir, ignore_errors=True)
