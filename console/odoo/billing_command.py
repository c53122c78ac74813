"""``psa billing preview|apply``: the managed-seat recount without the GUI (for a monthly timer).

Connection as for ``psa provision`` (``--url/--db/--user`` or ``PSA_ODOO_*``, the password from
``PSA_ODOO_PASSWORD`` or the OS keyring). ``--sa NAME`` narrows the recount to the
subscriptions of one Serviced Account (and, for its managers, the SAs below it).

Exit codes:

* 0: preview printed; apply finished (or there was nothing to change);
* 1: apply could not finish every change: the failures are listed, a rerun finishes the rest;
* 2: could not run: connection, password, configuration, unknown SA, the managed-seat product
  missing, no permission to apply in that SA, or ``apply`` without ``--yes`` and no terminal;
* 3: ``apply`` was not confirmed at the prompt: nothing was written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from console.domain.billing import SeatAction, SeatDiff
from console.domain.names import Role, ServicedAccount
from console.domain.scope import sa_descendants
from console.odoo import errors
from console.odoo.billing import (
    ApplyResult,
    BillingPreview,
    BillingScope,
    apply,
    preview,
    seat_product_xmlid,
)
from console.odoo.provisioning import ConnectionSettingsError, connection_settings

log = logging.getLogger(__name__)

EXIT_OK: Final = 0
EXIT_FAILURES: Final = 1
EXIT_CANNOT_RUN: Final = 2
EXIT_NOT_CONFIRMED: Final = 3


class CannotRun(Exception):
    """A reason ``psa billing`` cannot run; the message says what to do."""


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _qty(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def _delta(diff: SeatDiff) -> str:
    if diff.action is SeatAction.NOTHING:
        return "0"
    return f"{diff.delta:+g}"


_ACTION_TEXT: Final = {
    SeatAction.UPDATE_LINE: "update",
    SeatAction.CREATE_LINE: "add line",
    SeatAction.NOTHING: "",
}


def preview_lines(billing: BillingPreview) -> list[str]:
    """The readable table ``psa billing preview`` prints."""
    diffs = billing.diffs
    if not diffs:
        return ["No confirmed subscriptions in scope: nothing to recount."]
    headers = ("Order", "Client", "Current", "Active", "Delta", "Action")
    rows = [
        (
            d.order_name,
            billing.partner_name(d.partner_id),
            _qty(d.current_quantity),
            str(d.active_assets),
            _delta(d),
            _ACTION_TEXT[d.action],
        )
        for d in diffs
    ]
    widths = [min(40, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(headers)]
    numeric = {2, 3, 4}

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            text = cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            out.append(text.rjust(widths[i]) if i in numeric else text.ljust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    for diff, row in zip(diffs, rows, strict=True):
        lines.append(fmt(row))
        lines.extend(_asset_lines(diff))
    changes = len(billing.changes)
    lines.append("")
    lines.append(
        f"{_plural(len(diffs), 'subscription')}, {_plural(changes, 'change')} to apply "
        f"(seat product {billing.seat_product_xmlid}; {_plural(billing.rpc_count, 'RPC')})."
    )
    lines.extend(f"Warning: {w}" for w in billing.warnings)
    return lines


def _asset_lines(diff: SeatDiff, limit: int = 8) -> list[str]:
    out = []
    for sign, label, refs in (
        ("+", "added", diff.added),
        ("-", "decommissioned", diff.decommissioned),
    ):
        if not refs:
            continue
        names = ", ".join(r.name for r in refs[:limit])
        more = f" and {len(refs) - limit} more" if len(refs) > limit else ""
        out.append(f"    {sign} {label} since the last recount: {names}{more}")
    return out


def apply_lines(result: ApplyResult) -> list[str]:
    """What ``psa billing apply`` prints after writing."""
    lines = [
        f"  updated {d.order_name}: {_qty(d.current_quantity)} -> {d.active_assets} seats"
        for d in result.applied
    ]
    lines += [f"  already up to date: {d.order_name}" for d in result.already_done]
    summary = f"Applied {_plural(len(result.applied), 'change')}"
    if result.flags_written:
        summary += f", {_plural(result.flags_written, 'asset')} marked for the next recount"
    summary += f" ({_plural(result.rpc_count, 'RPC')})."
    lines.append(summary)
    if result.failures:
        lines.append(f"{_plural(len(result.failures), 'failure')} (run apply again to finish):")
        lines += [f"  ! {failure}" for failure in result.failures]
    return lines


def apply_json(billing: BillingPreview, result: ApplyResult) -> list[dict[str, Any]]:
    """``apply --json``: the preview rows of the changes, each with its outcome."""
    outcome: dict[int, tuple[str, str | None]] = {}
    for diff in result.applied:
        outcome[diff.order_id] = ("applied", None)
    for diff in result.already_done:
        outcome[diff.order_id] = ("already_done", None)
    for failure in result.failures:
        if failure.order_id is not None:
            outcome[failure.order_id] = ("failed", failure.message)
    rows = []
    for row in billing.rows():
        if row["action"] == SeatAction.NOTHING.value:
            continue
        status, error = outcome.get(row["order_id"], ("failed", "not attempted"))
        rows.append({**row, "result": status, "error": error})
    return rows


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


async def resolve_scope(gateway: Any, name: str) -> tuple[BillingScope, Role | None]:
    """The SA named ``name`` (case-insensitive) and the user's role in it (None: no membership,
    e.g. an administrator or service account, whom Odoo's rules do not narrow)."""
    from console.odoo.memberships import load_memberships

    wanted = name.strip().casefold()
    memberships = await load_memberships(gateway)
    for membership in memberships:
        if membership.sa_name.casefold() == wanted:
            descendants = membership.descendants if membership.role is Role.MANAGER else ()
            return (
                BillingScope(membership.sa_id, membership.sa_name, tuple(descendants)),
                membership.role,
            )
    tree = await gateway.search_read(
        ServicedAccount.MODEL, [], [ServicedAccount.NAME, ServicedAccount.PARENT]
    )
    parents = {
        int(sa["id"]): (int(sa[ServicedAccount.PARENT][0]) if sa[ServicedAccount.PARENT] else None)
        for sa in tree
    }
    for sa in tree:
        if str(sa[ServicedAccount.NAME]).casefold() == wanted:
            sa_id = int(sa["id"])
            below = tuple(sorted(sa_descendants(sa_id, parents)))
            return BillingScope(sa_id, str(sa[ServicedAccount.NAME]), below), None
    known = ", ".join(sorted(str(sa[ServicedAccount.NAME]) for sa in tree)) or "none visible"
    raise CannotRun(f"No Serviced Account named {name!r} (known: {known}).")


async def managed_scope(gateway: Any, *, applying: bool) -> BillingScope | None:
    """Without ``--sa``: a console user (one with SA memberships) recounts the SAs they manage
    and the SAs below them; an account without memberships (administrator, service account) is
    not narrowed by the console's rules and recounts every subscription it can read (None).

    A stock Odoo group such as "Sales / Own Documents" may let a technician write their own
    orders; the recount still only acts where the user is a manager.
    """
    from console.odoo.memberships import load_memberships

    memberships = await load_memberships(gateway)
    if not memberships:
        return None
    managed = [m for m in memberships if m.role is Role.MANAGER]
    if not managed:
        if applying:
            raise CannotRun(
                "You manage no Serviced Account; only managers apply the seat recount. "
                "Nothing was written."
            )
        return None  # a preview shows what the user can read
    first, *others = managed
    widened = {first.sa_id, *first.descendants}
    for membership in others:
        widened |= {membership.sa_id, *membership.descendants}
    label = ", ".join(m.sa_name for m in managed)
    return BillingScope(first.sa_id, label, tuple(sorted(widened - {first.sa_id})))


def _default_confirm(prompt: str, err: TextIO) -> bool:
    print(prompt, end="", file=err, flush=True)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().casefold() in ("y", "yes")


async def _command(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    *,
    is_tty: bool,
    confirm: Callable[[str, TextIO], bool],
) -> int:
    from console.odoo.gateway import OdooGateway

    try:
        settings = connection_settings(args)
        xmlid = seat_product_xmlid(config_path=Path(args.config) if args.config else None)
    except (ConnectionSettingsError, errors.OdooGatewayError) as exc:
        raise CannotRun(str(exc)) from exc
    applying = args.action == "apply"
    if applying and not args.yes and not is_tty:
        raise CannotRun(
            "apply needs confirmation and there is no terminal to ask on: add --yes to apply "
            "without asking (as the monthly timer does). Nothing was written."
        )
    gateway = await OdooGateway.connect(
        settings.url, settings.db, settings.login, settings.password
    )
    try:
        scope: BillingScope | None = None
        if args.sa:
            scope, role = await resolve_scope(gateway, args.sa)
            if applying and role is not None and role is not Role.MANAGER:
                raise CannotRun(
                    f"You are a {role.value} in {scope.sa_name}; only its managers apply the "
                    "seat recount. Nothing was written."
                )
        else:
            scope = await managed_scope(gateway, applying=applying)
        assert gateway.user is not None
        billing = await preview(gateway, scope, actor=gateway.user.uid, xmlid=xmlid)
        if not applying:
            if args.json:
                json.dump(billing.rows(), out, indent=2)
                print(file=out)
            else:
                header = _header(settings.url, settings.db, settings.login, scope)
                print("\n".join([header, *preview_lines(billing)]), file=out)
            return EXIT_OK
        if not args.json:
            header = _header(settings.url, settings.db, settings.login, scope)
            print("\n".join([header, *preview_lines(billing)]), file=out)
        changes = billing.changes
        if not changes and not billing.plan.mark_counted and not billing.plan.mark_uncounted:
            if args.json:
                json.dump([], out)
                print(file=out)
            else:
                print("Nothing to change.", file=out)
            return EXIT_OK
        flags = len(billing.plan.mark_counted) + len(billing.plan.mark_uncounted)
        question = f"Apply {_plural(len(changes), 'change')}"
        if flags:
            question += f" (and mark {_plural(flags, 'asset')} for the next recount)"
        if not args.yes and not confirm(f"{question} to Odoo? [y/N] ", err):
            print("Not confirmed: nothing was written.", file=err)
            return EXIT_NOT_CONFIRMED
        result = await apply(gateway, billing)
        if args.json:
            json.dump(apply_json(billing, result), out, indent=2)
            print(file=out)
        else:
            print("\n".join(apply_lines(result)), file=out)
        if result.failures:
            for failure in result.failures:
                print(f"psa billing: {failure}", file=err)
            return EXIT_FAILURES
        return EXIT_OK
    finally:
        gateway.close()


def _header(url: str, db: str, login: str, scope: BillingScope | None) -> str:
    where = f"SA {scope.sa_name}" if scope else "every subscription you can see"
    return f"Seat recount: Odoo {url}, database {db}, as {login}; {where}."


def run(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    is_tty: bool | None = None,
    confirm: Callable[[str, TextIO], bool] | None = None,
) -> int:
    """Entry point of ``psa billing`` (see the module docstring for the exit codes)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if is_tty is None:
        is_tty = sys.stdin.isatty()
    try:
        return asyncio.run(
            _command(args, out, err, is_tty=is_tty, confirm=confirm or _default_confirm)
        )
    except CannotRun as exc:
        print(f"psa billing {args.action}: {exc}", file=err)
        return EXIT_CANNOT_RUN
    except errors.OdooGatewayError as exc:
        print(f"psa billing {args.action}: {exc}", file=err)
        if exc.detail:
            log.debug("psa billing failed: %s", exc.detail)
        return EXIT_CANNOT_RUN
