"""The `psa` command line: parsing, help and errors, without starting anything."""

from __future__ import annotations

import pytest

from console import __version__
from console.cli import build_parser, main


def test_version_flag_prints_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--version"])
    assert raised.value.code == 0
    assert capsys.readouterr().out.strip() == f"psa {__version__}"


def test_no_subcommand_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "sandbox" in capsys.readouterr().out


def test_sandbox_defaults_match_the_documented_contract() -> None:
    args = build_parser().parse_args(["sandbox"])
    assert (args.odoo_port, args.pulseway_port, args.rocketcyber_port) == (8069, 8071, 8072)
    assert args.host == "127.0.0.1"
    assert args.db == "psa"


@pytest.mark.parametrize("bad", ["-1", "65536", "http"])
def test_bad_port_is_a_clear_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["sandbox", "--odoo-port", bad])
    assert raised.value.code == 2
    assert "port" in capsys.readouterr().err


def test_negative_traffic_rate_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--traffic", "-3"])
    assert "must not be negative" in capsys.readouterr().err
