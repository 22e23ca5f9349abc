"""The feeds against the simulator through the real client: paging, removals, reversals, refused credentials."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from daemon.clock import ManualClock
from daemon.errors import SourceUnavailable
from daemon.simulator.scenario import parse_scenario
from daemon.simulator.server import Faults, SimulatorServer
from daemon.sources.feedback import parse_day, parse_feedback
from daemon.sources.records import FeedbackCoverage, FeedbackRecord, FinancialEventRecord, OrderRecord
from daemon.sources.spapi import AccountEndpoint
from daemon.app import build_sources

MP = "ATVPDKIKX0DER"
HEADER = '{"type":"scenario","version":1,"name":"t","seller_id":"A2","marketplaces":["ATVPDKIKX0DER"],"start":"2026-03-01T00:00:00Z","end":"2026-03-20T00:00:00Z"}'


def order(n: int, day: int) -> str:
    return ('{"type":"order","at":"2026-03-%02dT10:00:00Z","order_id":"111-%07d-0000001","marketplace_id":"ATVPDKIKX0DER",'
            '"channel":"MFN","purchase_date":"2026-03-%02dT10:00:00Z","earliest_ship_date":"2026-03-%02dT10:00:00Z",'
            '"latest_ship_date":"2026-03-%02dT23:59:59Z","earliest_delivery_date":"2026-03-%02dT00:00:00Z",'
            '"latest_delivery_date":"2026-03-%02dT23:59:59Z","quantity":1,"total":20.5,"currency":"USD"}'
            % (day, n, day, day, day + 2, day + 4, day + 7))


def event(kind: str, n: int, at: str, **extra) -> str:
    import json

    return json.dumps({"type": kind, "at": at, "order_id": f"111-{n:07d}-0000001", **extra})


SCENARIO = parse_scenario([HEADER, order(1, 1), order(2, 1), order(3, 2),
                           event("feedback", 1, "2026-03-05T08:00:00Z", rating=1, comment='<b>bad</b> "really"\tawful'),
                           event("feedback", 2, "2026-03-05T09:00:00Z", rating=5),
                           event("claim", 3, "2026-03-06T00:00:00Z", claim_id="C1", status="open", amount=20.5, currency="USD"),
                           event("claim", 3, "2026-03-08T00:00:00Z", claim_id="C1", status="granted"),
                           event("cancel", 2, "2026-03-01T12:00:00Z", by="buyer", reason="BuyerCanceled"),
                           event("feedback_removed", 1, "2026-03-10T00:00:00Z"),
                           event("claim", 3, "2026-03-12T00:00:00Z", claim_id="C1", status="denied")], "t")


def feeds(server, clock, refresh_token="Atzr|feeds", secret="s"):
    endpoint = AccountEndpoint("main", (MP,), "client", secret, refresh_token, api_url=server.url,
                               token_url=server.url + "/auth/o2/token", timeout_seconds=5)
    return build_sources(endpoint, clock, backfill_days=30)


def records(source, until, cursor=None):
    out = []
    for batch in source.pages(cursor, until):
        out.extend(batch.records)
        cursor = batch.next_cursor
    return out, cursor


def test_orders_page_through_and_buyer_cancellations_are_recognised():
    clock = ManualClock(SCENARIO.end)
    with SimulatorServer(SCENARIO, clock) as server:
        source = feeds(server, clock)["orders"]
        source.page_size = 1
        got, cursor = records(source, SCENARIO.end - timedelta(days=1))
    orders = [r for r in got if isinstance(r, OrderRecord)]
    assert len(orders) == 3 and cursor == {"after": "2026-03-19T00:00:00Z"}
    cancellations = [r for r in got if not isinstance(r, OrderRecord)]
    assert [(c.order_id, c.by) for c in cancellations] == [("111-0000002-0000001", "buyer")]


def test_the_feedback_report_drops_removed_feedback_inside_its_covered_days():
    clock = ManualClock(SCENARIO.end)
    with SimulatorServer(SCENARIO, clock) as server:
        source = feeds(server, clock)["feedback"]
        before, _ = records(source, until=SCENARIO.start + timedelta(days=8))
        after, _ = records(source, until=SCENARIO.end - timedelta(days=1))
    assert [(r.order_id, r.rating, r.feedback_day) for r in before if isinstance(r, FeedbackRecord)] == [
        ("111-0000001-0000001", 1, date(2026, 3, 5))]
    assert [r for r in after if isinstance(r, FeedbackRecord)] == []
    coverage = next(r for r in after if isinstance(r, FeedbackCoverage))
    assert coverage.first_day <= date(2026, 3, 5) <= coverage.last_day


def test_a_granted_claim_and_its_reversal_arrive_as_financial_events():
    clock = ManualClock(SCENARIO.end)
    with SimulatorServer(SCENARIO, clock) as server:
        got, _ = records(feeds(server, clock)["finances"], SCENARIO.end - timedelta(days=1))
    events = [r for r in got if isinstance(r, FinancialEventRecord)]
    assert [(e.kind, e.direction, str(e.amount)) for e in events] == [("claim", 1, "20.5"), ("claim", -1, "20.5")]
    assert len({e.event_key for e in events}) == 2


def test_refused_credentials_say_so_without_the_secret(caplog):
    clock = ManualClock(SCENARIO.end)
    faults = Faults(expired_client_secrets=frozenset({"expired-secret-value"}))
    with SimulatorServer(SCENARIO, clock, faults=faults) as server, caplog.at_level(logging.DEBUG):
        source = feeds(server, clock, refresh_token="Atzr|refused", secret="expired-secret-value")["orders"]
        with pytest.raises(SourceUnavailable) as refused:
            records(source, SCENARIO.end - timedelta(days=1))
    assert refused.value.credentials_refused
    assert "expired-secret-value" not in str(refused.value) + caplog.text
    assert "Atzr|refused" not in str(refused.value) + caplog.text


@pytest.mark.parametrize(("text", "marketplace", "day"), [
    ("3/7/26", "ATVPDKIKX0DER", date(2026, 3, 7)), ("7/3/26", "A1F83G8C2ARO7P", date(2026, 3, 7)),
    ("7.3.26", "A1PA6795UKMFR9", date(2026, 3, 7)), ("26/3/7", "A1VC38T7YXB528", date(2026, 3, 7)),
    ("2026-03-07", "A2NODRKZP88ZB9", date(2026, 3, 7)),
])
def test_feedback_dates_follow_the_marketplace_format(text, marketplace, day):
    assert parse_day(text, marketplace) == day


def test_a_malformed_feedback_row_is_rejected_and_the_rest_kept():
    document = "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n3/7/26\tfive\tx\t\t111-1\ta@b\n3/8/26\t2\ty\t\t111-2\tc@d\n"
    kept, rejects = parse_feedback(document, MP, "feedback")
    assert [r.order_id for r in kept] == ["111-2"]
    assert len(rejects) == 1 and "five" in rejects[0].raw


def test_packages_page_through_the_slow_2026_api_and_report_cancellations():
    from daemon.sources.records import PackageRecord

    clock = ManualClock(SCENARIO.end)
    with SimulatorServer(SCENARIO, clock) as server:
        source = feeds(server, clock)["packages"]
        source.page_size = 1
        batches = list(source.pages(None, SCENARIO.end - timedelta(days=1)))
    assert len(batches) == 3 and batches[0].next_cursor["next_token"]
    packages = {r.order_id: r for b in batches for r in b.records if isinstance(r, PackageRecord)}
    assert packages["111-0000002-0000001"].cancelled_by == "buyer"


def test_a_report_with_a_malformed_row_marks_nothing_removed():
    clock = ManualClock(SCENARIO.end)
    with SimulatorServer(SCENARIO, clock, faults=Faults(malformed_every=1)) as server:
        batches = list(feeds(server, clock)["feedback"].pages(None, SCENARIO.start + timedelta(days=8)))
    assert batches[-1].rejects and not any(isinstance(r, FeedbackCoverage) for r in batches[-1].records)


def test_a_feedback_report_requested_before_a_failure_is_picked_up_again_not_requested_twice(store):
    from daemon.pipeline import poll_source

    clock = ManualClock(SCENARIO.end)
    # The report takes longer than the poll waits; the next poll finds it done.
    faults = Faults(report_seconds=7200)
    with SimulatorServer(SCENARIO, clock, faults=faults) as server:
        source = feeds(server, clock)["feedback"]
        failed = poll_source(store, "main", source, SCENARIO.end - timedelta(days=1), clock.now())
        assert failed.error is not None
        assert store.cursor("main", "feedback")["pending"][MP]["report_id"]
        faults.report_seconds = 30
        done = poll_source(store, "main", source, SCENARIO.end - timedelta(days=1), clock.now())
        creates = [c for c in server.calls if c.operation == "createReport" and c.status == 202]
    assert done.error is None and done.records > 0
    assert len(creates) == 1
    assert store.cursor("main", "feedback")["pending"] == {}
