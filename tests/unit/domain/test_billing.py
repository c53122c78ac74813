"""The managed-seat recount plan (seed T015/T016, console.domain.billing)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from console.domain.billing import (
    AssetRef,
    AssetSeat,
    SeatAction,
    SeatLine,
    Subscription,
    plan_recount,
    seat_count_message,
)

ACME, BETA = 10, 20


def subscription(order_id: int, partner: int, quantity: float | None) -> Subscription:
    line = None if quantity is None else SeatLine(line_id=order_id * 100, quantity=quantity)
    return Subscription(order_id, f"S{order_id:05d}", partner, line)


def test_chatter_text_is_the_seeds() -> None:
    assert seat_count_message(12) == "Auto-updated Asset count to 12"


def test_a_line_whose_quantity_differs_is_updated_with_the_delta() -> None:
    (diff,) = plan_recount([subscription(1, ACME, 10)], {ACME: 12}).diffs
    assert diff.action is SeatAction.UPDATE_LINE
    assert (diff.line_id, diff.current_quantity, diff.active_assets, diff.delta) == (100, 10, 12, 2)
    assert diff.chatter_message == "Auto-updated Asset count to 12"


def test_an_up_to_date_line_is_left_alone() -> None:
    (diff,) = plan_recount([subscription(1, ACME, 12)], {ACME: 12}).diffs
    assert diff.action is SeatAction.NOTHING
    assert diff.delta == 0
    assert diff.chatter_message is None


def test_a_line_drops_to_zero_when_every_asset_is_gone() -> None:
    (diff,) = plan_recount([subscription(1, ACME, 3)], {}).diffs
    assert (diff.action, diff.active_assets, diff.delta) == (SeatAction.UPDATE_LINE, 0, -3)


def test_a_missing_line_is_created_when_there_are_assets() -> None:
    (diff,) = plan_recount([subscription(1, ACME, None)], {ACME: 4}).diffs
    assert (diff.action, diff.line_id, diff.current_quantity, diff.delta) == (
        SeatAction.CREATE_LINE,
        None,
        None,
        4,
    )


def test_a_missing_line_is_never_created_for_zero_assets() -> None:
    (diff,) = plan_recount([subscription(1, ACME, None)], {ACME: 0}).diffs
    assert diff.action is SeatAction.NOTHING


def test_a_fractional_quantity_is_corrected_to_whole_seats() -> None:
    (diff,) = plan_recount([subscription(1, ACME, 4.5)], {ACME: 4}).diffs
    assert diff.action is SeatAction.UPDATE_LINE


def test_changed_assets_explain_the_delta_per_partner() -> None:
    assets = [
        AssetSeat(1, "ACME-NEW", ACME, active=True, counted=False),
        AssetSeat(2, "ACME-OLD", ACME, active=False, counted=True),
        AssetSeat(3, "ACME-SAME", ACME, active=True, counted=True),
        AssetSeat(4, "BETA-NEW", BETA, active=True, counted=False),
    ]
    (diff,) = plan_recount([subscription(1, ACME, 1)], {ACME: 2}, assets).diffs
    assert diff.added == (AssetRef(1, "ACME-NEW"),)
    assert diff.decommissioned == (AssetRef(2, "ACME-OLD"),)


def test_flags_record_what_this_recount_counted() -> None:
    assets = [
        AssetSeat(1, "ACME-NEW", ACME, active=True, counted=False),
        AssetSeat(2, "ACME-OLD", ACME, active=False, counted=True),
        AssetSeat(4, "BETA-NO-SUB", BETA, active=True, counted=True),  # subscription ended
        AssetSeat(5, "BETA-IDLE", BETA, active=True, counted=False),
    ]
    plan = plan_recount([subscription(1, ACME, 1)], {ACME: 1, BETA: 2}, assets)
    assert plan.mark_counted == (1,)
    assert plan.mark_uncounted == (2, 4)


def test_changes_lists_only_diffs_that_act() -> None:
    plan = plan_recount([subscription(1, ACME, 2), subscription(2, BETA, 5)], {ACME: 2, BETA: 3})
    assert [diff.order_id for diff in plan.changes] == [2]


def test_two_subscriptions_of_one_partner_each_get_the_count_and_a_warning() -> None:
    plan = plan_recount([subscription(1, ACME, 0), subscription(2, ACME, None)], {ACME: 3})
    assert [diff.active_assets for diff in plan.diffs] == [3, 3]
    assert plan.warnings == (
        "partner 10 has 2 subscriptions (S00001, S00002); each is set to all of the partner's "
        "active assets",
    )


SUBSCRIPTIONS = st.lists(
    st.builds(
        subscription,
        order_id=st.integers(1, 50),
        partner=st.sampled_from([ACME, BETA, 30]),
        quantity=st.none() | st.integers(0, 20).map(float),
    ),
    max_size=6,
    unique_by=lambda s: s.order_id,
)
COUNTS = st.dictionaries(st.sampled_from([ACME, BETA, 30]), st.integers(0, 20))


@given(subscriptions=SUBSCRIPTIONS, counts=COUNTS)
def test_applying_a_plan_makes_the_next_recount_a_no_op(
    subscriptions: list[Subscription], counts: dict[int, int]
) -> None:
    plan = plan_recount(subscriptions, counts)
    applied = []
    for sub, diff in zip(
        sorted(subscriptions, key=lambda s: s.order_name), plan.diffs, strict=True
    ):
        if diff.action is SeatAction.NOTHING:
            applied.append(sub)
        else:
            applied.append(subscription(sub.order_id, sub.partner_id, float(diff.active_assets)))
    assert plan_recount(applied, counts).changes == ()


@given(subscriptions=SUBSCRIPTIONS, counts=COUNTS)
def test_every_acting_diff_sets_the_partners_active_count(
    subscriptions: list[Subscription], counts: dict[int, int]
) -> None:
    for diff in plan_recount(subscriptions, counts).changes:
        assert diff.active_assets == counts.get(diff.partner_id, 0)
        assert diff.active_assets > 0 or diff.action is SeatAction.UPDATE_LINE
