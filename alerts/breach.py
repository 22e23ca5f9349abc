"""The chance that Amazon's figure of one metric is over its limit by each day of a horizon. Pure.

A stated model of what is still unknown, sampled by seeded Monte Carlo (`PATHS` paths, the seed taken
from the metric's identity and not from the day, so the same data always give the same answer and a
new day without new data moves nothing but the calendar):

1. **Certain.** Every anchor day already seen keeps its orders and its known defects; it leaves the window on its date
   (the shrinking denominator). Only a negative feedback may go sooner: the account's known ODR defects are removed as
   often, and as long after they appeared, as its past ones were (alerts/removal.py). Past-due unshipped orders (which
   can only end late) are late shipments of their ship-by day in every window that holds it (see 5 for when Amazon
   shows them). They are also in the rate's evidence (3): a late shipment reaches the daemon only once shipped, so
   without them the last days of a backlog look quiet and the episode over. Open claims Amazon counts on orders the
   daemon cannot name (`open_claims`, ODR) are a rate: per order in the window they were counted in, added to every
   known day's defects, in Amazon's figure now and in the rate's evidence. Most of a seller's claims may never be
   granted, and so never be seen, yet Amazon counts each from its filing: taken as grants still to come, they
   cancelled the account's next defects, and a seller at 0.82% was told no new defect was expected in 14 days.
   Those that came lately (`recent_claims`, the rise of Amazon's count over `RECENT_CLAIMS_DAYS`) are on the orders
   whose defects appear in those days, so a run of claims shows as one; it goes on for the orders after Amazon's
   window, whose claims Amazon reports later, as far as the window's claims stayed unseen (`granted_claims`). A recent
   claim is still undecided: one that ends denied or withdrawn leaves Amazon's figure (`RECENT_CLAIMS_LEAVING`).
2. **Orders to come.** Each future anchor day gets Poisson(volume) orders: the mean since the volume last changed
   (weighed over where that may have been, up to `VOLUME_DAYS` back), times a weekday factor when four weeks of
   history support it (shrunk toward 1). The orders of the next anchor days bought already are known: for the
   late-shipment rates those unshipped (`pending`), for on-time delivery those not cancelled, are counted, not drawn,
   and only the share the seller's lead (`anchor_leads`: handling time, or handling and transit) leaves to be bought
   is drawn.
3. **The defect rate.** Each order is defective with probability p, drawn per path from a mixture of
   Beta posteriors: either one rate all along (the account's longer history updating a weak prior,
   `PRIOR_DEFECTS` pseudo-defects at the metric's `PRIOR_SHARE_OF_LIMIT` of the limit, so a window with few orders
   leans on the history, a small account's history is not taken as surer than it is, and a seller with no defect yet
   is not taken as one that never has any), or a rate that changed k days ago (k up to `CHANGE_DAYS`, each a priori
   `CHANGE_HAZARD` likely, by metric), or an episode that began k days ago and ended since; each
   weighed by how well it explains the recent days, so an episode (a stock-out's cancellations) shows at
   once and the quiet days after it end it. Episodes end with `EPISODE_END_HAZARD` per day (by metric:
   a stock-out ends when stock arrives, a run of defects or a carrier's delays within weeks, a shipping
   backlog or a tracking problem later),
   the same hazard weighing how long a past episode lasted: on each path a changed rate goes back to the
   rate before the change from a day so drawn (today the first of them), for the orders placed from then on.
   An episode is seen to end after `QUIET_DAYS_TO_END` quiet days, one where the last day is known whole.
   The late-shipment rates are read from the seller's days (`seller_days`: every marketplace of the account summed),
   since one place ships them all: a backlog shows in every marketplace at once.
   Lower-bound metrics (valid tracking, on-time delivery) are modelled through their bad count. A metric counted in
   units (on-time delivery) draws orders, each late with all its units, of the sizes the seller's recent orders have.
4. **Defects still to arrive.** A defect of an order placed on day a becomes visible at age k with
   the lag profile F: for ODR, feedback, claims and chargebacks come days to weeks after the order, and
   F is learned from the ages at which the account's own defects appeared, starting from a default that
   a few defects hardly move (alerts/lag.py); a seller cancels within a day or so of the order, so
   yesterday's orders are still being cancelled; the other metrics are known on their anchor day.
   A day's exposure is its orders times F(age), which is how recent days count in (3).
5. **Amazon's publication.** Amazon's window moves with its publication day, but the facts in it trail
   by its reporting lag (METRICS.md, "Amazon's cadence": 48 h for defects, 72 h for shipping facts):
   the share of a day's orders and of its defects Amazon counts at each age is `AMAZON_SEES` (expected
   shares for defects already known; the orders and defects still to come are drawn day by day with
   them, each whole); a late shipment is seen days after its ship-by date, so it may leave a 10-day window soon
   after it appears; past-due unshipped orders count from the fourth day, each whole on a day drawn as a late
   shipment of its ship-by day's age is shown. For the late-shipment rates, the shipments of past ship-by days are
   all seen, and which of them Amazon's report shows on each of the next days follows from when they were confirmed
   (alerts/unreported.py); so does it for the shipments of ship-by days to come confirmed early, and the shares are
   for the rest, of which none is in the next three reports. ODR's defects are shown when F says: Amazon's report
   shows feedback 48 h after the daemon sees it but a claim from its filing, days before the grant the daemon sees,
   and the two are taken to cancel. The chance is that of Amazon's figure, the one that suspends.

Days are anchor days of METRICS.md windows; `series` holds every known day before `today`.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from threadpoolctl import threadpool_limits

from alerts.lag import DefectAges, learned_profile, profile_cdf
from alerts.removal import Removals, learned_removals
from alerts.series import DaySeries
from alerts.unreported import SHIPPING_REPORT_LAG, Unreported
from alerts.metrics.definitions import MetricDefinition

# The model's products are a few hundred paths by a few dozen days: more BLAS threads than one only spin and take a
# small VPS's other core from the poller (and from the other replays of the test suite).
threadpool_limits(limits=1, user_api="blas")

# The days of series an evaluation is given, by metric: the longer history its steady rate is read from. A small
# seller's rate is learned from a few hundred orders, and twice the days tell one seller's from another's better: with
# 240 days instead of 120, the every-evaluation Brier on the tuning part went from 0.0446 to 0.0438 for cancellations
# and from 0.0333 to 0.0327 for the 10-day late-shipment rate, and 4 notice deciles missed the mark instead of
# 1. ODR keeps 120: with 240 its every-evaluation Brier went from 0.0127 to 0.0128 and its notices' from 0.1051 to
# 0.1067 (README, "A longer history for the steady rate").
HISTORY_DAYS = {"odr": 120, "cr_7d": 240, "lsr_10d": 240, "lsr_30d": 240, "vtr_30d": 240, "otdr_14d": 240}
PATHS = 400
SCREEN_PATHS = 48  # a first, small run: when none of its paths breaches, the metric is safe for the horizon
# The volume to come is the mean since the volume last changed, weighed over where that was: any day from a week to
# `VOLUME_DAYS` back, each a priori `VOLUME_CHANGE_HAZARD` likely, each weighed by how well one Poisson mean before it
# and another since explain the days. Taken as the last 14 days' mean, a seller of 1.6 orders a day was taken to have
# 2.1 after a busy fortnight, its 30-day late-shipment window to grow where it shrank. With the rate known, the
# chances' mean square distance from the generating process's went from 0.00175 to 0.00120 on small steady sellers
# (README). A week at least, so a weekday's dip is not taken for a change.
VOLUME_DAYS = 56
VOLUME_MIN_DAYS = 7
VOLUME_CHANGE_HAZARD = 1 / 60
# How far back a change of rate is considered. An episode that began before the last two weeks is still one: with 14
# days, an episode 16 days old was explained as the account's long-run rate on some days and not others.
CHANGE_DAYS = 45
# A priori, the rate changes on a given day this often, by metric: one change in six months, on-time delivery's half as
# often. On 40 steady sellers of 10 orders a day whose late deliveries sat at half the limit, 5% of the belief lay on a
# carrier's delays going on that were only chance clusters of late orders, and the notices that said 10-20% came true 9%
# of the time (17% with the rate known, 15% with changes half as likely). On the tuning part, on-time delivery notices'
# Brier went from 0.0943 to 0.0897 with the same breaches warned as early (README, "A carrier's delays are rarer than
# chance clusters of late deliveries").
CHANGE_HAZARD = {"odr": 1 / 180, "cr_7d": 1 / 180, "lsr_10d": 1 / 180, "lsr_30d": 1 / 180, "vtr_30d": 1 / 180,
                 "otdr_14d": 1 / 360}
# A changed rate returns to the one before it on a given future day this often, by metric: cancellations come in
# stock-outs, which end when stock arrives, within weeks. (A week for stock-outs and one change a year warned of the
# stock-out example a day later, where 2 days ahead is required.) ODR's lag hides an episode's end for weeks, so the
# prior carries it: with a month, an episode over for two weeks was still taken as going on, and ODR chances of 40-50%
# at warning or above came true 18% of the time on the tuning accounts (23% with two weeks, the same lead times; ten
# days gave the same as two weeks). A shipping backlog lasts longer: taken to end within two weeks, the late-shipment
# notices that said 10-20% came true 23-30% of the time on the tuning accounts (notices' Brier 0.137 and 0.131 for the
# 10- and 30-day rates; 0.136 and 0.123 with a month, 0.136 and 0.125 with six weeks). A carrier's delays end sooner:
# with a month, the late-delivery rate drawn for the next 14 days on carrier-delay sellers near the limit was 6.0%
# where 4.9% came (5.0% with two weeks), and on-time delivery notices' Brier on the tuning accounts was 0.091 (0.086).
EPISODE_END_HAZARD = {"odr": 1 / 14, "cr_7d": 1 / 14, "lsr_10d": 1 / 30, "lsr_30d": 1 / 30, "vtr_30d": 1 / 30,
                      "otdr_14d": 1 / 14}
# An episode is taken as over only after this many quiet days, by metric: the latest day's orders are still being
# cancelled and shipped, so one quiet day says little (with one, the stock-out example's 14-day chance two days before
# its breach was 16% instead of 19%). A shipment's tracking is known the day it is confirmed, so yesterday's shipments
# are all there is of that day: one quiet day of them ends an episode.
QUIET_DAYS_TO_END = {"odr": 2, "cr_7d": 2, "lsr_10d": 2, "lsr_30d": 2, "vtr_30d": 1, "otdr_14d": 2}
# The prior of a steady rate: one defect's weight at a share of the limit. Its weight near a rate of 0 sets the
# chance of a first defect where one order decides: 30 orders at half the limit, Beta(0.375, 29.6) for cancellations,
# gave one among the next 28 orders 5% after none in 150, and such notices came true 16% of the time (README).
PRIOR_DEFECTS = 1.0
# Where a seller's steady rate usually sits, by metric. Cancellations, invalid tracking and late deliveries sit further
# below their limits than defects and late shipments do. At a quarter of the limit, a small seller's rate was read too
# high: on the tuning accounts, cancellation chances of 20% or more in windows of under 100 orders expected 0.34 new
# cancellations in 14 days where 0.28 came (README). ODR and late shipments keep a quarter: at 15% for every metric,
# the 30-day late-shipment rate's notices got worse (README, "Which notices miss").
PRIOR_SHARE_OF_LIMIT = {"odr": 0.25, "lsr_10d": 0.25, "lsr_30d": 0.25, "cr_7d": 0.15, "vtr_30d": 0.15,
                        "otdr_14d": 0.15}
NEW_RATE_PRIOR_ORDERS = 30.0  # pseudo-orders at half the limit in the mean a changed rate is drawn around
WEEKDAY_MIN_DAYS = 28
WEEKDAY_MIN_VOLUME = 10.0
DATE_CONFIDENCE = 0.7  # a crossing date is stated when the crossing falls within two days of it this often
# The share of an anchor day's orders and of its defects that Amazon's report shows at each age in days (the last value
# from then on): when the fact itself happens (a seller cancels within a day or so of the order, a shipment is
# confirmed around its ship-by day, a late one after it; OTDR's window already trails its anchor by 7 days) and its
# reporting lag (METRICS.md, "Amazon's cadence": 72 h for shipping facts), as the simulator's report shows them on the
# tuning accounts. ODR's defects (None)
# follow the lag profile, `ODR_REPORT_LAG_DAYS` later.
LATE_SHIPMENT_SHOWN = ((0.0, 0.0, 0.16, 0.58, 1.0), (0.0, 0.0, 0.0, 0.0, 0.0, 0.49, 1.0))
AMAZON_SEES = {"odr": ((1.0,), None), "cr_7d": ((0.0, 1.0), (0.0, 0.37, 0.98, 1.0)),
               "lsr_10d": LATE_SHIPMENT_SHOWN, "lsr_30d": LATE_SHIPMENT_SHOWN,
               "vtr_30d": ((0.0, 0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 0.0, 0.0, 1.0)), "otdr_14d": ((1.0,), (1.0,))}
# Amazon shows feedback 48 h after the daemon sees it, but an A-to-z claim from its filing (48 h later), days before
# its grant, which is when the daemon sees it: the two are taken to cancel. With 48 h, the ODR's chances of 10-20% of
# a crossing within three days came true a third of the time on the tuning accounts.
ODR_REPORT_LAG_DAYS = 0
# Past-due unshipped orders reach the late-shipment rate once shipped (today at the earliest), and Amazon's report 72 h
# after that: from the fourth day on, each on a day drawn as a late shipment of their ship-by day's age is shown,
# until that day leaves the window. All taken as yesterday's, they counted in full on the fourth day, where Amazon
# shows half of yesterday's, and a day too long for older ones: 1.8 points too much on each of those days on
# near-limit sellers.
PAST_DUE_FROM_DAY = 4
# Open claims that Amazon's count gained in this many days were filed in them, on the orders whose defects appear then
# (each day's share of the lag profile in those days). Spread over the whole window as a rate, a run of claims on a
# seller whose claims are mostly denied read as no change: such a seller at 0.76%, its count rising two defects a day,
# was told a 0.5% chance of a breach it reached 13 days later. Placed on the window's orders alone, the run still read
# as over: Amazon reports no claim for the two weeks of orders after its window, so those looked clean, and the same
# seller was told 7%. The run goes on for them as the model's episodes do, for the share of claims the daemon does not
# see granted: it is now told 28%, and 31-56% on the next eleven days; on the tuning part, ODR's every-evaluation Brier
# went from 0.0120 to 0.0118 (README).
RECENT_CLAIMS_DAYS = 14
# A recent open claim is not decided yet. Amazon drops one that ends denied or withdrawn from its figure, and only a
# granted one stays (the daemon then sees it). Kept as defects for good, they over-stated ODR near the limit: on the
# tuning accounts, every-evaluation ODR chances of 40-50% came true 21% of the time, and in the 14 days after
# evaluations at 40-70% on the held-out ones, 0.91 claims per evaluation left Amazon's figure (bench/odr_flows.py).
# Amazon's count shows only the net of filings and decisions, so the share is not the account's own: it was chosen on
# the tuning part, where ODR notices' Brier went from 0.1134 to 0.1051 (0.1058 with half; README). Each is decided on a
# day drawn evenly over the next `CLAIM_DECIDED_DAYS`.
RECENT_CLAIMS_LEAVING = 0.3
CLAIM_DECIDED_DAYS = 7
# The late-shipment rates' facts of past ship-by days are shipments the daemon has seen: which of them Amazon's report
# shows on each of the next days is known (alerts/unreported.py). So is it for the shipments of ship-by days to come
# that were confirmed early, and the shares above make up the rest of those days' orders. Drawn as a share of each
# day's orders alone, a window with 2 late shipments in 52 orders (over 4% at 50) was taken to shrink to 50 within
# three days (89%), where the early shipments the daemon had seen kept it at 52, as it stayed.
REPORTED_FROM_SHIPMENTS = frozenset({"lsr_10d", "lsr_30d"})
# The orders of the next ship-by days are mostly bought already: the daemon knows how many are still unshipped, and the
# share of a ship-by day's orders bought by now is the seller's handling time, read from its last `LEAD_DAYS` of
# orders. Only the orders still to be bought are drawn. Drawn as a whole day's, a seller with two days' handling had
# two days of its window drawn that were known: 2 late shipments in a 30-day window over the limit at 50 orders, whose
# next two ship-by days held no order, was told 12% within 14 days where the generating process gives 94%
# (bench/exact_chance.py); counting them, 78% (README). On-time delivery's window ends a week before today, and the
# orders promised for the next week are bought already: handling and transit take that long.
LEAD_DAYS = 28


def recent_open_claims(open_now: int, reported_then: int, granted_then: int) -> int:
    """Of the `open_now` claims in Amazon's ODR figure the daemon cannot name, those that came in the last
    `RECENT_CLAIMS_DAYS`: Amazon's count of then (`reported_then`) less the grants the daemon knows in that window
    (`granted_then`) were open then; the rest came since."""
    return max(0, open_now - max(0, reported_then - granted_then))


def chance_text(probability: float) -> str:
    """A chance as a person says it: never 0% or 100% for what is only likely, and no precision the model does not
    have at the low end, where it has been too sure near the limit."""
    if probability >= 0.995:
        return "over 99%"
    if probability < 0.05:
        return "less than 1 in 20"
    return f"{probability * 100:.0f}%"


@dataclass(frozen=True)
class Outlook:
    """What the model says about one metric: P(Amazon's figure over the limit by day today + k) for k = 1..horizon."""

    by_day: tuple[float, ...]
    expected_defects: tuple[float, ...]  # new defects expected in the window by each day
    expected_orders: tuple[float, ...]  # new orders expected in the window by each day

    def within(self, days: int) -> float:
        if not self.by_day or days < 1:
            return 0.0
        return self.by_day[min(days, len(self.by_day)) - 1]

    def median_day(self) -> int | None:
        """Days until the crossing is more likely than not; None when that is beyond the horizon."""
        for k, p in enumerate(self.by_day, start=1):
            if p >= 0.5:
                return k
        return None

    def crossing_day(self, spread_days: int = 2, confidence: float = DATE_CONFIDENCE) -> int | None:
        """The median crossing day, when the crossing falls within `spread_days` of it with at least `confidence`;
        otherwise None: the chance is worth saying, a date would be a guess."""
        median = self.median_day()
        if median is None:
            return None
        inside = self.within(median + spread_days) - self.within(median - spread_days - 1)
        return median if inside >= confidence else None


def outlook(series: DaySeries, d: MetricDefinition, today: date, horizon_days: int,
            key: str = "", open_claims: int = 0, recent_claims: int = 0, granted_claims: int = 0,
            defect_ages: DefectAges | None = None, screen: bool = True,
            past_due: Mapping[date, int] | None = None, removals: Removals | None = None,
            unreported: Unreported | None = None, order_quantities: Mapping[int, int] | None = None,
            pending: Mapping[date, int] | None = None, anchor_leads: Mapping[int, int] | None = None,
            seller_days: DaySeries | None = None) -> Outlook:
    """P(breach by each day) for the metric `d` on `series`; `defect_ages` are the ages at which the account's ODR
    defects appeared (alerts/lag.py); `past_due` are the unshipped orders past their ship-by date, by that date
    (late-shipment rates); `removals` the account's ODR defects removed, by the day they appeared and how long after
    (alerts/removal.py); `unreported` the shipments of past ship-by days Amazon's report does not show yet
    (late-shipment rates, alerts/unreported.py); `open_claims` the claims and chargebacks in Amazon's ODR figure the
    daemon cannot tie to an order (1 above), `recent_claims` how many of them came in the last `RECENT_CLAIMS_DAYS`,
    `granted_claims` the claims and chargebacks of the same window the daemon saw granted;
    `order_quantities` the seller's recent orders by their units, for a metric that counts units (on-time delivery;
    none: every unit alone); `pending` the orders of anchor days to come bought already and still open, by that day
    (unshipped, for the late-shipment rates; not cancelled, in units, for on-time delivery), and `anchor_leads` the
    seller's last `LEAD_DAYS` of orders by the days from their purchase day to their anchor day (none: those days'
    orders are drawn as the days after them); `seller_days` the metric's days and past-due orders summed over the
    seller's marketplaces, where its rate is the seller's and not a marketplace's (none: `series` and `past_due` are
    the rate's evidence). With `screen`, a first small run whose paths never breach settles it
    at 0; a metric near its limit is never screened, since 0 breaches in 48 paths still allows a chance of a few
    percent, which is what a seller with a warning needs to know."""
    claims = _OpenClaims(open_claims, max(0, min(recent_claims, open_claims)), granted_claims)
    model = _Model(series, d, today, horizon_days, claims, defect_ages or {}, past_due or {}, removals or {},
                   unreported or {}, _OrderSizes.of(order_quantities or {}), pending or {}, anchor_leads or {},
                   seller_days)
    seed = zlib.crc32(f"{key}/{d.id}/{d.fulfillment}".encode())
    if screen and not model.any_breach(np.random.default_rng(seed), SCREEN_PATHS):
        return Outlook((0.0,) * horizon_days, model.mean_defects, model.mean_orders)
    return model.run(np.random.default_rng(seed), PATHS)


class _Model:
    def __init__(self, series: DaySeries, d: MetricDefinition, today: date, horizon: int, open_claims: _OpenClaims,
                 defect_ages: DefectAges, past_due: Mapping[date, int], removals: Removals, unreported: Unreported,
                 sizes: _OrderSizes, pending: Mapping[date, int], anchor_leads: Mapping[int, int],
                 seller_days: DaySeries | None):
        self.d, self.horizon = d, horizon
        self.sizes = sizes
        self.upper = d.limit.direction == "upper"
        first_window = d.window.days(today + timedelta(days=1))
        last_window = d.window.days(today + timedelta(days=horizon))
        self.days = [first_window[0] + timedelta(days=i) for i in range((last_window[1] - first_window[0]).days)]
        known = [series.counts.get(a, (0, 0)) if a < today else (0, 0) for a in self.days]
        self.known_orders = np.array([den for _, den in known], dtype=float)
        self.known_bad = np.array([num if self.upper else den - num for num, den in known], dtype=float)
        self.future = np.array([a >= today for a in self.days])
        self.lag_cdf = _lag_cdf(d, defect_ages, today)
        history = {a: c for a, c in series.counts.items() if a < today}
        claims = open_claims if self.upper else _OpenClaims()
        standing, recent = _placed(history, claims, d.window.days(today), self.lag_cdf, today)
        # The rate's evidence counts a recent claim as far as it stays: those denied or withdrawn were no defect.
        for placed, weight in ((standing, 1.0), (recent, 1 - RECENT_CLAIMS_LEAVING)):
            for a, count in placed.items():
                num, den = history[a]
                history[a] = (num + count * weight, den)
        self.claims = _PlacedClaims.of(standing, recent, self.days, d.window.days(today), claims)
        # Orders already carrying a defect, or expected to (an open claim): they cannot show another.
        self.defective = self.known_bad + self.claims.expected
        for a, late in past_due.items():  # late shipments the daemon will see once they ship
            num, den = history.get(a, (0, 0))
            history[a] = (num + late, den + late)
        weight = sizes.unit_weighted
        if seller_days is None:
            in_orders = {a: (num / weight, den / weight) for a, (num, den) in history.items()}
        else:  # the seller's days (counted in orders) are the rate's evidence, the marketplace's own among them
            in_orders = {a: c for a, c in seller_days.counts.items() if a < today}
        self.rate = _rate_belief(d, in_orders, today, self.lag_cdf, self.upper)
        self.removable, self.removed_by = _removable(d, self.days, self.known_bad, defect_ages, removals, today,
                                                     horizon)
        self.volume = _volumes(history, today, self.days)
        # ages[t, j]: age of anchor day j on Amazon's day today + t + 1; windows[t, j]: j is in that day's window.
        ages_now = np.array([(today - a).days for a in self.days])
        self.offsets = -ages_now  # days from today: a future anchor day's offset is 0 (today) or more
        ages = ages_now[None, :] + np.arange(1, horizon + 1)[:, None]
        self.windows = np.zeros((horizon, len(self.days)), dtype=bool)
        for t in range(horizon):
            first, end = d.window.days(today + timedelta(days=t + 1))
            self.windows[t] = [first <= a < end for a in self.days]
        # Past-due orders are late shipments of their own ship-by day: in Amazon's numerator and denominator alike.
        self.past_due = np.array([past_due.get(a, 0) for a in self.days], dtype=np.int64)
        self.past_due_shown = _past_due_shown(self.horizon, ages)
        orders_shown, defects_shown = AMAZON_SEES[d.id]
        self.order_shown = _share_at(orders_shown, ages)  # [t, j]: the share of day j's orders Amazon has shown
        # Orders of days to come: those already confirmed (`confirmed`, shown on days the daemon knows) and the rest,
        # drawn, of which Amazon shows what the measured share still adds.
        self.confirmed = np.zeros(len(self.days))
        self.confirmed_seen = np.zeros(horizon)  # [t]: confirmed orders in the window Amazon shows on day today + t + 1
        self.rest_volume = np.where(self.future, self.volume, 0.0)
        self.pending = np.zeros(len(self.days))  # [j]: bought and still open, in the metric's count: known, not drawn
        if anchor_leads:
            self.pending = np.array([pending.get(a, 0) if ahead else 0 for a, ahead in zip(self.days, self.future)],
                                    dtype=float)
            self.rest_volume = self.rest_volume * (1 - _bought_share(anchor_leads, self.offsets))
        # Orders bought already are known in units (on-time delivery): they may arrive late as that many orders of the
        # mean size, drawn of the seller's sizes, and the window holds their units exactly: rounded to orders of the
        # mean size, 3 units promised for a day counted 2.6 and 1 unit 1.3.
        self.pending_orders = np.rint(self.pending / sizes.mean).astype(np.int64)
        self.pending_rounding = (self.pending - self.pending_orders * sizes.mean) * self.future  # [j]: units left out
        if d.id in REPORTED_FROM_SHIPMENTS:
            self.confirmed, shown = _confirmed_ahead(self.days, self.future, unreported, horizon)
            self.confirmed_seen = (shown * self.windows).sum(axis=1)
            # The rest are the orders not confirmed yet, and Amazon shows none of them before 72 hours after its
            # confirmation: none in the next three reports, then the share of a day's orders Amazon shows at each
            # age beyond the share confirmed by now (the share shown three days on). Taken instead as the expected
            # share less the confirmed ones, some were in reports that cannot hold them yet, and a window that was
            # over the limit on the third day was taken as under it.
            if not anchor_leads:
                self.rest_volume = np.maximum(self.rest_volume - self.confirmed, 0.0)
            confirmed_share = _share_at(orders_shown, SHIPPING_REPORT_LAG // timedelta(days=1) - self.offsets)
            rest_seen = (self.order_shown - confirmed_share[None, :]) / np.maximum(1 - confirmed_share, 1e-12)[None, :]
            self.order_shown = np.where(self.future[None, :], np.clip(rest_seen, 0.0, 1.0), self.order_shown)
        self.orders_seen = self.windows * self.order_shown  # [t, j]: expected share Amazon counts
        # Today's anchor day is drawn like the days to come (its orders are Poisson, none known), so none of its
        # defects are seen yet; a step profile's F(0) = 1 gave today's orders no late shipment on any path.
        self.shown_now = np.where(self.future, 0.0, self.lag_cdf(ages_now))
        if defects_shown is None:  # ODR: what is known now stays; the rest arrives with the lag profile
            known_seen = self.windows.astype(float)
            self.arrivals = np.clip(self.lag_cdf(ages - ODR_REPORT_LAG_DAYS) - self.shown_now[None, :], 0.0, None)
        else:  # shown by Amazon in the measured share at each age
            shown = _share_at(defects_shown, ages)
            known_seen = self.windows * shown
            # A known day's defects that have not happened yet (yesterday's orders still being cancelled) arrive as
            # Amazon's share catches up with what the daemon has seen; a day to come has seen none.
            self.arrivals = np.clip(shown - self.shown_now[None, :], 0.0, None)
        self.claims_seen = known_seen
        # [t]: the known defects and orders in the window Amazon shows on day today + t + 1.
        if d.id in REPORTED_FROM_SHIPMENTS:
            self.known_in_report = _shipments_in_report(self.days, self.known_bad, self.known_orders, self.windows,
                                                        unreported)
        else:
            self.known_in_report = (self.known_bad @ known_seen.T,
                                    self.known_orders @ (self.orders_seen * ~self.future).T)
        p_mean = self.rate.mean_by_offset(self.offsets)  # the expected rate of each anchor day's orders
        future_orders = self.confirmed + self.pending + self.rest_volume
        unseen = (self.known_orders - self.defective) + future_orders  # orders that may still show a defect
        expected = (p_mean[None, :] * self.arrivals * unseen * self.windows).sum(axis=1)
        self.mean_defects = tuple(float(x) for x in expected)
        self.mean_orders = tuple(float(x) for x in ((self.pending + self.rest_volume) * self.orders_seen
                                                     * self.future).sum(axis=1) + self.confirmed_seen)

    def any_breach(self, rng: np.random.Generator, paths: int) -> bool:
        return bool(self._breached(rng, paths).any())

    def run(self, rng: np.random.Generator, paths: int) -> Outlook:
        breached = self._breached(rng, paths)
        ever = np.maximum.accumulate(breached, axis=1)
        return Outlook(tuple(float(x) for x in ever.mean(axis=0)), self.mean_defects, self.mean_orders)

    def _breached(self, rng: np.random.Generator, paths: int) -> np.ndarray:
        """[path, t]: the window Amazon shows on day today + t + 1 is over the limit."""
        p, before = self.rate.sample(rng, paths)
        # An episode ends: from a day drawn per path, today (offset 0) the first it may, orders placed go back to the
        # rate before the change.
        ends = rng.geometric(self.rate.end_hazard, paths) - 1
        p = np.where(self.offsets[None, :] >= ends[:, None], before[:, None], p[:, None])
        units = self.sizes.mean
        drawn = rng.poisson(np.broadcast_to(self.rest_volume / units, (paths, len(self.days))))
        new_orders = drawn + self.pending_orders
        # Defects still to appear on each day's orders (known ones not yet defective, and the new ones; a day to come's
        # late shipments at the rate measured on all its orders, confirmed ones included)...
        unseen = np.rint(np.maximum(self.known_orders - self.defective, 0) / units) + self.confirmed
        candidates = (unseen[None, :] + new_orders).astype(np.int64)
        eventual = self.sizes.units_of(rng, rng.binomial(candidates, np.clip(p * (1 - self.shown_now[None, :]), 0, 1)))
        # ...and the share of them visible on each Amazon day, thinned day by day so a path's counts only grow.
        remaining = np.clip(1 - self.shown_now, 1e-12, None)
        share = np.clip(self.arrivals / remaining[None, :], 0.0, 1.0)  # [t, j], non-decreasing in t
        if np.all((share == 0) | (share == 1)):  # no lag: a defect is seen on its anchor day
            arrived = eventual @ (share * self.windows).T
        else:
            arrived = _drawn_day_by_day(rng, eventual, share, self.windows)
        orders = (self._orders_shown(rng, new_orders) * units + self.confirmed_seen
                  + self.pending_rounding @ self.orders_seen.T)
        known_bad, known_orders = self.known_in_report
        claims = self._claims_counted(rng, paths) if self.claims.any() else 0.0
        certain = self._past_due_counted(rng, paths)
        bad = known_bad[None, :] + claims + arrived + certain - self._removed(rng, paths)
        den = known_orders[None, :] + orders + certain
        num = bad if self.upper else den - bad
        q, limit_p = self.d.limit.q, self.d.limit.p
        if self.upper:
            return (den > 0) & (num * q >= den * limit_p)
        return (den > 0) & (num * q < den * limit_p)

    def _orders_shown(self, rng: np.random.Generator, new_orders: np.ndarray) -> np.ndarray:
        """[path, t]: of the days to come's orders not confirmed yet, those in the window Amazon shows on day today +
        t + 1, each shown whole on a day drawn as the day's orders are shown. Taken as the expected share, a window one
        order from the limit was never there: 3 unshipped orders half shown made it 25.5 orders where half the time it
        held 25 or fewer."""
        shares = self.order_shown * self.future[None, :]
        if np.all((shares == 0) | (shares == 1)):
            return new_orders @ (shares * self.windows).T
        return _drawn_day_by_day(rng, new_orders, shares, self.windows)

    def _claims_counted(self, rng: np.random.Generator, paths: int) -> np.ndarray:
        """[path, t]: the open claims in the window Amazon shows on day today + t + 1, less the recent ones denied or
        withdrawn by then (each decided on a day drawn evenly over the next `CLAIM_DECIDED_DAYS`)."""
        claims, leaving = self.claims.draw(rng, paths)
        counted = claims @ self.claims_seen.T
        if not leaving.any():
            return counted
        decided = np.minimum(np.arange(1, self.horizon + 1) / CLAIM_DECIDED_DAYS, 1.0)
        shares = np.broadcast_to(decided[:, None], (self.horizon, len(self.days)))
        return counted - _drawn_day_by_day(rng, leaving, shares, self.windows)

    def _past_due_counted(self, rng: np.random.Generator, paths: int) -> np.ndarray:
        """[path, t]: the past-due orders in the window Amazon shows on day today + t + 1, each shown whole on a day
        drawn as a late shipment of its ship-by day is."""
        if not self.past_due.any():
            return np.zeros((paths, self.horizon))
        totals = np.broadcast_to(self.past_due, (paths, len(self.days)))
        return _drawn_day_by_day(rng, totals, self.past_due_shown, self.windows)

    def _removed(self, rng: np.random.Generator, paths: int) -> np.ndarray:
        """[path, t]: known defects gone from the window Amazon shows on day today + t + 1 (feedback removed)."""
        if not self.removable.any():
            return np.zeros((paths, self.horizon))
        totals = np.broadcast_to(self.removable, (paths, len(self.days)))
        return _drawn_day_by_day(rng, totals, self.removed_by, self.windows)


def _drawn_day_by_day(rng: np.random.Generator, totals: np.ndarray, shares: np.ndarray,
                      windows: np.ndarray) -> np.ndarray:
    """[path, t]: of `totals` [path, j], how many have happened by day t in the days of windows[t], each day j's
    reaching `shares` [t, j] (non-decreasing in t) on average; drawn day by day, so a path's counts only grow."""
    happened = np.zeros(totals.shape, dtype=np.int64)
    counted = np.zeros((totals.shape[0], len(shares)))
    before = np.zeros(totals.shape[1])
    for t in range(len(shares)):
        step = np.clip((shares[t] - before) / np.clip(1 - before, 1e-12, None), 0, 1)
        happened = happened + rng.binomial(totals - happened, step[None, :])
        before = shares[t]
        counted[:, t] = happened @ windows[t]
    return counted


def _past_due_shown(horizon: int, ages: np.ndarray) -> np.ndarray:
    """[t, j]: the share of anchor day j's past-due orders Amazon shows on day today + t + 1: none before they can
    have shipped and been reported, then as a late shipment of their ship-by day's age is shown."""
    reported = np.arange(1, horizon + 1)[:, None] >= PAST_DUE_FROM_DAY
    return reported * _share_at(LATE_SHIPMENT_SHOWN[1], ages)


def _shipments_in_report(days: list[date], known_bad: np.ndarray, known_orders: np.ndarray, windows: np.ndarray,
                         unreported: Unreported) -> tuple[np.ndarray, np.ndarray]:
    """[t]: the late shipments and shipments of past ship-by days in the window Amazon shows on day today + t + 1: all
    the daemon has seen, but those confirmed too recently for that day's report (alerts/unreported.py)."""
    horizon = len(windows)
    bad = np.tile(known_bad, (horizon, 1))
    orders = np.tile(known_orders, (horizon, 1))
    index = {a: j for j, a in enumerate(days)}
    ahead = np.arange(1, horizon + 1)
    for (ship_by_day, in_days), (late, shipped) in unreported.items():
        j = index.get(ship_by_day)
        if j is not None:
            not_yet = ahead < in_days
            bad[not_yet, j] -= late
            orders[not_yet, j] -= shipped
    return (np.clip(bad, 0, None) * windows).sum(axis=1), (np.clip(orders, 0, None) * windows).sum(axis=1)


def _confirmed_ahead(days: list[date], future: np.ndarray, unreported: Unreported,
                     horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Shipments of ship-by days to come confirmed already (shipped early, so on time): [j] how many of each day, and
    [t, j] how many of them Amazon's report shows on day today + t + 1 (alerts/unreported.py)."""
    confirmed = np.zeros(len(days))
    shown = np.zeros((horizon, len(days)))
    index = {a: j for j, a in enumerate(days) if future[j]}
    ahead = np.arange(1, horizon + 1)
    for (ship_by_day, in_days), (_, shipped) in unreported.items():
        j = index.get(ship_by_day)
        if j is not None:
            confirmed[j] += shipped
            shown[ahead >= in_days, j] += shipped
    return confirmed, shown


def _removable(d: MetricDefinition, days: list[date], known_bad: np.ndarray, defect_ages: DefectAges,
               removals: Removals, today: date, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """ODR: the known defects of each anchor day that may still be removed, and [t, j] the share of them gone from
    Amazon's figure by day today + t + 1 (alerts/removal.py); none for the other metrics, whose facts stay."""
    removable = np.zeros(len(days), dtype=np.int64)
    removed_by = np.zeros((horizon, len(days)))
    if d.id != "odr" or not defect_ages:
        return removable, removed_by
    belief = learned_removals(defect_ages, removals, today)
    index = {a: j for j, a in enumerate(days) if a < today}
    ahead = np.arange(1, horizon + 1)
    for (anchor, age), count in defect_ages.items():
        j = index.get(anchor)
        if j is None or count <= 0:
            continue
        removable[j] += count
        removed_by[:, j] += count * belief.removed_by((today - anchor).days - age, ahead)
    removable = np.minimum(removable, known_bad.astype(np.int64))
    shares = removed_by / np.maximum(removable, 1)[None, :]
    return removable, np.clip(shares, 0.0, 1.0)


@dataclass(frozen=True)
class _PlacedClaims:
    """Open claims on the model's days, as whole claims on each path. Those in Amazon's window now are known in number,
    and only their orders are not: the `standing` ones (open before the last `RECENT_CLAIMS_DAYS`, decided and kept)
    and the `recent` ones lie on its days in the shares `known_standing` and `known_recent` (the rest on its first day,
    gone from tomorrow's window). A recent claim is not decided yet, and one in `RECENT_CLAIMS_LEAVING` is denied or
    withdrawn and leaves Amazon's figure. Those on later days are the claims expected to come (`run`, per day), as far
    as they stay. Added to the defects as expected fractions, they were certain: 6 defects and an open claim in 705
    orders, with fractions of claims expected on the orders about to enter the window, made 7.027 in the 702 orders of
    the window two days on, where 7.02 is 1%: a breach on every path, and a 100% chance within three days that did not
    come true."""

    standing: int
    recent: int
    known_standing: np.ndarray
    known_recent: np.ndarray
    run: np.ndarray

    @classmethod
    def of(cls, standing: dict[date, float], recent: dict[date, float], days: list[date], window: tuple[date, date],
           claims: _OpenClaims) -> _PlacedClaims:
        inside = np.array([a < window[1] for a in days])
        standing_by_day = np.array([standing.get(a, 0.0) for a in days])
        recent_by_day = np.array([recent.get(a, 0.0) for a in days])
        known_standing, known_recent = np.where(inside, standing_by_day, 0.0), np.where(inside, recent_by_day, 0.0)
        run = np.where(inside, 0.0, standing_by_day + recent_by_day * (1 - RECENT_CLAIMS_LEAVING))
        return cls(claims.count - claims.recent if known_standing.any() else 0,
                   claims.recent if known_recent.any() else 0, known_standing, known_recent, run)

    @property
    def expected(self) -> np.ndarray:
        return self.known_standing + self.known_recent + self.run

    def any(self) -> bool:
        """Whether there is a claim to draw: most evaluations have none, and skip the draws."""
        return bool(self.standing or self.recent or self.run.any())

    def draw(self, rng: np.random.Generator, paths: int) -> tuple[np.ndarray, np.ndarray]:
        """[path, j]: the claims on each day, and how many of them are recent claims that will leave."""
        claims = rng.poisson(np.broadcast_to(self.run, (paths, len(self.run)))).astype(float)
        claims += _whole(rng, self.standing, self.known_standing, paths)
        recent = _whole(rng, self.recent, self.known_recent, paths)
        return claims + recent, rng.binomial(recent, RECENT_CLAIMS_LEAVING) if self.recent else recent


def _whole(rng: np.random.Generator, count: int, shares: np.ndarray, paths: int) -> np.ndarray:
    """[path, j]: `count` claims dealt to the days in `shares` (what the shares leave is on a day gone from the window)."""
    if not count:
        return np.zeros((paths, len(shares)), dtype=np.int64)
    shares = np.append(shares, max(count - shares.sum(), 0.0))
    return rng.multinomial(count, shares / shares.sum(), size=paths)[:, :-1]


@dataclass(frozen=True)
class _OpenClaims:
    """The claims and chargebacks in Amazon's ODR figure the daemon cannot tie to an order (`count`), how many of them
    came in the last `RECENT_CLAIMS_DAYS` (`recent`), and those of the same window the daemon saw granted."""

    count: int = 0
    recent: int = 0
    granted: int = 0

    @property
    def never_granted(self) -> float:
        """The share of the window's claims still open: those the daemon may never see, as a seller's denied claims."""
        return self.count / (self.count + self.granted) if self.count else 0.0


def _placed(history: dict[date, tuple[int, int]], claims: _OpenClaims, window: tuple[date, date], cdf,
            today: date) -> tuple[dict[date, float], dict[date, float]]:
    """Open claims Amazon counts on orders the daemon cannot name, as a rate: per order seen so far (orders times
    F(age)) in the window they were counted in, added to every day's defects by that day's share. Amazon reports them
    for its window only, but they come on the days before and after it too: placed on the window's days alone, the
    recent days looked like a fall of the rate. The `recent` ones, Amazon's count's rise over the last
    `RECENT_CLAIMS_DAYS`, are no rate but a run: they lie on the window's orders whose defects appear in those days
    (orders times F(age) - F(age - days)), and on the later orders, which Amazon reports later, as far as the daemon
    will not see them granted and as long as the run may last (`EPISODE_END_HAZARD` per day after the window).
    Returned apart, the standing claims and the recent ones, by day."""
    seen = {a: den * float(cdf((today - a).days)) for a, (_, den) in history.items()}
    lately = {}
    for a, (_, den) in history.items():
        lately[a] = seen[a] - den * float(cdf((today - a).days - RECENT_CLAIMS_DAYS))
        if a >= window[1]:
            lately[a] *= claims.never_granted * (1 - EPISODE_END_HAZARD["odr"]) ** ((a - window[1]).days + 1)
    return _spread(seen, claims.count - claims.recent, window), _spread(lately, claims.recent, window)


def _spread(share: dict[date, float], count: int, window: tuple[date, date]) -> dict[date, float]:
    """`count` claims over the days of `window` in proportion to `share`; the days outside it get as many per share."""
    total = sum(x for a, x in share.items() if window[0] <= a < window[1])
    if count <= 0 or total <= 0:
        return {}
    return {a: count * x / total for a, x in share.items() if x > 0}


def _bought_share(anchor_leads: Mapping[int, int], offsets: np.ndarray) -> np.ndarray:
    """[j]: the share of the orders of the anchor day `offsets[j]` days from today bought before today, as the
    seller's recent orders' leads (days from purchase day to anchor day) say; 0 for days gone."""
    total = sum(anchor_leads.values())
    return np.array([sum(n for lead, n in anchor_leads.items() if lead > offset) / total if offset >= 0 else 0.0
                     for offset in offsets])


def _share_at(shown: tuple[float, ...], ages: np.ndarray) -> np.ndarray:
    """The share Amazon's report shows at each age: `shown[age]`, 0 before the anchor day, the last value after."""
    profile = np.asarray(shown, dtype=float)
    return np.where(ages < 0, 0.0, profile[np.clip(ages, 0, len(profile) - 1)])


def _lag_cdf(d: MetricDefinition, defect_ages: DefectAges, today: date):
    """F(age): share of a day's eventual defects the daemon has seen at that age. ODR's is learned; a seller cancels
    within a day or so of the order, as Amazon's report shows; the other metrics are known on their anchor day."""
    if d.id == "odr":
        return profile_cdf(learned_profile(defect_ages, today))
    if d.id == "cr_7d":
        return profile_cdf(np.array(AMAZON_SEES["cr_7d"][1]))
    return lambda ages: np.where(np.asarray(ages) >= 0, 1.0, 0.0)


@dataclass(frozen=True)
class _OrderSizes:
    """The units of the seller's orders, for a metric counted in units: an order's units are late together. Drawn as
    independent units, on-time delivery's figure strayed from the model's mean by 1.9 to 2.6 times the model's spread;
    drawn as late orders of the mean size a unit's order has (1.6 units on the generated sellers), one late order
    weighed 1.6 units where four in five are of one, and a small window one order from the limit was taken over it:
    notices that said 20-30% came true 8% of the time (README)."""

    quantities: np.ndarray  # units in an order
    shares: np.ndarray  # the share of orders of each quantity

    @classmethod
    def of(cls, order_quantities: Mapping[int, int]) -> _OrderSizes:
        counted = {q: n for q, n in order_quantities.items() if q > 0 and n > 0} or {1: 1}
        quantities = np.array(sorted(counted), dtype=np.int64)
        counts = np.array([counted[q] for q in quantities], dtype=float)
        return cls(quantities, counts / counts.sum())

    @property
    def mean(self) -> float:
        """Units in an order."""
        return float(self.shares @ self.quantities)

    @property
    def unit_weighted(self) -> float:
        """The mean size of the order a unit belongs to (sum of squared quantities over their sum): units counted in
        this many at a time weigh as much evidence as the orders they come in."""
        return float(self.shares @ self.quantities ** 2) / self.mean

    def units_of(self, rng: np.random.Generator, orders: np.ndarray) -> np.ndarray:
        """The units in `orders` orders (an array of counts), each of a quantity drawn from the seller's."""
        if len(self.quantities) == 1:
            return orders * int(self.quantities[0])
        return rng.multinomial(orders, self.shares) @ self.quantities


@dataclass(frozen=True)
class RateBelief:
    """The per-order defect probability as a mixture of Beta posteriors, one per hypothesis: its weight, the Beta of
    the rate now, whether an episode is going on, and the Beta of the rate it returns to when it ends."""

    weights: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ongoing: np.ndarray  # bool: the rate now is an episode's, which ends with `end_hazard` per day
    before_a: np.ndarray
    before_b: np.ndarray
    end_hazard: float

    def mean_by_offset(self, offsets: np.ndarray) -> np.ndarray:
        """The expected rate of orders placed `offsets` days from today, as `sample` and the episode ends draw it."""
        # P(an episode still goes on at that day): the days before today are the belief's own.
        lasting = (1 - self.end_hazard) ** (np.clip(offsets, -1, None) + 1)
        share = self.weights / self.weights.sum()
        now = float(share @ (self.a / (self.a + self.b)))
        later = float(share @ np.where(self.ongoing, self.before_a / (self.before_a + self.before_b),
                                        self.a / (self.a + self.b)))
        return lasting * now + (1 - lasting) * later

    def sample(self, rng: np.random.Generator, paths: int) -> tuple[np.ndarray, np.ndarray]:
        """Per path: the rate now, and the rate once its episode ends (the same draw when there is no episode)."""
        chosen = rng.choice(len(self.weights), size=paths, p=self.weights / self.weights.sum())
        now = rng.beta(self.a[chosen], self.b[chosen])
        return now, np.where(self.ongoing[chosen], rng.beta(self.before_a[chosen], self.before_b[chosen]), now)


def _rate_belief(d: MetricDefinition, history: dict[date, tuple[int, int]], today: date, cdf,
                 upper: bool) -> RateBelief:
    """The defect rate (bad-count rate for lower-bound metrics), allowing that it changed lately.

    Hypothesis 0: one rate all along: the account's longer history updating `PRIOR_DEFECTS` pseudo-defects at
    the metric's `PRIOR_SHARE_OF_LIMIT` of the limit.
    Hypothesis k (k = 1..CHANGE_DAYS): the rate changed k days ago to a new one (a broad prior with the old rate as its
    mean, 1/limit orders strong) and the episode goes on. Hypothesis (k, j): it changed k days ago and went back to
    the old rate j days ago (an episode already over: a stock-out's cancellations stop when stock arrives).
    A change is a priori the metric's `CHANGE_HAZARD` likely on each day and an episode ends with the metric's
    `EPISODE_END_HAZARD` per day, the same hazard the paths use for the future: an episode that went on until yesterday
    may end today.
    Each is weighed by how well it explains the recent days (Beta-binomial evidence), so a stock-out's burst of
    cancellations moves the belief at once, quiet days after it end it, and an account whose few defects fit its
    history stays on it."""
    limit = d.limit.value if upper else 1 - d.limit.value
    end_hazard = EPISODE_END_HAZARD[d.id]
    days = []
    bad_all = exposure_all = 0.0
    for a, (num, den) in history.items():
        age = (today - a).days
        bad = num if upper else den - num
        exposure = max(den * float(cdf(age)), float(bad))
        bad_all += bad
        exposure_all += exposure
        if age <= CHANGE_DAYS:
            days.append((age, bad, exposure))
    # The account's own days are the evidence (rest_bad, rest_exposure below); the prior they update is only the
    # pseudo-defects. Centred on the history and 400 orders strong, it counted a small account's history twice and
    # four times over: 0 defects in 44 orders read as a rate known to be 0.1%, and a 2% chance.
    a0 = PRIOR_DEFECTS
    b0 = PRIOR_DEFECTS * (1 / (PRIOR_SHARE_OF_LIMIT[d.id] * limit) - 1)
    # The mean a new rate is drawn around: the history with 30 orders at half the limit, as measured (README).
    prior_rate = (bad_all + NEW_RATE_PRIOR_ORDERS * limit / 2) / (exposure_all + NEW_RATE_PRIOR_ORDERS)
    # A new rate: the old one on average, but only 1/limit orders strong, so a few days of data can place it anywhere.
    new_a, new_b = prior_rate / limit, (1 - prior_rate) / limit
    days.sort()
    ages = np.array([0] + [age for age, _, _ in days], dtype=float)
    recent_bad = np.cumsum([0.0] + [bad for _, bad, _ in days])  # [i]: the i most recent days' defects
    recent_exposure = np.cumsum([0.0] + [exposure for _, _, exposure in days])
    # Hypotheses as (start, end): the episode covers the days after the `end` most recent ones up to the `start` most
    # recent ones; (0, 0) is no change, end 0 an episode still going on.
    ends, starts = np.triu_indices(len(ages), k=1)
    start, end = np.concatenate(([0], starts)), np.concatenate(([0], ends))
    over = (end == 0) | (ages[end] >= QUIET_DAYS_TO_END[d.id])
    start, end = start[over], end[over]
    episode_bad = recent_bad[start] - recent_bad[end]
    episode_exposure = recent_exposure[start] - recent_exposure[end]
    rest_bad, rest_exposure = bad_all - episode_bad, exposure_all - episode_exposure
    changed = start > 0
    ongoing = changed & (end == 0)
    lasted = ages[start] - ages[end]
    # An episode of n days went on n - 1 times; one that ended, then ended. Whether one still going on yesterday goes
    # on today is the paths' draw (`_breached`).
    change_hazard = CHANGE_HAZARD[d.id]
    log_prior = np.where(changed, math.log(change_hazard) + (lasted - 1) * math.log(1 - end_hazard)
                         + np.where(ongoing, 0.0, math.log(end_hazard)), math.log(1 - CHANGE_DAYS * change_hazard))
    evidence = _evidence(a0, b0, rest_bad, rest_exposure) + np.where(
        changed, _evidence(new_a, new_b, episode_bad, episode_exposure), 0.0)
    weights = log_prior + evidence
    weights = np.exp(weights - weights.max())
    # The rate now: the episode's when it goes on, the old rate's (all but the episode's days) otherwise.
    a = np.where(ongoing, new_a + episode_bad, a0 + rest_bad)
    b = np.where(ongoing, new_b + episode_exposure - episode_bad, b0 + rest_exposure - rest_bad)
    kept = weights > 1e-9
    return RateBelief(weights[kept], np.maximum(a, 1e-6)[kept], np.maximum(b, 1e-6)[kept], ongoing[kept],
                      np.maximum(a0 + rest_bad, 1e-6)[kept], np.maximum(b0 + rest_exposure - rest_bad, 1e-6)[kept],
                      end_hazard)


def _evidence(a: float, b: float, bad: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """log P(bad defects among `exposure` orders) under Beta(a, b), up to the binomial factor every hypothesis shares."""
    good = np.maximum(exposure - bad, 0.0)
    return _lgamma(a + bad) + _lgamma(b + good) - _lgamma(a + b + bad + good) \
        - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b)


_lgamma = np.vectorize(math.lgamma, otypes=[float])


def _volumes(history: dict[date, tuple[int, int]], today: date, days: list[date]) -> np.ndarray:
    """Expected orders on each anchor day: the recent mean, with a weekday factor where the history supports it."""
    mean = _volume_since_change(history, today)
    factors = [1.0] * 7
    span = [today - timedelta(days=k) for k in range(1, WEEKDAY_MIN_DAYS + 1)]
    if mean >= WEEKDAY_MIN_VOLUME and sum(1 for a in span if a in history) >= WEEKDAY_MIN_DAYS:
        overall = sum(history[a][1] for a in span) / WEEKDAY_MIN_DAYS
        for weekday in range(7):
            same = [history[a][1] for a in span if a.weekday() == weekday]
            observed = sum(same) / len(same) / overall if overall else 1.0
            factors[weekday] = (len(same) * observed + len(same) * 1.0) / (2 * len(same))  # halfway toward flat
    return np.array([mean * factors[a.weekday()] for a in days])


def _volume_since_change(history: dict[date, tuple[int, int]], today: date) -> float:
    """The expected orders a day: the mean since the volume last changed, over where that may have been (the days of
    history up to `VOLUME_DAYS`, a change at least `VOLUME_MIN_DAYS` back; Gamma-Poisson evidence on each side)."""
    seen = min(VOLUME_DAYS, (today - min(history)).days) if history else 0
    counts = np.array([history.get(today - timedelta(days=k), (0, 0))[1] for k in range(1, seen + 1)], dtype=float)
    if seen <= VOLUME_MIN_DAYS:
        return float(counts.sum() / max(seen, 1))
    # A weak Gamma prior at the whole span's mean, one order strong, so the evidence is the days' own.
    a0 = 1.0
    b0 = a0 / max(counts.mean(), 1e-9)
    since = np.arange(VOLUME_MIN_DAYS, seen + 1)  # days since the change; `seen` is no change within the span
    recent = np.cumsum(counts)[since - 1]
    before = counts.sum() - recent

    def evidence(total: np.ndarray, days: np.ndarray) -> np.ndarray:
        return a0 * math.log(b0) - math.lgamma(a0) + _lgamma(a0 + total) - (a0 + total) * np.log(b0 + days)

    log_weight = since * math.log(1 - VOLUME_CHANGE_HAZARD) + evidence(recent, since) \
        + np.where(since < seen, math.log(VOLUME_CHANGE_HAZARD) + evidence(before, seen - since), 0.0)
    weights = np.exp(log_weight - log_weight.max())
    return float(weights @ ((a0 + recent) / (b0 + since)) / weights.sum())
