"""Is the breach model right when the seller's rate is known? Steady sellers with no episode, one late-shipment rate
(or on-time delivery) evaluated as bench/calibration.py does, with the model's belief about the rate replaced by the
rate the seller's shipments (deliveries) are drawn at: `python -m bench.known_rate [--metric lsr_30d|lsr_10d|otdr_14d]
[--accounts N] [--volume ORDERS] [--rate SHARE] [--jobs N] [--exact | --believed]`. With `--believed`, the model keeps
its own belief, so the two runs side by side tell the belief's part of a decile off from the machinery's.

The calibration bench cannot tell a wrong belief from a wrong machinery (volumes, Amazon's reporting, the window):
both show as a decile off. Here the belief is exact, so a decile off is the machinery's. What came true is itself a
draw: with `--exact`, each evaluation's stated chance is also set beside the exact one (bench/exact_chance.py), which
tells the machinery's error from the luck of a hundred accounts. The rate is the one drawn
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
from bench import exact_chance
from alerts.metrics.definitions import METRICS, MetricDefinition
from bench.calibration import DAY, AccountResult, account_views, judged_cases, reliability, run_account
from bench.family import HISTORY_DAYS, MONITORED_DAYS, Member
from bench.observer import sweep
from daemon.simulator.generator import START, Profile, Rates

FIRST_SEED = 90_000  # seeds no account of the calibration family uses
AFN_SHARE = 0.2
LSR_30D = next(m for m in METRICS if m.id == "lsr_30d")
KNOWN = 1e7  # pseudo-orders behind the known rate: a Beta this strong is the rate itself on every path
EXACT_PATHS = 3000  # the exact chance's Monte Carlo error is then under a point at any chance
# The generator's rate each metric counts: late shipments, or late deliveries (in units, an order's units late together).
DRAWN_RATE = {"lsr_10d": "late_ship", "lsr_30d": "late_ship", "otdr_14d": "late_delivery"}


def steady_sellers(count: int, volume: float, rate: float, drawn: str = "late_ship") -> list[Member]:
    """`count` sellers of `volume` orders a day whose rate `drawn` (a generator rate) is `rate` all their life."""
    return [Member(i, Profile(f"steady-{i}", orders_per_day=volume, days=HISTORY_DAYS + MONITORED_DAYS,
                              monitor_from_day=HISTORY_DAYS, afn_share=AFN_SHARE, rates=Rates(**{drawn: rate})),
                   seed=FIRST_SEED + i) for i in range(count)]


def realised_rate(member: Member, d: MetricDefinition = LSR_30D) -> float:
    """The share of the seller's shipments (units, for on-time delivery) that were late, over its whole life, as the
    daemon saw them."""
    local, _ = account_views(member)
    profile = member.profile
    end = START + profile.days * DAY
    _, seen = next(iter(sweep(local, [end])))
    num, den = seen.window((d.id, "MFN", profile.marketplace), START.date(), end.date())
    late = num if d.limit.direction == "upper" else den - num
    return late / den if den else 0.0


@contextmanager
def rate_known(rate: float) -> Iterator[None]:
    """Within it, the breach model's rate belief is `rate` itself: one hypothesis, no change, no spread."""
    believed = breach._rate_belief

    def known(d, history, today, cdf, upper) -> breach.RateBelief:
        a, b = np.array([rate * KNOWN]), np.array([(1 - rate) * KNOWN])
        return breach.RateBelief(np.array([1.0]), a, b, np.array([False]), a, b, breach.EPISODE_END_HAZARD[d.id])

    breach._rate_belief = known
    try:
        yield
    finally:
        breach._rate_belief = believed


def run_known(member: Member, d: MetricDefinition, exact: bool = False,
              believed: bool = False) -> tuple[AccountResult, float, list[float]]:
    """The account evaluated with the rate its shipments were drawn at known (with `believed`, the model's own belief),
    the rate they had, and with `exact` the exact chance of each evaluation (bench/exact_chance.py; else none)."""
    if believed:
        result = run_account(member, metrics=[d])
    else:
        with rate_known(getattr(member.profile.rates, DRAWN_RATE[d.id])):
            result = run_account(member, metrics=[d])
    chances = []
    if exact:
        orders = exact_chance.mfn_orders(member.profile, member.seed)
        rng = np.random.default_rng(member.seed)
        chances = [exact_chance.breach_chance(orders, member.profile, case.at, d.window.length_days,
                                              (d.limit.p, d.limit.q), 14, EXACT_PATHS, rng) for case in result.cases]
    return result, realised_rate(member, d), chances


def against_exact(results: list[AccountResult], exact: list[list[float]]) -> list[str]:
    """Per decile of the stated chance: cases, stated, exact and observed %, and the mean square distance of the
    stated chances from the exact ones, over every evaluation and over those that sent a notice."""
    lines = []
    for name, chosen in (("every evaluation", lambda c: True), ("that sent a notice", lambda c: c.notified)):
        rows: dict[int, list[tuple[float, float, bool]]] = {}
        for r, chances in zip(results, exact):
            exact_of = dict(zip(map(id, r.cases), chances))
            for _, stated, came, case in judged_cases(r, 14, chosen):  # as the calibration bench judges them
                rows.setdefault(min(int(stated * 10), 9), []).append((stated, exact_of[id(case)], came))
        every = [row for decile in rows.values() for row in decile]
        distance = float(np.mean([(stated - chance) ** 2 for stated, chance, _ in every])) if every else 0.0
        cells = ", ".join(f"{decile * 10}-{decile * 10 + 10}%: "
                          + " / ".join(f"{np.mean([row[i] for row in cases]) * 100:.1f}" for i in range(3))
                          + f" ({len(cases)})" for decile, cases in sorted(rows.items()))
        lines.append(f"  {name}: {cells}; mean square distance from the exact chance {distance:.5f}")
    return lines


def render(results: list[AccountResult], rates: list[float], d: MetricDefinition, volume: float, rate: float,
           believed: bool = False) -> str:
    what = "late-delivery" if DRAWN_RATE[d.id] == "late_delivery" else "late-shipment"
    lines = [f"{len(results)} steady sellers, {volume:g} orders a day, {what} rate {rate * 100:g}% "
             f"(realised: {np.mean(rates) * 100:.2f}% on average); {d.id} with the "
             + ("model's own belief" if believed else "rate known"),
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
    parser.add_argument("--metric", choices=sorted(DRAWN_RATE), default="lsr_30d")
    parser.add_argument("--accounts", type=int, default=120)
    parser.add_argument("--volume", type=float, default=2.0, help="orders a day (a fifth of them fulfilled by Amazon)")
    parser.add_argument("--rate", type=float, default=0.015,
                        help="the share of seller-fulfilled orders shipped late (delivered late, for otdr_14d)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--exact", action="store_true",
                        help="also the exact chance of each evaluation, and how far the stated ones are from it")
    parser.add_argument("--believed", action="store_true",
                        help="the model's own belief about the rate instead of the known rate")
    args = parser.parse_args(argv)
    if args.exact and (args.believed or args.metric not in breach.REPORTED_FROM_SHIPMENTS):
        parser.error("--exact resimulates late shipments with the rate known: a late-shipment metric, without "
                     "--believed")
    d = next(m for m in METRICS if m.id == args.metric)
    members = steady_sellers(args.accounts, args.volume, args.rate, DRAWN_RATE[d.id])
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results, rates, exact = zip(*pool.map(partial(run_known, d=d, exact=args.exact, believed=args.believed),
                                              members))
    print(render(list(results), list(rates), d, args.volume, args.rate, args.believed))
    if args.exact:
        print("stated / exact / observed % P(over within 14 days) (cases) per decile of the stated chance:")
        print("\n".join(against_exact(list(results), list(exact))))


if __name__ == "__main__":
    main()
