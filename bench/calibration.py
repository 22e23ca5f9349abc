"""How early, how quiet and how right the alerts are on the generated family, against Amazon's published (lagged)
figures: `python -m bench.calibration [--part held_out|tuning|all] [--jobs N] [--size N]`.

Each account is evaluated once a day for its 180 monitored days with the daemon's own evaluate() and decide()
and its default margins, over the bench observer's view of what a complete sync shows (bench/observer.py).
"""
from __future__ import annotations

import argparse
import hashlib
import pickle
import statistics
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from alerts.decide import Policy, decide, initial_state
from alerts.evaluate import Observation, evaluate
from alerts.forecast import DaySeries
from alerts.metrics.definitions import METRICS
from alerts.model import Level, NotifyReason
from bench.alert_quality import Key, forecast_hits, lead_times
from bench.family import Member, family
from bench.observer import AMAZON_CLAIMS, OVERDUE, account_changes, sweep
from daemon.app import thresholds_of
from daemon.clock import format_instant
from daemon.config import default_config
from daemon.simulator.amazon import Lags
from daemon.simulator.generator import START, generate_events

DAY = timedelta(days=1)
HORIZON_DAYS = 30
SERIES_DAYS = 120  # history handed to each evaluation, as daemon/observe.py does
OTDR_ENFORCED = "ATVPDKIKX0DER"
CACHE = Path(__file__).parent / ".cache"


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


def run_account(member: Member) -> AccountResult:
    """Evaluate one generated account day by day, as the daemon would after each day's complete sync."""
    local, amazon = _changes(member)
    profile = member.profile
    monitor_from = START + profile.monitor_from_day * DAY
    instants = [monitor_from + k * DAY for k in range(1, profile.days - profile.monitor_from_day + 1)]
    result = AccountResult(profile.name, member.tuning, len(instants) / 30, monitor_from)
    margins = default_config(Path("unused")).alerts  # the default margins; nothing is written
    policy = Policy()
    states = {}
    for (at, mine), (_, theirs) in zip(sweep(local, instants), sweep(amazon, instants)):
        notified = 0
        for mp in profile.marketplaces:
            for d in METRICS:
                if d.id == "otdr_14d" and mp != OTDR_ENFORCED:
                    continue
                key = (mp, d.id, d.fulfillment)
                bucket = (d.id, d.fulfillment, mp)
                first, end = d.window.days(at.date())
                a_num, a_den = theirs.window(bucket, first, end)
                if d.limit.breached(a_num, a_den):
                    result.breach_days.setdefault(key, []).append(at)
                obs = _observation(d, mp, at, mine, theirs, first, end, a_num, a_den)
                ev = evaluate(obs, thresholds_of(margins.margins_for(profile.name, mp, d.id)), HORIZON_DAYS)
                decision = decide(states.get(key) or initial_state(at), ev.level, at, policy)
                states[key] = decision.state
                if decision.reason is None:
                    continue
                notified += 1
                if decision.reason != NotifyReason.REPEAT:
                    result.alert_rows.append({
                        "at": format_instant(at), "marketplace_id": mp, "metric": d.id, "fulfillment": d.fulfillment,
                        "level": decision.level.value, "reason": decision.reason.value, "value": ev.value,
                        "forecast_breach_at": format_instant(ev.forecast_breach_at) if ev.forecast_breach_at else None,
                    })
        result.alerts += notified
        result.notifications += bool(notified)
    return result


def _observation(d, mp, at, mine, theirs, first, end, a_num, a_den) -> Observation:
    bucket = (d.id, d.fulfillment, mp)
    num, den = mine.window(bucket, first, end)
    today = at.date()
    series = DaySeries(mine.series(bucket, min(first, today - SERIES_DAYS * DAY), today))
    unattributed = 0
    if d.id == "odr":
        reported = theirs.window((AMAZON_CLAIMS, d.fulfillment, mp), first, end)[0]
        granted = mine.window(("odr_granted_claims", d.fulfillment, mp), first, end)[0]
        unattributed = max(0, reported - granted)
    certain = (0, 0)
    if d.id in ("lsr_10d", "lsr_30d"):
        certain = mine.window((OVERDUE, "MFN", mp), first, today)
    return Observation(definition=d, marketplace_id=mp, at=at, numerator=num, denominator=den, series=series,
                       unattributed=unattributed, certain=certain, amazon_value=a_num / a_den if a_den else None)


def _changes(member: Member):
    """Both views' bucket changes, cached on disk: generating the large sellers is most of a run's time."""
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


def summarize(results: list[AccountResult]) -> dict:
    """The figures of the issue, over the given accounts."""
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
    return {
        "accounts": len(results), "account_months": months, "crossings": len(leads),
        "warned_2d": sum(1 for d in warned if d >= 2), "unwarned": len(leads) - len(warned),
        "lead_quantiles": _quantiles(warned),
        "false_critical_per_100_months": 100 * false_episodes / months if months else 0.0,
        "notifications_per_month": sum(r.notifications for r in results) / months if months else 0.0,
        "alerts_per_month": sum(r.alerts for r in results) / months if months else 0.0,
        "forecast_hits": hits, "forecasts": made,
    }


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
        f"({s['alerts_per_month']:.2f} alerts)",
        f"forecast_breach_at within ±2 days of a day Amazon's figure was over: {s['forecast_hits']}/{s['forecasts']} "
        f"({_share(s['forecast_hits'], s['forecasts'])})",
    ]
    return "\n".join(lines)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calibration")
    parser.add_argument("--part", choices=("held_out", "tuning", "all"), default="held_out")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--size", type=int, default=54)
    args = parser.parse_args(argv)
    members = [m for m in family(args.size) if args.part == "all" or m.tuning == (args.part == "tuning")]
    members.sort(key=lambda m: -m.profile.orders_per_day)  # the largest first, so the pool ends together
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_account, members))
    parts = ("tuning", "held_out") if args.part == "all" else (args.part,)
    for part in parts:
        print(render(part, summarize([r for r in results if r.tuning == (part == "tuning")])))


if __name__ == "__main__":
    main()
