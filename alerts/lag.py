"""How late an order's ODR defects appear: the lag profile, learned from the ages at which the account's own defects
appeared. Pure.

F(k) is the share of an anchor day's defects (those that appear within `MATURE_AGE` days of the order) that have
appeared by age k. The ages an account shows are right-truncated: an order 10 days old shows only defects of age
10 or less. The reverse-time product-limit estimator allows for that: the reverse hazard h(j) = P(age = j | age <= j)
is estimated from the defects of orders at least j days old, and F(k) is the product of (1 - h(j)) over j > k.
It rests on defects, not on orders, so the defect rate itself does not enter it: a burst of defects neither looks
like a fast lag nor like a slow one, which a ratio of recent to mature day rates (the chain ladder) cannot avoid.
The default profile enters as `SHRINK_DEFECTS` defects that follow it, so an account with few defects keeps it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np

MATURE_AGE = 60
# Share of an order's eventual ODR defects visible by each age in days: feedback a few days after delivery,
# claims after a week or two and their grant days later, chargebacks later still ("several weeks" on average).
DEFAULT_KNOTS = ((0, 0.0), (3, 0.05), (7, 0.3), (14, 0.6), (21, 0.8), (30, 0.92), (45, 0.98), (MATURE_AGE, 1.0))
SHRINK_DEFECTS = 20.0  # the default counts as this many defects

DefectAges = Mapping[tuple[date, int], int]  # (anchor day, age in days when the defect appeared) -> defects


def default_profile() -> np.ndarray:
    """F at ages 0..MATURE_AGE from the default knots."""
    return np.interp(np.arange(MATURE_AGE + 1), [x for x, _ in DEFAULT_KNOTS], [y for _, y in DEFAULT_KNOTS])


def learned_profile(ages: DefectAges, today: date) -> np.ndarray:
    """F at ages 0..MATURE_AGE: the default moved toward the ages at which the account's defects appeared by `today`."""
    prior = default_profile()
    at_age = np.zeros(MATURE_AGE + 2)
    risk_steps = np.zeros(MATURE_AGE + 2)  # difference array: a defect of age k is at risk for j in [k, min(T, MATURE)]
    for (anchor, age), count in ages.items():
        order_age = (today - anchor).days
        if count <= 0 or not 0 <= age <= min(order_age, MATURE_AGE):
            continue
        at_age[age] += count
        risk_steps[age] += count
        risk_steps[min(order_age, MATURE_AGE) + 1] -= count
    at_risk = np.cumsum(risk_steps)[:MATURE_AGE + 1]
    # The default enters as SHRINK_DEFECTS defects that follow it: at age j, prior * S of them are at risk and
    # (prior[j] - prior[j-1]) * S appear.
    profile = np.ones(MATURE_AGE + 1)
    for k in range(MATURE_AGE, 0, -1):
        appearing = at_age[k] + SHRINK_DEFECTS * (prior[k] - prior[k - 1])
        profile[k - 1] = profile[k] * (1 - appearing / (at_risk[k] + SHRINK_DEFECTS * prior[k]))
    return profile


def profile_cdf(profile: np.ndarray):
    """F(age) for any ages (arrays too): 0 before the anchor day, the profile between, 1 once mature."""
    def cdf(ages):
        return np.interp(np.asarray(ages, dtype=float), np.arange(len(profile)), profile, left=0.0, right=1.0)
    return cdf
