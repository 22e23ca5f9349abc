"""How early and how right the alerts of a replay were, against Amazon's published figures (the simulator's recompute).

lead_times: for every day on which Amazon's figure crosses a limit (after monitor_from), the alert that
was raised for that metric and not resolved before it, and how many days ahead it came.
forecast_hits: how many forecast_breach_at values came true, within a tolerance, in Amazon's figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.metrics.definitions import METRICS
from daemon.clock import parse_instant
from daemon.simulator.amazon import figures
from daemon.simulator.scenario import Scenario

DAY = timedelta(days=1)
Key = tuple[str, str, str]  # marketplace, metric, fulfillment


@dataclass(frozen=True)
class LeadTime:
    key: Key
    crossed_at: datetime
    alerted_at: datetime | None

    @property
    def days(self) -> float | None:
        return None if self.alerted_at is None else (self.crossed_at - self.alerted_at) / DAY


def amazon_breaches(scenario: Scenario, enforced_otdr: frozenset[str] = frozenset({"ATVPDKIKX0DER"})) -> dict[Key, list[datetime]]:
    """Days from monitor_from to end on which Amazon's published figure is over the limit, per metric."""
    out: dict[Key, list[datetime]] = {}
    at = scenario.monitor_from
    while at <= scenario.end:
        for mp in scenario.marketplaces:
            f = figures(scenario, at, mp)
            for d in METRICS:
                if d.id == "otdr_14d" and mp not in enforced_otdr:
                    continue
                if d.id == "odr":
                    num, den = f["odr"][d.fulfillment].defective, f["odr"][d.fulfillment].orders
                else:
                    num, den = f[d.id].num, f[d.id].den
                if d.limit.breached(num, den):
                    out.setdefault((mp, d.id, d.fulfillment), []).append(at)
        at += DAY
    return out


def crossings(breach_days: dict[Key, list[datetime]], monitor_from: datetime) -> list[tuple[Key, datetime]]:
    """Each first day of a run of breached days, after monitor_from."""
    out = []
    for key, days in sorted(breach_days.items()):
        for day in days:
            if day > monitor_from and day - DAY not in days:
                out.append((key, day))
    return out


def lead_times(alert_rows: list[dict], breach_days: dict[Key, list[datetime]], monitor_from: datetime) -> list[LeadTime]:
    """For each crossing: the start of the alert run (raised, not resolved since) that preceded it, if any."""
    out = []
    for key, crossed in crossings(breach_days, monitor_from):
        rows = [r for r in alert_rows if (r["marketplace_id"], r["metric"], r["fulfillment"]) == key
                and parse_instant(r["at"]) < crossed]
        started = None
        for row in rows:
            if row["level"] == "resolved":
                started = None
            elif started is None:
                started = parse_instant(row["at"])
        out.append(LeadTime(key, crossed, started))
    return out


def forecast_hits(alert_rows: list[dict], breach_days: dict[Key, list[datetime]], tolerance_days: int = 2) -> tuple[int, int]:
    """(forecasts that came true within the tolerance, forecasts made) over alerts that carried one."""
    hits = total = 0
    for row in alert_rows:
        if not row.get("forecast_breach_at") or row["level"] == "resolved":
            continue
        total += 1
        predicted = parse_instant(row["forecast_breach_at"])
        days = breach_days.get((row["marketplace_id"], row["metric"], row["fulfillment"]), [])
        if any(abs((day - predicted) / DAY) <= tolerance_days for day in days):
            hits += 1
    return hits, total
