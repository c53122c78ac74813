"""``psa billing preview|apply`` as a scheduler or a manager runs it: output, prompts, exit codes
(against a served sandbox Odoo with the small demo world)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console import cli
from console.odoo import billing_command, provisioning

# the billing integration tests' world (tests/ is no package: import it by path)
sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "billing"))
from billing_support import (
    SEAT_XMLID,
    BillingWorld,
    independent_recount,
    start_billing_world,
)

ROW_KEYS = {"order_id", "partner_id", "current_qty", "active_assets", "delta"}


@pytest.fixture
def world() -> Iterator[BillingWorld]:
    running, stop = start_billing_world()
    try:
        yield running
    finally:
        stop()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    """No PSA_* variables or keyring from the developer's machine; an empty config dir."""
    for name in (
        "PSA_ODOO_URL",
        "PSA_ODOO_DB",
        "PSA_ODOO_USER",
        "PSA_ODOO_PASSWORD",
        "PSA_BILLING_SEAT_PRODUCT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(provisioning, "keyring_password", lambda url, db, login: None)
    monkeypatch.setattr(
        "console.odoo.billing.default_config_path", lambda: tmp_path / "console.toml"
    )
    return monkeypatch


def options(world: BillingWorld, login: str = "admin") -> list[str]:
    return ["--url", world.url, "--db", world.db_name, "--user", login]


def run_billing(
    argv: list[str], *, is_tty: bool = False, answer: bool | None = None
) -> tuple[int, str, str]:
    args = cli.build_parser().parse_args(["billing", *argv])
    out, err = io.StringIO(), io.StringIO()
    asked: list[str] = []

    def confirm(prompt: str, _err: Any) -> bool:
        asked.append(prompt)
        assert answer is not None, f"unexpected prompt {prompt!r}"
        return answer

    code = billing_command.run(args, out=out, err=err, is_tty=is_tty, confirm=confirm)
    return code, out.getvalue(), err.getvalue() + "".join(asked)


def test_preview_json_is_a_list_of_the_documented_objects(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    code, out, _err = run_billing(["preview", "--json", *options(world)])

    assert code == 0
    rows = json.loads(out)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert row.keys() >= ROW_KEYS
        assert isinstance(row["order_id"], int) and isinstance(row["partner_id"], int)
        assert isinstance(row["active_assets"], int)
    expected = independent_recount(world.client("admin"), world.ref(SEAT_XMLID))
    assert {r["order_id"]: (r["current_qty"], r["active_assets"]) for r in rows} == {
        order: (e["current_qty"], e["active_assets"]) for order, e in expected.items()
    }


def test_preview_prints_a_readable_table(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    code, out, _err = run_billing(["preview", *options(world)])

    assert code == 0
    assert "Order" in out and "Client" in out and "Delta" in out
    assert "SUB00004" in out and "+2" in out
    assert "added since the last recount: DRILO-WKS-008, DRILO-WKS-009" in out
    assert "1 change to apply" in out


def test_apply_without_yes_and_without_a_terminal_refuses_and_writes_nothing(
    world: BillingWorld, environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")
    environment.setattr("sys.stdin", io.StringIO(""))  # a timer: no terminal

    assert cli.main(["billing", "apply", *options(world)]) == 2

    assert "add --yes" in capsys.readouterr().err
    assert world.seat_messages() == []


def test_apply_asks_on_a_terminal_and_a_no_writes_nothing(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    code, _out, err = run_billing(["apply", *options(world)], is_tty=True, answer=False)

    assert code == 3
    assert "Apply 1 change" in err and "nothing was written" in err
    assert world.seat_messages() == []


def test_apply_yes_writes_then_a_second_run_has_nothing_to_change(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    code, out, _err = run_billing(["apply", "--yes", *options(world)])
    assert code == 0
    assert "updated SUB00004: 7 -> 9 seats" in out
    code, out, _err = run_billing(["apply", "--yes", *options(world)])

    assert code == 0
    assert "Nothing to change." in out
    assert len(world.seat_messages()) == 1


def test_apply_json_reports_each_change_with_its_result(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    code, out, _err = run_billing(["apply", "--yes", "--json", *options(world)])

    assert code == 0
    [row] = json.loads(out)
    assert row.keys() >= ROW_KEYS
    assert (row["order_name"], row["result"], row["error"], row["delta"]) == (
        "SUB00004",
        "applied",
        None,
        2,
    )


def test_failures_are_listed_and_exit_1(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")
    [order] = world.su("sale.order", "search", [["name", "=", "SUB00004"]])
    model_id = world.su("ir.model", "search", [["model", "=", "sale.order.line"]])[0]
    world.su(
        "ir.rule",
        "create",
        {
            "name": "test: order locked",
            "model_id": model_id,
            "domain_force": f"[('order_id', '!=', {order})]",
            "perm_read": False,
            "perm_write": True,
            "perm_create": False,
            "perm_unlink": False,
        },
    )

    code, out, err = run_billing(["apply", "--yes", *options(world)])

    assert code == 1
    assert "1 failure (run apply again to finish):" in out
    assert "SUB00004: seats not updated to 9" in err


def test_an_unknown_sa_is_a_clear_error(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")

    code, _out, err = run_billing(["preview", "--sa", "Atlantis", *options(world)])

    assert code == 2
    assert "No Serviced Account named 'Atlantis'" in err and "East" in err


def test_sa_narrows_the_recount(world: BillingWorld, environment: pytest.MonkeyPatch) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "maria")

    code, out, _err = run_billing(["preview", "--json", "--sa", "east", *options(world, "maria")])

    assert code == 0
    east = world.sa_id("East")
    stamped = world.su("sale.order", "search", [["x_sa_id", "=", east]])
    assert sorted(r["order_id"] for r in json.loads(out)) == sorted(stamped)


def test_a_technician_cannot_apply_from_the_command_line(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "alice")

    scoped = run_billing(["apply", "--yes", "--sa", "East", *options(world, "alice")])
    unscoped = run_billing(["apply", "--yes", *options(world, "alice")])

    assert scoped[0] == 2 and "only its managers apply" in scoped[2]
    assert unscoped[0] == 2 and "You manage no Serviced Account" in unscoped[2]
    assert world.seat_messages() == []


def test_a_bad_seat_product_setting_is_a_clear_error(
    world: BillingWorld, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")
    environment.setenv("PSA_BILLING_SEAT_PRODUCT", "psa.nothing_here")

    code, _out, err = run_billing(["preview", *options(world)])

    assert code == 2
    assert "'psa.nothing_here' does not exist" in err


def test_the_seat_product_comes_from_the_config_file(
    world: BillingWorld, environment: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    environment.setenv("PSA_ODOO_PASSWORD", "admin")
    config = tmp_path / "billing.toml"
    config.write_text('[billing]\nseat_product_xmlid = "no dot"\n', encoding="utf-8")

    code, _out, err = run_billing(["preview", "--config", str(config), *options(world)])

    assert code == 2
    assert "not an external id" in err


def test_missing_connection_settings_are_named(environment: pytest.MonkeyPatch) -> None:
    code, _out, err = run_billing(["preview"])

    assert code == 2
    assert "--url (or PSA_ODOO_URL)" in err


def test_billing_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["billing"])
    assert raised.value.code == 2
    assert "preview" in capsys.readouterr().err
