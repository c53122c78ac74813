"""`psa relay --workers N` with its stream worker: the ingest workers hand every `GET /events`
connection to one process (console/relay/stream_handoff.py). Real processes, real sockets."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from tests.integration.relay.relay_support import (
    ADMIN_TOKEN,
    RelayProcess,
    SseReader,
    notification,
    sign,
    start_relay_process,
)

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def _post(relay: RelayProcess, count: int) -> list[int]:
    seqs = []
    with httpx.Client(base_url=relay.url, timeout=10) as client:
        for _ in range(count):
            body = json.dumps(notification()).encode()
            answer = client.post(
                "/hooks/pulseway",
                content=body,
                headers={"content-type": "application/json", "x-hmac-signature": sign(body)},
            )
            assert answer.status_code == 202, answer.text
            seqs.append(answer.json()["seq"])
    return seqs


def _served_by(reader: SseReader) -> str:
    worker: str = reader.until("ready")[-1][2]["worker"]
    return worker


def _stream_worker_pid(supervisor: int) -> int:
    """The supervisor's child bound to ``…/streams.sock`` (from /proc: no test hooks)."""
    inodes = set()
    with open("/proc/net/unix") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7].endswith("/streams.sock"):
                inodes.add(f"socket:[{fields[6]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent != supervisor:
                continue
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & inodes:
            return int(entry.name)
    raise AssertionError("no stream worker among the relay's processes")


def _age(pid: int) -> float:
    """Seconds since ``pid`` started."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


def test_streams_are_served_by_the_stream_worker_with_every_event(tmp_path) -> None:
    relay = start_relay_process(tmp_path / "relay.sqlite3", workers=2)
    readers: list[SseReader] = []
    try:
        readers = [SseReader(f"{relay.url}/events", ADMIN) for _ in range(4)]
        assert [_served_by(reader) for reader in readers] == ["stream"] * 4
        # answered by an ingest worker, counting the stream worker's consumers
        for _ in range(3):
            health = httpx.get(f"{relay.url}/healthz").json()
            assert health["consumers"] == 4
            metrics = httpx.get(f"{relay.url}/metrics").text
            assert "\npsa_relay_consumers 4\n" in metrics

        seqs = _post(relay, 30)  # spread over both ingest workers by the kernel

        for reader in readers:
            received = [reader.next() for _ in seqs]
            assert [int(seq) for seq, _, _ in received] == seqs  # type: ignore[arg-type]
            assert {kind for _, kind, _ in received} == {"alert"}
    finally:
        for reader in readers:
            reader.close()
        relay.stop()


def test_a_stream_after_other_requests_on_the_same_connection_is_handed_over(tmp_path) -> None:
    relay = start_relay_process(tmp_path / "relay.sqlite3", workers=2)
    try:
        seqs = _post(relay, 3)
        with httpx.Client(base_url=relay.url, timeout=10) as client:
            first = client.get("/api/events", params={"after": 0}, headers=ADMIN)
            assert [event["seq"] for event in first.json()["events"]] == seqs
            port = first.extensions["network_stream"].get_extra_info("socket").getsockname()[1]
            with client.stream("GET", "/events", headers=ADMIN) as response:
                stream = response.extensions["network_stream"].get_extra_info("socket")
                assert stream.getsockname()[1] == port  # the kept-alive connection
                data: list[str] = []
                for line in response.iter_lines():
                    if line.startswith(("id:", "data:")):
                        data.append(line)
                    if len(data) == 7:  # three events, then ready's data
                        break
        ids = [int(line.split(": ", 1)[1]) for line in data if line.startswith("id:")]
        assert ids == seqs
        assert json.loads(data[-1].split(": ", 1)[1])["worker"] == "stream"
    finally:
        relay.stop()


def test_without_the_stream_worker_each_worker_streams(tmp_path) -> None:
    relay = start_relay_process(
        tmp_path / "relay.sqlite3", workers=2, env={"PSA_RELAY_STREAM_WORKER": "false"}
    )
    reader = None
    try:
        reader = SseReader(f"{relay.url}/events", ADMIN)
        assert _served_by(reader) == "ingest"
        seqs = _post(relay, 5)
        assert [int(reader.next()[0]) for _ in seqs] == seqs  # type: ignore[arg-type]
    finally:
        if reader is not None:
            reader.close()
        relay.stop()


def test_consumers_resume_without_loss_while_the_stream_worker_restarts(tmp_path) -> None:
    relay = start_relay_process(tmp_path / "relay.sqlite3", workers=2)
    readers: list[SseReader] = []
    try:
        before = _post(relay, 5)
        first = SseReader(f"{relay.url}/events", ADMIN)
        readers.append(first)
        assert _served_by(first) == "stream"
        stream_pid = _stream_worker_pid(relay.process.pid)
        # the supervisor gives up on a worker that dies within 5 s of starting
        while _age(stream_pid) < 5.5:
            time.sleep(0.1)

        os.kill(stream_pid, signal.SIGKILL)
        assert first.until("closed")  # its consumers lose the connection…

        during = _post(relay, 5)
        # …and resume from their last id on whichever process takes them now
        resumed = SseReader(f"{relay.url}/events", {**ADMIN, "last-event-id": str(before[-1])})
        readers.append(resumed)
        messages = resumed.until("ready")
        assert [int(seq) for seq, _, _ in messages[:-1]] == during  # type: ignore[arg-type]
        assert messages[-1][2]["worker"] in {"ingest", "stream"}

        # the supervisor starts a new stream worker; new streams go there again
        deadline = time.monotonic() + 30
        while True:
            probe = SseReader(f"{relay.url}/events", ADMIN, params={"after": during[-1]})
            readers.append(probe)
            if _served_by(probe) == "stream":
                break
            assert time.monotonic() < deadline, "the stream worker did not come back"
            probe.close()
            time.sleep(0.2)
        assert _stream_worker_pid(relay.process.pid) != stream_pid
        after = _post(relay, 3)
        assert [int(probe.next()[0]) for _ in after] == after  # type: ignore[arg-type]
        assert [int(resumed.next()[0]) for _ in after] == after  # type: ignore[arg-type]
    finally:
        for reader in readers:
            reader.close()
        relay.stop()


def test_the_stream_worker_serves_streams_on_a_postgresql_store(tmp_path, dsn: str) -> None:
    relay = start_relay_process(
        tmp_path / "unused.sqlite3",
        workers=2,
        env={"PSA_RELAY_STORE": "postgres", "PSA_RELAY_POSTGRES_DSN": dsn},
    )
    readers: list[SseReader] = []
    try:
        readers = [SseReader(f"{relay.url}/events", ADMIN) for _ in range(2)]
        assert [_served_by(reader) for reader in readers] == ["stream", "stream"]
        seqs = _post(relay, 10)
        for reader in readers:
            assert [int(reader.next()[0]) for _ in seqs] == seqs  # type: ignore[arg-type]
    finally:
        for reader in readers:
            reader.close()
        relay.stop()
