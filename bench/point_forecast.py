"""The point forecast alerts used before the breach model: the first day the window, filled at the recent pace, breaches.

Kept as the baseline bench/calibration.py measures the breach probabilities against."""
from __future__ import annotations

from datetime import date, timedelta

from alerts.metrics.definitions import MetricDefinition
from alerts.series import DaySeries

PACE_DAYS = 14  # the recent days whose average stands for the days still to come
SHORT_PACE_DAYS = 3  # ...unless the last few days are worse: an episode (a stock-out) shows there first
SHORT_PACE_MIN_DENOMINATOR = 30  # below this, three days are noise, not an episode


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


def project(series: DaySeries, definition: MetricDefinition, today: date, horizon_days: int,
            extra: tuple[int, int] = (0, 0)) -> date | None:
    """First future day whose window, filled with known days and the recent pace for the rest, breaches."""
    pace_num, pace_den = pace(series, today, definition)
    for k in range(1, horizon_days + 1):
        day = today + timedelta(days=k)
        first, end = definition.window.days(day)
        known_num, known_den = series.window(first, min(end, today))
        future_days = max(0, (end - max(first, today)).days)
        num = known_num + extra[0] + round(pace_num * future_days)
        den = known_den + extra[1] + round(pace_den * future_days)
        if den > 0 and definition.limit.breached(num, den):
            return day
    return None
