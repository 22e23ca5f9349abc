"""The exact chance's resimulation counts Amazon's figure as the simulator's report does and ends orders as the
generator would."""
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bench.calibration import account_views
from bench.exact_chance import MfnOrder, _unended, breach_chance, figure, mfn_orders
from bench.known_rate import steady_sellers
from bench.observer import sweep
from daemon.simulator.generator import START, Rates

DAY = timedelta(days=1)


def test_its_figure_is_amazons_view_on_every_day():
    seller = steady_sellers(1, 2.0, 0.03)[0]
    orders = mfn_orders(seller.profile, seller.seed)
    _, amazon = account_views(seller)
    instants = [START + k * DAY for k in range(35, seller.profile.days, 3)]
    for at, theirs in sweep(amazon, instants):
        d = at.date()
        assert figure(orders, at.timestamp(), 30) == theirs.window(("lsr_30d", "MFN", seller.profile.marketplace),
                                                                   d - 30 * DAY, d)


def test_a_seller_that_never_ships_late_never_breaches_and_one_that_always_does_always_does():
    seller = steady_sellers(1, 2.0, 0.0)[0]
    at = START + 100 * DAY
    rng = np.random.default_rng(1)
    never = breach_chance(mfn_orders(seller.profile, seller.seed), seller.profile, at, 30, (1, 25), 14, 200, rng)
    always_profile = replace(seller.profile, rates=Rates(late_ship=1.0))
    always = breach_chance(mfn_orders(always_profile, seller.seed), always_profile, at, 30, (1, 25), 14, 200, rng)
    assert never == 0.0 and always == 1.0


def test_an_unshipped_order_past_its_ship_by_instant_ends_late_or_cancelled():
    bought = START.timestamp()
    past_due = MfnOrder(bought, bought + 50 * 3600, None, None)
    day, confirmed, late, counted = _unended(past_due, bought + 52 * 3600, 0.02, 0.01, 0.003, 500,
                                             np.random.default_rng(2))
    assert counted.all() and late.all() and (confirmed > bought + 52 * 3600).all()
    fresh = MfnOrder(bought, bought + 50 * 3600, None, None)  # an hour old: mostly on time, some cancelled
    _, _, late, counted = _unended(fresh, bought + 3600, 0.02, 0.01, 0.003, 4000, np.random.default_rng(3))
    assert 0.005 < 1 - counted.mean() < 0.02 and 0.01 < late.mean() < 0.03
