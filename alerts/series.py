"""Numerator and denominator per anchor day, and what the days already known bring into a window. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from alerts.metrics.definitions import MetricDefinition


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


def pending(series: DaySeries, definition: MetricDefinition, today: date, extra: tuple[int, int] = (0, 0)) -> Projection:
    """The window once every known day has entered it (ODR trails by 14 days), with no new orders; `extra` is
    (numerator, denominator) already certain but in no bucket yet, e.g. unshipped orders past their ship-by date."""
    entered_day = today + timedelta(days=definition.window.offset_days)
    first, end = definition.window.days(entered_day)
    num, den = series.window(first, min(end, today))
    return Projection(entered_day, num + extra[0], den + extra[1])
