"""Margin hysteresis: whether a metric is clearly clear of its warning margin, so that an open warning may resolve.
Pure.

A warning raised when a rate steps over its margin stays open while the rate hovers near it; it resolves once the
metric has been clear for `days` (decide() waits that long). Clear means the rate is below the margin by `band` of the
distance from the margin to the limit (ODR: margin 0.75%, limit 1%, band 0.5: below 0.625%), or below the margin with
a negligible chance of a breach (a large account whose steady rate sits just under its margin).
"""
from __future__ import annotations

from dataclasses import dataclass

from alerts.evaluate import Evaluation, Thresholds


@dataclass(frozen=True)
class Hysteresis:
    """Defaults chosen on the bench family's tuning part (README, "Margins that do not flap")."""

    band: float = 0.5  # of the distance from the warning margin to the limit
    days: int = 7  # how long a metric must stay clear before its warning resolves
    negligible: float = 0.02  # a chance of a breach this low counts as clear once the rate is under the margin


def clear_of_margin(ev: Evaluation, thresholds: Thresholds, direction: str, hysteresis: Hysteresis) -> bool:
    """The metric is clearly below its warning margin (above it, for a lower-bound metric) in this evaluation."""
    margin = thresholds.warning_rate
    if ev.value is None or margin is None:
        return True  # no orders in the window, or no rate margin: nothing to hover around
    upper = direction == "upper"
    below_margin = ev.value < margin if upper else ev.value >= margin
    if not below_margin:
        return False
    band = hysteresis.band * abs(ev.limit - margin)
    clearly = ev.value < margin - band if upper else ev.value >= margin + band
    chance = ev.breach_probability
    return clearly or (chance is not None and chance < hysteresis.negligible)
