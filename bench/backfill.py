"""Virtual time from a first start to exact metrics for a large seller: order reports against searchOrders alone.

A seller of 3,000 orders a day (30% fulfilled by Amazon) is first started with 90 days of history behind it. The
daemon polls every 15 virtual minutes as `run` does, each poll reading until Amazon's default usage plans (the
simulator's) run dry and leaving the rest to the next turn; reports take the simulator's time (30 s, order reports
one second per 100 rows). Per path: when every metric is shown with a figure (Amazon's report judges those whose window
is not read yet), when the ODR is exact (its history, the feedback report and the financial events are in), when
every metric is (searchOrders has swept the days the other windows need), and when the late shipments the seller has
let creep over the warning margin before installation are first alerted.
`python -m bench.backfill`.
"""
from __future__ import annotations

import logging
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from daemon.app import build
from daemon.clock import ManualClock
from daemon.config import AccountConfig, Secret, default_config
from daemon.service import BUDGET_WAIT_SECONDS, Daemon
from daemon.simulator.generator import Episode, Profile, generate
from daemon.simulator.scenario import Scenario, parse_scenario
from daemon.simulator.server import SimulatorServer
from daemon.status import status_report
from storage import models as m

POLL = timedelta(minutes=15)
GIVE_UP = timedelta(days=8)


def large_seller(orders_per_day: int = 3000, days: int = 90) -> Scenario:
    # Late shipments over the 3% warning margin (limit 4%) for the last weeks before installation.
    creep = Episode(days - 20, 21, {"late_ship": 0.045})
    profile = Profile("large", orders_per_day=orders_per_day, days=days + 1, monitor_from_day=days, afn_share=0.3,
                      episodes=(creep,))
    return parse_scenario(generate(profile, seed=5), "large")


def first_start(scenario: Scenario, from_reports: bool, directory: Path) -> dict:
    """Poll from the scenario's monitoring start until every metric is exact; virtual hours to each milestone."""
    clock = ManualClock(scenario.monitor_from)
    with SimulatorServer(scenario, clock) as server:
        base = default_config(directory)
        account = AccountConfig("large", scenario.seller_id, scenario.marketplaces, Secret("amzn1.application-oa2-client.x"),
                                Secret("secret"), Secret("Atzr|large"), api_url=server.url,
                                token_url=server.url + "/auth/o2/token")
        config = replace(base, accounts=(account,), channels=(),
                         simulator=replace(base.simulator, enabled=False),
                         daemon=replace(base.daemon, history_from_reports=from_reports))
        app = build(config, clock, budget_wait_seconds=BUDGET_WAIT_SECONDS)
        daemon = Daemon(config, app, clock.now())
        runtime = app.accounts[0]
        store = app.store
        odr_at = all_at = shown_at = alerted_at = None
        polls = 0
        started = time.perf_counter()
        while all_at is None and clock.now() - scenario.monitor_from < GIVE_UP:
            daemon.poll(runtime)
            polls += 1
            elapsed = clock.now() - scenario.monitor_from
            feedback = store.cursor("large", "feedback") or {}
            finances = store.cursor("large", "finances") or {}
            history = store.cursor("large", "order_history") if from_reports else {"done": True}
            odr_ready = bool(feedback.get("last_until")) and bool(finances) and not finances.get("next_token") and \
                (history or {}).get("done") and (from_reports or not store.orders_backfilling("large"))
            if odr_ready and odr_at is None:
                odr_at = elapsed
            if odr_at is not None and not store.orders_backfilling("large"):
                all_at = elapsed
            if shown_at is None and _every_metric_has_a_figure(store, config, clock.now()):
                shown_at = elapsed
            if alerted_at is None and _late_shipments_alerted(store):
                alerted_at = elapsed
            next_poll = scenario.monitor_from + POLL * polls
            clock.sleep(max(0.0, (next_poll - clock.now()).total_seconds()))
        seconds = time.perf_counter() - started
        app.store.engine.dispose()
    hours = lambda at: at.total_seconds() / 3600 if at is not None else None
    return {"shown_hours": hours(shown_at), "odr_hours": hours(odr_at), "all_hours": hours(all_at),
            "lsr_alert_hours": hours(alerted_at), "polls": polls, "wall_seconds": seconds}


def _every_metric_has_a_figure(store, config, now) -> bool:
    with store.sessions() as session:
        metrics = status_report(session, config, now)["accounts"][0]["metrics"]
    return bool(metrics) and all(row["value"] is not None for row in metrics)


def _late_shipments_alerted(store) -> bool:
    with store.sessions() as session:
        return session.scalar(select(m.AlertState.level).where(
            m.AlertState.metric == "lsr_10d", m.AlertState.last_notified_at.is_not(None))) is not None


def run(orders_per_day: int = 3000) -> dict:
    scenario = large_seller(orders_per_day)
    results = {"orders": len(scenario.orders)}
    for name, from_reports in (("reports", True), ("search_orders_only", False)):
        with tempfile.TemporaryDirectory() as tmp:
            results[name] = first_start(scenario, from_reports, Path(tmp))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
