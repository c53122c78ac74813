"""packaging/systemd/user/psa-billing.{service,timer}: the monthly recount unit files parse, run the
documented command on the seed's schedule and keep the password out of the unit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[3] / "packaging" / "systemd" / "user"


def sections(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as {section: {key: [values]}} (keys may repeat), comments dropped."""
    out: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if header:
            current = out.setdefault(header.group(1), {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}:{number}: not key=value: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return out


def test_the_timer_runs_monthly_on_the_15th_and_catches_up() -> None:
    timer = sections(UNITS / "psa-billing.timer")

    [calendar] = timer["Timer"]["OnCalendar"]
    assert re.fullmatch(r"\*-\*-15( \d\d:\d\d(:\d\d)?)?", calendar)
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Timer"]["Unit"] == ["psa-billing.service"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def test_the_service_applies_without_a_prompt_and_reads_secrets_from_a_file() -> None:
    service = sections(UNITS / "psa-billing.service")

    [command] = service["Service"]["ExecStart"]
    assert command.endswith("psa billing apply --yes")
    assert service["Service"]["Type"] == ["oneshot"]
    assert service["Service"]["EnvironmentFile"]
    assert "Environment" not in service["Service"]  # no inline variables, hence no password
    text = (UNITS / "psa-billing.service").read_text(encoding="utf-8")
    live = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("PASSWORD" in line for line in live)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_calendar_expression() -> None:
    [calendar] = sections(UNITS / "psa-billing.timer")["Timer"]["OnCalendar"]
    done = subprocess.run(
        ["systemd-analyze", "calendar", calendar], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "-15 " in done.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this checkout's interpreter
    service = (UNITS / "psa-billing.service").read_text(encoding="utf-8")
    service = re.sub(
        r"^ExecStart=\S+", f"ExecStart={sys.executable} -m console.cli", service, flags=re.M
    )
    service = service.replace("%h/.config/psa/billing.env", str(tmp_path / "billing.env"))
    (tmp_path / "billing.env").write_text("", encoding="utf-8")
    (tmp_path / "psa-billing.service").write_text(service, encoding="utf-8")
    shutil.copy(UNITS / "psa-billing.timer", tmp_path / "psa-billing.timer")
    done = subprocess.run(
        ["systemd-analyze", "verify", "psa-billing.timer", "psa-billing.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "Failed to initialize manager" in done.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
