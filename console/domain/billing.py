"""The monthly managed-seat recount (seed T015/T016) as a reviewable, idempotent plan.

The seed writes every subscription's managed-seat line to the partner's count of active assets
and posts "Auto-updated Asset count to N". Here the same rule produces a *plan*: per order the
current quantity, the active assets, the delta, which assets changed since the last applied
recount and the action to take. Applying the plan twice changes nothing the second time.

"Since the last recount" is read from ``x_subscription_active``: an asset counted by the last
applied recount carries True. The plan says which flags to set so that the next recount starts
from this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class SeatAction(StrEnum):
    """What applying the plan does to one subscription."""

    UPDATE_LINE = "update_line"
    CREATE_LINE = "create_line"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class SeatLine:
    """The subscription's managed-seat ``sale.order.line``."""

    line_id: int
    quantity: float


@dataclass(frozen=True, slots=True)
class Subscription:
    """A confirmed subscription order (``state = 'sale'``, ``is_subscription``)."""

    order_id: int
    order_name: str
    partner_id: int
    seat_line: SeatLine | None


@dataclass(frozen=True, slots=True)
class AssetSeat:
    """An asset's billing-relevant state.

    ``active``: ``x_status == 'active'`` now; ``counted``: ``x_subscription_active``, i.e.
    counted by the last applied recount.
    """

    asset_id: int
    name: str
    partner_id: int | None
    active: bool
    counted: bool


@dataclass(frozen=True, slots=True)
class AssetRef:
    asset_id: int
    name: str


@dataclass(frozen=True, slots=True)
class SeatDiff:
    """The recount of one subscription."""

    order_id: int
    order_name: str
    partner_id: int
    line_id: int | None
    current_quantity: float | None
    active_assets: int
    added: tuple[AssetRef, ...]
    decommissioned: tuple[AssetRef, ...]
    action: SeatAction

    @property
    def delta(self) -> float:
        """Seats to add (negative: to remove); 0 when nothing changes."""
        if self.action is SeatAction.NOTHING:
            return 0.0
        return self.active_assets - (self.current_quantity or 0.0)

    @property
    def chatter_message(self) -> str | None:
        """What applying this diff posts on the order, or None when nothing is applied."""
        if self.action is SeatAction.NOTHING:
            return None
        return seat_count_message(self.active_assets)


@dataclass(frozen=True, slots=True)
class RecountPlan:
    """Every subscription's diff, the asset flags to write, and what a reviewer should know."""

    diffs: tuple[SeatDiff, ...]
    mark_counted: tuple[int, ...]
    mark_uncounted: tuple[int, ...]
    warnings: tuple[str, ...]

    @property
    def changes(self) -> tuple[SeatDiff, ...]:
        """Only the diffs that applying the plan would act on."""
        return tuple(diff for diff in self.diffs if diff.action is not SeatAction.NOTHING)


def seat_count_message(count: int) -> str:
    """The chatter line the seed posts on a recounted order."""
    return f"Auto-updated Asset count to {count}"


def plan_recount(
    subscriptions: Iterable[Subscription],
    active_counts: Mapping[int, int],
    assets: Iterable[AssetSeat] = (),
) -> RecountPlan:
    """The seat recount for ``subscriptions``.

    ``active_counts`` maps partner id -> number of active assets (one grouped query); it is the
    authority for quantities. ``assets`` may hold only the assets whose ``active`` and
    ``counted`` differ (all others are ignored); they explain the delta and drive the flags.

    Per order: a line whose quantity differs from the count is updated (down to 0 as well); a
    missing line is created only when the count is above 0; otherwise nothing happens.
    """
    subscriptions = sorted(subscriptions, key=lambda s: (s.order_name, s.order_id))
    subscribed_partners = {s.partner_id for s in subscriptions}
    added: dict[int, list[AssetRef]] = {}
    dropped: dict[int, list[AssetRef]] = {}
    mark_counted: list[int] = []
    mark_uncounted: list[int] = []
    for asset in sorted(assets, key=lambda a: (a.name.casefold(), a.asset_id)):
        billable = asset.active and asset.partner_id in subscribed_partners
        if billable == asset.counted:
            continue
        if billable:
            mark_counted.append(asset.asset_id)
        else:
            mark_uncounted.append(asset.asset_id)
        if asset.partner_id is None:
            continue
        ref = AssetRef(asset.asset_id, asset.name)
        (added if billable else dropped).setdefault(asset.partner_id, []).append(ref)

    diffs = []
    orders_by_partner: dict[int, list[str]] = {}
    for subscription in subscriptions:
        count = max(0, int(active_counts.get(subscription.partner_id, 0)))
        orders_by_partner.setdefault(subscription.partner_id, []).append(subscription.order_name)
        line = subscription.seat_line
        if line is not None:
            action = SeatAction.NOTHING if line.quantity == count else SeatAction.UPDATE_LINE
        else:
            action = SeatAction.CREATE_LINE if count > 0 else SeatAction.NOTHING
        diffs.append(
            SeatDiff(
                order_id=subscription.order_id,
                order_name=subscription.order_name,
                partner_id=subscription.partner_id,
                line_id=line.line_id if line else None,
                current_quantity=line.quantity if line else None,
                active_assets=count,
                added=tuple(added.get(subscription.partner_id, ())),
                decommissioned=tuple(dropped.get(subscription.partner_id, ())),
                action=action,
            )
        )
    warnings = tuple(
        f"partner {partner_id} has {len(names)} subscriptions ({', '.join(names)}); "
        "each is set to all of the partner's active assets"
        for partner_id, names in sorted(orders_by_partner.items())
        if len(names) > 1
    )
    return RecountPlan(
        diffs=tuple(diffs),
        mark_counted=tuple(sorted(mark_counted)),
        mark_uncounted=tuple(sorted(mark_uncounted)),
        warnings=warnings,
    )
