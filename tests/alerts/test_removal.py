"""Removed negative feedback: how much of an account's ODR defects leave Amazon's figure again, and when."""
from datetime import date, timedelta

import numpy as np

from alerts.removal import PRIOR_SHARE, SHOWN_AFTER_DAYS, learned_removals

TODAY = date(2026, 5, 1)


def standing(count: int, days_ago: int) -> dict:
    """`count` defects that appeared `days_ago` days ago on orders placed three days before."""
    return {(TODAY - timedelta(days=days_ago + 3), 3): count}


def test_an_account_without_removals_keeps_a_small_share_that_its_old_defects_shrink():
    few, many = learned_removals(standing(5, 40), {}, TODAY), learned_removals(standing(200, 40), {}, TODAY)
    assert few.share < PRIOR_SHARE and many.share < few.share / 5


def test_an_account_that_has_its_feedback_removed_is_expected_to_again():
    removed = {(TODAY - timedelta(days=30), 4): 20}  # 20 of its 60 defects were removed, four days after they came
    belief = learned_removals(standing(40, 30), removed, TODAY)
    assert 0.25 < belief.share < 0.4
    fresh = float(belief.removed_by(np.array(0), np.array(14)))  # a defect that appeared today, two weeks on
    old = float(belief.removed_by(np.array(20), np.array(14)))
    assert fresh > 0.2 and old < 0.05


def test_amazon_shows_a_removal_only_after_its_reporting_lag():
    belief = learned_removals(standing(10, 30), {(TODAY - timedelta(days=30), 3): 10}, TODAY)  # half, in 3 days
    assert float(belief.removed_by(np.array(0), np.array(SHOWN_AFTER_DAYS))) == 0.0
    assert float(belief.removed_by(np.array(0), np.array(SHOWN_AFTER_DAYS + 4))) > 0.15
