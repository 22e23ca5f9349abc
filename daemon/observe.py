"""Gathers, from the database, everything one metric evaluation needs: window counts, day series, what Amazon adds."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.evaluate import Observation
from alerts.breach import HISTORY_DAYS
from alerts.metrics.contributions import GRANTED_CLAIMS
from alerts.metrics.definitions import METRICS, MetricDefinition, with_target
from alerts.series import DaySeries
from storage import models as m
from storage.repo import window_counts

LSR_METRICS = frozenset({"lsr_10d", "lsr_30d"})


def observations(
    session: Session, account: str, marketplaces: tuple[str, ...], at: datetime, otdr_enforced: frozenset[str]
) -> list[Observation]:
    """One Observation per (marketplace, metric, fulfillment) at instant `at` (a midnight)."""
    out = []
    for marketplace_id in sorted(marketplaces):
        for definition in METRICS:
            out.append(_observe(session, account, marketplace_id, definition, at, otdr_enforced))
    return out


def _observe(
    session: Session, account: str, marketplace_id: str, d: MetricDefinition, at: datetime, otdr_enforced: frozenset[str]
) -> Observation:
    today = at.date()
    first, end = d.window.days(today)
    num, den = window_counts(session, account, marketplace_id, d.id, d.fulfillment, first, end)
    series = _series(session, account, marketplace_id, d.id, d.fulfillment, min(first, today - timedelta(days=HISTORY_DAYS)), today)
    amazon = _latest_amazon(session, account, marketplace_id, d.id, d.fulfillment)
    if amazon is not None:
        details = json.loads(amazon.details or "{}")
        d = with_target(d, details.get("target"), details.get("target_condition"))
    unattributed = 0
    claims_unknown = False
    if d.id == "odr" and amazon is not None:
        details = json.loads(amazon.details or "{}")
        claims_unknown = details.get("claims") is None or details.get("chargebacks") is None  # said, not taken as 0
        reported = int(details.get("claims") or 0) + int(details.get("chargebacks") or 0)
        granted, _ = window_counts(session, account, marketplace_id, GRANTED_CLAIMS, d.fulfillment, first, end)
        unattributed = max(0, reported - granted)
    certain = (0, 0)
    if d.id in LSR_METRICS:
        overdue = _overdue_unshipped(session, account, marketplace_id, at, first)
        certain = (overdue, overdue)
    return Observation(
        definition=d, marketplace_id=marketplace_id, at=at, numerator=num, denominator=den, series=series,
        unattributed=unattributed, certain=certain, amazon_value=amazon.value if amazon else None,
        enforced=d.id != "otdr_14d" or marketplace_id in otdr_enforced, claims_unknown=claims_unknown,
    )


def _series(session: Session, account: str, marketplace_id: str, metric: str, fulfillment: str, first, end) -> DaySeries:
    b = m.MetricBucket
    rows = session.execute(
        select(b.day, b.numerator, b.denominator).where(
            b.account == account, b.marketplace_id == marketplace_id, b.metric == metric,
            b.fulfillment == fulfillment, b.day >= first, b.day < end,
        )
    ).all()
    return DaySeries({row.day: (row.numerator, row.denominator) for row in rows})


def _latest_amazon(session: Session, account: str, marketplace_id: str, metric: str, fulfillment: str) -> m.AmazonFigure | None:
    a = m.AmazonFigure
    return session.scalars(
        select(a).where(a.account == account, a.marketplace_id == marketplace_id, a.metric == metric, a.fulfillment == fulfillment)
        .order_by(a.fetched_at.desc()).limit(1)
    ).first()


def _overdue_unshipped(session: Session, account: str, marketplace_id: str, at: datetime, window_first) -> int:
    """Unshipped seller-fulfilled orders past their ship-by date: they can only end late or cancelled (METRICS.md §2)."""
    o = m.Order
    first_instant = datetime.combine(window_first, datetime.min.time(), tzinfo=at.tzinfo)
    return int(session.scalar(
        select(func.count()).select_from(o).where(
            o.account == account, o.channel == "MFN", o.status.in_(("Unshipped", "Pending", "PartiallyShipped")),
            o.marketplace_id == marketplace_id, o.latest_ship_at < at, o.latest_ship_at >= first_instant,
            o.cancelled_at.is_(None), o.ship_confirmed_at.is_(None),
        )
    ) or 0)
