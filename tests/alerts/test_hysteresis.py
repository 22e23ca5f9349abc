"""When a metric counts as clear of its warning margin: by a band of the margin-to-limit distance, or under the
margin with a negligible chance of a breach."""
from __future__ import annotations

import pytest

from alerts.evaluate import Evaluation, Thresholds
from alerts.hysteresis import Hysteresis, clear_of_margin
from alerts.model import Level

ODR = Thresholds(warning_rate=0.0075)  # limit 1%: clear below 0.625% with the band at 0.5
VTR = Thresholds(warning_rate=0.97)  # limit 95% (lower bound): clear from 98%
H = Hysteresis(band=0.5, days=7, negligible=0.02)


def evaluation(value: float | None, limit: float, chance: float | None = 0.1) -> Evaluation:
    return Evaluation(level=Level.OK, value=value, limit=limit, numerator=0, denominator=100, defects_to_breach=3,
                      forecast_breach_at=None, breach_probability=chance, probability_days=14, outlook=None,
                      headline="", explanation=(), advice=(), low_volume=False, amazon_value=None)


@pytest.mark.parametrize("value, chance, clear", [
    (0.0080, 0.0, False),  # over the margin: never clear
    (0.0070, 0.10, False),  # under it, within the band, a real chance: hovering
    (0.0070, 0.01, True),  # under it with a negligible chance
    (0.0062, 0.10, True),  # under the band
    (0.0070, None, False),
])
def test_an_upper_bound_metric(value, chance, clear):
    assert clear_of_margin(evaluation(value, 0.01, chance), ODR, "upper", H) is clear


@pytest.mark.parametrize("value, clear", [(0.965, False), (0.975, False), (0.98, True)])
def test_a_lower_bound_metric_is_clear_above_its_margin_by_the_band(value, clear):
    assert clear_of_margin(evaluation(value, 0.95), VTR, "lower", H) is clear


def test_no_orders_or_no_rate_margin_is_nothing_to_hover_around():
    assert clear_of_margin(evaluation(None, 0.01), ODR, "upper", H)
    assert clear_of_margin(evaluation(0.009, 0.01), Thresholds(warning_defects_left=2), "upper", H)
