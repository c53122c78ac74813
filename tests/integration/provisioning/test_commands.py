"""``psa provision`` / ``psa doctor`` as a user runs them: options, environment, exit codes."""

from __future__ import annotations

from typing import Any

import pytest
from provisioning_support import create_user, field_id, su

from console import cli
from console.odoo import provisioning
from console.sandbox.sa_fixture import build_sa_world


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No PSA_* variables from the developer's shell, and no OS keyring."""
    for name in ("PSA_ODOO_URL", "PSA_ODOO_DB", "PSA_ODOO_USER", "PSA_ODOO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(provisioning, "keyring_password", lambda url, db, login: None)
    return monkeypatch


def options(odoo: Any, login: str = "admin") -> list[str]:
    return ["--url", odoo.url, "--db", odoo.db_name, "--user", login]


def test_provision_then_doctor_both_exit_zero(
    fresh_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    assert cli.main(["provision", *options(fresh_odoo)]) == 0
    provisioned = capsys.readouterr().out
    assert cli.main(["doctor", *options(fresh_odoo)]) == 0

    assert "Applied " in provisioned
    assert "All right" in capsys.readouterr().out


def test_connection_comes_from_the_environment_too(
    provisioned_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("PSA_ODOO_URL", provisioned_odoo.url)
    environment.setenv("PSA_ODOO_DB", provisioned_odoo.db_name)
    environment.setenv("PSA_ODOO_USER", "admin")
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    assert cli.main(["provision"]) == 0
    assert "Up to date: nothing to create or change" in capsys.readouterr().out


def test_dry_run_prints_the_plan(
    fresh_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    assert cli.main(["provision", "--dry-run", *options(fresh_odoo)]) == 0

    out = capsys.readouterr().out
    assert "Dry run:" in out
    assert "  + create group psa.group_technician (PSA Console / Technician)" in out


def test_doctor_exits_one_and_lists_each_problem(
    provisioned_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")
    su(
        provisioned_odoo,
        "ir.model.fields",
        "unlink",
        [field_id(provisioned_odoo, "sale.order", "x_sa_id")],
    )

    assert cli.main(["doctor", *options(provisioned_odoo)]) == 1

    out = capsys.readouterr().out
    assert "1 problem found" in out
    assert "  - field sale.order.x_sa_id is missing" in out
    assert "Run psa provision to fix them." in out


def test_a_missing_password_says_where_to_put_it(
    provisioned_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["doctor", *options(provisioned_odoo)]) == 2

    err = capsys.readouterr().err
    assert "No password for admin" in err
    assert "PSA_ODOO_PASSWORD" in err
    assert "keyring" in err


def test_the_keyring_password_is_used_when_the_environment_has_none(
    provisioned_odoo: Any, environment: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str, str]] = []

    def from_keyring(url: str, db: str, login: str) -> str:
        asked.append((url, db, login))
        return "admin"

    environment.setattr(provisioning, "keyring_password", from_keyring)

    assert cli.main(["doctor", *options(provisioned_odoo)]) == 0
    assert asked == [(provisioned_odoo.url, provisioned_odoo.db_name, "admin")]


def test_missing_options_name_the_option_and_the_variable(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["provision", "--db", "psa"]) == 2

    err = capsys.readouterr().err
    assert "--url (or PSA_ODOO_URL)" in err
    assert "--user (or PSA_ODOO_USER)" in err


def test_a_non_administrator_exits_two_with_the_reason(
    fresh_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_user(fresh_odoo, "tech")
    environment.setenv("PSA_ODOO_PASSWORD", "tech")

    assert cli.main(["provision", *options(fresh_odoo, "tech")]) == 2
    assert "not an administrator" in capsys.readouterr().err


def test_a_wrong_password_exits_two(
    fresh_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "not-the-password")

    assert cli.main(["doctor", *options(fresh_odoo)]) == 2
    assert "refused the login or password" in capsys.readouterr().err


def test_doctor_notes_that_a_console_user_sees_only_part_of_the_sa_data(
    fresh_odoo: Any, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_sa_world(fresh_odoo.database)  # admin is the manager of Northwind IT there
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    assert cli.main(["doctor", *options(fresh_odoo)]) == 0

    assert "Note: This login holds an SA role group" in capsys.readouterr().out
