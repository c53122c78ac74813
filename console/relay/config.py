"""Relay settings: defaults ← TOML file ← ``PSA_*`` environment ← command line.

The file is ``--config FILE`` or ``relay.toml`` in the platform config dir (platformdirs,
e.g. ``~/.config/psa/relay.toml``)::

    [relay]
    host = "127.0.0.1"
    port = 8765
    db = "/var/lib/psa/relay.sqlite3"
    store = "sqlite"            # or "postgres" (postgres_dsn, several relay instances)
    hook_token_header = "x-psa-relay-token"

    [odoo]                      # the relay's service account; its password only in the env
    url = "https://odoo.example.com"
    db = "psa"
    user = "psa-relay"

    [pulseway]                  # device poller and notification backstop; off without a url
    url = "https://api.pulseway.com/v3"
    interval_seconds = 600
    backstop_seconds = 300      # 0 turns the backstop off
    backstop_grace_seconds = 900
    backstop_lookback_hours = 24

    [rocketcyber]               # incident poller; off without a url
    url = "https://api-us.rocketcyber.com/v3"
    interval_seconds = 180

    [rules]                     # rules worker; runs when [odoo] is complete
    enabled = true
    team_xmlid = "helpdesk.support_team"
    priority_map = { critical = "2", elevated = "1", normal = "1", low = "1" }

Each ``[relay]`` key ``k`` is overridden by ``PSA_RELAY_<K>``, each ``[odoo]`` key by
``PSA_ODOO_<K>``, each ``[pulseway]`` / ``[rocketcyber]`` key by ``PSA_PULSEWAY_<K>`` /
``PSA_ROCKETCYBER_<K>`` (e.g. ``PSA_PULSEWAY_BACKSTOP_SECONDS``), ``[rules]`` keys by
``PSA_RULES_<K>``. Secrets (``PSA_RELAY_HOOK_SECRET``, ``PSA_RELAY_HOOK_TOKEN``,
``PSA_RELAY_ADMIN_TOKEN``, ``PSA_ODOO_PASSWORD``, ``PSA_PULSEWAY_TOKEN_ID`` /
``PSA_PULSEWAY_TOKEN_SECRET``, ``PSA_ROCKETCYBER_API_KEY``) come from the environment or the
OS keyring (service ``psa``, the variable's name as the key) — a secret in the file is an
error, so it never sits in a world-readable file, in argv or in a log line. A poller whose
``url`` is set without its secret is an error too.
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import platformdirs

from console.relay.events import CursorStore, EventSink

_log = logging.getLogger(__name__)

#: A background job started with the relay (pollers, rules worker): it gets the store as sink
#: and cursor store, runs until cancelled at shutdown.
BackgroundTask = Callable[[EventSink, CursorStore], Awaitable[None]]

APP_NAME: Final = "psa"
KEYRING_SERVICE: Final = "psa"
SECRET_VARIABLES: Final = (
    "PSA_RELAY_HOOK_SECRET",
    "PSA_RELAY_HOOK_TOKEN",
    "PSA_RELAY_ADMIN_TOKEN",
    "PSA_ODOO_PASSWORD",
    "PSA_PULSEWAY_TOKEN_ID",
    "PSA_PULSEWAY_TOKEN_SECRET",
    "PSA_ROCKETCYBER_API_KEY",
)
_SECRET_KEYS: Final = frozenset(
    {
        "hook_secret",
        "hook_token",
        "admin_token",
        "password",
        "secret",
        "token_id",
        "token_secret",
        "api_key",
    }
)


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


def default_config_path() -> Path:
    """``relay.toml`` in the platform's user config dir."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "relay.toml"


def default_db_path() -> Path:
    """The SQLite event store in the platform's user data dir."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "relay.sqlite3"


@dataclass(frozen=True)
class OdooServiceAccount:
    """Where the relay finds Odoo and the account it resolves SA memberships with."""

    url: str
    db: str
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class PulsewayPolling:
    """The Pulseway API endpoint (``…/v3``) and token, shared by the device poller and the
    notification backstop (:mod:`console.relay.backstop`), and the pace of each.

    ``backstop_seconds`` 0 turns the backstop off; ``backstop_grace_seconds`` leaves young
    notifications to Pulseway's own webhook retries; ``backstop_lookback_hours`` is how far the
    first pass reaches back.
    """

    url: str
    token_id: str = field(repr=False)
    token_secret: str = field(repr=False)
    interval_seconds: float = 600.0
    backstop_seconds: float = 300.0
    backstop_grace_seconds: float = 900.0
    backstop_lookback_hours: float = 24.0


@dataclass(frozen=True)
class RocketCyberPolling:
    """The RocketCyber incident poller's API endpoint (``…/v3``), API key and pace."""

    url: str
    api_key: str = field(repr=False)
    interval_seconds: float = 180.0


@dataclass(frozen=True)
class RulesSettings:
    """The rules worker (seed T010/T011, RocketCyber incidents): on by default, runs when the
    relay has an Odoo service account. ``priority_map`` maps Pulseway priority names (any case)
    to helpdesk priorities; None means the seed's default (Critical → '2', otherwise '1')."""

    enabled: bool = True
    team_xmlid: str = "helpdesk.support_team"
    priority_map: Mapping[str, str] | None = None


@dataclass
class RelayConfig:
    """Everything the relay needs to run. Secrets are excluded from ``repr``."""

    host: str = "127.0.0.1"
    port: int = 8765
    db: Path = field(default_factory=default_db_path)
    store: str = "sqlite"
    postgres_dsn: str | None = field(default=None, repr=False)
    hook_secret: str | None = field(default=None, repr=False)
    hook_token: str | None = field(default=None, repr=False)
    hook_token_header: str = "x-psa-relay-token"
    admin_token: str | None = field(default=None, repr=False)
    odoo: OdooServiceAccount | None = None
    pulseway: PulsewayPolling | None = None
    rocketcyber: RocketCyberPolling | None = None
    rules: RulesSettings = field(default_factory=RulesSettings)
    max_body_bytes: int = 256 * 1024
    heartbeat_seconds: float = 15.0
    #: a consumer whose socket accepts nothing for this long is disconnected (it resumes
    #: from its last id when it comes back)
    stream_write_timeout_seconds: float = 30.0
    retry_after_seconds: int = 5
    session_ttl_seconds: float = 12 * 3600.0
    consumer_queue_limit: int = 10_000
    stream_flush_seconds: float = 0.025
    workers: int = 1
    #: with several workers, one more process serves every event stream
    #: (console/relay/stream_handoff.py); false: each worker streams to its own consumers
    stream_worker: bool = True
    log_level: str = "info"
    background: list[BackgroundTask] = field(default_factory=list, repr=False)


_TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"0", "false", "no", "off"})


def _boolean(value: Any) -> bool:
    """A TOML boolean, or one of the words above from the environment."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise ValueError(f"expected true or false, not {value!r}")


#: ``[relay]`` keys a file or ``PSA_RELAY_*`` may set, with their parsers.
_RELAY_KEYS: Final[dict[str, Callable[[Any], Any]]] = {
    "host": str,
    "port": int,
    "db": lambda v: Path(str(v)).expanduser(),
    "store": str,
    "postgres_dsn": str,
    "hook_token_header": lambda v: str(v).lower(),
    "max_body_bytes": int,
    "heartbeat_seconds": float,
    "stream_write_timeout_seconds": float,
    "retry_after_seconds": int,
    "session_ttl_seconds": float,
    "consumer_queue_limit": int,
    "stream_flush_seconds": float,
    "workers": int,
    "stream_worker": _boolean,
    "log_level": lambda v: str(v).lower(),
}
_ODOO_KEYS: Final[tuple[str, ...]] = ("url", "db", "user")
#: ``[pulseway]`` / ``[rocketcyber]`` keys (``PSA_PULSEWAY_*`` / ``PSA_ROCKETCYBER_*``).
_POLLER_KEYS: Final[dict[str, Callable[[Any], Any]]] = {
    "url": lambda v: str(v).strip(),
    "interval_seconds": float,
}
#: ``[pulseway]`` has the notification backstop's keys besides (``PSA_PULSEWAY_BACKSTOP_*``).
_PULSEWAY_KEYS: Final[dict[str, Callable[[Any], Any]]] = {
    **_POLLER_KEYS,
    "backstop_seconds": float,
    "backstop_grace_seconds": float,
    "backstop_lookback_hours": float,
}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _section(document: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    section = document.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    secrets_found = sorted(_SECRET_KEYS & section.keys())
    if secrets_found:
        raise ConfigError(
            f"{path}: [{name}] {', '.join(secrets_found)} must not be in a file; set it in the "
            "environment (e.g. a systemd EnvironmentFile readable by the service only) or the "
            "OS keyring"
        )
    return section


def _secret(name: str, env: Mapping[str, str], use_keyring: bool) -> str | None:
    value = env.get(name)
    if value:
        return value
    if not use_keyring:
        return None
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, name)
    except Exception as exc:  # no backend on a headless server is normal
        _log.debug("keyring lookup of %s failed: %s", name, exc)
        return None
    return stored or None


def load_config(
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    use_keyring: bool = True,
) -> RelayConfig:
    """Build the relay's settings (see the module docstring for the precedence).

    ``config_path`` None means the default path if that file exists. ``overrides`` are
    command-line values (``None`` values are ignored).
    """
    import os

    env = os.environ if env is None else env
    if config_path is None:
        candidate = default_config_path()
        document = _read_file(candidate) if candidate.is_file() else {}
        path = candidate
    else:
        document = _read_file(config_path)
        path = config_path
    unknown_sections = sorted(set(document) - {"relay", "odoo", "pulseway", "rocketcyber", "rules"})
    if unknown_sections:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown_sections)}")
    relay_section = _section(document, "relay", path)
    odoo_section = _section(document, "odoo", path)
    pulseway_values = _poller_values(
        _section(document, "pulseway", path), "pulseway", env, path, _PULSEWAY_KEYS
    )
    rocketcyber_values = _poller_values(
        _section(document, "rocketcyber", path), "rocketcyber", env, path, _POLLER_KEYS
    )

    values: dict[str, Any] = {}
    for key, raw in relay_section.items():
        if key not in _RELAY_KEYS:
            raise ConfigError(f"{path}: unknown key [relay] {key}")
        values[key] = _parse(key, raw, f"{path}: [relay] {key}")
    for key in _RELAY_KEYS:
        variable = f"PSA_RELAY_{key.upper()}"
        if env.get(variable):
            values[key] = _parse(key, env[variable], variable)
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = _parse(key, raw, f"--{key}")

    unknown_odoo = sorted(set(odoo_section) - set(_ODOO_KEYS))
    if unknown_odoo:
        raise ConfigError(f"{path}: unknown key(s) [odoo] {', '.join(unknown_odoo)}")
    odoo_values = {key: str(odoo_section[key]) for key in _ODOO_KEYS if key in odoo_section}
    for key in _ODOO_KEYS:
        if env.get(f"PSA_ODOO_{key.upper()}"):
            odoo_values[key] = env[f"PSA_ODOO_{key.upper()}"]
    odoo_password = _secret("PSA_ODOO_PASSWORD", env, use_keyring)
    odoo: OdooServiceAccount | None = None
    if all(odoo_values.get(key) for key in _ODOO_KEYS) and odoo_password:
        odoo = OdooServiceAccount(password=odoo_password, **odoo_values)
    elif odoo_values:
        missing = [f"PSA_ODOO_{k.upper()}" for k in _ODOO_KEYS if not odoo_values.get(k)]
        if not odoo_password:
            missing.append("PSA_ODOO_PASSWORD")
        _log.warning(
            "Odoo settings incomplete (missing %s): sessions are refused", ", ".join(missing)
        )

    pulseway: PulsewayPolling | None = None
    if pulseway_values.get("url"):
        token_id = _secret("PSA_PULSEWAY_TOKEN_ID", env, use_keyring)
        token_secret = _secret("PSA_PULSEWAY_TOKEN_SECRET", env, use_keyring)
        missing = [
            name
            for name, value in (
                ("PSA_PULSEWAY_TOKEN_ID", token_id),
                ("PSA_PULSEWAY_TOKEN_SECRET", token_secret),
            )
            if not value
        ]
        if token_id is None or token_secret is None:
            raise ConfigError(
                f"the Pulseway device poller is configured (url) but {' and '.join(missing)} "
                "is not set: set the API token in the environment or the OS keyring, or remove "
                "[pulseway] url / PSA_PULSEWAY_URL to turn the poller off"
            )
        pulseway = PulsewayPolling(token_id=token_id, token_secret=token_secret, **pulseway_values)
    rocketcyber: RocketCyberPolling | None = None
    if rocketcyber_values.get("url"):
        api_key = _secret("PSA_ROCKETCYBER_API_KEY", env, use_keyring)
        if api_key is None:
            raise ConfigError(
                "the RocketCyber incident poller is configured (url) but PSA_ROCKETCYBER_API_KEY "
                "is not set: set the API key in the environment or the OS keyring, or remove "
                "[rocketcyber] url / PSA_ROCKETCYBER_URL to turn the poller off"
            )
        rocketcyber = RocketCyberPolling(api_key=api_key, **rocketcyber_values)

    config = RelayConfig(
        **values,
        odoo=odoo,
        pulseway=pulseway,
        rocketcyber=rocketcyber,
        rules=_rules_settings(_section(document, "rules", path), env, path),
        hook_secret=_secret("PSA_RELAY_HOOK_SECRET", env, use_keyring),
        hook_token=_secret("PSA_RELAY_HOOK_TOKEN", env, use_keyring),
        admin_token=_secret("PSA_RELAY_ADMIN_TOKEN", env, use_keyring),
    )
    validate(config)
    return config


def _poller_values(
    section: Mapping[str, Any],
    name: str,
    env: Mapping[str, str],
    path: Path,
    keys: Mapping[str, Callable[[Any], Any]],
) -> dict[str, Any]:
    """``[name]`` keys from the file, then ``PSA_<NAME>_<KEY>`` from the environment."""
    unknown = sorted(set(section) - set(keys))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) [{name}] {', '.join(unknown)}")
    values: dict[str, Any] = {}
    sources: list[tuple[str, Any, str]] = [
        (key, raw, f"{path}: [{name}] {key}") for key, raw in section.items()
    ]
    for key in keys:
        variable = f"PSA_{name.upper()}_{key.upper()}"
        if env.get(variable):
            sources.append((key, env[variable], variable))
    for key, raw, where in sources:
        try:
            values[key] = keys[key](raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: invalid value {raw!r}") from None
    return values


#: Odoo helpdesk.ticket priorities a priority map may name.
_TICKET_PRIORITIES: Final = frozenset({"0", "1", "2", "3"})


def _rules_settings(
    section: Mapping[str, Any], env: Mapping[str, str], path: Path
) -> RulesSettings:
    """``[rules]`` (``enabled``, ``team_xmlid``, ``priority_map``), then ``PSA_RULES_*``.

    ``PSA_RULES_PRIORITY_MAP`` is ``critical=2,elevated=1,...``; a file uses a TOML table.
    """
    unknown = sorted(set(section) - {"enabled", "team_xmlid", "priority_map"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) [rules] {', '.join(unknown)}")
    enabled: Any = section.get("enabled", True)
    team_xmlid: Any = section.get("team_xmlid", RulesSettings.team_xmlid)
    priority_map: Any = section.get("priority_map")
    where = {"enabled": f"{path}: [rules] enabled", "team_xmlid": f"{path}: [rules] team_xmlid"}
    where["priority_map"] = f"{path}: [rules] priority_map"
    if env.get("PSA_RULES_ENABLED"):
        enabled, where["enabled"] = env["PSA_RULES_ENABLED"], "PSA_RULES_ENABLED"
    if env.get("PSA_RULES_TEAM_XMLID"):
        team_xmlid, where["team_xmlid"] = env["PSA_RULES_TEAM_XMLID"], "PSA_RULES_TEAM_XMLID"
    if env.get("PSA_RULES_PRIORITY_MAP"):
        text = env["PSA_RULES_PRIORITY_MAP"]
        where["priority_map"] = "PSA_RULES_PRIORITY_MAP"
        pairs = [item.partition("=") for item in text.split(",") if item.strip()]
        if any(not sep for _name, sep, _value in pairs):
            raise ConfigError(
                f"PSA_RULES_PRIORITY_MAP: expected name=priority pairs like "
                f"'critical=2,elevated=1', not {text!r}"
            )
        priority_map = {name.strip(): value.strip() for name, _sep, value in pairs}
    try:
        enabled = _boolean(enabled)
    except ValueError:
        raise ConfigError(f"{where['enabled']}: expected true or false, not {enabled!r}") from None
    if not isinstance(team_xmlid, str) or "." not in team_xmlid.strip():
        raise ConfigError(
            f"{where['team_xmlid']}: expected an xmlid like 'helpdesk.support_team', "
            f"not {team_xmlid!r}"
        )
    if priority_map is not None:
        if not isinstance(priority_map, Mapping) or not priority_map:
            raise ConfigError(f"{where['priority_map']}: expected a table of name = priority")
        bad = sorted(
            str(name)
            for name, value in priority_map.items()
            if str(value).strip() not in _TICKET_PRIORITIES
        )
        if bad:
            raise ConfigError(
                f"{where['priority_map']}: priorities must be '0'..'3' (Odoo helpdesk); "
                f"check {', '.join(bad)}"
            )
        priority_map = {str(k).strip().lower(): str(v).strip() for k, v in priority_map.items()}
    return RulesSettings(enabled=enabled, team_xmlid=team_xmlid.strip(), priority_map=priority_map)


def _parse(key: str, raw: Any, where: str) -> Any:
    try:
        return _RELAY_KEYS[key](raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: invalid value {raw!r}") from None


def _postgres_driver_installed() -> bool:
    try:
        import psycopg  # noqa: F401  (only to know it is there)
    except ImportError:
        return False
    return True


def validate(config: RelayConfig) -> None:
    """Refuse settings the relay cannot run with, saying what to change."""
    if config.store not in ("sqlite", "postgres"):
        raise ConfigError(f"store must be 'sqlite' or 'postgres', not {config.store!r}")
    if config.store == "postgres" and not config.postgres_dsn:
        raise ConfigError("store = 'postgres' needs postgres_dsn (or PSA_RELAY_POSTGRES_DSN)")
    if config.store == "postgres" and not _postgres_driver_installed():
        raise ConfigError(
            "store = 'postgres' needs the PostgreSQL driver (psycopg), which this installation "
            "lacks: install the wheel with its postgres extra, e.g. "
            "pip install 'psa-console[postgres]' (the PyInstaller bundle has none)"
        )
    if not config.hook_secret:
        raise ConfigError(
            "PSA_RELAY_HOOK_SECRET is not set: the relay cannot verify Pulseway's "
            "x-hmac-signature. Set it (environment or keyring) to the webhook's SecretKey."
        )
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port out of range 0..65535: {config.port}")
    if config.workers < 1:
        raise ConfigError(f"workers must be at least 1, not {config.workers}")
    for name in ("max_body_bytes", "consumer_queue_limit", "retry_after_seconds"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    for name in ("heartbeat_seconds", "session_ttl_seconds", "stream_write_timeout_seconds"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    for section, poller in (("pulseway", config.pulseway), ("rocketcyber", config.rocketcyber)):
        if poller is None:
            continue
        parsed = urlsplit(poller.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"[{section}] url must be an http(s) URL like https://host/v3")
        if parsed.username or parsed.password:
            raise ConfigError(
                f"[{section}] url must not carry credentials; use the environment or keyring"
            )
        if not poller.interval_seconds > 0:
            raise ConfigError(f"[{section}] interval_seconds must be positive")
    if config.pulseway is not None:
        _validate_backstop(config.pulseway)


def _validate_backstop(pulseway: PulsewayPolling) -> None:
    """The notification backstop's settings; ``backstop_seconds`` 0 turns it off."""
    seconds = pulseway.backstop_seconds
    grace = pulseway.backstop_grace_seconds
    hours = pulseway.backstop_lookback_hours
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError(
            "[pulseway] backstop_seconds must be 0 (backstop off) or a positive number of "
            f"seconds between passes, not {seconds!r}"
        )
    if not (math.isfinite(grace) and grace >= 0):
        raise ConfigError(
            "[pulseway] backstop_grace_seconds must be 0 or more seconds (how long Pulseway's "
            f"own webhook retries get before the backstop steps in), not {grace!r}"
        )
    if not (math.isfinite(hours) and hours > 0):
        raise ConfigError(
            f"[pulseway] backstop_lookback_hours must be a positive number of hours, not {hours!r}"
        )
    if seconds > 0 and hours * 3600.0 <= grace:
        raise ConfigError(
            f"[pulseway] backstop_lookback_hours ({hours:g} h) must reach back further than "
            f"backstop_grace_seconds ({grace:g} s), or the backstop's window is empty"
        )


def describe(config: RelayConfig) -> dict[str, Any]:
    """The settings as loggable data: secrets shown only as set or not set."""
    described: dict[str, Any] = {}
    for item in fields(config):
        value = getattr(config, item.name)
        if item.name in ("hook_secret", "hook_token", "admin_token", "postgres_dsn"):
            described[item.name] = "set" if value else "not set"
        elif item.name == "odoo":
            described["odoo"] = (
                {"url": value.url, "db": value.db, "user": value.user} if value else None
            )
        elif item.name == "pulseway":
            described["pulseway"] = (
                {
                    "url": value.url,
                    "interval_seconds": value.interval_seconds,
                    "backstop_seconds": value.backstop_seconds,
                    "backstop_grace_seconds": value.backstop_grace_seconds,
                    "backstop_lookback_hours": value.backstop_lookback_hours,
                    "token": "set",
                }
                if value
                else None
            )
        elif item.name == "rocketcyber":
            described["rocketcyber"] = (
                {"url": value.url, "interval_seconds": value.interval_seconds, "api_key": "set"}
                if value
                else None
            )
        elif item.name == "rules":
            described["rules"] = {
                "enabled": value.enabled,
                "team_xmlid": value.team_xmlid,
                "priority_map": dict(value.priority_map) if value.priority_map else "default",
            }
        elif item.name == "background":
            described["background"] = len(value)
        else:
            described[item.name] = str(value) if isinstance(value, Path) else value
    return described
