"""Runs the whole daemon over a scenario on a virtual clock and writes metrics.jsonl, alerts.jsonl and todo.jsonl
(FORMAT.md).

Never starts APScheduler: the replay calls the stages itself, one complete sync and one evaluation
per virtual day at 00:00Z.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from alerts.actions import OrderRef
from alerts.model import Alert, NotifyReason
from daemon.app import build_for_scenario
from daemon.clock import ManualClock, format_instant
from daemon.config import DATABASE_FILE
from daemon.pipeline import MetricValue
from daemon.simulator.scenario import load_scenario
from daemon.simulator.server import Faults, SimulatorServer

# Amazon refuses questions about the last two minutes (PITFALLS #5): the sync for day T runs just after.
SETTLE = timedelta(minutes=3)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class ReplaySummary:
    days: int
    metric_rows: int
    alerts: int
    api_calls: int


def replay(scenario_path: Path, out_dir: Path, config: Any = None, faults: Faults | None = None,
           state_dir: Path | None = None) -> ReplaySummary:
    """Replay one scenario file into out_dir; the same scenario always gives byte-identical files.

    `faults` makes the simulator misbehave, e.g. `Faults.realistic()`: Amazon at its worst (FORMAT.md).
    `state_dir` keeps the replay's database there (for `status`, `todo` and `plan` afterwards); by default it is
    thrown away.
    """
    scenario = load_scenario(scenario_path)
    clock = ManualClock(scenario.monitor_from)
    out_dir.mkdir(parents=True, exist_ok=True)
    metric_rows: list[dict[str, Any]] = []
    alert_rows: list[dict[str, Any]] = []
    todo_rows: list[dict[str, Any]] = []
    calls = days = 0
    with tempfile.TemporaryDirectory() as tmp, SimulatorServer(scenario, clock, faults=faults) as server:
        for suffix in ("", "-wal", "-shm") if state_dir is not None else ():
            (state_dir / (DATABASE_FILE + suffix)).unlink(missing_ok=True)  # a replay starts from an empty database
        database = (state_dir or Path(tmp)) / DATABASE_FILE
        app = build_for_scenario(scenario, server.url, clock, database, config)
        at = scenario.monitor_from
        while at <= scenario.end:
            clock.set(max(clock.now(), at + SETTLE))
            for account in app.accounts:
                calls += sum(r.api_calls for r in app.sync(account, until=at))
                if at == scenario.monitor_from:
                    continue  # the backfill: rows start the day after installation (FORMAT.md)
                evaluated = app.evaluate(account, at, now=at)
                metric_rows.extend(metric_row(v) for v in evaluated.values)
                alert_rows.extend(alert_row(a, evaluated.orders.get(a.alert_id, []))
                                  for a in evaluated.alerts if a.reason != NotifyReason.REPEAT)
                todo_rows.extend(item.row(at) for item in app.todo(account, at, now=at))
            days += 1
            at += DAY
    write_jsonl(out_dir / "metrics.jsonl", metric_rows)
    write_jsonl(out_dir / "alerts.jsonl", alert_rows)
    write_jsonl(out_dir / "todo.jsonl", todo_rows)
    return ReplaySummary(days=days, metric_rows=len(metric_rows), alerts=len(alert_rows), api_calls=calls)


def metric_row(v: MetricValue) -> dict[str, Any]:
    """One metrics.jsonl row, keys in FORMAT.md order."""
    return {
        "at": format_instant(v.at), "marketplace_id": v.marketplace_id, "metric": v.metric,
        "fulfillment": v.fulfillment, "numerator": v.numerator, "denominator": v.denominator, "value": v.value,
    }


def alert_row(a: Alert, orders: list[OrderRef]) -> dict[str, Any]:
    """One alerts.jsonl row, keys in FORMAT.md order: the breach probability and its horizon, then (metric alerts)
    every order behind it."""
    return {
        "at": format_instant(a.raised_at), "marketplace_id": a.key.marketplace_id, "metric": a.key.metric,
        "fulfillment": a.key.fulfillment, "level": a.level.value, "value": a.value, "limit": a.limit,
        "defects_to_breach": a.defects_to_breach,
        "forecast_breach_at": format_instant(a.forecast_breach_at) if a.forecast_breach_at else None,
        "breach_probability": None if a.breach_probability is None else round(a.breach_probability, 4),
        "breach_probability_days": a.breach_probability_days,
        "orders": [ref.row() for ref in orders] if a.kind == "metric" else [],
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rows sorted by `at` (stable: same-instant rows keep their computed order), one compact JSON object a line."""
    rows = sorted(rows, key=lambda row: row["at"])
    path.write_text("".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows), encoding="utf-8")
