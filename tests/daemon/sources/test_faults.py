"""An unreliable SP-API: throttling, server errors, malformed records and an unreachable host, on a virtual clock."""
from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone

import pytest

from daemon.clock import ManualClock
from daemon.errors import SourceUnavailable, Throttled
from daemon.simulator.server import Faults
from daemon.sources.records import CancellationRecord, FinancialEventRecord, OrderRecord, PackageRecord
from tests.daemon.sources.conftest import drain, event, feeds_for, header, order, order_id, records_of, scenario

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
END = datetime(2026, 3, 20, tzinfo=timezone.utc)
UNTIL = END - timedelta(days=1)
ORDERS = 12
ALL_IDS = sorted(order_id(n) for n in range(1, ORDERS + 1))
SCENARIO = scenario(
    [header(START, END)]
    + [order(n, START + timedelta(hours=6 * n)) for n in range(1, ORDERS + 1)]
    + [event("cancel", 3, START + timedelta(days=4), by="buyer"),
       event("claim", 4, START + timedelta(days=5), claim_id="C4", status="granted", amount=9.99, currency="USD"),
       event("chargeback", 6, START + timedelta(days=6), chargeback_id="B6", status="granted")]
)


def test_a_throttling_api_still_yields_every_record_and_the_waits_advance_virtual_time(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(throttle_every=2))
    feeds = feeds_for(server.url, clock, page_size=3)
    orders, _ = drain(feeds.orders_v0, UNTIL)
    packages, _ = drain(feeds.orders, UNTIL)
    finances, _ = drain(feeds.finances, UNTIL)
    assert sorted(o.order_id for o in records_of(orders, OrderRecord)) == ALL_IDS
    assert [c.order_id for c in records_of(orders, CancellationRecord)] == [order_id(3)]
    assert sorted(p.order_id for p in records_of(packages, PackageRecord)) == ALL_IDS
    assert len(records_of(finances, FinancialEventRecord)) == 2
    assert any(c.status == 429 for c in server.calls)
    assert clock.now() - END >= timedelta(minutes=1)  # at least one getOrders back-off of 1/rate, slept virtually


def test_server_errors_are_retried_and_nothing_is_lost(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(server_error_every=3))
    feeds = feeds_for(server.url, clock, page_size=3)
    orders, cursor = drain(feeds.orders_v0, UNTIL)
    assert sorted(o.order_id for o in records_of(orders, OrderRecord)) == ALL_IDS
    assert [c.status for c in server.calls if c.operation == "getOrders"].count(500) >= 1
    assert cursor == {"after": "2026-03-19T00:00:00Z"}
    assert feeds.caller.calls == sum(b.api_calls for b in orders) and feeds.caller.calls > 5


def test_a_server_that_keeps_failing_makes_the_source_unavailable_after_a_few_tries(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(server_error_every=1))
    with pytest.raises(SourceUnavailable) as failed:
        drain(feeds_for(server.url, clock).orders_v0, UNTIL)
    assert not failed.value.credentials_refused
    assert [c.status for c in server.calls if c.operation == "getOrders"] == [500] * 4


def test_a_backoff_longer_than_the_polls_budget_ends_the_poll_at_once_as_a_failure(simulator):
    """Where waits are real (the daemon), no backoff outlasts the poll's budget: the try counts as the feed's failure
    and the account's next turn tries again, instead of a worker sleeping minutes while other accounts wait."""
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(server_error_every=1))
    with pytest.raises(SourceUnavailable, match="failed: 500"):
        drain(feeds_for(server.url, clock, budget_seconds=20).orders_v0, UNTIL)
    assert [c.status for c in server.calls if c.operation == "getOrders"] == [500]
    assert clock.now() - END < timedelta(seconds=20)


def test_during_an_outage_each_feed_tries_once_and_waits_for_nothing_until_a_call_works(simulator):
    """500 accounts, four workers, Amazon down for an hour: a feed whose backoff fits the budget must not sleep it
    out once another feed of the account has found Amazon down, or the turns of the other accounts slip."""
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(server_error_every=1))
    feeds = feeds_for(server.url, clock, budget_seconds=20)
    with pytest.raises(SourceUnavailable):
        drain(feeds.orders_v0, UNTIL)
    slept_from = clock.now()
    with pytest.raises(SourceUnavailable):
        drain(feeds.finances, UNTIL)  # its 2 s backoff fits the budget, but Amazon is known to be down
    assert clock.now() == slept_from
    assert len([c for c in server.calls if c.operation == "listFinancialEvents"]) == 1


def test_endless_throttling_ends_in_throttled_after_eight_tries(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(throttle_every=1))
    with pytest.raises(Throttled) as throttled:
        drain(feeds_for(server.url, clock).orders_v0, UNTIL)
    assert [c.status for c in server.calls if c.operation == "getOrders"] == [429] * 8
    assert throttled.value.retry_after > 0
    # Waits double from one refill interval (about 60 s for getOrders) and are capped at 5 minutes.
    assert timedelta(minutes=20) <= clock.now() - END <= timedelta(minutes=40)


def test_malformed_records_become_rejects_with_reasons_and_the_valid_ones_all_arrive(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(malformed_every=5))
    batches, cursor = drain(feeds_for(server.url, clock, page_size=4).orders_v0, UNTIL)
    parsed = [o.order_id for o in records_of(batches, OrderRecord)]
    rejects = [r for b in batches for r in b.rejects]
    assert len(rejects) == 2 and len(parsed) == ORDERS - 2
    assert sorted(parsed + [json.loads(r.raw)["AmazonOrderId"] for r in rejects]) == ALL_IDS
    assert [r.error for r in rejects] == ["PurchaseDate is not a date-time: 'not-a-date'", "OrderStatus is missing"]
    assert {r.source for r in rejects} == {"orders_v0"}
    assert cursor == {"after": "2026-03-19T00:00:00Z"}


def test_a_malformed_package_is_rejected_and_the_other_packages_arrive(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(malformed_every=5))
    batches, _ = drain(feeds_for(server.url, clock).orders, UNTIL)
    rejects = [r for b in batches for r in b.rejects]
    parsed = [p.order_id for p in records_of(batches, PackageRecord)]
    assert len(rejects) == 2 and len(parsed) == ORDERS - 2 and len(set(parsed)) == len(parsed)
    assert [r.error for r in rejects] == ["createdTime is not a date-time: 'not-a-date'", "orderId is missing"]


def test_a_malformed_financial_event_is_rejected_and_the_other_kept(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock, Faults(malformed_every=2))
    batches, _ = drain(feeds_for(server.url, clock).finances, UNTIL)
    events = records_of(batches, FinancialEventRecord)
    rejects = [r for b in batches for r in b.rejects]
    assert [(e.order_id, e.kind) for e in events] == [(order_id(4), "claim")]
    assert len(rejects) == 1 and json.loads(rejects[0].raw)["AmazonOrderId"] == order_id(6)
    assert rejects[0].error == "PostedDate is not a date-time: 'not-a-date'"


def test_an_unreachable_host_makes_the_source_unavailable_without_blaming_credentials():
    with socket.socket() as probe:  # a loopback port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % probe.getsockname()[1]
    clock = ManualClock(END)
    with pytest.raises(SourceUnavailable) as unreachable:
        drain(feeds_for(url, clock).orders_v0, UNTIL)
    assert not unreachable.value.credentials_refused
    assert "ConnectError" in str(unreachable.value)
    assert clock.now() > END  # backed off between the tries, virtually
