"""`psa relay` as a real process: kill -9 mid-burst loses nothing acknowledged; full and
read-only disks answer 503 with Retry-After, never a 2xx."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from relay_support import (
    ADMIN_TOKEN,
    RelayProcess,
    notification,
    sign,
    start_relay_process,
)

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def _post(client: httpx.Client, body: dict[str, object]) -> httpx.Response:
    raw = json.dumps(body).encode()
    return client.post(
        "/hooks/pulseway",
        content=raw,
        headers={"content-type": "application/json", "x-hmac-signature": sign(raw)},
    )


def _all_events(url: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        after = 0
        while True:
            page = client.get(
                "/api/events", params={"after": after, "limit": 5000}, headers=ADMIN
            ).json()
            events.extend(page["events"])
            if not page["events"]:
                return events
            after = page["next_after"]


@pytest.fixture
def relays() -> Iterator[list[RelayProcess]]:
    started: list[RelayProcess] = []
    yield started
    for relay in started:
        relay.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_during_a_burst_loses_no_acknowledged_event(
    tmp_path: Path, relays: list[RelayProcess], workers: int
) -> None:
    db = tmp_path / "relay.sqlite3"
    relay = start_relay_process(db, workers=workers)
    relays.append(relay)
    acked: dict[str, int] = {}
    lock = threading.Lock()
    enough = threading.Event()
    next_id = iter(range(1_000_000, 2_000_000))

    def sender() -> None:
        with httpx.Client(base_url=relay.url, timeout=10) as client:
            while True:
                with lock:
                    notification_id = next(next_id)
                try:
                    response = _post(
                        client, notification(notification_id, title=f"t{notification_id}")
                    )
                except httpx.HTTPError:
                    return  # the relay is gone
                if response.status_code in (200, 202):
                    with lock:
                        acked[str(notification_id)] = response.json()["seq"]
                        if len(acked) >= 400:
                            enough.set()

    senders = [threading.Thread(target=sender) for _ in range(8)]
    for thread in senders:
        thread.start()
    assert enough.wait(60), "the burst did not get going"
    relay.kill()  # SIGKILL: no shutdown, no flush
    for thread in senders:
        thread.join(30)

    restarted = start_relay_process(db, workers=1)
    relays.append(restarted)
    events = _all_events(restarted.url)

    by_external_id: dict[str, list[int]] = {}
    for event in events:
        by_external_id.setdefault(str(event["external_id"]), []).append(int(event["seq"]))  # type: ignore[call-overload]
    missing = {i: s for i, s in acked.items() if by_external_id.get(i) != [s]}
    assert missing == {}, f"{len(missing)} acknowledged events lost or renumbered"
    assert all(len(seqs) == 1 for seqs in by_external_id.values())
    assert len({e["seq"] for e in events}) == len(events)


def _limit_file_size() -> None:
    # Files may not grow past 256 KiB: the WAL hits the limit after a few dozen commits,
    # and write() fails with EFBIG (SIGXFSZ is ignored by Python), as on a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_store_that_cannot_grow_answers_503_and_keeps_what_it_acknowledged(
    tmp_path: Path, relays: list[RelayProcess]
) -> None:
    db = tmp_path / "relay.sqlite3"
    relay = start_relay_process(db, preexec_fn=_limit_file_size)
    relays.append(relay)
    acked: dict[str, int] = {}
    statuses: list[int] = []
    with httpx.Client(base_url=relay.url, timeout=10) as client:
        for index in range(2000):
            body = notification(5_000_000 + index, title=f"t{index}", Message="m" * 3000)
            response = _post(client, body)
            statuses.append(response.status_code)
            if response.status_code == 202:
                acked[str(body["Id"])] = response.json()["seq"]
            if response.status_code == 503:
                assert response.headers["retry-after"] == "5"
                break
        assert client.get("/healthz").status_code == 503

    assert statuses[-1] == 503
    assert set(statuses) <= {202, 503}
    assert acked
    relay.stop()
    restarted = start_relay_process(db)
    relays.append(restarted)
    stored = {str(e["external_id"]): e["seq"] for e in _all_events(restarted.url)}
    assert {i: stored.get(i) for i in acked} == acked


def _mount_read_only(source: Path, target: Path) -> bool:
    """Bind-mount ``source`` read-only at ``target`` (root only); False if not permitted."""
    bind = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True)
    if bind.returncode != 0:
        return False
    remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], capture_output=True)
    if remount.returncode != 0:
        subprocess.run(["umount", str(target)], capture_output=True)
        return False
    return True


@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[Path]:
    """An existing database on a read-only filesystem.

    As root: a read-only bind mount (writes fail with EROFS, as on a disk remounted
    read-only). Otherwise: a directory and files without write permission.
    """
    source = tmp_path / "data"
    source.mkdir()
    with sqlite3.connect(source / "relay.sqlite3") as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE placeholder (x)")
    if os.geteuid() == 0:
        target = tmp_path / "read-only"
        target.mkdir()
        if not _mount_read_only(source, target):
            pytest.skip("running as root without permission to mount a read-only bind mount")
        yield target / "relay.sqlite3"
        subprocess.run(["umount", str(target)], check=True)
    else:
        for path in source.iterdir():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        source.chmod(0o555)
        yield source / "relay.sqlite3"
        source.chmod(0o755)


def test_read_only_store_answers_503_with_retry_after(
    read_only_store: Path, relays: list[RelayProcess]
) -> None:
    relay = start_relay_process(read_only_store, config_dir=read_only_store.parent.parent)
    relays.append(relay)

    with httpx.Client(base_url=relay.url, timeout=10) as client:
        response = _post(client, notification())
        health = client.get("/healthz")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert health.status_code == 503
