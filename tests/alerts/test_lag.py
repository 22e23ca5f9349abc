"""The ODR lag profile learned from the ages at which an account's defects appeared: right on truncated data,
indifferent to bursts of defects, and the default where there is little to learn from."""
from collections import Counter
from datetime import date, timedelta

import numpy as np

from alerts.lag import MATURE_AGE, default_profile, learned_profile

TODAY = date(2026, 5, 1)
# Defects appear between 2 and 18 days after the order, most around day 8.
FAST = np.interp(np.arange(MATURE_AGE + 1), [0, 2, 10, 18, MATURE_AGE], [0.0, 0.1, 0.8, 1.0, 1.0])


def appeared(profile: np.ndarray, defects_per_day, days: int = 120, seed: int = 3) -> Counter:
    """(order day, age) of each defect an account shows today: a day k days old shows only defects of age <= k."""
    rng = np.random.default_rng(seed)
    pmf = np.diff(np.concatenate(([0.0], profile)))
    seen: Counter = Counter()
    for k in range(1, days + 1):
        for age in rng.choice(len(pmf), size=rng.poisson(defects_per_day(k)), p=pmf):
            if age <= k:
                seen[(TODAY - timedelta(days=k), int(age))] += 1
    return seen


def test_the_profile_is_recovered_from_the_ages_an_account_shows():
    learned = learned_profile(appeared(FAST, lambda k: 20.0), TODAY)
    assert np.abs(learned - FAST).max() < 0.05


def test_young_orders_that_can_only_show_early_defects_do_not_make_the_lag_look_short():
    # Four weeks of orders: half of them are too young to show a defect of age 14 or more.
    ages = appeared(FAST, lambda k: 40.0, days=28)
    learned = learned_profile(ages, TODAY)
    shape = learned[:29] / learned[28]  # beyond 28 days these ages say nothing; the default's tail stays
    assert np.abs(shape - FAST[:29]).max() < 0.05
    # Taking the ages as they are would.
    naive_at_7 = sum(n for (_, age), n in ages.items() if age <= 7) / sum(ages.values())
    assert naive_at_7 > FAST[7] + 0.05


def test_a_burst_of_defects_does_not_change_the_profile():
    steady = learned_profile(appeared(FAST, lambda k: 3.0), TODAY)
    burst = learned_profile(appeared(FAST, lambda k: 30.0 if 5 <= k <= 25 else 3.0), TODAY)
    assert np.abs(burst - steady).max() < 0.05
    assert np.abs(burst - FAST).max() < 0.05


def test_few_defects_move_the_default_a_little_and_none_not_at_all():
    assert np.allclose(learned_profile({}, TODAY), default_profile())
    few = learned_profile(appeared(FAST, lambda k: 0.1), TODAY)  # about a dozen defects in four months
    default = default_profile()
    assert default[14] < few[14] < FAST[14]
    assert few[14] - default[14] < 0.5 * (FAST[14] - default[14])


def test_defects_of_orders_too_young_to_show_them_are_ignored():
    # An age beyond the order's own age cannot have been seen (a clock or a data error): it must not count.
    impossible = Counter({(TODAY - timedelta(days=2), 20): 50})
    assert np.allclose(learned_profile(impossible, TODAY), default_profile())
