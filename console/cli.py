"""`psa` command line: one entry point, one subcommand per job (DESIGN.md §4).

Each subcommand's work lives in its own layer; this module only parses arguments and imports
the implementation lazily so that `psa relay` never loads Qt and `psa --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from console import __version__

#: subcommand -> "module:function" taking the parsed namespace and returning an exit code.
_COMMANDS: dict[str, str] = {
    "console": "console.ui.app:run",
    "sandbox": "console.sandbox.runner:run",
    "relay": "console.relay.command:run",
    "provision": "console.odoo.provisioning:run_provision",
    "doctor": "console.odoo.provisioning:run_doctor",
    "billing": "console.odoo.billing_command:run",
}


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0..65535: {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="psa",
        description="PSA Technician Console: Odoo 19 + Pulseway + RocketCyber.",
    )
    parser.add_argument("--version", action="version", version=f"psa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser(
        "console",
        help="the technician console (GUI)",
        description="The desktop console. --demo runs everything locally on embedded defaults.",
    )
    gui.add_argument("--demo", action="store_true", help="local sandboxes, no external service")
    gui.add_argument("--wall", action="store_true", help="NOC wall display: read-only, large type")
    gui.add_argument("--config", metavar="FILE", help="TOML config (default: platform config dir)")
    gui.add_argument("--sa", metavar="NAME", help="start in this Serviced Account")
    gui.add_argument(
        "--login",
        metavar="USER",
        help=(
            "with --demo: sign in as this demo user (dispatch, admin, maria, alice, bob; "
            "default dispatch); otherwise: pre-fill the login dialog"
        ),
    )
    gui.add_argument(
        "--screenshot",
        metavar="PNG",
        help="write the main window to PNG once loaded and live, then exit",
    )
    gui.add_argument(
        "--theme",
        choices=("system", "light", "dark"),
        default="system",
        help="colour theme (default: follow the system)",
    )

    sandbox = sub.add_parser(
        "sandbox",
        help="run the Odoo 19 / Pulseway / RocketCyber stand-ins on loopback",
        description=(
            "Run protocol-faithful stand-ins on loopback, seeded with demo data. Prints one JSON "
            'line {"ready": true, ...urls} on stdout when listening; Ctrl+C stops.'
        ),
    )
    sandbox.add_argument("--odoo-port", type=_port, default=8069, help="0 picks a free port")
    sandbox.add_argument("--pulseway-port", type=_port, default=8071, help="0 picks a free port")
    sandbox.add_argument("--rocketcyber-port", type=_port, default=8072, help="0 picks a free port")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    sandbox.add_argument("--data", metavar="DIR", help="keep the SQLite databases in DIR")
    sandbox.add_argument("--db", default="psa", help="name of the Odoo database (default psa)")
    sandbox.add_argument(
        "--size",
        choices=("empty", "small", "demo", "large"),
        default="small",
        help="how much of the demo world: empty (SA tree and users), small (5 clients), demo "
        "(40 clients, 1,500 devices), large (100,000 devices); default small",
    )
    sandbox.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    sandbox.add_argument(
        "--traffic",
        type=_positive_float,
        default=0.0,
        metavar="RATE",
        help="Pulseway notifications per second sent to --webhook-url (0: none)",
    )
    sandbox.add_argument("--webhook-url", help="where the Pulseway stand-in delivers webhooks")

    for name, summary in (
        ("provision", "create every model, field, access right and rule the product needs"),
        ("doctor", "check every model, field, access right and rule the product needs"),
    ):
        command = sub.add_parser(
            name,
            help=summary,
            description=(
                f"{summary[0].upper()}{summary[1:]} in an Odoo 19 database, over RPC, as Odoo "
                "Studio would. The password comes from PSA_ODOO_PASSWORD or the OS keyring, "
                "never from the command line."
            ),
        )
        command.add_argument("--url", help="Odoo address (or PSA_ODOO_URL)")
        command.add_argument("--db", help="database name (or PSA_ODOO_DB)")
        command.add_argument("--user", help="login of an administrator (or PSA_ODOO_USER)")
        if name == "provision":
            command.add_argument(
                "--dry-run", action="store_true", help="print the plan, change nothing"
            )

    billing = sub.add_parser(
        "billing",
        help="managed-seat recount of subscriptions (preview, apply)",
        description=(
            "Recount every subscription's managed-seat line from the client's active assets "
            "(seed T015/T016). preview shows the changes; apply writes them and posts 'Auto-"
            "updated Asset count to N' on each changed order. Connection as for psa provision; "
            "the password comes from PSA_ODOO_PASSWORD or the OS keyring. Exit codes: 0 done, "
            "1 some changes failed (listed; run again to finish), 2 could not run, 3 not "
            "confirmed."
        ),
    )
    billing.add_argument(
        "action",
        choices=("preview", "apply"),
        help="preview: show the recount; apply: write the changed seat lines",
    )
    billing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    billing.add_argument("--sa", metavar="NAME", help="only this Serviced Account's subscriptions")
    billing.add_argument(
        "--yes", action="store_true", help="apply without asking (required without a terminal)"
    )
    billing.add_argument("--url", help="Odoo address (or PSA_ODOO_URL)")
    billing.add_argument("--db", help="database name (or PSA_ODOO_DB)")
    billing.add_argument("--user", help="login (or PSA_ODOO_USER)")
    billing.add_argument(
        "--config",
        metavar="FILE",
        help="TOML file with [billing] seat_product_xmlid (default: console.toml in the "
        "platform config dir; PSA_BILLING_SEAT_PRODUCT overrides)",
    )

    relay = sub.add_parser(
        "relay",
        help="run the webhook relay",
        description="Durable webhook ingest, event log, live SSE stream and pollers.",
    )
    relay.add_argument(
        "--config", metavar="FILE", help="TOML config (default: platform config dir)"
    )
    relay.add_argument(
        "--db", metavar="FILE", help="SQLite event store (default: platform data dir)"
    )
    relay.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    relay.add_argument("--port", type=_port, default=None, help="port (default 8765)")
    relay.add_argument(
        "--workers",
        type=int,
        default=None,
        help="ingest worker processes; with 2 or more, one more process serves every event "
        "stream ([relay] stream_worker)",
    )
    return parser


def _resolve(target: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, func_name = target.partition(":")
    module = importlib.import_module(module_name)
    func: Callable[[argparse.Namespace], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _resolve(_COMMANDS[args.command])(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
