"""The data path's storage: idempotent upserts, cursors in the same transaction, quarantine, incremental buckets."""
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from daemon.sources.records import (
    Batch, FeedbackCoverage, FeedbackRecord, FinancialEventRecord, OrderRecord, PackageRecord, Reject,
)
from storage import models as m
from daemon.observe import observations
from storage.repo import store_batch

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
MP = "ATVPDKIKX0DER"


def order(n: int, status: str = "Unshipped", updated: datetime = T0, day: int = 0) -> OrderRecord:
    purchase = T0 + timedelta(days=day, hours=1)
    return OrderRecord(
        order_id=f"111-{n:07d}-0000001", marketplace_id=MP, channel="MFN", status=status,
        purchase_at=purchase, last_update_at=updated, latest_ship_at=purchase + timedelta(days=2),
        latest_delivery_at=purchase + timedelta(days=7), quantity=1,
    )


def save(store, *records, cursor=None, rejects=(), seen_at=T0, source="orders"):
    with store.transaction() as session:
        return store_batch(session, "main", Batch(source, tuple(records), tuple(rejects), cursor), seen_at)


def counts(store, metric, first=date(2026, 1, 1), end=date(2026, 6, 1)):
    return store.window_counts("main", MP, metric, "MFN", first, end)


def test_storing_the_same_page_twice_changes_nothing(store):
    page = [order(1), order(2), order(3, "Shipped", T0 + timedelta(days=1))]
    save(store, *page, cursor={"after": "a"})
    save(store, *page, cursor={"after": "a"})
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Order)) == 3
    assert counts(store, "odr") == (0, 3)
    assert counts(store, "vtr_30d") == (0, 1)


def test_first_sight_of_shipped_is_kept_as_the_ship_confirmation_instant(store):
    shipped_at = T0 + timedelta(days=3)  # after the ship-by instant: late
    save(store, order(1, "Shipped", shipped_at))
    save(store, order(1, "Shipped", shipped_at + timedelta(days=5)))  # a later update must not move it
    with store.sessions() as session:
        assert session.get(m.Order, ("main", order(1).order_id)).ship_confirmed_at == shipped_at
    assert counts(store, "lsr_30d") == (1, 1)


def test_the_cursor_moves_in_the_same_transaction_as_the_rows(store):
    save(store, order(1), cursor={"after": "2026-03-01T00:00:00Z"})
    assert store.cursor("main", "orders") == {"after": "2026-03-01T00:00:00Z"}
    assert store.cursor("main", "feedback") is None


def test_cursor_stays_put_when_the_commit_fails(store):
    save(store, order(1), cursor={"after": "first"})
    # A real database failure at the cursor write, after the rows of the same batch were written.
    with store.engine.begin() as conn:
        conn.execute(text(
            "CREATE TRIGGER refuse_cursor BEFORE UPDATE ON cursors BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        ))
    with pytest.raises(Exception, match="disk full"):
        save(store, order(2), order(3), cursor={"after": "second"})
    assert store.cursor("main", "orders") == {"after": "first"}
    assert counts(store, "odr") == (0, 1)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_cursor"))
    save(store, order(2), order(3), cursor={"after": "second"})
    assert counts(store, "odr") == (0, 3)


def test_rejects_are_quarantined_with_the_reason_and_the_rest_is_kept(store):
    save(store, order(1), rejects=[Reject("orders", '{"AmazonOrderId": null}', "AmazonOrderId missing")])
    with store.sessions() as session:
        rows = session.scalars(select(m.QuarantinedPayload)).all()
    assert [(r.source, r.error) for r in rows] == [("orders", "AmazonOrderId missing")]
    assert counts(store, "odr") == (0, 1)


def test_negative_feedback_counts_until_a_report_no_longer_lists_it(store):
    save(store, order(1), order(2))
    negative = FeedbackRecord(order(1).order_id, MP, date(2026, 3, 5), 1, "<b>broken</b>")
    neutral = FeedbackRecord(order(2).order_id, MP, date(2026, 3, 5), 3, "")
    coverage = FeedbackCoverage(MP, date(2026, 3, 2), date(2026, 3, 9))
    save(store, negative, neutral, coverage, source="feedback")
    assert counts(store, "odr") == (1, 2)
    save(store, neutral, coverage, source="feedback", seen_at=T0 + timedelta(days=10))
    assert counts(store, "odr") == (0, 2)
    with store.sessions() as session:
        assert session.get(m.Feedback, ("main", order(1).order_id)).removed_at == T0 + timedelta(days=10)


def test_removed_negative_feedback_is_observed_by_its_day_and_how_long_it_stood(store):
    save(store, order(1), order(2))
    coverage = FeedbackCoverage(MP, date(2026, 3, 2), date(2026, 3, 9))
    save(store, FeedbackRecord(order(1).order_id, MP, date(2026, 3, 5), 1, ""),
         FeedbackRecord(order(2).order_id, MP, date(2026, 3, 6), 2, ""), coverage, source="feedback")
    save(store, FeedbackRecord(order(2).order_id, MP, date(2026, 3, 6), 2, ""), coverage, source="feedback",
         seen_at=T0 + timedelta(days=10))  # order 1's is gone on the 11th, six days after it was left
    with store.sessions() as session:
        odr = next(o for o in observations(session, "main", (MP,), datetime(2026, 4, 1, tzinfo=timezone.utc), frozenset())
                   if o.definition.id == "odr" and o.definition.fulfillment == "MFN")
    assert odr.removals == {(date(2026, 3, 5), 6): 1}
    assert sum(odr.defect_ages.values()) == 1  # order 2's still stands


def test_feedback_outside_the_covered_days_is_not_marked_removed(store):
    save(store, order(1))
    save(store, FeedbackRecord(order(1).order_id, MP, date(2026, 3, 1), 2, ""), source="feedback")
    save(store, FeedbackCoverage(MP, date(2026, 3, 2), date(2026, 3, 9)), source="feedback")
    assert counts(store, "odr") == (1, 1)


def test_a_reversed_claim_stops_counting(store):
    save(store, order(1))
    grant = FinancialEventRecord("k1", order(1).order_id, "claim", 1, T0 + timedelta(days=9), Decimal("10.00"), "USD")
    save(store, grant, source="finances")
    save(store, grant, source="finances")
    assert counts(store, "odr") == (1, 1)
    reversal = FinancialEventRecord("k2", order(1).order_id, "claim", -1, T0 + timedelta(days=20), Decimal("10.00"), "USD")
    save(store, reversal, source="finances")
    assert counts(store, "odr") == (0, 1)


def test_facts_that_arrive_before_their_order_count_once_it_appears(store):
    save(store, PackageRecord(order(1).order_id, MP, tracking_valid=False, delivered=False), source="packages")
    save(store, order(1, "Shipped", T0 + timedelta(days=1)))
    assert counts(store, "vtr_30d") == (0, 1)


def test_only_changed_orders_touch_the_buckets(store):
    save(store, *[order(n, day=n % 20) for n in range(200)])
    changed = save(store, order(7, "Shipped", T0 + timedelta(days=8), day=7))
    assert changed == {order(7).order_id}
    assert counts(store, "odr") == (0, 200)
    assert counts(store, "lsr_30d") == (0, 1)


def test_odr_defects_are_aged_by_their_own_dates_even_when_read_months_later(store):
    assert odr_ages_after_a_backfill(store) == EXPECTED_ODR_AGES


@pytest.mark.postgres
def test_odr_defect_ages_read_the_same_on_postgresql(pg_store):
    assert odr_ages_after_a_backfill(pg_store) == EXPECTED_ODR_AGES


# Order 3 was a defect from its grant on day 12 (10 days after its order on the 3rd); order 4's grant came at 27.
EXPECTED_ODR_AGES = {(date(2026, 3, 1), 4): 1, (date(2026, 3, 3), 10): 1, (date(2026, 3, 4), 27): 1}


def odr_ages_after_a_backfill(store) -> dict:
    # A backfill: every fact is first read on 1 June, months after it happened.
    read_at = datetime(2026, 6, 1, tzinfo=timezone.utc)
    save(store, order(1, day=0), order(2, day=1), order(3, day=2), order(4, day=3), seen_at=read_at)
    save(store, FeedbackRecord(order(1).order_id, MP, date(2026, 3, 5), 1, ""),  # 4 days after its order
         FeedbackRecord(order(2).order_id, MP, date(2026, 3, 4), 5, ""),  # positive: no defect
         FeedbackRecord(order(3).order_id, MP, date(2026, 3, 20), 2, ""),  # 17 days, though granted earlier:
         source="feedback", seen_at=read_at)
    save(store, FinancialEventRecord("k3", order(3).order_id, "claim", 1, T0 + timedelta(days=12), Decimal("9"), "USD"),
         FinancialEventRecord("k4", order(4).order_id, "claim", 1, T0 + timedelta(days=30), Decimal("9"), "USD"),
         source="finances", seen_at=read_at)
    with store.sessions() as session:
        odr = next(o for o in observations(session, "main", (MP,), datetime(2026, 5, 1, tzinfo=timezone.utc), frozenset())
                   if o.definition.id == "odr" and o.definition.fulfillment == "MFN")
    return odr.defect_ages


def test_unshipped_orders_past_their_ship_by_date_are_observed_by_that_date(store):
    # Ship-by dates 3, 4 and 4 March; one shipped, one cancelled, one not yet due on the evaluation instant.
    save(store, order(1), order(2, day=1), order(3, day=1), order(4, "Shipped", T0 + timedelta(days=2), day=1),
         order(5, "Canceled", T0 + timedelta(days=1), day=1), order(6, day=4))
    at = datetime(2026, 3, 5, 12, tzinfo=timezone.utc)
    with store.sessions() as session:
        lsr = [o for o in observations(session, "main", (MP,), at, frozenset()) if o.definition.id.startswith("lsr")]
    assert [o.past_due for o in lsr] == [{date(2026, 3, 3): 1, date(2026, 3, 4): 2}] * 2
    assert [o.overdue for o in lsr] == [3, 3]


def test_unshipped_orders_of_ship_by_days_to_come_and_the_sellers_handling_time_are_observed(store):
    seen = orders_bought_already(store)
    assert [(seen[m].pending, seen[m].anchor_leads) for m in ("lsr_10d", "lsr_30d")] == [({date(2026, 3, 7): 1},
                                                                                        {2: 4})] * 2
    assert seen["lsr_30d"].past_due == {date(2026, 3, 3): 1}
    assert seen["odr"].pending == {} and seen["odr"].anchor_leads == {}


def test_the_units_promised_for_days_to_come_and_the_sellers_delivery_lead_are_observed_for_on_time_delivery(store):
    # Each delivery is promised seven days after the purchase: on 6 March the order bought on 25 February was due on
    # the 4th, the ones bought on 1, 4 and 5 March are due on the 8th, 11th and 12th; the cancelled one counts only in
    # the lead, as every order bought does.
    seen = orders_bought_already(store, earlier=True)
    assert seen["otdr_14d"].pending == {date(2026, 3, 8): 1, date(2026, 3, 11): 3, date(2026, 3, 12): 1}
    assert seen["otdr_14d"].anchor_leads == {7: 5}


@pytest.mark.postgres
def test_the_orders_bought_already_are_observed_the_same_on_postgresql(pg_store):
    seen = orders_bought_already(pg_store, earlier=True)
    assert [(seen[m].pending, seen[m].anchor_leads) for m in ("lsr_30d", "otdr_14d")] == [
        ({date(2026, 3, 7): 1}, {2: 5}), ({date(2026, 3, 8): 1, date(2026, 3, 11): 3, date(2026, 3, 12): 1}, {7: 5})]


def orders_bought_already(store, earlier: bool = False) -> dict:
    # Bought on 1, 4 and 5 March (and with `earlier` on 25 February), each due to ship two days on: on 6 March the one
    # due on the 7th is unshipped, the one due on the 6th shipped (3 units), the one due on the 3rd past due, the one
    # bought on the 5th cancelled. The handling time counts every order bought, however it ended.
    shipped = replace(order(2, "Shipped", T0 + timedelta(days=3, hours=5), day=3), quantity=3)
    save(store, *([order(0, day=-4)] if earlier else []), order(1), shipped, order(3, day=4),
         order(4, "Canceled", T0 + timedelta(days=4, hours=2), day=4))
    with store.sessions() as session:
        return {o.definition.id: o for o in observations(session, "main", (MP,), datetime(2026, 3, 6, tzinfo=timezone.utc),
                                                         frozenset())}


def test_a_sellers_marketplaces_are_observed_together_for_the_late_shipment_rates(store):
    # Ship-by 3 March: in the US one late shipment and one still unshipped (past due), in Canada one on time.
    canada = "A2EUQ1WTGCTBG2"
    save(store, order(1, "Shipped", T0 + timedelta(days=3)), order(2),
         replace(order(3, "Shipped", T0 + timedelta(days=1)), marketplace_id=canada))
    at = datetime(2026, 3, 5, tzinfo=timezone.utc)
    with store.sessions() as session:
        seen = observations(session, "main", (MP, canada), at, frozenset())
    lsr = [o for o in seen if o.definition.id == "lsr_30d"]
    assert [o.marketplace_id for o in lsr] == [canada, MP]
    assert [o.seller_days.counts for o in lsr] == [{date(2026, 3, 3): (2, 3)}] * 2
    assert all(o.seller_days is None for o in seen if o.definition.id == "odr")
    with store.sessions() as session:  # a seller who ships each marketplace from its own place says so
        apart = observations(session, "main", (MP, canada), at, frozenset(), ship_together=False)
    assert all(o.seller_days is None for o in apart)


def test_shipments_too_recent_for_amazons_report_are_observed_by_ship_by_day_and_the_day_it_shows_them(store):
    # Ship-by 3 March 01:00 for all three; Amazon's report shows a shipment 72 hours after its confirmation.
    save(store, order(1, "Shipped", T0 + timedelta(days=1, hours=10)),  # on time, shown on 6 March
         order(2, "Shipped", T0 + timedelta(days=3, hours=5)),  # late, shown on 8 March
         order(3, "Shipped", T0 + timedelta(days=1)))  # shown on 5 March: already in the report
    at = datetime(2026, 3, 5, tzinfo=timezone.utc)
    with store.sessions() as session:
        lsr = [o for o in observations(session, "main", (MP,), at, frozenset()) if o.definition.id.startswith("lsr")]
    assert [o.unreported for o in lsr] == [{(date(2026, 3, 3), 1): (0, 1), (date(2026, 3, 3), 3): (1, 1)}] * 2


def test_shipments_confirmed_early_for_ship_by_days_to_come_are_observed_with_the_day_amazon_shows_them(store):
    # Ordered 4 March 01:00, due to ship by 6 March, shipped on the 4th at noon: in no window on 5 March, on time, and
    # in Amazon's report from 8 March on. One still unshipped and one due the day before are not among them.
    save(store, order(1, "Shipped", T0 + timedelta(days=3, hours=12), day=3), order(2, day=3),
         order(3, "Shipped", T0 + timedelta(days=1), day=0))
    at = datetime(2026, 3, 5, tzinfo=timezone.utc)
    with store.sessions() as session:
        lsr = [o for o in observations(session, "main", (MP,), at, frozenset()) if o.definition.id.startswith("lsr")]
    assert [o.unreported for o in lsr] == [{(date(2026, 3, 6), 3): (0, 1)}] * 2


def test_on_time_delivery_is_observed_with_the_sizes_of_the_sellers_orders(store):
    # Units of one order arrive late together: three single-unit orders and one of three units. The other metrics
    # count orders.
    sizes = {1: 1, 2: 1, 3: 1, 4: 3}
    save(store, *(replace(order(n, day=n), quantity=q) for n, q in sizes.items()))
    with store.sessions() as session:
        seen = {o.definition.id: o.order_quantities for o in observations(session, "main", (MP,), T0 + timedelta(days=10),
                                                                   frozenset())}
    assert seen["otdr_14d"] == {1: 3, 3: 1} and all(v == {} for k, v in seen.items() if k != "otdr_14d")


def test_open_claims_amazons_count_gained_in_the_last_two_weeks_are_observed_as_recent(store):
    # Amazon's ODR figure counted 22 claims and chargebacks 14 days ago and 42 now, one of them granted and seen by the
    # daemon: 41 it cannot name, 20 of which came lately. A count from three weeks ago says nothing of the last two.
    now = T0 + timedelta(days=30)
    save(store, *(order(n, day=n % 20) for n in range(1, 41)))
    save(store, FinancialEventRecord("g1", order(1).order_id, "claim", 1, T0 + timedelta(days=9), Decimal("10.00"), "USD"),
         source="finances")

    def figure(at, claims):
        return m.AmazonFigure(account="main", marketplace_id=MP, metric="odr", fulfillment="MFN", fetched_at=at,
                              numerator=claims, denominator=1000, value=claims / 1000,
                              details=f'{{"claims": {claims - 2}, "chargebacks": 2}}')

    def odr(at):
        with store.sessions() as session:
            return next(o for o in observations(session, "main", (MP,), at, frozenset())
                        if o.definition.id == "odr" and o.definition.fulfillment == "MFN")

    with store.transaction() as session:
        session.add_all([figure(now - timedelta(days=21), 10), figure(now - timedelta(days=14, hours=1), 22),
                         figure(now - timedelta(hours=1), 42)])
    seen = odr(now)
    assert (seen.unattributed, seen.recent_claims, seen.granted_claims) == (41, 20, 1)
    assert odr(now - timedelta(days=2)).recent_claims == 0  # the nearest count before then is three weeks old


@pytest.mark.postgres
def test_the_same_storage_code_runs_on_postgresql(pg_store):
    page = [order(1), order(2, "Shipped", T0 + timedelta(days=3)), order(3, "Canceled", T0 + timedelta(hours=5))]
    for _ in range(2):
        save(pg_store, *page, cursor={"after": "x"})
    save(pg_store, FeedbackRecord(order(1).order_id, MP, date(2026, 3, 5), 1, ""), source="feedback")
    assert counts(pg_store, "odr") == (1, 3)
    assert counts(pg_store, "lsr_30d") == (1, 1)
    assert counts(pg_store, "cr_7d") == (0, 3)  # a v0 cancel never seen past Pending is not the seller's
    assert pg_store.cursor("main", "orders") == {"after": "x"}
