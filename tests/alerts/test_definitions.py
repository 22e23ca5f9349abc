"""METRICS.md edge cases for the integer limit arithmetic."""
from datetime import date

import pytest

from alerts.metrics.definitions import METRICS, Limit, WindowRule, definition

ODR = Limit(1, 100, "upper")
VTR = Limit(95, 100, "lower")


@pytest.mark.parametrize(
    ("num", "den", "breached", "to_breach"),
    [
        (0, 126, False, 2),   # the seed case: 126 orders, two claims breach
        (1, 126, False, 1),
        (2, 126, True, 0),    # 1.59%
        (0, 99, False, 1),    # under 100 orders one defect breaches
        (1, 100, True, 0),    # exactly 1.00% is not "under 1%"
        (0, 0, False, 0),
        (9, 1000, False, 1),
    ],
)
def test_odr_breach_and_defects_to_breach_use_integer_arithmetic(num, den, breached, to_breach):
    assert ODR.breached(num, den) is breached
    assert ODR.defects_to_breach(num, den) == to_breach


@pytest.mark.parametrize(
    ("num", "den", "breached", "to_breach"),
    [
        (95, 100, False, 1),   # exactly 95% meets "at least 95%"
        (94, 100, True, 0),
        (100, 100, False, 6),
        (190, 200, False, 1),
    ],
)
def test_valid_tracking_lower_bound_passes_at_the_limit(num, den, breached, to_breach):
    assert VTR.breached(num, den) is breached
    assert VTR.defects_to_breach(num, den) == to_breach


def test_odr_window_is_sixty_days_ending_fourteen_days_before_t():
    first, end = definition("odr", "MFN").window.days(date(2026, 3, 15))
    assert (first, end) == (date(2025, 12, 31), date(2026, 3, 1))
    assert (end - first).days == 60


def test_otdr_window_drops_the_last_seven_days():
    assert WindowRule(14, 7).days(date(2026, 3, 22)) == (date(2026, 3, 1), date(2026, 3, 15))


def test_every_metric_of_metrics_md_is_defined_once():
    pairs = [(d.id, d.fulfillment) for d in METRICS]
    assert pairs == [("odr", "MFN"), ("odr", "AFN"), ("lsr_10d", "MFN"), ("lsr_30d", "MFN"),
                     ("cr_7d", "MFN"), ("vtr_30d", "MFN"), ("otdr_14d", "MFN")]


def test_amazons_target_for_a_marketplace_replaces_the_documented_limit_when_it_makes_sense():
    from alerts.metrics.definitions import definition, with_target

    otdr = definition("otdr_14d", "MFN")
    germany = with_target(otdr, 0.97, "GREATER_THAN")  # REALITY.md: on-time delivery 0.97 seen in Germany
    assert (germany.limit.p, germany.limit.q, germany.limit.direction) == (97, 100, "lower")
    assert germany.limit.breached(96, 100) and not otdr.limit.breached(96, 100)
    assert with_target(otdr, 0.9, "GREATER_THAN") is otdr
    assert with_target(otdr, 0.97, "LESS_THAN") is otdr  # a condition against the metric's direction is not trusted
    assert with_target(otdr, None, "GREATER_THAN") is otdr and with_target(otdr, 1.5, "GREATER_THAN") is otdr
    assert with_target(definition("cr_7d", "MFN"), "0.025", "LESS_THAN").limit.value == 0.025
