"""`psa sandbox` as a user runs it: a child process that announces its URLs and keeps data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import odoorpc


def start_sandbox(*extra: str) -> tuple[subprocess.Popen[str], dict]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "sandbox",
            "--odoo-port",
            "0",
            "--pulseway-port",
            "0",
            "--rocketcyber-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the ready line (or EOF on failure)
    assert line, f"psa sandbox exited with {process.wait()} before announcing readiness"
    return process, json.loads(line)


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=30)


def test_ready_line_announces_a_working_odoo(tmp_path: Path) -> None:
    process, ready = start_sandbox("--size", "small")
    try:
        assert ready["ready"] is True
        assert ready["db"] == "psa"
        url = ready["odoo"]
        host, port = url.removeprefix("http://").rsplit(":", 1)
        client = odoorpc.ODOO(host, port=int(port))
        client.login("psa", "admin", "admin")
        assert client.env["res.partner"].search_count([["is_company", "=", True]]) > 1
    finally:
        assert stop(process) == 0


def test_data_dir_keeps_records_across_restarts(tmp_path: Path) -> None:
    process, ready = start_sandbox("--data", str(tmp_path), "--size", "empty")
    try:
        host, port = ready["odoo"].removeprefix("http://").rsplit(":", 1)
        client = odoorpc.ODOO(host, port=int(port))
        client.login("psa", "admin", "admin")
        client.env["res.partner"].create({"name": "Survivor Inc", "is_company": True})
    finally:
        stop(process)
    process, ready = start_sandbox("--data", str(tmp_path), "--size", "empty")
    try:
        host, port = ready["odoo"].removeprefix("http://").rsplit(":", 1)
        client = odoorpc.ODOO(host, port=int(port))
        client.login("psa", "admin", "admin")
        assert client.env["res.partner"].search([["name", "=", "Survivor Inc"]])
    finally:
        stop(process)


def test_port_in_use_is_a_clear_error(odoo) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console.cli", "sandbox", "--odoo-port", str(odoo.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{odoo.port}" in result.stderr
    assert "Traceback" not in result.stderr
