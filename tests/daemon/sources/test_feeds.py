"""The feeds against the simulator through the real client: paging, cancellations, packages, feedback, finances."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from daemon.clock import ManualClock, parse_instant
from daemon.errors import SourceUnavailable
from daemon.simulator.server import Faults
from daemon.sources.feedback import covered_days, parse_day, parse_feedback
from daemon.sources.records import (
    CancellationRecord, FeedbackCoverage, FeedbackRecord, FinancialEventRecord, OrderRecord, PackageRecord,
)
from tests.daemon.sources.conftest import MP, drain, event, feeds_for, header, order, order_id, records_of, scenario

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
END = datetime(2026, 3, 20, tzinfo=timezone.utc)
UNTIL = END - timedelta(days=1)


def day(n: int, hour: int = 10) -> datetime:
    return START + timedelta(days=n - 1, hours=hour)


SCENARIO = scenario([
    header(START, END),
    order(1, day(1)), order(2, day(1)), order(3, day(2)), order(4, day(3)), order(5, day(3)),
    order(6, day(3), channel="AFN"), order(7, day(2)),
    event("cancel", 2, day(1, 12), by="buyer", reason="Found cheaper somewhere else."),
    event("ship", 4, day(4), carrier="UPS", tracking_id="1Z999", tracking_valid=True),
    event("ship", 5, day(4), carrier="UPS", tracking_id="BOGUS", tracking_valid=False),
    event("feedback", 1, day(5, 8), rating=1, comment='<b>bad</b> "really"\tawful & late'),
    event("feedback", 2, day(5, 9), rating=5),
    event("cancel", 7, day(5), by="amazon", reason="ship_confirm_timeout"),
    event("claim", 3, day(6, 0), claim_id="C1", status="open", amount=20.5, currency="USD"),
    event("deliver", 4, day(6)),
    event("feedback", 4, day(7), rating=3, comment="it's <i>ok</i>"),
    event("claim", 3, day(8, 0), claim_id="C1", status="granted"),
    event("chargeback", 5, day(9, 0), chargeback_id="CB1", status="granted", amount=12.25, currency="USD"),
    event("feedback_removed", 1, day(10, 0)),
    event("claim", 3, day(12, 0), claim_id="C1", status="denied"),
])


def test_orders_page_through_every_page_and_end_on_the_echoed_bound(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, cursor = drain(feeds_for(server.url, clock, page_size=2).orders_v0, UNTIL)
    orders = records_of(batches, OrderRecord)
    assert sorted(o.order_id for o in orders) == [order_id(n) for n in range(1, 8)]
    assert len(batches) == 4 and all(b.next_cursor["next_token"] for b in batches[:-1])
    assert cursor == {"after": "2026-03-19T00:00:00Z"}
    calls = [c for c in server.calls if c.operation == "getOrders"]
    assert len(calls) == 4 and {c.query["MaxResultsPerPage"] for c in calls} == {"2"}
    assert {c.query["LastUpdatedBefore"] for c in calls} == {"2026-03-19T00:00:00Z"}
    shipped = next(o for o in orders if o.order_id == order_id(4))
    assert (shipped.status, shipped.channel, shipped.quantity) == ("Shipped", "MFN", 1)
    assert shipped.latest_ship_at == day(3) + timedelta(days=2)


def test_cancelled_seller_orders_get_their_items_and_buyer_cancels_are_recognised(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, _ = drain(feeds_for(server.url, clock).orders_v0, UNTIL)
    cancellations = sorted(records_of(batches, CancellationRecord), key=lambda c: c.order_id)
    assert cancellations == [CancellationRecord(order_id(2), "buyer", "Found cheaper somewhere else."),
                             CancellationRecord(order_id(7), "unknown")]
    items_asked = sorted(c.path.split("/")[-2] for c in server.calls if c.operation == "getOrderItems")
    assert items_asked == [order_id(2), order_id(7)]
    assert batches[0].api_calls == 3  # getOrders and one getOrderItems per cancelled order


def test_a_restart_resumes_mid_pagination_from_the_stored_token(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    feeds = feeds_for(server.url, clock, page_size=3)
    first = next(iter(feeds.orders_v0.pages(None, UNTIL)))
    rest, cursor = drain(feeds_for(server.url, clock, page_size=3).orders_v0, UNTIL, first.next_cursor)
    ids = [o.order_id for o in records_of([first] + rest, OrderRecord)]
    assert sorted(ids) == [order_id(n) for n in range(1, 8)] and len(ids) == 7
    assert cursor == {"after": "2026-03-19T00:00:00Z"}


def test_an_expired_next_token_restarts_the_window_from_its_start(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    stale = {"after": "2026-02-17T00:00:00Z", "before": "2026-03-19T00:00:00Z", "next_token": "expired-token"}
    batches, cursor = drain(feeds_for(server.url, clock).orders_v0, UNTIL, stale)
    assert len(records_of(batches, OrderRecord)) == 7
    assert [c.status for c in server.calls if c.operation == "getOrders"] == [400, 200]
    assert cursor == {"after": "2026-03-19T00:00:00Z"}


def test_requests_never_reach_into_the_last_two_minutes(simulator):
    clock = ManualClock(datetime(2026, 3, 19, 12, 0, 30, tzinfo=timezone.utc))
    server = simulator(SCENARIO, clock)
    feeds = feeds_for(server.url, clock)
    _, orders_cursor = drain(feeds.orders_v0, clock.now())
    _, packages_cursor = drain(feeds.orders, clock.now())
    _, finances_cursor = drain(feeds.finances, clock.now())
    bounds = {c.operation: (c.query.get("LastUpdatedBefore") or c.query.get("lastUpdatedBefore")
                            or c.query.get("PostedBefore")) for c in server.calls
              if c.operation in ("getOrders", "searchOrders", "listFinancialEvents")}
    assert bounds == dict.fromkeys(("getOrders", "searchOrders", "listFinancialEvents"), "2026-03-19T11:58:30Z")
    assert orders_cursor == packages_cursor == finances_cursor == {"after": "2026-03-19T11:58:30Z"}


def test_nothing_is_asked_when_the_cursor_is_already_at_the_bound(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, cursor = drain(feeds_for(server.url, clock).orders_v0, UNTIL, {"after": "2026-03-19T00:00:00Z"})
    assert batches == [] and cursor == {"after": "2026-03-19T00:00:00Z"}
    assert [c for c in server.calls if c.operation == "getOrders"] == []


def test_the_2026_order_feed_tells_orders_tracking_delivery_and_who_cancelled(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, cursor = drain(feeds_for(server.url, clock, page_size=2).orders, UNTIL)
    orders = {o.order_id: o for o in records_of(batches, OrderRecord)}
    assert set(orders) == {order_id(n) for n in range(1, 8)}
    assert (orders[order_id(4)].status, orders[order_id(4)].ship_confirmed_at) == ("Shipped", day(4))  # packages[].shipTime
    assert (orders[order_id(6)].channel, orders[order_id(2)].status, orders[order_id(1)].left_pending) == ("AFN", "Canceled", True)
    assert orders[order_id(4)].latest_ship_at == day(3) + timedelta(days=2)
    packages = {p.order_id: p for p in records_of(batches, PackageRecord)}
    assert set(packages) == {order_id(n) for n in (1, 2, 3, 4, 5, 7)}  # seller-fulfilled only
    assert (packages[order_id(4)].tracking_valid, packages[order_id(4)].delivered) == (True, True)
    assert (packages[order_id(5)].tracking_valid, packages[order_id(5)].delivered) == (False, False)
    assert (packages[order_id(1)].tracking_valid, packages[order_id(1)].delivered) == (None, False)
    assert (packages[order_id(2)].cancelled_by, packages[order_id(2)].cancel_reason) == ("buyer", "Found cheaper somewhere else.")
    assert (packages[order_id(7)].cancelled_by, packages[order_id(7)].cancel_reason) == ("amazon", "ship_confirm_timeout")
    assert packages[order_id(4)].updated_at == day(6)  # the delivery moved lastUpdatedTime
    searches = [c for c in server.calls if c.operation == "searchOrders"]
    assert len(searches) == 4 and all("fulfilledBy" not in c.query for c in searches)
    assert {c.query["includedData"] for c in searches} == {"FULFILLMENT,PACKAGES,CANCELLATION"}
    assert cursor == {"after": "2026-03-19T00:00:00Z"}


def test_feedback_rows_keep_their_comment_and_the_report_covers_its_whole_days(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, cursor = drain(feeds_for(server.url, clock).feedback, datetime(2026, 3, 9, tzinfo=timezone.utc))
    rows = sorted({(r.order_id, r.rating, r.feedback_day, r.comment) for r in records_of(batches, FeedbackRecord)})
    assert rows == [(order_id(1), 1, date(2026, 3, 5), '<b>bad</b> "really" awful & late'),
                    (order_id(4), 3, date(2026, 3, 7), "it's <i>ok</i>")]
    # A clean report is confirmed by a second one over the same range before anything it lacks counts as removed.
    assert records_of(batches, FeedbackCoverage) == [
        FeedbackCoverage(MP, date(2025, 12, 9), date(2026, 3, 8), (order_id(1), order_id(4)))]
    assert cursor == {"last_until": "2026-03-09T00:00:00Z", "last_clean_at": "2026-03-20T00:01:00Z", "pending": {}}
    created = [c for c in server.calls if c.operation == "createReport"]
    assert [c.status for c in created] == [202, 202]


def test_removed_feedback_is_missing_from_a_later_report_whose_coverage_includes_its_day(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, _ = drain(feeds_for(server.url, clock).feedback, datetime(2026, 3, 19, 12, tzinfo=timezone.utc))
    assert [r.order_id for r in records_of(batches, FeedbackRecord)] == [order_id(4), order_id(4)]
    assert records_of(batches, FeedbackCoverage) == [
        FeedbackCoverage(MP, date(2025, 12, 20), date(2026, 3, 18), (order_id(4),))]


@pytest.mark.parametrize(("start", "end", "first", "last"), [
    ("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z", date(2026, 1, 1), date(2026, 2, 28)),
    ("2026-01-01T13:00:00Z", "2026-03-01T13:00:00Z", date(2026, 1, 2), date(2026, 2, 28)),
    ("2026-01-01T23:58:00Z", "2026-03-01T23:58:00Z", date(2026, 1, 2), date(2026, 2, 28)),
])
def test_coverage_is_the_whole_days_between_start_and_end(start, end, first, last):
    assert covered_days(parse_instant(start), parse_instant(end)) == (first, last)


@pytest.mark.parametrize(("text", "marketplace", "expected"), [
    ("3/7/26", "ATVPDKIKX0DER", date(2026, 3, 7)), ("7/3/26", "A1F83G8C2ARO7P", date(2026, 3, 7)),
    ("7.3.26", "A1PA6795UKMFR9", date(2026, 3, 7)), ("26/3/7", "A1VC38T7YXB528", date(2026, 3, 7)),
    ("2026-03-07", "A2NODRKZP88ZB9", date(2026, 3, 7)), ("12/1/26", "ATVPDKIKX0DER", date(2026, 12, 1)),
])
def test_feedback_dates_follow_the_marketplace_format(text, marketplace, expected):
    assert parse_day(text, marketplace) == expected


def test_a_malformed_feedback_row_is_rejected_and_the_rest_kept():
    document = ("Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"
                '3/7/26\tfive\tx\t\t111-1\ta@b\n3/8/26\t2\t"quoted" <p>html</p>\t\t111-2\tc@d\n13/13/26\t1\tz\t\t111-3\te@f\n')
    kept, rejects = parse_feedback(document, MP, "feedback")
    assert [(r.order_id, r.comment) for r in kept] == [("111-2", '"quoted" <p>html</p>')]
    assert [r.raw.split("\t")[4] for r in rejects] == ["111-1", "111-3"]
    assert all(r.error and r.source == "feedback" for r in rejects)


def test_a_report_with_a_malformed_row_marks_nothing_removed(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(malformed_every=2))  # the report's second row: rating "five"
    batches, cursor = drain(feeds_for(server.url, clock).feedback, datetime(2026, 3, 9, tzinfo=timezone.utc))
    assert [r.order_id for r in records_of(batches, FeedbackRecord)] == [order_id(1)]
    [rejected] = [r for b in batches for r in b.rejects]
    assert (rejected.retry_key, rejected.error) == (
        f"feedback:{order_id(4)}", "bad feedback row: invalid literal for int() with base 10: 'five'")
    assert records_of(batches, FeedbackCoverage) == [] and "last_clean_at" not in cursor
    assert len([c for c in server.calls if c.operation == "createReport"]) == 1  # nothing to confirm


def test_a_granted_claim_its_reversal_and_a_chargeback_arrive_as_financial_events(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, cursor = drain(feeds_for(server.url, clock, page_size=1).finances, UNTIL)
    events = sorted(records_of(batches, FinancialEventRecord), key=lambda e: e.posted_at)
    assert [(e.order_id, e.kind, e.direction, e.amount, e.currency, e.posted_at) for e in events] == [
        (order_id(3), "claim", 1, Decimal("20.5"), "USD", day(8, 0)),
        (order_id(5), "chargeback", 1, Decimal("12.25"), "USD", day(9, 0)),
        (order_id(3), "claim", -1, Decimal("20.5"), "USD", day(12, 0)),
    ]
    assert len({e.event_key for e in events}) == 3
    assert len(batches) == 3 and cursor == {"after": "2026-03-19T00:00:00Z"}


def test_financial_event_keys_are_stable_across_polls(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    first, _ = drain(feeds_for(server.url, clock).finances, UNTIL)
    again, _ = drain(feeds_for(server.url, clock).finances, UNTIL)
    keys = [e.event_key for e in records_of(first, FinancialEventRecord)]
    assert len(set(keys)) == 3  # a grant, its reversal and a chargeback
    assert keys == [e.event_key for e in records_of(again, FinancialEventRecord)]


@pytest.mark.parametrize("refusal", ["refresh_token", "client_secret"])
def test_refused_credentials_say_so_without_any_secret(simulator, caplog, refusal):
    clock = ManualClock(END)
    refresh_token, secret = "Atzr|refused-token-value", "expired-secret-value"
    faults = (Faults(refused_refresh_tokens=frozenset({refresh_token})) if refusal == "refresh_token"
              else Faults(expired_client_secrets=frozenset({secret})))
    server = simulator(SCENARIO, clock, faults)
    feeds = feeds_for(server.url, clock, refresh_token=refresh_token, secret=secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailable) as refused:
        drain(feeds.orders_v0, UNTIL)
    assert refused.value.credentials_refused
    assert "main" in str(refused.value)
    seen = str(refused.value) + repr(refused.value) + caplog.text + repr(feeds.orders_v0.clients.orders.credentials)
    assert refresh_token not in seen and secret not in seen
    assert [c.operation for c in server.calls] == ["token"]  # refused once, not retried
