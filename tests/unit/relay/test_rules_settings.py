"""[rules] settings of the relay: on by default, seed defaults, file ← PSA_RULES_* ← errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.relay.config import ConfigError, describe, load_config

SECRETS = {"PSA_RELAY_HOOK_SECRET": "hook-secret"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "relay.toml"
    path.write_text(text)
    return path


def test_rules_worker_is_on_by_default_with_the_seed_team_and_priorities(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, ""), SECRETS, use_keyring=False)
    assert config.rules.enabled is True
    assert config.rules.team_xmlid == "helpdesk.support_team"
    assert config.rules.priority_map is None  # the seed's Critical -> '2', else '1'
    assert describe(config)["rules"]["priority_map"] == "default"


def test_rules_from_file_then_environment(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[rules]\nenabled = true\nteam_xmlid = "helpdesk.noc"\n'
        'priority_map = { Critical = "3", normal = "1" }\n',
    )
    config = load_config(path, {**SECRETS, "PSA_RULES_ENABLED": "false"}, use_keyring=False)
    assert config.rules.enabled is False
    assert config.rules.team_xmlid == "helpdesk.noc"
    assert config.rules.priority_map == {"critical": "3", "normal": "1"}


def test_priority_map_from_the_environment(tmp_path: Path) -> None:
    env = {**SECRETS, "PSA_RULES_PRIORITY_MAP": "critical=3, elevated=2,low=0"}
    config = load_config(_write(tmp_path, ""), env, use_keyring=False)
    assert config.rules.priority_map == {"critical": "3", "elevated": "2", "low": "0"}


@pytest.mark.parametrize(
    ("text", "env", "words"),
    [
        ("[rules]\nenabled = 'maybe'\n", {}, "true or false"),
        ("[rules]\nteam_xmlid = 'support'\n", {}, "xmlid"),
        ("[rules]\npriority_map = { critical = '9' }\n", {}, "'0'..'3'"),
        ("[rules]\ncolour = 'red'\n", {}, "unknown key"),
        ("", {"PSA_RULES_PRIORITY_MAP": "critical"}, "name=priority"),
        ("", {"PSA_RULES_ENABLED": "perhaps"}, "PSA_RULES_ENABLED"),
    ],
)
def test_bad_rules_settings_say_what_to_fix(
    tmp_path: Path, text: str, env: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(".", r"\.")):
        load_config(_write(tmp_path, text), {**SECRETS, **env}, use_keyring=False)
