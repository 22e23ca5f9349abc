"""How many of an account's ODR defects leave Amazon's figure again: negative feedback removed, learned from the
account's own removals as the lag is learned from its appearances (alerts/lag.py). Pure.

A defect that appeared s days ago is removed later with probability share * (1 - R(s)) / (1 - share * R(s)), where
`share` is the part of the account's defects that end removed and R the share of removals made within s days of the
defect appearing. Both start from a default that a few removals hardly move. Amazon's figure shows a removal
`SHOWN_AFTER_DAYS` later (METRICS.md: up to 48 hours).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from alerts.lag import DefectAges

SHOWN_AFTER_DAYS = 2
LONGEST_DELAY = 30  # removals later than this are taken as made on that day
# A seller asks for a removal within days of the feedback, and Amazon answers within days: R reaches 1 in two weeks.
DEFAULT_DELAY_KNOTS = ((0, 0.0), (2, 0.1), (7, 0.6), (14, 1.0))
SHRINK_REMOVALS = 5.0  # the default delay profile counts as this many removals
# The share removed: a prior of one defect in twenty, as strong as 20 defects, so an account's own removals soon rule.
PRIOR_SHARE = 0.05
PRIOR_DEFECTS = 20.0

Removals = Mapping[tuple[date, int], int]  # (day the defect appeared, days until it was removed) -> defects


@dataclass(frozen=True)
class RemovalBelief:
    """What the account's removals say: how many of its defects go, and how soon."""

    share: float  # of the account's defects, the part that ends removed
    delays: np.ndarray  # R at 0..LONGEST_DELAY days after the defect appeared

    def removed_by(self, days_since: np.ndarray, days_ahead: np.ndarray) -> np.ndarray:
        """P(a defect that appeared `days_since` days ago, not removed yet, is gone from Amazon's figure
        `days_ahead` days from now); both arrays broadcast."""
        since = np.clip(np.asarray(days_since, dtype=float), 0, LONGEST_DELAY)
        later = np.clip(since + np.asarray(days_ahead, dtype=float) - SHOWN_AFTER_DAYS, since, LONGEST_DELAY)
        done = self._cdf(since)
        gone = self.share * (self._cdf(later) - done) / np.clip(1 - self.share * done, 1e-12, None)
        return np.clip(gone, 0.0, 1.0)

    def _cdf(self, days: np.ndarray) -> np.ndarray:
        return np.interp(days, np.arange(len(self.delays)), self.delays)


def default_delays() -> np.ndarray:
    """R at 0..LONGEST_DELAY days from the default knots."""
    return np.interp(np.arange(LONGEST_DELAY + 1), [x for x, _ in DEFAULT_DELAY_KNOTS],
                     [y for _, y in DEFAULT_DELAY_KNOTS])


def learned_removals(ages: DefectAges, removals: Removals, today: date) -> RemovalBelief:
    """The account's removal share and delay profile by `today`, from the defects still standing (`ages`, as in
    alerts/lag.py) and those removed (`removals`)."""
    delays = np.zeros(LONGEST_DELAY + 1)
    removed = 0
    for (_, delay), count in removals.items():
        delays[min(max(delay, 0), LONGEST_DELAY)] += count
        removed += count
    observed = np.cumsum(delays) / removed if removed else np.zeros_like(delays)
    cdf = (SHRINK_REMOVALS * default_delays() + removed * observed) / (SHRINK_REMOVALS + removed)
    # A standing defect that appeared s days ago would have been removed by now with R(s), if it is to be: a recent one
    # says little yet about the share.
    standing = sum(count * float(np.interp(min((today - anchor).days - age, LONGEST_DELAY), np.arange(len(cdf)), cdf))
                   for (anchor, age), count in ages.items() if count > 0)
    share = (removed + PRIOR_SHARE * PRIOR_DEFECTS) / (removed + standing + PRIOR_DEFECTS)
    return RemovalBelief(share, cdf)
