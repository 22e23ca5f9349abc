"""What one order adds to the day buckets, by METRICS.md."""
from dataclasses import replace
from datetime import date, datetime, timezone

from alerts.metrics.contributions import GRANTED_CLAIMS, OrderFacts, contributions


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=timezone.utc)


SHIPPED = OrderFacts(
    marketplace_id="ATVPDKIKX0DER", channel="MFN", purchase_at=at(1), latest_ship_at=at(3, 23),
    latest_delivery_at=at(8, 23), quantity=2, ship_confirmed_at=at(2), cancelled=False, cancel_by=None,
    cancel_reason=None, tracking_valid=True, delivered_at=at(6), negative_feedback=False, claims_granted=0,
    chargebacks_granted=0,
)


def by_metric(facts: OrderFacts) -> dict[str, tuple[date, int, int]]:
    return {c.metric: (c.day, c.numerator, c.denominator) for c in contributions(facts)}


def test_an_on_time_shipped_order_counts_in_every_denominator_and_no_numerator():
    got = by_metric(SHIPPED)
    assert got["odr"] == (date(2026, 3, 1), 0, 1)
    assert got["lsr_10d"] == (date(2026, 3, 3), 0, 1)
    assert got["cr_7d"] == (date(2026, 3, 1), 0, 1)
    assert got["vtr_30d"] == (date(2026, 3, 2), 1, 1)
    assert got["otdr_14d"] == (date(2026, 3, 8), 2, 2)


def test_a_ship_confirmation_after_the_ship_by_instant_is_late():
    assert by_metric(replace(SHIPPED, ship_confirmed_at=at(4, 0)))["lsr_30d"][1] == 1


def test_feedback_and_a_claim_on_one_order_count_as_one_defect():
    got = by_metric(replace(SHIPPED, negative_feedback=True, claims_granted=1))
    assert got["odr"] == (date(2026, 3, 1), 1, 1)
    assert got[GRANTED_CLAIMS] == (date(2026, 3, 1), 1, 0)


def test_a_buyer_cancellation_is_not_a_seller_cancellation():
    unshipped = replace(SHIPPED, ship_confirmed_at=None, tracking_valid=None, delivered_at=None, cancelled=True)
    assert by_metric(replace(unshipped, cancel_by="buyer"))["cr_7d"][1] == 0
    assert by_metric(replace(unshipped, cancel_by="seller"))["cr_7d"][1] == 1



def test_amazons_cancel_is_the_sellers_only_when_the_ship_by_date_passed_unconfirmed_whatever_its_text():
    unshipped = replace(SHIPPED, ship_confirmed_at=None, tracking_valid=None, delivered_at=None, cancelled=True,
                        cancel_by="amazon")
    assert by_metric(replace(unshipped, cancelled_at=at(4, 0), cancel_reason="payment"))["cr_7d"][1] == 1
    assert by_metric(replace(unshipped, cancelled_at=at(1, 13), cancel_reason="ship_confirm_timeout"))["cr_7d"][1] == 0
    assert by_metric(replace(unshipped, cancelled_at=None))["cr_7d"][1] == 0


def test_a_cancel_nobody_is_named_for_counts_only_after_the_order_left_pending():
    unshipped = replace(SHIPPED, ship_confirmed_at=None, tracking_valid=None, delivered_at=None, cancelled=True,
                        cancel_by="unknown")
    assert by_metric(replace(unshipped, left_pending=True))["cr_7d"][1] == 1
    assert by_metric(replace(unshipped, left_pending=False))["cr_7d"][1] == 0


def test_an_item_cancelled_by_the_seller_in_a_shipped_order_counts():
    assert by_metric(replace(SHIPPED, items_cancelled=True, cancel_by="seller"))["cr_7d"][1] == 1
    assert by_metric(replace(SHIPPED, items_cancelled=True, cancel_by="buyer"))["cr_7d"][1] == 0


def test_a_delivery_between_two_sightings_is_on_time_when_the_middle_of_the_span_meets_the_promise():
    seen = replace(SHIPPED, delivered_after=at(8, 0), delivered_at=at(9, 0))  # promise at(8, 23)
    assert by_metric(seen)["otdr_14d"] == (date(2026, 3, 8), 2, 2)
    assert by_metric(replace(seen, delivered_after=at(8, 22), delivered_at=at(10, 0)))["otdr_14d"] == (date(2026, 3, 8), 0, 2)


def test_a_delivery_first_seen_late_with_nothing_to_bound_it_is_left_out_of_otdr():
    unbounded = replace(SHIPPED, delivered_after=None, delivered_at=at(12))
    assert "otdr_14d" not in by_metric(unbounded)
    assert by_metric(replace(unbounded, delivered_at=at(8)))["otdr_14d"] == (date(2026, 3, 8), 2, 2)
    assert by_metric(replace(unbounded, ship_confirmed_at=at(9)))["otdr_14d"] == (date(2026, 3, 8), 0, 2)


def test_an_fba_order_only_counts_in_the_afn_order_defect_rate():
    assert set(by_metric(replace(SHIPPED, channel="AFN"))) == {"odr"}


def test_an_undelivered_unit_with_valid_tracking_counts_as_late():
    assert by_metric(replace(SHIPPED, delivered_at=None))["otdr_14d"] == (date(2026, 3, 8), 0, 2)


def test_invalid_tracking_counts_in_vtr_but_not_in_otdr():
    got = by_metric(replace(SHIPPED, tracking_valid=False))
    assert got["vtr_30d"] == (date(2026, 3, 2), 0, 1)
    assert "otdr_14d" not in got
