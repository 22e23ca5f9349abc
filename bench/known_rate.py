"""Is the breach model right when the seller's rate is known? Steady sellers with no episode, one late-shipment rate
evaluated as bench/calibration.py does, with the model's belief about the rate replaced by the rate the seller's
shipments are drawn at: `python -m bench.known_rate [--metric lsr_30d|lsr_10d] [--accounts N] [--volume ORDERS]
[--rate SHARE] [--jobs N]`.

The calibration bench cannot tell a wrong belief from a wrong machinery (volumes, Amazon's reporting, the window):
both show as a decile off. Here the belief is exact, so a decile off is the machinery's. The rate is the one drawn
at, not the share each seller's shipments had over its life: that share ties the days to come to the days seen (a
window with many late shipments leaves fewer for the rest), which no seller's future does.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial

import numpy as np

from alerts import breach
from alerts.metrics.definitions import METRICS, MetricDefinition
from bench.calibration import DAY, AccountResult, account_views, reliability, run_account
from bench.family import HISTORY_DAYS, MONITORED_DAYS, Member
from bench.observer import sweep
from daemon.simulator.generator import START, Profile, Rates

FIRST_SEED = 90_000  # seeds no account of the calibration family uses
AFN_SHARE = 0.2
KNOWN = 1e7  # pseudo-orders behind the known rate: a Beta this strong is the rate itself on every path


def steady_sellers(count: int, volume: float, rate: float) -> list[Member]:
    """`count` sellers of `volume` orders a day whose late-shipment rate is `rate` all their life."""
    return [Member(i, Profile(f"steady-{i}", orders_per_day=volume, days=HISTORY_DAYS + MONITORED_DAYS,
                              monitor_from_day=HISTORY_DAYS, afn_share=AFN_SHARE, rates=Rates(late_ship=rate)),
                   seed=FIRST_SEED + i) for i in range(count)]


def realised_rate(member: Member) -> float:
    """The share of the seller's shipments that were late, over its whole life, as the daemon saw them."""
    local, _ = account_views(member)
    profile = member.profile
    end = START + profile.days * DAY
    _, seen = next(iter(sweep(local, [end])))
    late, shipped = seen.window(("lsr_30d", "MFN", profile.marketplace), START.date(), end.date())
    return late / shipped if shipped else 0.0


@contextmanager
def rate_known(rate: float) -> Iterator[None]:
    """Within it, the breach model's rate belief is `rate` itself: one hypothesis, no change, no spread."""
    believed = breach._rate_belief

    def known(d, history, today, cdf, upper, end_hazard) -> breach.RateBelief:
        a, b = np.array([rate * KNOWN]), np.array([(1 - rate) * KNOWN])
        return breach.RateBelief(np.array([1.0]), a, b, np.array([False]), a, b, end_hazard)

    breach._rate_belief = known
    try:
        yield
    finally:
        breach._rate_belief = believed


def run_known(member: Member, d: MetricDefinition) -> tuple[AccountResult, float]:
    """The account evaluated with the rate its shipments were drawn at known, and the rate they had."""
    with rate_known(member.profile.rates.late_ship):
        return run_account(member, metrics=[d]), realised_rate(member)


def render(results: list[AccountResult], rates: list[float], d: MetricDefinition, volume: float, rate: float) -> str:
    lines = [f"{len(results)} steady sellers, {volume:g} orders a day, late-shipment rate {rate * 100:g}% "
             f"(realised: {np.mean(rates) * 100:.2f}% on average); {d.id} with the rate known",
             "stated / observed % P(Amazon's figure over within 14 days) (cases, accounts; observed's 90% interval, "
             "resampling accounts) per decile; Brier:"]
    selections = (("every evaluation inside the limit", lambda c: True),
                  ("at warning or above", lambda c: c.level != "ok"), ("that sent a notice", lambda c: c.notified))
    for name, chosen in selections:
        table, score = reliability(results, 14, chosen)
        cells = ", ".join(f"{label}: {stated * 100:.1f} / {observed * 100:.1f} ({cases}, {accounts}; "
                          f"{low * 100:.0f}-{high * 100:.0f})"
                          for label, cases, stated, observed, accounts, (low, high) in table)
        lines.append(f"  {name}: {cells}; Brier {score:.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.known_rate")
    parser.add_argument("--metric", choices=sorted(breach.REPORTED_FROM_SHIPMENTS), default="lsr_30d")
    parser.add_argument("--accounts", type=int, default=120)
    parser.add_argument("--volume", type=float, default=2.0, help="orders a day (a fifth of them fulfilled by Amazon)")
    parser.add_argument("--rate", type=float, default=0.015, help="the share of seller-fulfilled orders shipped late")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    d = next(m for m in METRICS if m.id == args.metric)
    members = steady_sellers(args.accounts, args.volume, args.rate)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results, rates = zip(*pool.map(partial(run_known, d=d), members))
    print(render(list(results), list(rates), d, args.volume, args.rate))


if __name__ == "__main__":
    main()
