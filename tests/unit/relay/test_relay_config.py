"""Relay settings: defaults, file, PSA_* environment, command line; secrets never in files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from console.relay.config import ConfigError, describe, load_config

SECRETS = {"PSA_RELAY_HOOK_SECRET": "hook-secret"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relay.toml"
    path.write_text(text)
    return path


def test_defaults_bind_loopback_on_8765(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, ""), SECRETS, use_keyring=False)

    assert (config.host, config.port, config.store, config.workers) == (
        "127.0.0.1", 8765, "sqlite", 1,
    )  # fmt: skip


def test_file_then_environment_then_command_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[relay]\nport = 9000\nhost = "0.0.0.0"\nheartbeat_seconds = 5\n')
    env = {**SECRETS, "PSA_RELAY_PORT": "9100", "PSA_RELAY_HEARTBEAT_SECONDS": "7"}

    config = load_config(path, env, overrides={"port": 9200, "host": None}, use_keyring=False)

    assert (config.port, config.host, config.heartbeat_seconds) == (9200, "0.0.0.0", 7.0)


def test_odoo_service_account_from_file_and_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, '[odoo]\nurl = "http://odoo:8069"\ndb = "psa"\nuser = "relay"\n')

    config = load_config(path, {**SECRETS, "PSA_ODOO_PASSWORD": "pw"}, use_keyring=False)

    assert config.odoo is not None
    assert (config.odoo.url, config.odoo.db, config.odoo.user) == (
        "http://odoo:8069",
        "psa",
        "relay",
    )
    assert "pw" not in repr(config)


def test_odoo_without_password_leaves_sessions_off(tmp_path: Path) -> None:
    path = _write(tmp_path, '[odoo]\nurl = "http://odoo:8069"\ndb = "psa"\nuser = "relay"\n')

    assert load_config(path, SECRETS, use_keyring=False).odoo is None


@pytest.mark.parametrize("key", ["hook_secret", "admin_token", "hook_token"])
def test_secret_in_the_file_is_refused(tmp_path: Path, key: str) -> None:
    path = _write(tmp_path, f'[relay]\n{key} = "oops"\n')

    with pytest.raises(ConfigError, match="must not be in a file"):
        load_config(path, SECRETS, use_keyring=False)


def test_odoo_password_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must not be in a file"):
        load_config(_write(tmp_path, '[odoo]\npassword = "x"\n'), SECRETS, use_keyring=False)


def test_missing_hook_secret_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PSA_RELAY_HOOK_SECRET"):
        load_config(_write(tmp_path, ""), {}, use_keyring=False)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(_write(tmp_path, "[relay]\nprot = 1\n"), SECRETS, use_keyring=False)


def test_invalid_value_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PSA_RELAY_PORT"):
        load_config(_write(tmp_path, ""), {**SECRETS, "PSA_RELAY_PORT": "http"}, use_keyring=False)


def test_postgres_store_needs_a_dsn(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="postgres_dsn"):
        load_config(_write(tmp_path, '[relay]\nstore = "postgres"\n'), SECRETS, use_keyring=False)


def test_postgres_store_without_the_driver_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as in the bundle: import fails
    text = '[relay]\nstore = "postgres"\npostgres_dsn = "host=db dbname=psa"\n'

    with pytest.raises(ConfigError, match=r"psa-console\[postgres\]"):
        load_config(_write(tmp_path, text), SECRETS, use_keyring=False)


def test_described_settings_never_show_secrets(tmp_path: Path) -> None:
    env = {
        **SECRETS,
        "PSA_RELAY_ADMIN_TOKEN": "admin-secret",
        "PSA_RELAY_POSTGRES_DSN": "password=pg-secret",
    }

    text = str(describe(load_config(_write(tmp_path, ""), env, use_keyring=False)))

    assert "hook-secret" not in text and "admin-secret" not in text
    assert "pg-secret" not in text


def test_unreadable_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[relay\n"), SECRETS, use_keyring=False)


def test_stream_worker_switch_from_file_and_environment(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, ""), SECRETS, use_keyring=False).stream_worker is True
    path = _write(tmp_path, "[relay]\nstream_worker = false\n")
    assert load_config(path, SECRETS, use_keyring=False).stream_worker is False
    env = {**SECRETS, "PSA_RELAY_STREAM_WORKER": "yes"}
    assert load_config(path, env, use_keyring=False).stream_worker is True
    with pytest.raises(ConfigError, match="PSA_RELAY_STREAM_WORKER: invalid value 'sometimes'"):
        load_config(path, {**SECRETS, "PSA_RELAY_STREAM_WORKER": "sometimes"}, use_keyring=False)
    with pytest.raises(ConfigError, match=r"\[relay\] stream_worker: invalid value 2"):
        load_config(_write(tmp_path, "[relay]\nstream_worker = 2\n"), SECRETS, use_keyring=False)
