"""The exact chance of a generated steady seller's late-shipment figure going over the limit: the generator's own
process resimulated from the seller's true state at the evaluation instant. The yardstick `bench/known_rate.py`
measures the breach model's machinery against, free of the noise of what happened to come true.

Every order bought before the instant and shipped or cancelled by then stays as it is. One neither shipped nor
cancelled yet ends as the generator would end it, given that it has not ended by then: cancelled, shipped late or
shipped on time, each as likely as the generator makes it and the time left allows. The days to come get the
generator's orders. Amazon's figure on each of the next days counts the shipments of its window confirmed 72 hours
before it, as the simulator's report does (`tests/bench/test_exact_chance.py` checks the count against it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from daemon.clock import parse_instant
from daemon.simulator.amazon import Lags
from daemon.simulator.generator import Profile, generate_events

DAY_S = 86400.0
HOUR_S = 3600.0
LAG_S = Lags().shipping.total_seconds()  # a shipment is in Amazon's report this long after its confirmation
# The generator's timings (daemon/simulator/generator.py, _order_events), in hours after the purchase or the ship-by
# instant.
BUYER_CANCEL_HOURS = (0.2, 20.0)
SELLER_CANCEL_HOURS = (1.0, 30.0)
LATE_SHIP_HOURS = (1.0, 48.0)  # after the ship-by instant
EARLIEST_SHIP_HOURS = 2.0  # an order shipped on time goes between this long after its purchase and an hour before its
# ship-by instant (at least 3 hours after its purchase)


@dataclass(frozen=True)
class MfnOrder:
    """A seller-fulfilled order of a generated account, instants as POSIX seconds."""

    bought: float
    ship_by: float
    shipped: float | None
    cancelled: float | None


def mfn_orders(profile: Profile, seed: int) -> list[MfnOrder]:
    """The account's seller-fulfilled orders, as the generator made them."""
    rows: dict[str, dict] = {}
    for at, event in generate_events(profile, seed):
        row = rows.get(event["order_id"])
        if event["type"] == "order" and event["channel"] == "MFN":
            rows[event["order_id"]] = {"bought": parse_instant(event["purchase_date"]).timestamp(),
                                       "ship_by": parse_instant(event["latest_ship_date"]).timestamp(),
                                       "shipped": None, "cancelled": None}
        elif row is not None and event["type"] == "ship":
            row["shipped"] = at.timestamp()
        elif row is not None and event["type"] == "cancel":
            row["cancelled"] = at.timestamp()
    return [MfnOrder(**row) for row in rows.values()]


def figure(orders: list[MfnOrder], at: float, window_days: int) -> tuple[int, int]:
    """Amazon's (late shipments, shipments) at `at` (a midnight): the shipments of ship-by days in the window whose
    confirmation is at least the shipping lag old."""
    shipped = [o for o in orders if o.shipped is not None and o.cancelled is None]
    day = np.array([o.ship_by // DAY_S * DAY_S for o in shipped])
    shown = _shown(day, np.array([o.shipped + LAG_S for o in shipped]), at, window_days)
    return int((shown & np.array([o.shipped > o.ship_by for o in shipped], dtype=bool)).sum()), int(shown.sum())


def breach_chance(orders: list[MfnOrder], profile: Profile, at: datetime, window_days: int, limit: tuple[int, int],
                  horizon: int, paths: int, rng: np.random.Generator) -> float:
    """P(Amazon's late-shipment figure is at or over `limit` (p, q) on any of the `horizon` days after `at`) for a
    seller generated from `profile` with no episode and no volume change."""
    t0 = at.timestamp()
    rates = profile.rates
    bought = [o for o in orders if o.bought < t0]
    ended = [o for o in bought if _ended(o, t0)]
    columns = [_unended(o, t0, rates.late_ship, rates.buyer_cancel, rates.seller_cancel, paths, rng)
               for o in bought if not _ended(o, t0)]
    columns = [c for c in columns if c is not None] + _orders_to_come(profile, t0, horizon, paths, rng)
    if columns:
        day, confirmed, late, counted = (np.stack(x, axis=1) for x in zip(*columns))
    p, q = limit
    over = np.zeros(paths, dtype=bool)
    for k in range(1, horizon + 1):
        end = t0 + k * DAY_S
        num, den = (np.full(paths, n) for n in figure(ended, end, window_days))
        if columns:
            shown = counted & _shown(day, confirmed + LAG_S, end, window_days)
            num = num + (shown & late).sum(axis=1)
            den = den + shown.sum(axis=1)
        over |= (den > 0) & (num * q >= den * p)
    return float(over.mean())


def _shown(day: np.ndarray, seen: np.ndarray, at: float, window_days: int) -> np.ndarray:
    """Shipments of ship-by `day` seen by Amazon at `seen` are in its figure at `at`."""
    return (day >= at - window_days * DAY_S) & (day < at) & (seen <= at)


def _ended(o: MfnOrder, t0: float) -> bool:
    """Shipped or cancelled before `t0` (cancelled orders never count; shipped ones as they are)."""
    return (o.shipped is not None and o.shipped < t0) or (o.cancelled is not None and o.cancelled < t0)


def _unended(o: MfnOrder, t0: float, late_ship: float, buyer_cancel: float, seller_cancel: float, paths: int,
             rng: np.random.Generator):
    """Per path, (ship-by day, confirmation, late, counted) of an order bought before `t0` and not ended by then:
    each ending weighed by how likely the generator makes it and how much of its time is still after `t0`."""
    age = (t0 - o.bought) / HOUR_S
    on_time_last = max(3.0, (o.ship_by - o.bought) / HOUR_S - 1)
    late_first = max(o.ship_by + LATE_SHIP_HOURS[0] * HOUR_S, t0)
    late_last = o.ship_by + LATE_SHIP_HOURS[1] * HOUR_S
    on_time_first = max(o.bought + EARLIEST_SHIP_HOURS * HOUR_S, t0)
    on_time_end = o.bought + on_time_last * HOUR_S
    shipping = 1 - buyer_cancel - seller_cancel
    weights = np.array([
        buyer_cancel * _left(age, *BUYER_CANCEL_HOURS) + seller_cancel * _left(age, *SELLER_CANCEL_HOURS),
        shipping * late_ship * max(0.0, late_last - late_first) / ((LATE_SHIP_HOURS[1] - LATE_SHIP_HOURS[0]) * HOUR_S),
        shipping * (1 - late_ship) * max(0.0, on_time_end - on_time_first)
        / ((on_time_last - EARLIEST_SHIP_HOURS) * HOUR_S),
    ])
    if weights.sum() <= 0:
        return None
    ending = rng.choice(3, size=paths, p=weights / weights.sum())
    confirmed = np.where(ending == 1, rng.uniform(late_first, late_last, paths),
                         rng.uniform(on_time_first, max(on_time_first, on_time_end), paths))
    return np.full(paths, o.ship_by // DAY_S * DAY_S), confirmed, ending == 1, ending != 0


def _left(age_hours: float, first: float, last: float) -> float:
    """The share of a uniform time in [first, last] hours still after `age_hours`."""
    return max(0.0, (last - max(age_hours, first)) / (last - first))


def _orders_to_come(profile: Profile, t0: float, horizon: int, paths: int, rng: np.random.Generator) -> list:
    """Per path, the generator's orders of the days from `t0` on, one column per order slot."""
    rates = profile.rates
    out = []
    for k in range(horizon):
        mean = profile.orders_per_day
        count = np.maximum(0, np.rint(rng.normal(mean, mean ** 0.5, paths))).astype(int)
        slots = int(count.max())
        if not slots:
            continue
        exists = np.arange(slots)[None, :] < count[:, None]
        bought = t0 + k * DAY_S + rng.integers(0, int(DAY_S), (paths, slots))
        mfn = rng.random((paths, slots)) >= profile.afn_share
        kept = rng.random((paths, slots)) >= rates.buyer_cancel + rates.seller_cancel
        late = rng.random((paths, slots)) < rates.late_ship
        ship_by = (bought // DAY_S + profile.handling_days) * DAY_S + DAY_S - 1
        on_time_last = np.maximum(3.0, (ship_by - bought) / HOUR_S - 1)
        confirmed = np.where(
            late, ship_by + rng.uniform(*LATE_SHIP_HOURS, (paths, slots)) * HOUR_S,
            bought + (EARLIEST_SHIP_HOURS + rng.random((paths, slots)) * (on_time_last - EARLIEST_SHIP_HOURS)) * HOUR_S)
        for slot in range(slots):
            out.append((ship_by[:, slot] // DAY_S * DAY_S, confirmed[:, slot], late[:, slot],
                        exists[:, slot] & mfn[:, slot] & kept[:, slot]))
    return out
