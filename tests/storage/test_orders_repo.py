"""The orders behind a metric are kept beside its buckets and read by index (storage/orders_repo.py)."""
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import event, select

from daemon.sources.records import FeedbackCoverage, FeedbackRecord, FinancialEventRecord, PackageRecord
from storage import models as m
from storage.orders_repo import counted_order_ids, order_details, undelivered_order_ids, unshipped_order_ids
from tests.storage.test_repo import MP, T0, order, save

WINDOW = (date(2026, 1, 1), date(2026, 6, 1))


def counted(store, metric: str) -> list[str]:
    with store.sessions() as session:
        return counted_order_ids(session, "main", MP, metric, "MFN", *WINDOW)


def test_an_order_joins_the_metrics_list_when_it_turns_defective_and_leaves_when_the_defect_is_undone(store):
    save(store, order(1), order(2))
    coverage = FeedbackCoverage(MP, date(2026, 3, 2), date(2026, 3, 9))
    save(store, FeedbackRecord(order(1).order_id, MP, date(2026, 3, 5), 1, "<b>broken</b>"), coverage, source="feedback")
    grant = FinancialEventRecord("k1", order(1).order_id, "claim", 1, T0 + timedelta(days=9), Decimal("10.00"), "USD")
    save(store, grant, source="finances")
    assert counted(store, "odr") == [order(1).order_id]  # feedback and claim: one order, once
    with store.sessions() as session:
        detail = order_details(session, "main", [order(1).order_id])[order(1).order_id]
    assert (detail.feedback_rating, detail.feedback_comment, detail.claim_granted_at) == (1, "<b>broken</b>", grant.posted_at)
    save(store, coverage, source="feedback", seen_at=T0 + timedelta(days=10))  # the feedback was removed
    assert counted(store, "odr") == [order(1).order_id]  # the claim still counts
    save(store, FinancialEventRecord("k2", order(1).order_id, "claim", -1, T0 + timedelta(days=20), Decimal("10.00"),
                                     "USD"), source="finances")
    assert counted(store, "odr") == []
    with store.sessions() as session:
        assert session.scalars(select(m.OrderDefect)).all() == []


def test_shipments_without_valid_tracking_and_late_shipments_are_listed_with_their_carrier(store):
    late = order(1, "Shipped", T0 + timedelta(days=4))
    save(store, late, order(2, "Shipped", T0 + timedelta(hours=2)))
    save(store, PackageRecord(order(2).order_id, MP, tracking_valid=False, delivered=False, carrier="CarrierX",
                              tracking_number="X1"), source="packages")
    assert counted(store, "lsr_30d") == [late.order_id]
    assert counted(store, "vtr_30d") == [late.order_id, order(2).order_id]  # no package seen: no valid tracking
    with store.sessions() as session:
        detail = order_details(session, "main", [order(2).order_id])[order(2).order_id]
    assert (detail.carrier, detail.tracking_number) == ("CarrierX", "X1")


def test_open_orders_and_undelivered_packages_are_found_by_their_deadlines(store):
    save(store, order(1), order(2, day=5), order(3, "Shipped", T0 + timedelta(hours=3)))
    save(store, PackageRecord(order(3).order_id, MP, tracking_valid=True, delivered=False), source="packages")
    with store.sessions() as session:
        assert unshipped_order_ids(session, "main", MP, T0 + timedelta(days=3)) == [order(1).order_id]
        now = order(3).latest_delivery_at - timedelta(days=1)
        assert undelivered_order_ids(session, "main", MP, now - timedelta(days=7), now + timedelta(days=2), now) == [
            order(3).order_id]


def test_each_read_uses_an_index_range_not_a_scan_of_the_orders(store):
    """The statements the reads really send, asked of SQLite's planner (without statistics, as the daemon leaves
    it): each starts from the index of its deadline, not from every order of the account."""
    save(store, order(1))
    sent: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    now = T0 + timedelta(days=3)
    with store.sessions() as session:
        counted_order_ids(session, "main", MP, "odr", "MFN", *WINDOW)
        unshipped_order_ids(session, "main", MP, now)
        undelivered_order_ids(session, "main", MP, now - timedelta(days=7), now + timedelta(days=2), now)
    event.remove(store.engine, "before_cursor_execute", record)
    assert len(sent) == 3
    expected = ("sqlite_autoindex_order_defects_1 (account=? AND marketplace_id=? AND metric=? AND fulfillment=? "
                "AND day>? AND day<?)", "ix_orders_open_ship_by (account=? AND channel=? AND status=? AND latest_ship_at<?)",
                "ix_orders_delivery_due (account=? AND latest_delivery_at>? AND latest_delivery_at<?)")
    with store.engine.connect() as connection:
        for (statement, parameters), index in zip(sent, expected, strict=True):
            plan = [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            assert index in plan[0], (statement, plan)
