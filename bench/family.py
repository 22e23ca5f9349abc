"""A family of generated sellers the alert thresholds were not written for: 2 to 3,000 orders a day, volume
drops and spikes, FBA-heavy, denied claims, carrier delays, bad tracking, near-limit accounts that never
cross, several marketplaces. Deterministic: account i is always the same seller.

A third of the family (`tuning`) is where thresholds may be tuned; the rest (`held_out`) is only reported.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

from daemon.simulator.generator import Episode, Profile, Rates

MONITORED_DAYS = 180
HISTORY_DAYS = 75  # what the longest window (ODR: 60 days ending 14 days back) needs before installation
VOLUMES = (2, 4, 8, 15, 25, 40, 60, 90, 140, 220, 350, 600, 1200, 3000)
KINDS = ("steady", "drop", "spike", "fba_heavy", "denied_claims", "carrier_delay", "bad_tracking", "near_limit",
         "marketplaces", "odr_creep", "stockout", "late_ship")
TUNING_EVERY = 3  # the first account of every three is in the tuning part
# Shapes the first 216 accounts lacked, where a near-limit ODR chance was under-stated: a low-volume seller hovering near
# the limit, a slow creep, a second marketplace's Amazon-fulfilled figure. Appended after them, so accounts 0-215 stay
# the sellers they were and figures before and after stay comparable.
ORIGINAL_SIZE = 216
WIDENED_KINDS = ("low_volume_near", "slow_creep", "afn_marketplace")


@dataclass(frozen=True)
class Member:
    index: int
    profile: Profile
    seed: int

    @property
    def tuning(self) -> bool:
        return self.index % TUNING_EVERY == 0


def family(size: int = 54) -> list[Member]:
    """`size` accounts cycling through the kinds (three in a row each), each with its own volume, episode timing and seed."""
    return [_member(i) for i in range(size)]


def _member(index: int) -> Member:
    rng = random.Random(1000 + index)
    # `TUNING_EVERY` accounts in a row share a kind, so both parts hold every kind: with `index % len(KINDS)`, the
    # tuning part held only four of the twelve.
    kind = (KINDS[(index // TUNING_EVERY) % len(KINDS)] if index < ORIGINAL_SIZE
            else WIDENED_KINDS[((index - ORIGINAL_SIZE) // TUNING_EVERY) % len(WIDENED_KINDS)])
    # Most sellers are small; a few are large (one in ten draws from the top three volumes).
    volume = rng.choice(VOLUMES[-3:]) if rng.random() < 1 / 10 else rng.choice(VOLUMES[:-3])
    days = HISTORY_DAYS + MONITORED_DAYS
    start = HISTORY_DAYS + rng.randrange(-20, MONITORED_DAYS - 30)  # episodes may begin before installation
    length = rng.randrange(8, 40)
    base = Rates(late_ship=rng.uniform(0.002, 0.015), seller_cancel=rng.uniform(0.0, 0.006),
                 invalid_tracking=rng.uniform(0.0, 0.01), late_delivery=rng.uniform(0.005, 0.03),
                 negative_feedback=rng.uniform(0.001, 0.004), claim=rng.uniform(0.0002, 0.0015),
                 chargeback=rng.uniform(0.0, 0.0005))
    profile = Profile(f"{kind}-{index}", orders_per_day=volume, days=days, monitor_from_day=HISTORY_DAYS,
                      afn_share=rng.uniform(0.0, 0.4), rates=base)
    strength = rng.uniform(0.5, 2.0)  # from an episode that stays inside the limit to one that crosses it
    if kind == "drop":
        profile = replace(profile, volume_changes=((start, rng.uniform(0.1, 0.4)),),
                        episodes=(Episode(start - 20, length, negative_feedback=0.006 * strength),))
    elif kind == "spike":
        profile = replace(profile, volume_changes=((start, rng.uniform(2.5, 5)), (start + length // 3, 1.0)),
                        episodes=(Episode(start, length // 3, late_ship=0.03 * strength),))
    elif kind == "fba_heavy":
        profile = replace(profile, afn_share=rng.uniform(0.8, 0.95),
                        episodes=(Episode(start, length, negative_feedback=0.008 * strength, claim=0.003 * strength),))
    elif kind == "denied_claims":
        profile = replace(profile, rates=Rates(**{**base.__dict__, "claim_granted": 0.1}),
                        episodes=(Episode(start, length, claim=0.02 * strength),))
    elif kind == "carrier_delay":
        profile = replace(profile, episodes=(Episode(start, length, late_delivery=0.08 * strength),))
    elif kind == "bad_tracking":
        profile = replace(profile, episodes=(Episode(start, length, invalid_tracking=0.05 * strength),))
    elif kind == "near_limit":
        # Close to every limit for the whole life, never over it on average.
        profile = replace(profile, rates=Rates(late_ship=0.025, seller_cancel=0.012, invalid_tracking=0.025,
                                             late_delivery=0.05, negative_feedback=0.005, claim=0.001, chargeback=0.0003))
    elif kind == "marketplaces":
        profile = replace(profile, other_marketplaces=("A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8")[: 1 + index % 2],
                        episodes=(Episode(start, length, negative_feedback=0.008 * strength, late_ship=0.03 * strength),))
    elif kind == "odr_creep":
        profile = replace(profile, episodes=_creep(start, 4, 0.002 * strength, 0.002, 0.0005, 3))
    elif kind == "stockout":
        profile = replace(profile, episodes=(Episode(start, max(5, length // 3), seller_cancel=0.03 * strength),))
    elif kind == "late_ship":
        profile = replace(profile, episodes=(Episode(start, length, late_ship=0.045 * strength),))
    elif kind == "low_volume_near":
        # A few orders a day at an ODR of 0.6-1.1%: one order decides, and the margin is crossed back and forth.
        defect = rng.uniform(0.006, 0.011)
        profile = replace(profile, orders_per_day=rng.choice(VOLUMES[:5]), rates=replace(
            base, negative_feedback=defect * 0.7, claim=defect * 0.3, chargeback=0.0))
    elif kind == "slow_creep":
        # The defect rate climbs a little every ten days for two months.
        profile = replace(profile, episodes=_creep(start, 6, 0.0006 * strength, 0.003, 0.0006, 4))
    elif kind == "afn_marketplace":
        # Two marketplaces, much of it fulfilled by Amazon: the second marketplace's AFN window holds few orders.
        profile = replace(profile, other_marketplaces=("A2EUQ1WTGCTBG2",), afn_share=rng.uniform(0.4, 0.7),
                          episodes=(Episode(start, length, negative_feedback=0.007 * strength, claim=0.002 * strength),))
    return Member(index, profile, seed=7000 + index)


def _creep(start: int, steps: int, step: float, feedback: float, claim: float,
           claim_divisor: int) -> tuple[Episode, ...]:
    """A defect rate that climbs every ten days: negative feedback by `step`, claims by `step / claim_divisor`."""
    return tuple(Episode(start + 10 * k, 10, negative_feedback=feedback + step * (k + 1),
                         claim=claim + step / claim_divisor * (k + 1)) for k in range(steps))
