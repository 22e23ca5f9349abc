"""METRICS.md as data: every locally computed metric with its fulfillment, window and limit."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction


@dataclass(frozen=True)
class Limit:
    """Amazon's limit p/q; `upper` breaches at or above it, `lower` breaches below it (METRICS.md Conventions)."""

    p: int
    q: int
    direction: str  # "upper" | "lower"

    @property
    def value(self) -> float:
        return self.p / self.q

    def breached(self, numerator: int, denominator: int) -> bool:
        """Integer breach test; an empty window never breaches."""
        if denominator == 0:
            return False
        if self.direction == "upper":
            return numerator * self.q >= denominator * self.p
        return numerator * self.q < denominator * self.p

    def defects_to_breach(self, numerator: int, denominator: int) -> int:
        """More defective orders (with today's denominator) that cross the limit; 0 once crossed."""
        if self.direction == "upper":
            return max(0, -(-(self.p * denominator) // self.q) - numerator)
        if self.breached(numerator, denominator):
            return 0
        return max(0, (self.q * numerator - self.p * denominator) // self.q + 1)


@dataclass(frozen=True)
class WindowRule:
    """Half-open window [T - (offset + length) days, T - offset days) over the anchor day of each fact."""

    length_days: int
    offset_days: int = 0

    def days(self, evaluated_at_day: date) -> tuple[date, date]:
        """First day in the window and the first day after it."""
        end = evaluated_at_day - timedelta(days=self.offset_days)
        return end - timedelta(days=self.length_days), end


@dataclass(frozen=True)
class MetricDefinition:
    id: str
    fulfillment: str
    limit: Limit
    window: WindowRule
    anchor: str  # which date places an order in the window


ODR_OFFSET_DAYS = 14  # METRICS.md §1: the 60-day window ends 14 days before T

METRICS: tuple[MetricDefinition, ...] = (
    MetricDefinition("odr", "MFN", Limit(1, 100, "upper"), WindowRule(60, ODR_OFFSET_DAYS), "purchase"),
    MetricDefinition("odr", "AFN", Limit(1, 100, "upper"), WindowRule(60, ODR_OFFSET_DAYS), "purchase"),
    MetricDefinition("lsr_10d", "MFN", Limit(1, 25, "upper"), WindowRule(10), "latest_ship"),
    MetricDefinition("lsr_30d", "MFN", Limit(1, 25, "upper"), WindowRule(30), "latest_ship"),
    MetricDefinition("cr_7d", "MFN", Limit(1, 40, "upper"), WindowRule(7), "purchase"),
    MetricDefinition("vtr_30d", "MFN", Limit(95, 100, "lower"), WindowRule(30), "ship_confirm"),
    MetricDefinition("otdr_14d", "MFN", Limit(9, 10, "lower"), WindowRule(14, 7), "latest_delivery"),
)


def definition(metric: str, fulfillment: str) -> MetricDefinition:
    """The definition of one (metric, fulfillment) pair."""
    for item in METRICS:
        if item.id == metric and item.fulfillment == fulfillment:
            return item
    raise KeyError(f"unknown metric {metric} {fulfillment}")


# Amazon's targetCondition for each direction of limit (the report's GREATER_THAN means "at least", METRICS.md §4).
TARGET_CONDITIONS = {"LESS_THAN": "upper", "GREATER_THAN": "lower"}


def with_target(d: MetricDefinition, target: object, condition: object) -> MetricDefinition:
    """The definition with Amazon's own target for a marketplace when its report states one that makes sense
    (targets differ by marketplace, REALITY.md); otherwise the documented limit."""
    if TARGET_CONDITIONS.get(str(condition)) != d.limit.direction:
        return d
    try:
        value = Fraction(str(target)).limit_denominator(10_000)
    except (ValueError, ZeroDivisionError):
        return d
    if not 0 < value < 1 or (value.numerator, value.denominator) == (d.limit.p, d.limit.q):
        return d
    return replace(d, limit=Limit(value.numerator, value.denominator, d.limit.direction))
