"""Amazon's ruder habits (REALITY.md), met through the daemon's own composition: edge answers move no cursor and
are seen failing, a spurious CANCELLED feedback report removes nothing, a delivery seen only through getOrder is
bounded by what was seen, and a deferred financial event is read by the overlap."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from daemon.app import build_for_scenario
from daemon.clock import ManualClock
from daemon.pipeline import local_metrics
from daemon.simulator.server import EDGE_ANSWERS, Faults, SimulatorServer
from storage import models as m
from tests.daemon.scenarios import small_account
from tests.daemon.sources.conftest import MP, event, header, order, order_id, scenario

SCENARIO = small_account()
END = SCENARIO.end
SETTLE = timedelta(minutes=3)


def metric_rows(app, at=END):
    return [(v.metric, v.fulfillment, v.numerator, v.denominator) for v in local_metrics(app.store, "sim", (MP,), at)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One clean sync of the small account: what a complete read gives."""
    clock = ManualClock(END + SETTLE)
    with SimulatorServer(SCENARIO, clock) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path_factory.mktemp("ref") / "ref.db")
        assert all(r.error is None for r in app.sync(app.accounts[0], until=END))
        return metric_rows(app)


@pytest.mark.parametrize("shape", list(EDGE_ANSWERS))
@pytest.mark.parametrize("feed", ["orders", "finances", "feedback"])
def test_an_edge_answer_moves_no_cursor_is_seen_failing_and_the_window_is_read_once_amazon_answers(
        tmp_path, reference, caplog, shape, feed):
    clock = ManualClock(END + SETTLE)
    faults = Faults()
    with SimulatorServer(SCENARIO, clock, faults=faults) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "edge.db")
        account = app.accounts[0]
        faults.edge_every, faults.edge_answers = 1, (shape,)  # every call of this poll meets the edge
        with caplog.at_level(logging.WARNING):
            [result] = app.sync(account, until=END, feeds=(feed,))
        assert result.error and result.records == 0 and "answered badly" in result.error
        assert app.store.cursor("sim", feed) is None
        with app.store.sessions() as session:
            health = session.get(m.FeedHealth, ("sim", feed))
            assert health.failing_since is not None and "answered badly" in health.last_error
        assert "bad answer account=sim operation=" in caplog.text
        faults.edge_every = 0
        assert all(r.error is None for r in app.sync(account, until=END))
        assert metric_rows(app) == reference
        with app.store.sessions() as session:
            assert session.get(m.FeedHealth, ("sim", feed)).failing_since is None


def test_a_spurious_cancelled_feedback_report_removes_nothing_changes_no_metric_and_sends_no_alert(tmp_path):
    clock = ManualClock(END + SETTLE)
    faults = Faults()
    with SimulatorServer(SCENARIO, clock, faults=faults) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "spurious.db")
        account = app.accounts[0]
        app.sync(account, until=END)
        app.evaluate(account, END, END)
        before = metric_rows(app)
        with app.store.sessions() as session:
            negative = session.scalars(select(m.Feedback.order_id).where(m.Feedback.rating <= 2,
                                                                           m.Feedback.removed_at.is_(None))).all()
        assert negative, "the small account has negative feedback to lose"
        for every in (1, 2, 2):  # a first report CANCELLED, again, then a clean one whose confirmation is CANCELLED
            faults.cancelled_feedback_every = every
            clock.advance(hours=6)
            [result] = app.sync(account, until=END, feeds=("feedback",))
            assert result.error is None
            assert metric_rows(app) == before
            assert app.evaluate(account, END, clock.now()).alerts == []
        with app.store.sessions() as session:
            assert session.scalars(select(m.Feedback.order_id).where(m.Feedback.removed_at.is_not(None),
                                                                      m.Feedback.order_id.in_(negative))).all() == []


START = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)
PROMISE = START + 7 * DAY + timedelta(hours=9)  # order(): placed at 09:00, promised a week later
EARLY, LATE = PROMISE - timedelta(hours=21), PROMISE + timedelta(hours=3)
DELIVERY_SCENARIO = scenario([
    header(START, START + 30 * DAY), order(1, START + timedelta(hours=9)), order(2, START + timedelta(hours=9)),
    event("ship", 1, START + DAY, carrier="UPS", tracking_id="1Z1", tracking_valid=True),
    event("ship", 2, START + DAY, carrier="UPS", tracking_id="1Z2", tracking_valid=True),
    event("deliver", 1, EARLY), event("deliver", 2, LATE),
])


def test_a_delivery_seen_only_through_get_order_is_recorded_between_the_sightings(tmp_path):
    clock = ManualClock(START + 2 * DAY + SETTLE)
    faults = Faults(delivery_moves_last_update=False)  # Amazon's own examples: lastUpdatedTime stays put
    with SimulatorServer(DELIVERY_SCENARIO, clock, faults=faults) as server:
        app = build_for_scenario(DELIVERY_SCENARIO, server.url, clock, tmp_path / "delivery.db")
        account = app.accounts[0]
        for day in range(2, 10):
            clock.set(START + day * DAY + SETTLE)
            app.sync(account, until=START + day * DAY)
        looked_up = sorted((c.path.rsplit("/", 1)[-1], c.status) for c in server.calls if c.operation == "getOrder")
    # Each is first looked up two days before its promise (when the to-do starts listing it), then daily until it is
    # seen delivered: the early one twice, the late one three times.
    assert looked_up == [(order_id(1), 200)] * 2 + [(order_id(2), 200)] * 3
    with app.store.sessions() as session:
        early, late = (session.get(m.Shipment, ("sim", order_id(n))) for n in (1, 2))
        contributions = {n: session.get(m.Order, ("sim", order_id(n))).contributions for n in (1, 2)}
    assert (early.delivered_after, early.delivered_at) == (START + 6 * DAY + SETTLE, START + 7 * DAY + SETTLE)
    assert early.delivered_after < EARLY <= early.delivered_at <= PROMISE
    assert (late.delivered_after, late.delivered_at) == (START + 7 * DAY + SETTLE, START + 8 * DAY + SETTLE)
    assert late.delivered_after < LATE <= late.delivered_at
    assert '["otdr_14d", "MFN", "2026-03-08", 1, 1]' in contributions[1]  # on time
    assert '["otdr_14d", "MFN", "2026-03-08", 0, 1]' in contributions[2]  # late


def test_a_deferred_financial_event_is_read_by_the_overlap_of_a_later_poll(tmp_path):
    granted_at = START + 3 * DAY
    lines = [header(START, START + 30 * DAY), order(1, START + timedelta(hours=9)),
             event("claim", 1, granted_at, claim_id="C1", status="granted", amount=20.5, currency="USD")]
    deferred = scenario(lines)
    clock = ManualClock(granted_at + timedelta(hours=1))
    with SimulatorServer(deferred, clock, faults=Faults(finance_delay_hours=36)) as server:
        app = build_for_scenario(deferred, server.url, clock, tmp_path / "deferred.db")
        account = app.accounts[0]
        for hours in (1, 12, 24, 40):  # polls before and after Amazon releases the event
            clock.set(granted_at + timedelta(hours=hours, minutes=3))
            app.sync(account, until=granted_at + timedelta(hours=hours), feeds=("orders", "finances"))
            with app.store.sessions() as session:
                events = session.scalars(select(m.FinancialEvent)).all()
            assert len(events) == (1 if hours >= 36 else 0)
    assert (events[0].order_id, events[0].direction) == (order_id(1), 1)


def test_a_financial_event_malformed_once_is_read_again_by_its_order_on_a_later_poll(tmp_path):
    granted_at = START + 3 * DAY
    claimed = scenario([header(START, START + 30 * DAY), order(1, START + timedelta(hours=9)),
                        event("claim", 1, granted_at, claim_id="C1", status="granted", amount=20.5, currency="USD")])
    clock = ManualClock(granted_at + DAY)
    faults = Faults(malformed_every=1)  # every record of this poll served with a blank field
    with SimulatorServer(claimed, clock, faults=faults) as server:
        app = build_for_scenario(claimed, server.url, clock, tmp_path / "claim.db")
        account = app.accounts[0]
        app.sync(account, until=granted_at + DAY - SETTLE, feeds=("finances",))
        with app.store.sessions() as session:
            [waiting] = session.scalars(select(m.QuarantinedPayload)).all()
            assert (waiting.retry_key, waiting.resolved_at) == (f"finance:{order_id(1)}", None)
        faults.malformed_every = 0
        clock.advance(hours=1)
        app.sync(account, until=granted_at + DAY, feeds=("orders", "quarantine"))
        asked = [c.path for c in server.calls if c.operation == "listFinancialEventsByOrderId"]
    with app.store.sessions() as session:
        events = session.scalars(select(m.FinancialEvent)).all()
        healed = session.get(m.QuarantinedPayload, waiting.id)
    assert asked == [f"/finances/v0/orders/{order_id(1)}/financialEvents"]
    assert [(e.order_id, e.direction) for e in events] == [(order_id(1), 1)] and healed.resolved_at is not None


def test_fatal_reports_are_seen_failing_and_asked_again_until_one_is_made(tmp_path, reference):
    clock = ManualClock(END + SETTLE)
    faults = Faults(fatal_reports_every=1)  # Amazon makes no report at all for a while
    with SimulatorServer(SCENARIO, clock, faults=faults) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "fatal.db")
        account = app.accounts[0]
        results = {r.source: r for r in app.sync(account, until=END)}
        for feed in ("feedback", "performance"):
            assert "FATAL" in (results[feed].error or ""), feed
            with app.store.sessions() as session:
                assert "FATAL" in session.get(m.FeedHealth, ("sim", feed)).last_error
        assert results["orders"].error is None  # the order feeds do not wait for reports
        faults.fatal_reports_every = 0
        clock.advance(hours=6)
        assert all(r.error is None for r in app.sync(account, until=END))
        assert metric_rows(app) == reference
        with app.store.sessions() as session:
            assert session.scalar(select(m.AmazonFigure).limit(1)) is not None  # the performance report, read
