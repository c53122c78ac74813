"""The managed-seat recount against Odoo (seed T015/T016): preview, then apply.

:func:`preview` reads what the recount needs in at most five RPCs, whatever the number of
subscriptions, and hands the pure :func:`console.domain.billing.plan_recount` the facts:

1. the managed-seat product's xmlid (``ir.model.data``), concurrently with
2. the subscriptions in scope (``sale.order``, ``state = 'sale'``, ``is_subscription``);
3. their managed-seat lines (``sale.order.line``, one ``search_read`` for all orders),
   concurrently with
4. the active assets per partner (``x_client_asset``, ``x_status = 'active'``): **one grouped
   query** (``formatted_read_group``) for all partners, never one per order; and
5. the assets whose billing state changed since the last recount.

"Since the last recount" is kept on the asset itself: ``x_subscription_active`` (the seed's
"Computed field for billing") is True on every asset the last applied recount counted. An
active asset without the flag was *added* since; a flagged asset that is no longer active was
*decommissioned* since. :func:`apply` sets the flags of the partners it recounted, so the next
preview starts from this one. (A chatter date would say *when* but not *which* assets.)

:func:`apply` writes only the lines whose quantity differs (creating the line when it is
missing and the partner has active assets), posts "Auto-updated Asset count to N" on each
changed order and touches nothing else. It is all-or-report: every order is attempted, failures
are listed, and because it first re-reads the lines it is about to change, a rerun (or a second
apply of the same preview) only finishes what is still different, never doubling a write or a
chatter message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from console.domain.billing import (
    AssetSeat,
    RecountPlan,
    SeatDiff,
    SeatLine,
    Subscription,
    plan_recount,
    seat_count_message,
)
from console.domain.names import AssetStatus, ClientAsset, Role, SaleOrder, SaleOrderLine
from console.domain.scope import Pane, scope_domain
from console.domain.search_domain import Domain, and_domains, or_domains
from console.odoo import errors

log = logging.getLogger(__name__)

#: The seed's xmlid of the managed-seat product (``env.ref('product.managed_seat_product')``).
DEFAULT_SEAT_PRODUCT_XMLID: Final = "product.managed_seat_product"
#: Environment variable overriding the configured xmlid.
SEAT_PRODUCT_ENV: Final = "PSA_BILLING_SEAT_PRODUCT"
#: The config file section and key (``console.toml`` in the platform config dir).
CONFIG_SECTION: Final = "billing"
CONFIG_KEY: Final = "seat_product_xmlid"
#: Steps :func:`preview` reports through ``on_progress(done, PREVIEW_STEPS)``.
PREVIEW_STEPS: Final = 5
#: Orders written at the same time by :func:`apply` (the gateway runs 4 RPCs at once).
APPLY_CONCURRENCY: Final = 4

_ORDER_FIELDS: Final = (SaleOrder.NAME, SaleOrder.PARTNER, SaleOrder.SA)
_LINE_FIELDS: Final = (SaleOrderLine.ORDER, SaleOrderLine.QUANTITY)
_ASSET_FIELDS: Final = (
    ClientAsset.NAME,
    ClientAsset.PARTNER,
    ClientAsset.STATUS,
    ClientAsset.SUBSCRIPTION_ACTIVE,
)


class Gateway(Protocol):
    """What the recount needs from a connection (:class:`~console.odoo.gateway.OdooGateway`)."""

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any: ...

    async def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: Sequence[str],
        *,
        order: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]: ...

    async def read_group(
        self,
        model: str,
        domain: list[Any],
        groupby: Sequence[str],
        aggregates: Sequence[str] = ("__count",),
        *,
        order: str | None = None,
    ) -> list[dict[str, Any]]: ...

    def operation(self, name: str) -> contextlib.AbstractContextManager[None]: ...


class BillingConfigError(errors.OdooGatewayError):
    """The billing configuration is unusable (bad xmlid, unreadable config file)."""


class SeatProductMissing(errors.OdooGatewayError):
    """The configured managed-seat product xmlid does not resolve to a product in Odoo."""


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def default_config_path() -> Path:
    """``console.toml`` in the platform config dir (the console's own config file)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("psa")) / "console.toml"


def seat_product_xmlid(
    environ: Mapping[str, str] | None = None, config_path: Path | None = None
) -> str:
    """The managed-seat product's xmlid: ``PSA_BILLING_SEAT_PRODUCT``, else ``[billing]
    seat_product_xmlid`` in the config file, else the seed's ``product.managed_seat_product``."""
    env = os.environ if environ is None else environ
    value = env.get(SEAT_PRODUCT_ENV, "").strip()
    source = SEAT_PRODUCT_ENV
    if not value:
        path = config_path or default_config_path()
        source = f"{path} [{CONFIG_SECTION}] {CONFIG_KEY}"
        if path.exists():
            try:
                document = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise BillingConfigError(f"Cannot read the config file {path}: {exc}") from exc
            raw = (document.get(CONFIG_SECTION) or {}).get(CONFIG_KEY)
            if raw is not None and not isinstance(raw, str):
                raise BillingConfigError(f"{source} must be a string like 'module.name'.")
            value = (raw or "").strip()
        elif config_path is not None:
            raise BillingConfigError(f"The config file {path} does not exist.")
    if not value:
        return DEFAULT_SEAT_PRODUCT_XMLID
    return check_xmlid(value, source)


def check_xmlid(value: str, source: str = "the seat product xmlid") -> str:
    module, dot, name = value.partition(".")
    if not dot or not module or not name or " " in value:
        raise BillingConfigError(
            f"{source} is {value!r}, which is not an external id: write it as 'module.name', "
            f"e.g. {DEFAULT_SEAT_PRODUCT_XMLID!r}."
        )
    return value


# --------------------------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingScope:
    """The subscriptions one recount covers: those stamped with an SA or the SAs below it (the
    manager's reach, DESIGN §6). No scope (None) means every subscription the user can read."""

    sa_id: int
    sa_name: str
    descendants: tuple[int, ...] = ()

    def order_domain(self, actor: int) -> Domain:
        return scope_domain(
            Pane.SALE_ORDERS, self.sa_id, actor, Role.MANAGER, descendants=self.descendants
        )


# --------------------------------------------------------------------------------------------
# Preview
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingPreview:
    """A recount plan with the names a person needs to review it."""

    plan: RecountPlan
    seat_product_xmlid: str
    seat_product_id: int
    partner_names: Mapping[int, str]
    #: the partner of every asset the plan flags (counted / uncounted)
    asset_partners: Mapping[int, int | None]
    scope: BillingScope | None = None
    rpc_count: int = 0
    extra_warnings: tuple[str, ...] = ()

    @property
    def diffs(self) -> tuple[SeatDiff, ...]:
        return self.plan.diffs

    @property
    def changes(self) -> tuple[SeatDiff, ...]:
        return self.plan.changes

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.extra_warnings + self.plan.warnings

    def partner_name(self, partner_id: int) -> str:
        return self.partner_names.get(partner_id) or f"partner {partner_id}"

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per subscription (``psa billing --json``; the pane's rows)."""
        return [diff_row(diff, self.partner_name(diff.partner_id)) for diff in self.plan.diffs]


def diff_row(diff: SeatDiff, partner_name: str) -> dict[str, Any]:
    return {
        "order_id": diff.order_id,
        "order_name": diff.order_name,
        "partner_id": diff.partner_id,
        "partner_name": partner_name,
        "line_id": diff.line_id,
        "current_qty": diff.current_quantity,
        "active_assets": diff.active_assets,
        "delta": diff.delta,
        "action": diff.action.value,
        "added": [{"id": a.asset_id, "name": a.name} for a in diff.added],
        "decommissioned": [{"id": a.asset_id, "name": a.name} for a in diff.decommissioned],
    }


def _m2o(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool) and value:
        return value
    return None


def _m2o_name(value: Any) -> str | None:
    if isinstance(value, list | tuple) and len(value) > 1:
        return str(value[1])
    return None


async def resolve_seat_product(gateway: Gateway, xmlid: str) -> int:
    """The ``product.product`` id of ``xmlid``; :class:`SeatProductMissing` if there is none."""
    module, _, name = check_xmlid(xmlid).partition(".")
    rows = await gateway.search_read(
        "ir.model.data",
        [["module", "=", module], ["name", "=", name]],
        ["res_id", "model"],
        limit=1,
    )
    if not rows:
        raise SeatProductMissing(
            f"The managed-seat product {xmlid!r} does not exist in this Odoo database. Give the "
            f"product an external id {xmlid!r}, or set {SEAT_PRODUCT_ENV} (or [{CONFIG_SECTION}] "
            f"{CONFIG_KEY} in console.toml) to the xmlid of your managed-seat product."
        )
    model = rows[0].get("model")
    if model != "product.product":
        raise SeatProductMissing(
            f"{xmlid!r} names a {model} record, not a product variant (product.product): "
            "configure the xmlid of the product variant sold as the managed seat."
        )
    return int(rows[0]["res_id"])


async def preview(
    gateway: Gateway,
    scope: BillingScope | None = None,
    *,
    actor: int | None = None,
    xmlid: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BillingPreview:
    """The recount of every subscription in ``scope`` (None: all the user can read), in five
    RPCs at most. ``actor`` (the user's id) is needed with a scope."""
    xmlid = check_xmlid(xmlid) if xmlid else seat_product_xmlid()
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, PREVIEW_STEPS)

    async def stepped(awaitable: Any) -> Any:
        result = await awaitable
        step()
        return result

    order_domain: Domain = [
        (SaleOrder.STATE, "=", "sale"),
        (SaleOrder.IS_SUBSCRIPTION, "=", True),
    ]
    if scope is not None:
        if actor is None:
            raise ValueError("a scoped preview needs the actor (the user's id)")
        order_domain = and_domains(order_domain, scope.order_domain(actor))
    if on_progress is not None:
        on_progress(0, PREVIEW_STEPS)
    calls = 0
    with gateway.operation("billing.preview"):
        product_id, orders = await asyncio.gather(
            stepped(resolve_seat_product(gateway, xmlid)),
            stepped(
                gateway.search_read(
                    SaleOrder.MODEL, _wire(order_domain), _ORDER_FIELDS, order="name, id"
                )
            ),
        )
        calls += 2
        order_ids = [int(o["id"]) for o in orders]
        partner_names: dict[int, str] = {}
        for order in orders:
            partner = _m2o(order.get(SaleOrder.PARTNER))
            if partner is not None:
                partner_names[partner] = _m2o_name(order.get(SaleOrder.PARTNER)) or ""
        partner_ids = sorted(partner_names)
        if order_ids:
            lines, groups, changed = await asyncio.gather(
                stepped(
                    gateway.search_read(
                        SaleOrderLine.MODEL,
                        [
                            [SaleOrderLine.ORDER, "in", order_ids],
                            [SaleOrderLine.PRODUCT, "=", product_id],
                        ],
                        _LINE_FIELDS,
                        order="id",
                    )
                ),
                stepped(
                    gateway.read_group(
                        ClientAsset.MODEL,
                        [
                            [ClientAsset.STATUS, "=", AssetStatus.ACTIVE.value],
                            [ClientAsset.PARTNER, "in", partner_ids],
                        ],
                        [ClientAsset.PARTNER],
                        ["__count"],
                    )
                ),
                stepped(
                    gateway.search_read(
                        ClientAsset.MODEL,
                        _wire(changed_assets_domain(partner_ids, scoped=scope is not None)),
                        _ASSET_FIELDS,
                        order="id",
                    )
                ),
            )
            calls += 3
        else:
            lines, groups, changed = [], [], []
            # with no subscriptions, assets still counted belong to ended subscriptions
            if scope is None:
                changed = await stepped(
                    gateway.search_read(
                        ClientAsset.MODEL,
                        _wire(changed_assets_domain([], scoped=False)),
                        _ASSET_FIELDS,
                        order="id",
                    )
                )
                calls += 1
    if on_progress is not None:
        on_progress(PREVIEW_STEPS, PREVIEW_STEPS)

    seat_lines: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        order = _m2o(line.get(SaleOrderLine.ORDER))
        if order is not None:
            seat_lines.setdefault(order, []).append(line)
    warnings: list[str] = []
    subscriptions: list[Subscription] = []
    for order in orders:
        partner = _m2o(order.get(SaleOrder.PARTNER))
        if partner is None:
            warnings.append(f"{order.get(SaleOrder.NAME)} has no customer; it is not recounted")
            continue
        found = seat_lines.get(int(order["id"]), [])
        if len(found) > 1:
            warnings.append(
                f"{order.get(SaleOrder.NAME)} has {len(found)} managed-seat lines; only the "
                f"first (line {found[0]['id']}) is recounted, merge the others by hand"
            )
        seat = (
            SeatLine(int(found[0]["id"]), float(found[0].get(SaleOrderLine.QUANTITY) or 0.0))
            if found
            else None
        )
        subscriptions.append(
            Subscription(int(order["id"]), str(order.get(SaleOrder.NAME) or ""), partner, seat)
        )
    counts: dict[int, int] = {}
    for group in groups:
        partner = _m2o(group.get(ClientAsset.PARTNER))
        if partner is not None:
            counts[partner] = int(group.get("__count", 0))
    assets = [
        AssetSeat(
            asset_id=int(row["id"]),
            name=str(row.get(ClientAsset.NAME) or ""),
            partner_id=_m2o(row.get(ClientAsset.PARTNER)),
            active=row.get(ClientAsset.STATUS) == AssetStatus.ACTIVE.value,
            counted=bool(row.get(ClientAsset.SUBSCRIPTION_ACTIVE)),
        )
        for row in changed
    ]
    plan = plan_recount(subscriptions, counts, assets)
    return BillingPreview(
        plan=plan,
        seat_product_xmlid=xmlid,
        seat_product_id=product_id,
        partner_names=partner_names,
        asset_partners={a.asset_id: a.partner_id for a in assets},
        scope=scope,
        rpc_count=calls,
        extra_warnings=tuple(warnings),
    )


def changed_assets_domain(partner_ids: Sequence[int], *, scoped: bool) -> Domain:
    """Assets whose billing state differs from what the last recount counted.

    Of the subscribed partners: active but not counted (added), counted but no longer active
    (decommissioned). Unscoped, also counted assets of partners without a subscription now
    (their subscription ended); a scoped recount leaves those alone, since another SA's
    subscription may be counting them.
    """
    ids = list(partner_ids)
    active = (ClientAsset.STATUS, "=", AssetStatus.ACTIVE.value)
    inactive = (ClientAsset.STATUS, "!=", AssetStatus.ACTIVE.value)
    counted = (ClientAsset.SUBSCRIPTION_ACTIVE, "=", True)
    uncounted = (ClientAsset.SUBSCRIPTION_ACTIVE, "=", False)
    subscribed = (ClientAsset.PARTNER, "in", ids)
    of_subscribed = and_domains([subscribed], or_domains([active, uncounted], [inactive, counted]))
    if scoped:
        return of_subscribed
    return or_domains(of_subscribed, [counted, (ClientAsset.PARTNER, "not in", ids)])


def _wire(domain: Domain) -> list[Any]:
    """Tuples to lists (JSON-RPC sends lists either way; tests compare them)."""
    return [list(leaf) if isinstance(leaf, tuple) else leaf for leaf in domain]


# --------------------------------------------------------------------------------------------
# Apply
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyFailure:
    """One order (or the asset flags) that apply could not finish; a rerun retries it."""

    order_id: int | None
    order_name: str
    message: str

    def __str__(self) -> str:
        return f"{self.order_name}: {self.message}"


@dataclass(frozen=True)
class ApplyResult:
    """What :func:`apply` did: the orders changed, those already up to date, the failures."""

    applied: tuple[SeatDiff, ...] = ()
    already_done: tuple[SeatDiff, ...] = ()
    failures: tuple[ApplyFailure, ...] = ()
    flags_written: int = 0
    rpc_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def apply(
    gateway: Gateway,
    billing: BillingPreview,
    *,
    only: Sequence[int] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    """Apply ``billing``'s changes (or only those of the order ids in ``only``).

    Re-reads the seat lines of the orders to change first (one RPC), so an order someone (or an
    earlier run) already brought to the count is left alone: no second write, no second chatter
    message. Each remaining order gets one write (or create) and one ``message_post``; up to
    :data:`APPLY_CONCURRENCY` orders at a time. Then the asset flags of the partners whose
    orders all succeeded are set (at most two writes).
    """
    wanted = None if only is None else set(only)
    changes = [d for d in billing.changes if wanted is None or d.order_id in wanted]
    calls = 0
    total = len(changes)
    finished = 0

    def tick() -> None:
        nonlocal finished
        finished += 1
        if on_progress is not None:
            on_progress(finished, total)

    if on_progress is not None:
        on_progress(0, total)
    failures: list[ApplyFailure] = []
    applied: list[SeatDiff] = []
    already: list[SeatDiff] = []
    failed_partners: set[int] = set()
    with gateway.operation("billing.apply"):
        current: dict[int, list[dict[str, Any]]] = {}
        if changes:
            try:
                rows = await gateway.search_read(
                    SaleOrderLine.MODEL,
                    [
                        [SaleOrderLine.ORDER, "in", sorted({d.order_id for d in changes})],
                        [SaleOrderLine.PRODUCT, "=", billing.seat_product_id],
                    ],
                    _LINE_FIELDS,
                    order="id",
                )
                calls += 1
            except errors.OdooGatewayError as exc:
                return ApplyResult(
                    failures=(
                        ApplyFailure(None, "all orders", f"could not re-read the lines: {exc}"),
                    ),
                    rpc_count=calls + 1,
                )
            for row in rows:
                order = _m2o(row.get(SaleOrderLine.ORDER))
                if order is not None:
                    current.setdefault(order, []).append(row)

        semaphore = asyncio.Semaphore(APPLY_CONCURRENCY)

        async def one(diff: SeatDiff) -> None:
            nonlocal calls
            async with semaphore:
                lines = current.get(diff.order_id, [])
                target = float(diff.active_assets)
                try:
                    if lines:
                        line = lines[0]
                        if float(line.get(SaleOrderLine.QUANTITY) or 0.0) == target:
                            already.append(diff)
                            return
                        calls += 1
                        await gateway.call(
                            SaleOrderLine.MODEL,
                            "write",
                            [int(line["id"])],
                            {SaleOrderLine.QUANTITY: target},
                        )
                    elif diff.active_assets > 0:
                        calls += 1
                        await gateway.call(
                            SaleOrderLine.MODEL,
                            "create",
                            {
                                SaleOrderLine.ORDER: diff.order_id,
                                SaleOrderLine.PRODUCT: billing.seat_product_id,
                                SaleOrderLine.QUANTITY: target,
                            },
                        )
                    else:
                        already.append(diff)  # the line is gone and there is nothing to bill
                        return
                except errors.OdooGatewayError as exc:
                    failed_partners.add(diff.partner_id)
                    failures.append(
                        ApplyFailure(
                            diff.order_id,
                            diff.order_name,
                            f"seats not updated to {diff.active_assets}: {_error_text(exc)}",
                        )
                    )
                    return
                finally:
                    tick()
                try:
                    calls += 1
                    await gateway.call(
                        SaleOrder.MODEL,
                        "message_post",
                        [diff.order_id],
                        body=seat_count_message(diff.active_assets),
                    )
                except errors.OdooGatewayError as exc:
                    # the quantity is right; a rerun finds nothing to do, so say it here
                    failures.append(
                        ApplyFailure(
                            diff.order_id,
                            diff.order_name,
                            f"seats set to {diff.active_assets}, but the chatter note could not "
                            f"be posted: {_error_text(exc)}",
                        )
                    )
                    return
                applied.append(diff)

        await asyncio.gather(*(one(diff) for diff in changes))

        flags_written = 0
        subscribed = {d.partner_id for d in billing.diffs}
        chosen = (
            subscribed
            if wanted is None
            else {d.partner_id for d in billing.diffs if d.order_id in wanted}
        )

        def flaggable(asset_id: int) -> bool:
            partner = billing.asset_partners.get(asset_id)
            if partner in subscribed:
                return partner in chosen and partner not in failed_partners
            # assets of partners whose subscription ended: only a full apply clears them
            return wanted is None

        for ids, value in (
            ([a for a in billing.plan.mark_counted if flaggable(a)], True),
            ([a for a in billing.plan.mark_uncounted if flaggable(a)], False),
        ):
            if not ids:
                continue
            try:
                calls += 1
                await gateway.call(
                    ClientAsset.MODEL, "write", ids, {ClientAsset.SUBSCRIPTION_ACTIVE: value}
                )
                flags_written += len(ids)
            except errors.OdooGatewayError as exc:
                failures.append(
                    ApplyFailure(
                        None,
                        "asset flags",
                        f"could not mark {len(ids)} assets as "
                        f"{'counted' if value else 'not counted'}: {_error_text(exc)}; the seat "
                        "quantities are right, the next preview lists them again",
                    )
                )
    order_names = {d.order_id: d.order_name for d in billing.diffs}
    applied.sort(key=lambda d: (d.order_name, d.order_id))
    already.sort(key=lambda d: (d.order_name, d.order_id))
    failures.sort(
        key=lambda f: (f.order_id is None, order_names.get(f.order_id or 0, ""), f.order_name)
    )
    return ApplyResult(
        applied=tuple(applied),
        already_done=tuple(already),
        failures=tuple(failures),
        flags_written=flags_written,
        rpc_count=calls,
    )
