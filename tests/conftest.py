"""Fixtures shared across the suite: real servers on loopback ports."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from console.sandbox.serving import BackgroundServer


@dataclass
class RunningOdoo:
    """A sandbox Odoo served on a loopback port."""

    url: str
    host: str
    port: int
    db_name: str
    database: Any  # console.sandbox.odoo.orm.Database
    server: Any  # console.sandbox.odoo.server.OdooServer


def _start_odoo(
    *,
    small_dataset: bool,
    db_name: str = "psa",
    path: str | None = None,
) -> tuple[RunningOdoo, BackgroundServer]:
    from console.sandbox.odoo.orm import Database, seed_small_dataset
    from console.sandbox.odoo.server import OdooServer

    database = Database(db_name, path, seed=True)
    if small_dataset:
        seed_small_dataset(database)
    server = OdooServer({db_name: database})
    background = BackgroundServer(server.app).start()
    parsed = urlparse(background.url)
    assert parsed.hostname is not None and parsed.port is not None
    return RunningOdoo(
        background.url, parsed.hostname, parsed.port, db_name, database, server
    ), background


@pytest.fixture
def odoo_factory() -> Iterator[Callable[..., RunningOdoo]]:
    """Start as many fresh sandbox Odoo servers as a test needs; all stop afterwards."""
    started: list[tuple[RunningOdoo, BackgroundServer]] = []

    def start(**kwargs: Any) -> RunningOdoo:
        running, background = _start_odoo(**kwargs)
        started.append((running, background))
        return running

    yield start
    for running, background in started:
        background.stop()
        running.database.close()


@pytest.fixture
def odoo(odoo_factory: Callable[..., RunningOdoo]) -> RunningOdoo:
    """A fresh sandbox Odoo (database ``psa``, admin/admin) with the small dataset."""
    return odoo_factory(small_dataset=True)


# -- PostgreSQL (the relay's shared store) -----------------------------------------------------


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port; yields a DSN without dbname."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser is missing to start PostgreSQL")
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        run_as = ["runuser", "-u", "postgres", "--"]
    home = Path(tempfile.mkdtemp(prefix="relay-pg-"))
    home.chmod(0o755)
    data = home / "data"
    if run_as:
        shutil.chown(home, "postgres", "postgres")
    port = _free_loopback_port()
    subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "relay",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w",
         "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"host=127.0.0.1 port={port} user=relay"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


_databases = itertools.count()


@pytest.fixture
def dsn(postgres_server: str) -> str:
    """A fresh, empty database for one test."""
    import psycopg  # only where PostgreSQL is used

    name = f"relay_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(f"{postgres_server} dbname=postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return f"{postgres_server} dbname={name}"
