"""How early, how quiet and how right the alerts are on the generated family, against Amazon's published (lagged)
figures: `python -m bench.calibration [--part held_out|tuning|all] [--jobs N] [--size N] [--metrics ID,...]
[--hysteresis-grid] [--worse-hold-hours H] [--save FILE | --load FILE]`.

Each account is evaluated once a day for its 180 monitored days with the daemon's own evaluate() and decide()
and its default margins, over the bench observer's view of what a complete sync shows (bench/observer.py).
"""
from __future__ import annotations

import argparse
import hashlib
import pickle
import random
import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from itertools import groupby
from pathlib import Path

from alerts.breach import HISTORY_DAYS, LEAD_DAYS, RECENT_CLAIMS_DAYS, recent_open_claims
from alerts.decide import Policy, Said, decide, got_worse, initial_state
from alerts.evaluate import Chances, Evaluation, Observation, Thresholds, evaluate, with_seller_days
from alerts.hysteresis import Hysteresis, clear_of_margin
from alerts.series import DaySeries
from alerts.unreported import SHIPPING_REPORT_LAG, unreported
from alerts.metrics.definitions import METRICS, MetricDefinition
from alerts.model import Level, NotifyReason
from bench.alert_quality import Key, forecast_hits, lead_times
from bench.family import ORIGINAL_SIZE, Member, family
from bench.point_forecast import project
from bench.observer import AMAZON_CLAIMS, DELIVERY_LEAD, PROMISED, SHIP_LEAD, UNSHIPPED, Change, account_changes, sweep
from daemon.app import policy_of, thresholds_of
from daemon.clock import format_instant
from daemon.config import default_config
from daemon.simulator.amazon import Lags
from daemon.simulator.generator import START, generate_events

DAY = timedelta(days=1)
HORIZON_DAYS = 30
OTDR_ENFORCED = "ATVPDKIKX0DER"
CACHE = Path(__file__).parent / ".cache"
# The generator's orders by their units (one unit four times in five, else two or three), as shares: what the daemon
# reads off its last four weeks of orders (daemon/observe.py).
GENERATED_ORDER_QUANTITIES = {1: 8, 2: 1, 3: 1}
FAMILY_SIZE = 252  # the first 216 as before, then the widened kinds (bench/family.py)
ROUND = 36  # twelve kinds, three accounts each: every kind in both parts


NOTICE_REASONS = (NotifyReason.FIRST, NotifyReason.WORSE, NotifyReason.ESCALATED, NotifyReason.DE_ESCALATED,
                  NotifyReason.REPEAT)
VOLUME_CLASSES = ((0, 100, "under 100"), (100, 1000, "100-1,000"), (1000, 10**12, "over 1,000"))  # orders in the window
# The mark for notices: every decile of this many cases or more within this many points, all metrics together
# and per metric.
MARK_CASES, MARK_POINTS = 30, 0.10
CHANCE_DRAWS = 1000


@dataclass
class Case:
    """One evaluation of a metric still inside the limit: what the model said and what the seller was told."""

    key: Key
    at: datetime
    p3: float  # P(Amazon's figure over within 3 days)
    p14: float
    level: str  # the evaluated level
    orders: int  # orders in the window
    expected_new: float = 0.0  # new defects the model expects in Amazon's window by the 14th day
    # Why this evaluation sent a warning, critical or breach notice for the metric: decide()'s reason (first, worse,
    # escalated, de-escalated, repeat); None when it sent none (notify_steps).
    notice: str | None = None

    @property
    def notified(self) -> bool:
        return self.notice is not None


@dataclass(frozen=True)
class Step:
    """One evaluation as decide() needs it, kept so notification policies can be compared without re-evaluating."""

    key: Key
    at: datetime
    level: Level
    said: Said
    evaluation: Evaluation  # without its outlook and words, which are large and not needed to decide
    thresholds: Thresholds
    case: int | None  # index into cases, for evaluations inside the limit


@dataclass
class AccountResult:
    name: str
    tuning: bool
    months: float
    monitor_from: datetime
    alert_rows: list[dict] = field(default_factory=list)
    breach_days: dict[Key, list[datetime]] = field(default_factory=dict)
    notifications: int = 0  # messages per channel: one per evaluation that notified anything (grouped)
    alerts: int = 0  # alerts in those messages, repeats included
    cases: list[Case] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    medians: list[tuple[Key, datetime]] = field(default_factory=list)  # every evaluation's median crossing day
    points: list[tuple[Key, datetime]] = field(default_factory=list)  # the old point forecast's crossing days


def run_account(member: Member, chances: Chances | None = None,
                metrics: Sequence[MetricDefinition] = METRICS) -> AccountResult:
    """Evaluate one generated account day by day, as the daemon would after each day's complete sync; only `metrics`
    (all by default: a subset makes the counts of notifications and breaches that subset's)."""
    local, amazon = account_views(member)
    profile = member.profile
    monitor_from = START + profile.monitor_from_day * DAY
    # Amazon's figure from the installation day, so a breach already there is not a crossing; evaluations the day after.
    instants = [monitor_from + k * DAY for k in range(0, profile.days - profile.monitor_from_day + 1)]
    result = AccountResult(profile.name, member.tuning, (len(instants) - 1) / 30, monitor_from)
    margins = default_config(Path("unused")).alerts  # the default margins; nothing is written
    chances = chances or margins.chances
    defects = _defect_events(local)
    shipments = _shipments(local)
    ages: dict[tuple[str, str], dict[tuple[date, int], int]] = defaultdict(lambda: defaultdict(int))
    removed: dict[tuple[str, str], dict[tuple[date, date, int], int]] = defaultdict(lambda: defaultdict(int))
    claims_reported: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)  # Amazon's ODR claim count by day
    position = 0
    for (at, mine), (_, theirs) in zip(sweep(local, instants), sweep(amazon, instants)):
        while position < len(defects) and defects[position][0] <= at:
            _, mp_ff, anchor, age, delay = defects[position]
            ages[mp_ff][(anchor, age)] += 1 if delay is None else -1
            if delay is not None:
                removed[mp_ff][(anchor, anchor + age * DAY, delay)] += 1
            position += 1
        observed = []
        for mp in profile.marketplaces:
            for d in metrics:
                if d.id == "otdr_14d" and mp != OTDR_ENFORCED:
                    continue
                key = (mp, d.id, d.fulfillment)
                bucket = (d.id, d.fulfillment, mp)
                first, end = d.window.days(at.date())
                a_num, a_den = theirs.window(bucket, first, end)
                if d.limit.breached(a_num, a_den):
                    result.breach_days.setdefault(key, []).append(at)
                if at == monitor_from:
                    continue
                observed.append(_observation(d, mp, at, mine, theirs, first, end, a_num, a_den,
                                             ages[(mp, d.fulfillment)], removed[(mp, d.fulfillment)],
                                             shipments.get(mp, ([], [])), claims_reported[(mp, d.fulfillment)]))
        for obs in with_seller_days(observed):  # as the daemon evaluates an account's marketplaces together
            d, mp = obs.definition, obs.marketplace_id
            key = (mp, d.id, d.fulfillment)
            thresholds = thresholds_of(margins.margins_for(profile.name, mp, d.id))
            ev = evaluate(obs, thresholds, HORIZON_DAYS, chances)
            case = None
            if ev.defects_to_breach:  # still inside the limit: what the model says can be checked
                case = len(result.cases)
                result.cases.append(Case(key, at, ev.outlook.within(3), ev.outlook.within(14), ev.level.value,
                                         ev.denominator, ev.outlook.expected_defects[13]))
                if ev.forecast_breach_at:
                    result.medians.append((key, ev.forecast_breach_at))
                point = project(obs.series, d, at.date(), HORIZON_DAYS, (obs.overdue + obs.unattributed, obs.overdue))
                if point is not None:
                    result.points.append((key, datetime.combine(point, datetime.min.time(), tzinfo=at.tzinfo)))
            said = Said(ev.breach_probability, ev.defects_to_breach, ev.value, d.limit.direction)
            slim = replace(ev, outlook=None, explanation=(), advice=())
            result.steps.append(Step(key, at, ev.level, said, slim, thresholds, case))
    notify_steps(result, policy_of(margins), margins.hysteresis)
    return result


def notify_steps(result: AccountResult, policy: Policy, hysteresis: Hysteresis | None) -> None:
    """Decide, evaluation by evaluation, what the daemon would have sent under `policy` and `hysteresis` (None: none);
    the result's alert rows, counts and the cases' `notice` are replaced."""
    result.alert_rows, result.notifications, result.alerts = [], 0, 0
    states, said = {}, {}
    for case in result.cases:
        case.notice = None
    for at, steps in groupby(result.steps, key=lambda step: step.at):
        notified = 0
        for step in steps:
            ev, key = step.evaluation, step.key
            clear = (None if hysteresis is None
                     else clear_of_margin(ev, step.thresholds, step.said.direction, hysteresis))
            decision = decide(states.get(key) or initial_state(at), step.level, at, policy,
                              got_worse(said.get(key), step.said), clear)
            states[key] = decision.state
            if decision.reason is None:
                continue
            if step.case is not None and decision.level.rank >= Level.WARNING.rank:
                result.cases[step.case].notice = decision.reason.value
            said[key] = step.said
            notified += 1
            if decision.reason != NotifyReason.REPEAT:
                mp, metric, fulfillment = key
                result.alert_rows.append({
                    "at": format_instant(at), "marketplace_id": mp, "metric": metric, "fulfillment": fulfillment,
                    "level": decision.level.value, "reason": decision.reason.value, "value": ev.value,
                    "forecast_breach_at": format_instant(ev.forecast_breach_at) if ev.forecast_breach_at else None,
                })
        result.alerts += notified
        result.notifications += bool(notified)


def _observation(d, mp, at, mine, theirs, first, end, a_num, a_den, ages, removed, shipments,
                 claims_reported: dict[date, int]) -> Observation:
    bucket = (d.id, d.fulfillment, mp)
    num, den = mine.window(bucket, first, end)
    today = at.date()
    history_from = min(first, today - HISTORY_DAYS[d.id] * DAY)
    series = DaySeries(mine.series(bucket, history_from, today))
    unattributed = recent_claims = granted = 0
    if d.id == "odr":
        reported = theirs.window((AMAZON_CLAIMS, d.fulfillment, mp), first, end)[0]
        granted = mine.window(("odr_granted_claims", d.fulfillment, mp), first, end)[0]
        unattributed = max(0, reported - granted)
        claims_reported[today] = reported
        then = today - RECENT_CLAIMS_DAYS * DAY
        if then in claims_reported:  # as the daemon reads it: the grants it knows now, in the window of then
            first_then, end_then = d.window.days(then)
            granted_then = mine.window(("odr_granted_claims", d.fulfillment, mp), first_then, end_then)[0]
            recent_claims = recent_open_claims(unattributed, claims_reported[then], granted_then)
    past_due, unreported, pending, leads = {}, {}, {}, {}
    if d.id in ("lsr_10d", "lsr_30d"):
        unshipped = mine.series((UNSHIPPED, "MFN", mp), first, date.max)
        past_due = {day: n for day, (n, _) in unshipped.items() if n and day < today}
        pending = {day: n for day, (n, _) in unshipped.items() if n and day >= today}
        unreported = _unreported(shipments, at)
        leads = _leads(mine, SHIP_LEAD, mp, today)
    elif d.id == "otdr_14d":
        promised = mine.series((PROMISED, "MFN", mp), today, date.max)
        pending = {day: n for day, (n, _) in promised.items() if n}
        leads = _leads(mine, DELIVERY_LEAD, mp, today)
    defect_ages = {key: n for key, n in ages.items() if key[0] >= history_from and n} if d.id == "odr" else {}
    removals = defaultdict(int)
    if d.id == "odr":
        for (anchor, appeared, delay), n in removed.items():
            if anchor >= history_from:
                removals[(appeared, delay)] += n
    return Observation(definition=d, marketplace_id=mp, at=at, numerator=num, denominator=den, series=series,
                       unattributed=unattributed, recent_claims=recent_claims, granted_claims=granted, past_due=past_due,
                       amazon_value=a_num / a_den if a_den else None, defect_ages=defect_ages,
                       removals=dict(removals), unreported=unreported, pending=pending, anchor_leads=leads,
                       order_quantities=GENERATED_ORDER_QUANTITIES if d.id == "otdr_14d" else {})


def _leads(mine, lead_bucket: str, mp: str, today: date) -> dict[int, int]:
    """The seller-fulfilled orders of the last LEAD_DAYS by the days from purchase day to ship-by day (SHIP_LEAD) or
    to promised delivery day (DELIVERY_LEAD)."""
    leads: dict[int, int] = {}
    for key in mine.counts:
        if key[0] == lead_bucket and key[2] == mp:
            bought = mine.window(key, today - LEAD_DAYS * DAY, today)[1]
            if bought:
                leads[int(key[1])] = bought
    return leads


def _shipments(local) -> dict[str, tuple[list[datetime], list[tuple[date, int, int]]]]:
    """By marketplace, the late-shipment buckets' changes in the daemon's view (each a shipment confirmed, at its
    instant): their instants, and (ship-by day, late, shipped) of each, in order."""
    out: dict[str, tuple[list[datetime], list[tuple[date, int, int]]]] = {}
    for seen, key, anchor, num, den in local:
        if key[0] == "lsr_10d":
            instants, changes = out.setdefault(key[2], ([], []))
            instants.append(seen)
            changes.append((anchor, num, den))
    return out


def _unreported(shipments, at: datetime) -> dict[tuple[date, int], tuple[int, int]]:
    """The shipments confirmed by `at` that Amazon's report does not show yet, as the daemon reads them
    (daemon/observe.py, alerts/unreported.py)."""
    instants, changes = shipments
    recent = range(bisect_right(instants, at - SHIPPING_REPORT_LAG), bisect_right(instants, at))
    return unreported(((changes[k][0], instants[k], changes[k][1], changes[k][2]) for k in recent), at)


def _defect_events(local) -> list[tuple[datetime, tuple[str, str], date, int, int | None]]:
    """When each ODR defect appeared in the daemon's view and when it was removed, in order, as the daemon reads them
    from its stored feedback and claims (daemon/observe.py): (instant, (marketplace, fulfillment), anchor day, age in
    days it appeared at, None) for an appearance; for a removal, the age of the appearance it undoes (the day's
    earliest still standing) and the days between the two."""
    events = []
    standing: dict[tuple[tuple[str, str], date], list[tuple[int, date]]] = defaultdict(list)
    for seen, key, anchor, num, _ in local:
        if key[0] != "odr" or not num:
            continue
        mp_ff = (key[2], key[1])
        for _ in range(abs(num)):
            if num > 0:
                age = (seen.date() - anchor).days
                standing[(mp_ff, anchor)].append((age, seen.date()))
                events.append((seen, mp_ff, anchor, age, None))
            elif standing[(mp_ff, anchor)]:
                age, appeared = standing[(mp_ff, anchor)].pop(0)
                events.append((seen, mp_ff, anchor, age, (seen.date() - appeared).days))
    return events


def account_views(member: Member) -> tuple[list[Change], list[Change]]:
    """The daemon's and Amazon's views as bucket changes, cached on disk: generating the large sellers is most of a
    run's time."""
    sources = "".join((Path(__file__).parent / name).read_text() for name in ("observer.py", "family.py"))
    sources += (Path(__file__).parent.parent / "daemon/simulator/generator.py").read_text()
    digest = hashlib.sha256(f"{member.profile!r}{member.seed}{sources}".encode()).hexdigest()[:16]
    path = CACHE / f"{member.profile.name}-{digest}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    events = generate_events(member.profile, member.seed)
    views = account_changes(events, None), account_changes(events, Lags())
    CACHE.mkdir(exist_ok=True)
    path.write_bytes(pickle.dumps(views, protocol=pickle.HIGHEST_PROTOCOL))
    return views


def summarize(results: list[AccountResult], tables: bool = True) -> dict:
    """The figures of the issue, over the given accounts; without `tables`, only the counts (no reliability tables,
    whose resampled intervals take most of the time)."""
    leads, hits, made, false_episodes, months = [], 0, 0, 0, 0.0
    for r in results:
        months += r.months
        leads.extend(lead.days for lead in lead_times(r.alert_rows, r.breach_days, r.monitor_from))
        h, t = forecast_hits(r.alert_rows, r.breach_days)
        hits, made = hits + h, made + t
        for row in r.alert_rows:
            key = (row["marketplace_id"], row["metric"], row["fulfillment"])
            if key not in r.breach_days and row["level"] in ("critical", "breach") and row["reason"] in ("first", "escalated"):
                false_episodes += 1
    warned = [d for d in leads if d is not None]
    counts = {
        "accounts": len(results), "account_months": months, "crossings": len(leads),
        "warned_2d": sum(1 for d in warned if d >= 2), "unwarned": len(leads) - len(warned),
        "lead_quantiles": _quantiles(warned),
        "false_critical_per_100_months": 100 * false_episodes / months if months else 0.0,
        "notifications_per_month": sum(r.notifications for r in results) / months if months else 0.0,
        "quiet_notifications_per_month": _per_month([r for r in results if not r.breach_days]),
        "quiet_worst_month": max((r.notifications / r.months for r in results if not r.breach_days and r.months),
                                 default=0.0),
        "alerts_per_month": sum(r.alerts for r in results) / months if months else 0.0,
        "forecast_hits": hits, "forecasts": made,
    }
    if not tables:
        return counts
    table3, brier3 = reliability(results, 3)
    table14, brier14 = reliability(results, 14)
    selections = {"notified": lambda c: c.notified, "warning or above": lambda c: c.level != "ok"}
    subsets = {}
    for name, chosen in selections.items():
        subsets[(name, "all", "all")] = reliability(results, 14, chosen)
        for metric in sorted({d.id for d in METRICS}):
            subsets[(name, metric, "all")] = reliability(results, 14, lambda c, m=metric: chosen(c) and c.key[1] == m)
        for low, high, label in VOLUME_CLASSES:
            subsets[(name, "all", label)] = reliability(
                results, 14, lambda c, lo=low, hi=high: chosen(c) and lo <= c.orders < hi)
    # Which notices miss shows why: a first warning, a chance that rose, an escalation, or a fall back to warning.
    for reason in NOTICE_REASONS:
        subsets[(f"notified as {reason.value}", "all", "all")] = reliability(
            results, 14, lambda c, why=reason.value: c.notice == why)
    # The evaluations inside the limit are the one set a change to the model leaves the same (which of them notify
    # changes with it), so a change to one metric's model is judged first on this score.
    brier_by_metric = {metric: brier(results, 14, lambda c, m=metric: c.key[1] == m)
                       for metric in sorted({case.key[1] for r in results for case in r.cases})}
    notices = list(_notices(results))
    median_hits = sum(_hit(r, key, day) for r in results for key, day in r.medians)
    point_hits = sum(_hit(r, key, day) for r in results for key, day in r.points)
    return {
        **counts, "reliability_3": table3, "brier_3": brier3, "reliability_14": table14, "brier_14": brier14,
        "subsets": subsets, "brier_by_metric": brier_by_metric, "median_hits": median_hits,
        "mark_misses": decile_misses(notices), "chance_misses": misses_by_chance(notices),
        "medians": sum(len(r.medians) for r in results), "point_hits": point_hits,
        "points": sum(len(r.points) for r in results),
    }


Decile = tuple[str, int, float, float, int, tuple[float, float]]


def reliability(results: list[AccountResult], days: int,
                chosen: Callable[[Case], bool] = lambda case: True) -> tuple[list[Decile], float]:
    """Stated P(Amazon over within `days`) in deciles against how often it was, and the Brier score, over the `chosen`
    evaluations; those whose horizon runs past the end of the account are left out.

    A decile's cases are far from independent (one episode gives a metric days of similar chances), so each row also
    says how many accounts its cases come from and a 90% interval of the observed share, resampling accounts."""
    judged = list(_judged(results, days, chosen))
    bins: dict[int, dict[str, list[tuple[float, bool]]]] = defaultdict(lambda: defaultdict(list))
    for name, stated, happened in judged:
        bins[_decile(stated)][name].append((stated, happened))
    table = []
    for decile in range(10):
        by_account = bins.get(decile, {})
        cases = [case for account in by_account.values() for case in account]
        if cases:
            table.append((f"{decile * 10}-{decile * 10 + 10}%", len(cases), sum(p for p, _ in cases) / len(cases),
                          sum(h for _, h in cases) / len(cases), len(by_account), _interval(list(by_account.values()))))
    return table, _mean_square(judged)


def _decile(stated: float) -> int:
    """0 for a chance under 10%, ..., 9 for 90% and over (100% included)."""
    return min(int(stated * 10), 9)


def brier(results: list[AccountResult], days: int, chosen: Callable[[Case], bool] = lambda case: True) -> float:
    """The Brier score of the `chosen` evaluations' P(Amazon over within `days`), as `reliability` counts them."""
    return _mean_square(list(_judged(results, days, chosen)))


def _mean_square(judged: list[tuple[str, float, bool]]) -> float:
    return sum((stated - happened) ** 2 for _, stated, happened in judged) / len(judged) if judged else 0.0


def _judged(results: list[AccountResult], days: int,
            chosen: Callable[[Case], bool]) -> Iterator[tuple[str, float, bool]]:
    """(account, stated chance, came true) of each `chosen` evaluation whose horizon ends within its account."""
    for r in results:
        for account, stated, happened, _ in judged_cases(r, days, chosen):
            yield account, stated, happened


def judged_cases(r: AccountResult, days: int,
                 chosen: Callable[[Case], bool]) -> Iterator[tuple[str, float, bool, Case]]:
    """(account, stated chance within `days`, came true, the case) of each `chosen` case whose days end within the
    account."""
    end = r.monitor_from + r.months * 30 * DAY
    for case in r.cases:
        if case.at + days * DAY > end or not chosen(case):
            continue
        stated = case.p3 if days == 3 else case.p14
        over = set(r.breach_days.get(case.key, ()))
        yield r.name, stated, any(case.at + k * DAY in over for k in range(1, days + 1)), case


Notice = tuple[str, float, bool, tuple]  # metric, stated chance, came true, the block its outcome shares (below)


def _notices(results: list[AccountResult]) -> Iterator[Notice]:
    """The notified evaluations whose 14 days end within their account. Notices of one metric in the same fortnight of
    an account speak of overlapping days, so their outcomes go together: that fortnight is their block."""
    for r in results:
        for account, stated, happened, case in judged_cases(r, 14, lambda c: c.notified):
            yield case.key[1], stated, happened, (account, case.key, (case.at - r.monitor_from).days // 14)


def decile_misses(notices: Sequence[Notice], outcomes: Sequence[bool] | None = None) -> int:
    """Deciles of `MARK_CASES` or more notices more than `MARK_POINTS` from what came true, all metrics together and per
    metric; with `outcomes`, judged against those instead."""
    bins: dict[tuple[str, int], list[tuple[float, bool]]] = defaultdict(list)
    for k, (metric, stated, happened, _) in enumerate(notices):
        outcome = happened if outcomes is None else outcomes[k]
        for group in ("all", metric):
            bins[(group, _decile(stated))].append((stated, outcome))
    return sum(1 for cases in bins.values() if len(cases) >= MARK_CASES
               and abs(sum(p for p, _ in cases) - sum(h for _, h in cases)) > MARK_POINTS * len(cases))


def misses_by_chance(notices: Sequence[Notice], draws: int = CHANCE_DRAWS) -> dict[str, tuple[float, float]]:
    """How many deciles a model exactly right would miss the mark by on these notices: each notice's outcome drawn from
    its own stated chance, alone ("independent") or as one draw per block ("by fortnight", closer to how a metric's
    successive notices share their fate). Per way: (mean misses, share of draws with none). Seeded: the same every run."""
    rng = random.Random(17)
    blocks = sorted({block for *_, block in notices})
    out = {}
    for way in ("independent", "by fortnight"):
        counts = []
        for _ in range(draws):
            shared = {block: rng.random() for block in blocks} if way == "by fortnight" else {}
            outcomes = [(shared[block] if shared else rng.random()) < stated for _, stated, _, block in notices]
            counts.append(decile_misses(notices, outcomes))
        out[way] = (sum(counts) / draws, sum(1 for n in counts if n == 0) / draws)
    return out


def _interval(accounts: list[list[tuple[float, bool]]], draws: int = 2000) -> tuple[float, float]:
    """5th and 95th percentiles of the observed share over resamples of whole accounts (seeded: the same every run)."""
    rng = random.Random(11)
    shares = []
    for _ in range(draws):
        picked = [rng.choice(accounts) for _ in accounts]
        total = sum(len(cases) for cases in picked)
        shares.append(sum(h for cases in picked for _, h in cases) / total)
    shares.sort()
    return shares[int(0.05 * draws)], shares[int(0.95 * draws) - 1]


def _per_month(results: list[AccountResult]) -> float:
    months = sum(r.months for r in results)
    return sum(r.notifications for r in results) / months if months else 0.0


def _hit(r: AccountResult, key: Key, day: datetime, tolerance: int = 2) -> bool:
    over = r.breach_days.get(key, ())
    return any(abs((d - day) / DAY) <= tolerance for d in over)


def _quantiles(values: list[float]) -> tuple[float, ...]:
    if len(values) < 2:
        return tuple(values)
    q = statistics.quantiles(values, n=10, method="inclusive")
    return (min(values), q[0], q[4], q[8], max(values))


def render(part: str, s: dict) -> str:
    lines = [
        f"accounts: {s['accounts']} ({part}), {s['account_months']:.0f} account-months",
        f"breaches of Amazon's figure: {s['crossings']}; warned >= 2 days ahead: {s['warned_2d']} "
        f"({_share(s['warned_2d'], s['crossings'])}); never warned: {s['unwarned']}",
        "lead time, days (min, p10, median, p90, max): " + ", ".join(f"{v:.0f}" for v in s["lead_quantiles"]),
        f"critical/breach episodes on metrics that never breached: {s['false_critical_per_100_months']:.1f} per 100 account-months",
        f"notifications (one grouped message per evaluation) per account-month: {s['notifications_per_month']:.2f} "
        f"({s['alerts_per_month']:.2f} alerts); on accounts that never breached: "
        f"{s['quiet_notifications_per_month']:.2f} "
        f"(the most on one account: {s['quiet_worst_month']:.2f})",
        f"forecast_breach_at within ±2 days of a day Amazon's figure was over: {s['forecast_hits']}/{s['forecasts']} "
        f"({_share(s['forecast_hits'], s['forecasts'])})",
    ]
    for days in (3, 14):
        lines.append(f"calibration of P(Amazon's figure over within {days} days), evaluations inside the limit "
                     f"(Brier {s[f'brier_{days}']:.4f}):")
        lines.append(f"  {'stated':>8} {'cases':>7} {'accounts':>9} {'mean stated':>12} {'observed':>9} "
                     f"{'90% interval, resampling accounts':>34}")
        for label, cases, stated, observed, accounts, (low, high) in s[f"reliability_{days}"]:
            lines.append(f"  {label:>8} {cases:>7} {accounts:>9} {stated * 100:>11.1f}% {observed * 100:>8.1f}% "
                         f"{f'{low * 100:.1f}-{high * 100:.1f}%':>34}")
    lines.append("Brier of P(over within 14 days) by metric, every evaluation inside the limit: "
                 + ", ".join(f"{metric} {score:.4f}" for metric, score in s["brier_by_metric"].items()))
    lines.append("calibration of P(over within 14 days) where it matters: evaluations that sent a notice, and those at "
                 "warning or above (stated / observed % (cases, accounts; observed's 90% interval, resampling "
                 "accounts) per decile; Brier):")
    for (name, metric, volume), (table, score) in s["subsets"].items():
        if table:
            cells = ", ".join(f"{label}: {stated * 100:.1f} / {observed * 100:.1f} ({cases}, {accounts}; "
                              f"{low * 100:.0f}-{high * 100:.0f})"
                              for label, cases, stated, observed, accounts, (low, high) in table)
            lines.append(f"  {name}, metric {metric}, window orders {volume}: {cells}; Brier {score:.4f}")
    chance = s["chance_misses"]
    lines.append(f"notice deciles of {MARK_CASES} or more cases more than {MARK_POINTS * 100:.0f} points off, all metrics "
                 f"together and per metric: {s['mark_misses']}; a model exactly right would miss "
                 + " and ".join(f"{mean:.1f} on average ({none * 100:.0f}% of draws none) drawing outcomes {way}"
                                for way, (mean, none) in chance.items()))
    lines.append(f"median crossing day within ±2 days, every evaluation that has one: {s['median_hits']}/{s['medians']} "
                 f"({_share(s['median_hits'], s['medians'])}); the old point forecast: {s['point_hits']}/{s['points']} "
                 f"({_share(s['point_hits'], s['points'])})")
    return "\n".join(lines)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calibration")
    parser.add_argument("--part", choices=("held_out", "tuning", "all"), default="held_out")
    parser.add_argument("--jobs", type=int, default=2)
    # 216 accounts: at 54 the 14-day 40-50% decile rested on 14 accounts, 31 of its 52 cases on 4 of them; at 108 the
    # 60-90% deciles rested on 10 to 20 accounts each and moved by 15 to 30 points from one part to the other.
    parser.add_argument("--size", type=int, default=FAMILY_SIZE)
    parser.add_argument("--metrics", type=_metric_ids, default=METRICS, metavar="ID,...",
                        help="evaluate only these metrics (e.g. cr_7d,lsr_10d): a change to one metric's model tried in "
                             "a fraction of the time, ODR being the slowest")
    parser.add_argument("--hysteresis-grid", action="store_true",
                        help="also compare margin hysteresis settings (band, days) on the same evaluations")
    parser.add_argument("--rounds", type=int, default=1, metavar="N",
                        help="of the first 216 accounts, only every Nth round of 36 (each round holds every kind in "
                             "both parts); the widened kinds are always kept")
    parser.add_argument("--worse-hold-hours", type=float, metavar="H",
                        help="decide with this worse_hold_hours instead of the default (0: a worsening said at once)")
    parser.add_argument("--save", type=Path, help="keep the evaluations in this file, for --load")
    parser.add_argument("--load", type=Path, help="decide and report on evaluations kept by --save, without the model")
    args = parser.parse_args(argv)
    if args.load:
        results = [r for r in pickle.loads(args.load.read_bytes())
                   if args.part == "all" or r.tuning == (args.part == "tuning")]
    else:
        members = [m for m in family(args.size) if (args.part == "all" or m.tuning == (args.part == "tuning"))
                   and (m.index >= ORIGINAL_SIZE or (m.index // ROUND) % args.rounds == 0)]
        members.sort(key=lambda m: -m.profile.orders_per_day)  # the largest first, so the pool ends together
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(partial(run_account, metrics=args.metrics), members))
    if args.load or args.worse_hold_hours is not None:  # decided again: the current defaults, or the hold asked for
        alerts = default_config(Path("unused")).alerts
        policy = policy_of(alerts)
        if args.worse_hold_hours is not None:
            policy = replace(policy, worse_hold=timedelta(hours=args.worse_hold_hours))
        for r in results:
            notify_steps(r, policy, alerts.hysteresis)
    if args.save:
        args.save.write_bytes(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
    parts = ("tuning", "held_out") if args.part == "all" else (args.part,)
    for part in parts:
        print(render(part, summarize([r for r in results if r.tuning == (part == "tuning")])))
    if args.hysteresis_grid:
        for part in parts:
            print(hysteresis_grid([r for r in results if r.tuning == (part == "tuning")], part))


def _metric_ids(text: str) -> list[MetricDefinition]:
    ids = {part.strip() for part in text.split(",") if part.strip()}
    known = {d.id for d in METRICS}
    if not ids or ids - known:
        unknown = f"unknown metric {sorted(ids - known)}" if ids else "no metric named"
        raise argparse.ArgumentTypeError(f"{unknown}; the metrics are {sorted(known)}")
    return [d for d in METRICS if d.id in ids]


GRID = [None] + [Hysteresis(band, days) for band in (0.25, 0.5, 0.75) for days in (3, 7, 14)]


def hysteresis_grid(results: list[AccountResult], part: str) -> str:
    """The same evaluations notified under each hysteresis setting: quiet accounts' notices against lead times."""
    policy = policy_of(default_config(Path("unused")).alerts)
    lines = [f"margin hysteresis on the {part} part: setting | notifications per account-month (never breached; "
             f"all) | breaches warned >= 2 days ahead | median lead"]
    for setting in GRID:
        clear_for = timedelta(days=setting.days) if setting else timedelta(0)
        for r in results:
            notify_steps(r, replace(policy, clear_for=clear_for), setting)
        s = summarize(results, tables=False)
        label = f"band {setting.band}, {setting.days} days" if setting else "none"
        median = s["lead_quantiles"][2] if len(s["lead_quantiles"]) == 5 else float("nan")
        lines.append(f"  {label}: {s['quiet_notifications_per_month']:.2f}; {s['notifications_per_month']:.2f} | "
                     f"{s['warned_2d']} of {s['crossings']} | {median:.0f} days")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
