"""Amazon's own health signals as findings: the Account Health Rating and every policy section of its performance
report (issue: quiet and right, item 4). A new policy violation is said at once, naming the section and the count;
the rating alerts when its status worsens, it falls by `drop_step` points within a week, or goes below `floor`."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.marketplaces import marketplace_name
from alerts.model import AlertKey, Level
from daemon.notify import Finding
from storage import models as m

ALL = "ALL"
# ahrStatus as Amazon reports it; an unknown status is taken from the score alone.
AHR_STATUS_LEVELS = {"GREAT": Level.OK, "GOOD": Level.OK, "HEALTHY": Level.OK, "NORMAL": Level.OK,
                     "FAIR": Level.WARNING, "WARNED": Level.WARNING, "AT_RISK": Level.CRITICAL,
                     "CRITICAL": Level.BREACH, "UNHEALTHY": Level.BREACH}
CRITICAL_SCORE = 100  # Amazon: 0-99 puts the account at risk of deactivation
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class SignalRules:
    floor: int = 200  # Amazon's own "at risk" line
    drop_step: int = 50


def signal_findings(session: Session, account: str, seller_id: str, marketplaces: tuple[str, ...],
                    rules: SignalRules) -> list[Finding]:
    """One finding for the rating and one per policy section, per marketplace, from the latest two reports."""
    findings: list[Finding] = []
    for marketplace_id in sorted(marketplaces):
        figures = _latest_two(session, account, marketplace_id)
        if not figures:
            continue
        latest, previous = figures[0], figures[1] if len(figures) > 1 else {}
        if "ahr" in latest:
            findings.append(_rating(session, account, seller_id, marketplace_id, latest["ahr"], rules))
        for metric, figure in sorted(latest.items()):
            if metric.startswith("policy:"):
                before = previous.get(metric)
                findings.append(_policy(account, seller_id, marketplace_id, metric, figure,
                                        before.numerator if before is not None else None))
    return findings


def _latest_two(session: Session, account: str, marketplace_id: str) -> list[dict[str, m.AmazonFigure]]:
    """The figures of the two newest reports, newest first, by metric."""
    a = m.AmazonFigure
    # Every report carries one "report" figure per marketplace: its key finds the newest two without a scan.
    instants = session.scalars(select(a.fetched_at).where(a.account == account, a.marketplace_id == marketplace_id,
                                                          a.metric == "report", a.fulfillment == ALL)
                               .order_by(a.fetched_at.desc()).limit(2)).all()
    out = []
    for fetched_at in instants:
        rows = session.scalars(select(a).where(a.account == account, a.marketplace_id == marketplace_id,
                                               a.fetched_at == fetched_at)).all()
        out.append({row.metric: row for row in rows if row.metric == "ahr" or row.metric.startswith("policy:")})
    return out


def _rating(session: Session, account: str, seller_id: str, marketplace_id: str, figure: m.AmazonFigure,
            rules: SignalRules) -> Finding:
    status = str(json.loads(figure.details or "{}").get("ahr_status") or "").upper()
    score = None if figure.value is None else int(figure.value)
    level, reasons = AHR_STATUS_LEVELS.get(status, Level.OK), [f"Amazon rates the account {status or 'without a status'}."]
    if score is not None:
        if score < CRITICAL_SCORE:
            level = Level.BREACH
            reasons.append(f"The score {score} is under {CRITICAL_SCORE}: the account is at risk of deactivation.")
        elif score < rules.floor:
            level = max(level, Level.CRITICAL, key=lambda x: x.rank)
            reasons.append(f"The score {score} is under {rules.floor}.")
        best = _best_score_since(session, account, marketplace_id, figure.fetched_at - WEEK)
        if best is not None and best - score >= rules.drop_step:
            level = max(level, Level.WARNING, key=lambda x: x.rank)
            reasons.append(f"It fell {best - score} points within a week (from {best}).")
    where = marketplace_name(marketplace_id)
    headline = f"Account Health Rating {score if score is not None else 'n/a'} ({status or 'no status'}) on {where}"
    return Finding(
        key=AlertKey(account, marketplace_id, "ahr", ALL), kind="amazon", level=level, headline=headline,
        fields={"explanation": tuple(reasons), "seller_id": seller_id, "defects_to_breach": None,
                "value": None if score is None else float(score),
                "advice": ("Open Account Health in Seller Central and act on every item it lists.",)
                if level != Level.OK else ()},
    )


def _best_score_since(session: Session, account: str, marketplace_id: str, since: datetime) -> int | None:
    a = m.AmazonFigure
    scores = session.scalars(select(a.value).where(a.account == account, a.marketplace_id == marketplace_id,
                                                   a.metric == "ahr", a.fetched_at >= since)).all()
    known = [int(s) for s in scores if s is not None]
    return max(known) if known else None


def _policy(account: str, seller_id: str, marketplace_id: str, metric: str, figure: m.AmazonFigure,
            before: int | None) -> Finding:
    count = figure.numerator or 0
    section = section_name(metric.split(":", 1)[1])
    where = marketplace_name(marketplace_id)
    level = Level.CRITICAL if count > 0 else Level.OK
    new = count - (before or 0)
    noun = section.lower()[:-1] if count == 1 and section.endswith("s") else section.lower()  # the names are plurals
    headline = (f"{where}: {count} {noun} in Amazon's report" + (f" ({new} new)" if before is not None and new > 0 else "")
                if count else f"{where}: no {noun} in Amazon's report")
    return Finding(
        key=AlertKey(account, marketplace_id, metric, ALL), kind="amazon", level=level, headline=headline,
        violation=before is not None and count > before,
        fields={"explanation": (f"{section}: {count} in the last 180 days; Amazon's target is 0.",) if count else (),
                "seller_id": seller_id, "defects_to_breach": None, "value": float(count),
                "advice": ("Open Account Health in Seller Central, read the notice and answer it or appeal before "
                           "Amazon acts on the listing or the account.",) if count else ()},
    )


def section_name(block: str) -> str:
    """receivedIntellectualPropertyComplaints -> "Received intellectual property complaints"."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", block).lower()
    return words[:1].upper() + words[1:]
