"""Where a metric is heading: day-by-day projection of its window from per-day buckets and the recent pace. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from alerts.metrics.definitions import MetricDefinition

PACE_DAYS = 14  # the recent days whose average stands for the days still to come
SHORT_PACE_DAYS = 3  # ...unless the last few days are worse: an episode (a stock-out) shows there first
SHORT_PACE_MIN_DENOMINATOR = 30  # below this, three days are noise, not an episode


@dataclass(frozen=True)
class DaySeries:
    """Numerator and denominator per anchor day, for days before the evaluation day."""

    counts: dict[date, tuple[int, int]]

    def window(self, first: date, end: date) -> tuple[int, int]:
        num = den = 0
        day = first
        while day < end:
            n, d = self.counts.get(day, (0, 0))
            num += n
            den += d
            day += timedelta(days=1)
        return num, den


@dataclass(frozen=True)
class Projection:
    day: date
    numerator: int
    denominator: int


@dataclass(frozen=True)
class Forecast:
    breach_day: date | None
    pending: Projection | None  # the window once every known day has entered it, with no new orders


def pace(series: DaySeries, today: date, definition: MetricDefinition) -> tuple[float, float]:
    """Daily numerator and denominator for the days to come: the worse of the last 14 and the last 3 days."""
    paces = []
    for days in (PACE_DAYS, SHORT_PACE_DAYS):
        num, den = series.window(today - timedelta(days=days), today)
        if days == PACE_DAYS or den >= SHORT_PACE_MIN_DENOMINATOR:
            paces.append((num / days, den / days))
    share = lambda p: p[0] / p[1] if p[1] else 0.0  # noqa: E731
    worst = max if definition.limit.direction == "upper" else min
    return worst(paces, key=share)


def project(
    series: DaySeries,
    definition: MetricDefinition,
    today: date,
    horizon_days: int,
    extra: tuple[int, int] = (0, 0),
) -> Forecast:
    """First future day whose window, filled with known days and the recent pace for the rest, breaches.

    `extra` is (numerator, denominator) already certain but not in any bucket yet, e.g. unshipped orders
    past their ship-by date, which can only end as late shipments (METRICS.md §2).
    """
    pace_num, pace_den = pace(series, today, definition)
    # Known days that have not entered the window yet (ODR trails by 14 days) all enter by today + offset.
    entered_day = today + timedelta(days=definition.window.offset_days)
    first, end = definition.window.days(entered_day)
    known_num, known_den = series.window(first, min(end, today))
    pending = Projection(entered_day, known_num + extra[0], known_den + extra[1])
    breach_day = None
    for k in range(1, horizon_days + 1):
        day = today + timedelta(days=k)
        first, end = definition.window.days(day)
        known_num, known_den = series.window(first, min(end, today))
        future_days = max(0, (end - max(first, today)).days)
        num = known_num + extra[0] + round(pace_num * future_days)
        den = known_den + extra[1] + round(pace_den * future_days)
        if den > 0 and definition.limit.breached(num, den):
            breach_day = day
            break
    return Forecast(breach_day, pending)
