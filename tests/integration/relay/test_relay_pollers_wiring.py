"""`psa relay` runs the Pulseway device and RocketCyber incident pollers when configured
(DESIGN §5 "Pollers"): settings, secrets, and events reaching ``GET /api/events``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from relay_support import ADMIN_TOKEN, SECRET, start_relay_process

from console.relay.app import RelayApp
from console.relay.command import with_pollers
from console.relay.config import ConfigError, RelayConfig, describe, load_config
from console.relay.serving import BackgroundRelay
from console.relay.sqlite_store import SqliteEventStore
from console.sandbox.pulseway import create_pulseway_app
from console.sandbox.rocketcyber import create_rocketcyber_app
from console.sandbox.serving import BackgroundServer
from console.sandbox.world import World, build_world

TOKEN_ID = "pulseway-token-id-for-tests"
TOKEN_SECRET = "pulseway-token-secret-for-tests"
API_KEY = "rocketcyber-api-key-for-tests"
BASE_ENV = {"PSA_RELAY_HOOK_SECRET": SECRET, "PSA_RELAY_ADMIN_TOKEN": ADMIN_TOKEN}
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class StandIns:
    world: World
    pulseway_url: str
    rocketcyber_url: str
    fresh_incident_id: int

    def env(self, interval: str = "1") -> dict[str, str]:
        return {
            "PSA_PULSEWAY_URL": self.pulseway_url,
            "PSA_PULSEWAY_INTERVAL_SECONDS": interval,
            "PSA_PULSEWAY_TOKEN_ID": TOKEN_ID,
            "PSA_PULSEWAY_TOKEN_SECRET": TOKEN_SECRET,
            "PSA_ROCKETCYBER_URL": self.rocketcyber_url,
            "PSA_ROCKETCYBER_INTERVAL_SECONDS": interval,
            "PSA_ROCKETCYBER_API_KEY": API_KEY,
        }


@pytest.fixture
def standins() -> Iterator[StandIns]:
    """Pulseway and RocketCyber stand-ins over a world anchored at the real time (the incident
    poller looks back from now), plus one incident opened a minute ago."""
    now = datetime.now(UTC)
    world = build_world("small", now=now)
    account = world.rocketcyber.customers()[0]
    fresh = world.rocketcyber.open_incident(
        account.id,
        "Brute Force RDP Attempts",
        "Repeated failed RDP logons",
        "Block the source address",
        created_at=now - timedelta(minutes=2),
        published_at=now - timedelta(minutes=1),
    )
    pulseway = BackgroundServer(
        create_pulseway_app(world, token_id=TOKEN_ID, token_secret=TOKEN_SECRET, rate_limits=())
    ).start()
    try:
        rocketcyber = BackgroundServer(
            create_rocketcyber_app(world, api_key=API_KEY, rate_limits=())
        ).start()
        try:
            yield StandIns(world, f"{pulseway.url}/v3", f"{rocketcyber.url}/v3", fresh.id)
        finally:
            rocketcyber.stop()
    finally:
        pulseway.stop()


def _wait_for_poller_events(
    http: httpx.Client, standins: StandIns, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Poll ``GET /api/events`` until every device is registered and the fresh incident is
    open (bounded by ``timeout``); returns the events."""
    devices = len(standins.world.pulseway.devices)
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while True:
        response = http.get("/api/events", params={"after": 0, "limit": 5000}, headers=ADMIN)
        assert response.status_code == 200, response.text
        events = response.json()["events"]
        registered = [e for e in events if e["kind"] == "device.registered"]
        opened = {e["payload"]["incident_id"] for e in events if e["kind"] == "incident.opened"}
        if len(registered) >= devices and standins.fresh_incident_id in opened:
            return events
        if time.monotonic() > deadline:
            kinds = sorted({e["kind"] for e in events})
            raise AssertionError(
                f"pollers did not deliver within {timeout}s: {len(registered)}/{devices} "
                f"devices registered, incidents opened {sorted(opened)}, kinds {kinds}"
            )
        time.sleep(0.2)  # between requests of a bounded wait, not a timing assumption


def _check_events(events: list[dict[str, Any]], standins: StandIns) -> None:
    registered = [e for e in events if e["kind"] == "device.registered"]
    assert {e["source"] for e in registered} == {"pulseway"}
    assert {e["device_id"].lower() for e in registered} == set(standins.world.pulseway.devices)
    assert len(registered) == len(standins.world.pulseway.devices)  # each exactly once
    opened = [e for e in events if e["kind"] == "incident.opened"]
    assert {e["source"] for e in opened} == {"rocketcyber"}
    assert {e["payload"]["incident_id"] for e in opened} <= set(
        standins.world.rocketcyber.incidents
    )


def _write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "relay.toml"
    path.write_text(text)
    return path


# -- end to end ------------------------------------------------------------------------------------


def test_relay_from_settings_runs_both_pollers(tmp_path: Path, standins: StandIns) -> None:
    config = load_config(
        _write_config(tmp_path),
        {**BASE_ENV, **standins.env()},
        overrides={"db": tmp_path / "relay.sqlite3"},
        use_keyring=False,
    )
    configured = with_pollers(config)
    assert len(configured.background) == 3  # devices, the notification backstop, incidents
    app = RelayApp(configured, SqliteEventStore(configured.db))
    relay = BackgroundRelay(app).start()
    try:
        with httpx.Client(base_url=relay.url, timeout=10) as http:
            _check_events(_wait_for_poller_events(http, standins), standins)
    finally:
        relay.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_psa_relay_process_runs_pollers(tmp_path: Path, standins: StandIns, workers: int) -> None:
    relay = start_relay_process(tmp_path / "relay.sqlite3", workers=workers, env=standins.env())
    try:
        with httpx.Client(base_url=relay.url, timeout=10) as http:
            _check_events(_wait_for_poller_events(http, standins), standins)
    finally:
        relay.stop()


def test_pollers_off_without_url(tmp_path: Path) -> None:
    env = {**BASE_ENV, "PSA_PULSEWAY_TOKEN_ID": TOKEN_ID, "PSA_ROCKETCYBER_API_KEY": API_KEY}
    config = load_config(_write_config(tmp_path), env, use_keyring=False)
    assert config.pulseway is None and config.rocketcyber is None
    assert with_pollers(config).background == []


# -- settings ------------------------------------------------------------------------------------


def test_file_settings_and_env_overrides(tmp_path: Path) -> None:
    path = _write_config(
        tmp_path,
        '[pulseway]\nurl = "https://api.pulseway.com/v3"\n\n'
        '[rocketcyber]\nurl = "https://api-us.rocketcyber.com/v3"\ninterval_seconds = 90\n',
    )
    env = {
        **BASE_ENV,
        "PSA_PULSEWAY_TOKEN_ID": TOKEN_ID,
        "PSA_PULSEWAY_TOKEN_SECRET": TOKEN_SECRET,
        "PSA_ROCKETCYBER_API_KEY": API_KEY,
        "PSA_ROCKETCYBER_URL": "https://api-eu.rocketcyber.com/v3",
    }
    config = load_config(path, env, use_keyring=False)
    assert config.pulseway is not None and config.rocketcyber is not None
    assert config.pulseway.url == "https://api.pulseway.com/v3"
    assert config.pulseway.interval_seconds == 600
    assert config.rocketcyber.url == "https://api-eu.rocketcyber.com/v3"
    assert config.rocketcyber.interval_seconds == 90
    config = load_config(path, {**env, "PSA_PULSEWAY_INTERVAL_SECONDS": "30"}, use_keyring=False)
    assert config.pulseway is not None and config.pulseway.interval_seconds == 30


@pytest.mark.parametrize(
    ("section", "secrets", "missing"),
    [
        ("pulseway", {}, "PSA_PULSEWAY_TOKEN_ID and PSA_PULSEWAY_TOKEN_SECRET"),
        ("pulseway", {"PSA_PULSEWAY_TOKEN_ID": TOKEN_ID}, "PSA_PULSEWAY_TOKEN_SECRET"),
        ("pulseway", {"PSA_PULSEWAY_TOKEN_SECRET": TOKEN_SECRET}, "PSA_PULSEWAY_TOKEN_ID"),
        ("rocketcyber", {}, "PSA_ROCKETCYBER_API_KEY"),
    ],
)
def test_url_without_secret_is_refused(
    tmp_path: Path, section: str, secrets: dict[str, str], missing: str
) -> None:
    env = {**BASE_ENV, **secrets, f"PSA_{section.upper()}_URL": "https://api.example.com/v3"}
    with pytest.raises(ConfigError, match=missing):
        load_config(_write_config(tmp_path), env, use_keyring=False)
    file_only = _write_config(tmp_path, f'[{section}]\nurl = "https://api.example.com/v3"\n')
    with pytest.raises(ConfigError, match=missing):
        load_config(file_only, {**BASE_ENV, **secrets}, use_keyring=False)


@pytest.mark.parametrize(
    "text",
    [
        '[pulseway]\nurl = "https://api.pulseway.com/v3"\ntoken_secret = "x"\n',
        '[pulseway]\ntoken_id = "x"\n',
        '[rocketcyber]\napi_key = "x"\n',
    ],
)
def test_secret_in_file_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="must not be in a file"):
        load_config(_write_config(tmp_path, text), BASE_ENV, use_keyring=False)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PSA_PULSEWAY_URL", "api.pulseway.com/v3"),
        ("PSA_PULSEWAY_URL", f"https://{TOKEN_ID}:{TOKEN_SECRET}@api.pulseway.com/v3"),
        ("PSA_PULSEWAY_INTERVAL_SECONDS", "0"),
        ("PSA_PULSEWAY_INTERVAL_SECONDS", "soon"),
    ],
)
def test_bad_poller_settings_are_refused(variable: str, value: str, tmp_path: Path) -> None:
    env = {
        **BASE_ENV,
        "PSA_PULSEWAY_URL": "https://api.pulseway.com/v3",
        "PSA_PULSEWAY_TOKEN_ID": TOKEN_ID,
        "PSA_PULSEWAY_TOKEN_SECRET": TOKEN_SECRET,
        variable: value,
    }
    with pytest.raises(ConfigError) as raised:
        load_config(_write_config(tmp_path), env, use_keyring=False)
    assert TOKEN_SECRET not in str(raised.value)


def test_unknown_poller_key_is_refused(tmp_path: Path) -> None:
    path = _write_config(tmp_path, '[rocketcyber]\nurl = "https://x.example/v3"\nintervall = 5\n')
    with pytest.raises(ConfigError, match="intervall"):
        load_config(path, {**BASE_ENV, "PSA_ROCKETCYBER_API_KEY": API_KEY}, use_keyring=False)


def test_describe_repr_and_log_never_show_poller_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {
        **BASE_ENV,
        "PSA_PULSEWAY_URL": "https://api.pulseway.com/v3",
        "PSA_PULSEWAY_TOKEN_ID": TOKEN_ID,
        "PSA_PULSEWAY_TOKEN_SECRET": TOKEN_SECRET,
        "PSA_ROCKETCYBER_URL": "https://api-us.rocketcyber.com/v3",
        "PSA_ROCKETCYBER_API_KEY": API_KEY,
    }
    config: RelayConfig = load_config(_write_config(tmp_path), env, use_keyring=False)
    described = describe(config)
    assert described["pulseway"] == {
        "url": "https://api.pulseway.com/v3",
        "interval_seconds": 600.0,
        "backstop_seconds": 300.0,
        "backstop_grace_seconds": 900.0,
        "backstop_lookback_hours": 24.0,
        "token": "set",
    }
    assert described["rocketcyber"] == {
        "url": "https://api-us.rocketcyber.com/v3",
        "interval_seconds": 180.0,
        "api_key": "set",
    }
    with caplog.at_level(logging.INFO, logger="console.relay"):
        configured = with_pollers(config)
    started = [r.getMessage() for r in caplog.records if "poller started" in r.getMessage()]
    assert len(started) == 2
    assert "https://api.pulseway.com/v3" in started[0]
    assert "https://api-us.rocketcyber.com/v3" in started[1]
    for text in (str(described), repr(config), repr(configured), *started):
        for secret in (TOKEN_ID, TOKEN_SECRET, API_KEY, SECRET, ADMIN_TOKEN):
            assert secret not in text
