"""Where waits are real, a poll leaves what Amazon's usage plan or a report in the making would keep it waiting for
to the account's next turn: not a failure, nothing lost, nothing asked twice."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from daemon.app import build_for_scenario
from daemon.clock import ManualClock
from daemon.simulator.server import Faults, SimulatorServer
from storage import models as m
from tests.daemon.scenarios import small_account

SCENARIO = small_account()
END = SCENARIO.end
TURN = timedelta(minutes=15)


def test_a_dry_usage_plan_ends_the_poll_and_the_next_turns_read_on_from_the_cursor(tmp_path):
    clock = ManualClock(END + timedelta(minutes=3))
    with SimulatorServer(SCENARIO, clock) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "sentinel.db")
        account = app.accounts[0]
        for source in account.sources.values():
            source.caller.limiter.max_wait_seconds = 20  # as `run` sets it
        account.sources["orders"].page_size = 10  # more pages than searchOrders' burst of 20
        first = app.sync(account, until=END, feeds=("orders",))[0]
        assert first.deferred and first.error is None and first.pages == 20
        assert app.store.cursor("sim", "orders")["next_token"]
        turns = 1
        while app.store.cursor("sim", "orders").get("next_token"):
            clock.sleep(TURN.total_seconds())
            result = app.sync(account, until=END, feeds=("orders",))[0]
            assert result.error is None and 1 <= result.pages <= 6  # what 15 minutes of the plan allow
            turns += 1
        with app.store.sessions() as session:
            stored = session.scalar(select(func.count()).select_from(m.Order))
            health = session.get(m.FeedHealth, ("sim", "orders"))
    assert stored == len(SCENARIO.orders) and turns > 2
    assert health.failing_since is None and health.last_error is None


def test_a_report_still_being_made_is_taken_up_at_the_next_turn_not_asked_for_again(tmp_path):
    clock = ManualClock(END + timedelta(minutes=3))
    with SimulatorServer(SCENARIO, clock, faults=Faults(report_seconds=300)) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "sentinel.db")
        account = app.accounts[0]
        account.sources["performance"].caller.limiter.max_wait_seconds = 20
        first = app.sync(account, until=END, feeds=("performance",))[0]
        assert first.deferred and app.store.cursor("sim", "performance")["pending"]["report_id"]
        clock.sleep(TURN.total_seconds())
        second = app.sync(account, until=END, feeds=("performance",))[0]
        created = [c for c in server.calls if c.operation == "createReport"]
        with app.store.sessions() as session:
            reports = session.scalar(select(func.count()).select_from(m.PerformanceReport))
    assert not second.deferred and second.records == 1 and reports == 1
    assert len(created) == 1 and "pending" not in app.store.cursor("sim", "performance")
