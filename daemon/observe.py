"""Gathers, from the database, everything one metric evaluation needs: window counts, day series, what Amazon adds."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from alerts.evaluate import Observation, with_seller_days
from alerts.breach import HISTORY_DAYS, LEAD_DAYS, RECENT_CLAIMS_DAYS, recent_open_claims
from alerts.metrics.contributions import GRANTED_CLAIMS
from alerts.metrics.definitions import METRICS, MetricDefinition, with_target
from alerts.series import DaySeries
from alerts.unreported import SHIPPING_REPORT_LAG, Unreported, unreported
from storage import models as m
from storage.repo import window_counts

LSR_METRICS = frozenset({"lsr_10d", "lsr_30d"})
EXACT_FROM_REPORTS = frozenset({"odr"})  # order reports, feedback and financial events are all it needs
ORDER_SIZE_DAYS = 28  # the orders whose sizes say how much a unit-counted metric spreads


def still_reading(sweeping: bool, reads_order_reports: bool) -> frozenset[str]:
    """The metrics whose windows a first start is still reading while its searchOrders sweep runs: all of them, but
    the ODR when the order reports have brought its history."""
    if not sweeping:
        return frozenset()
    return frozenset(d.id for d in METRICS) - (EXACT_FROM_REPORTS if reads_order_reports else frozenset())


def observations(
    session: Session, account: str, marketplaces: tuple[str, ...], at: datetime, otdr_enforced: frozenset[str],
    reading: frozenset[str] = frozenset(), ship_together: bool = True,
) -> list[Observation]:
    """One Observation per (marketplace, metric, fulfillment) at instant `at` (a midnight), with the seller's days
    where its marketplaces share a rate and `ship_together` says one place ships them (alerts/evaluate.py); the
    metrics in `reading` (still_reading) are marked as not yet seen whole, to be judged on Amazon's report."""
    out = []
    promised = _promised(session, account, at)
    for marketplace_id in sorted(marketplaces):
        first = at.date() - timedelta(days=HISTORY_DAYS["odr"])  # feedback and claims: ODR's history
        feedback = _negative_feedback(session, account, marketplace_id, first)
        ages = _defect_ages(session, account, marketplace_id, first, feedback)
        removals = _removals(feedback)
        # Read once for the longest late-shipment window; each window takes its own days.
        lsr_first = min(d.window.days(at.date())[0] for d in METRICS if d.id in LSR_METRICS)
        unshipped = _unshipped(session, account, marketplace_id, at, lsr_first)
        shipments = _unreported_shipments(session, account, marketplace_id, at, lsr_first)
        ship_leads, delivery_leads = _leads(session, account, marketplace_id, at)
        bought = {"lsr": (unshipped, ship_leads), "otdr": (promised.get(marketplace_id, {}), delivery_leads)}
        for definition in METRICS:
            obs = _observe(session, account, marketplace_id, definition, at, otdr_enforced, ages, removals, shipments,
                           bought)
            if definition.id in reading:
                obs = replace(obs, reading_history=True)
            out.append(obs)
    return with_seller_days(out) if ship_together else out


def _observe(
    session: Session, account: str, marketplace_id: str, d: MetricDefinition, at: datetime, otdr_enforced: frozenset[str],
    defect_ages: dict[str, dict[tuple[date, int], int]], removals: dict[str, dict[tuple[date, int], int]],
    unreported_lsr: Unreported, bought: dict[str, tuple[dict[date, int], dict[int, int]]],
) -> Observation:
    today = at.date()
    first, end = d.window.days(today)
    num, den = window_counts(session, account, marketplace_id, d.id, d.fulfillment, first, end)
    history_from = min(first, today - timedelta(days=HISTORY_DAYS[d.id]))
    series = _series(session, account, marketplace_id, d.id, d.fulfillment, history_from, today)
    amazon = latest_amazon(session, account, marketplace_id, d.id, d.fulfillment)
    if amazon is not None:
        details = json.loads(amazon.details or "{}")
        d = with_target(d, details.get("target"), details.get("target_condition"))
    unattributed = recent_claims = granted = 0
    claims_unknown = False
    if d.id == "odr" and amazon is not None:
        details = json.loads(amazon.details or "{}")
        claims_unknown = details.get("claims") is None or details.get("chargebacks") is None  # said, not taken as 0
        reported = int(details.get("claims") or 0) + int(details.get("chargebacks") or 0)
        granted, _ = window_counts(session, account, marketplace_id, GRANTED_CLAIMS, d.fulfillment, first, end)
        unattributed = max(0, reported - granted)
        recent_claims = _recent_claims(session, account, marketplace_id, d, at, unattributed)
    lsr = d.id in LSR_METRICS
    open_orders, leads = bought["lsr"] if lsr else bought["otdr"] if d.id == "otdr_14d" else ({}, {})
    past_due = {day: n for day, n in open_orders.items() if first <= day < today} if lsr else {}
    pending = {day: n for day, n in open_orders.items() if day >= today}
    unreported = {key: n for key, n in unreported_lsr.items() if key[0] >= first} if lsr else {}
    whole_from = None
    order_quantities: dict[int, int] = {}
    if d.id == "otdr_14d":
        order_quantities = _order_quantities(session, account, marketplace_id,
                                             at - ORDER_SIZE_DAYS * timedelta(days=1))
        # Deliveries promised in the window must all be after the first day the daemon evaluated (its installation):
        # one made earlier and seen only once delivered cannot be dated and is left out of the count.
        reach = d.window.length_days + d.window.offset_days
        whole_from = (_first_evaluated(session, account, marketplace_id, d) or today) + timedelta(days=reach)
    return Observation(
        definition=d, marketplace_id=marketplace_id, at=at, numerator=num, denominator=den, series=series,
        whole_from=whole_from,
        unattributed=unattributed, recent_claims=recent_claims, granted_claims=granted, past_due=past_due,
        unreported=unreported, pending=pending, anchor_leads=leads,
        amazon_value=amazon.value if amazon else None,
        enforced=d.id != "otdr_14d" or marketplace_id in otdr_enforced, claims_unknown=claims_unknown,
        defect_ages=defect_ages.get(d.fulfillment, {}) if d.id == "odr" else {},
        removals=removals.get(d.fulfillment, {}) if d.id == "odr" else {},
        order_quantities=order_quantities,
    )


def _order_quantities(session: Session, account: str, marketplace_id: str, since: datetime) -> dict[int, int]:
    """The seller-fulfilled orders placed since `since`, counted by their units: a metric counted in units spreads
    wider than one counted in orders, and one late order moves it by its own units."""
    o = m.Order
    rows = session.execute(
        select(o.quantity, func.count()).where(
            o.account == account, o.marketplace_id == marketplace_id, o.purchase_at >= since, o.channel == "MFN",
            o.quantity > 0).group_by(o.quantity)
    ).all()
    return {int(quantity): int(count) for quantity, count in rows}


def _first_evaluated(session: Session, account: str, marketplace_id: str, d: MetricDefinition) -> date | None:
    """The first day this metric was evaluated (recorded in the history): when the daemon began to watch."""
    h = m.MetricHistory
    return session.scalar(select(func.min(h.day)).where(
        h.account == account, h.marketplace_id == marketplace_id, h.metric == d.id, h.fulfillment == d.fulfillment))


def _series(session: Session, account: str, marketplace_id: str, metric: str, fulfillment: str, first, end) -> DaySeries:
    b = m.MetricBucket
    rows = session.execute(
        select(b.day, b.numerator, b.denominator).where(
            b.account == account, b.marketplace_id == marketplace_id, b.metric == metric,
            b.fulfillment == fulfillment, b.day >= first, b.day < end,
        )
    ).all()
    return DaySeries({row.day: (row.numerator, row.denominator) for row in rows})


NegativeFeedback = tuple[str, str, datetime, date, datetime | None]  # order, channel, purchase, day left, removed at


def _negative_feedback(session: Session, account: str, marketplace_id: str, first) -> list[NegativeFeedback]:
    """The 1- and 2-star feedback left from `first` on orders placed from `first`, standing or removed since."""
    o, f = m.Order, m.Feedback
    since = datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
    # Driven from the few negative feedbacks (indexed by day and by account), each joined to its order by key;
    # conditions on the orders would have the database walk months of orders instead.
    return [(i, channel, p, day, removed_at) for i, p, day, channel, removed_at in session.execute(
        select(f.order_id, o.purchase_at, f.feedback_day, o.channel, f.removed_at).select_from(f)
        .join(o, and_(o.account == f.account, o.order_id == f.order_id))
        .where(f.account == account, f.marketplace_id == marketplace_id, f.feedback_day >= first, f.rating <= 2)
    ) if p >= since]


def _defect_ages(session: Session, account: str, marketplace_id: str, first,
                 negative: list[NegativeFeedback]) -> dict[str, dict[tuple[date, int], int]]:
    """By fulfillment channel, (order day, age in days at which its defect appeared) -> orders, for orders placed from
    `first`: the ODR lag profile learns from them (alerts/lag.py). The age is taken from the facts' own dates (the feedback's day, the
    claim's grant), not from when the daemon first read them, so a backfill does not make old defects look late."""
    o, e = m.Order, m.FinancialEvent
    since = datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
    appeared: dict[str, tuple[str, date, date]] = {}  # order id -> (channel, order day, first day it was defective)
    feedback = [(i, channel, p, day) for i, channel, p, day, removed_at in negative if removed_at is None]
    grants = [(i, channel, p, at.date()) for i, p, at, channel, mp in session.execute(
        select(e.order_id, o.purchase_at, func.min(e.posted_at), o.channel, o.marketplace_id).select_from(e)
        .join(o, and_(o.account == e.account, o.order_id == e.order_id))
        .where(e.account == account, e.direction > 0, e.posted_at >= since)
        .group_by(e.order_id, o.purchase_at, o.channel, o.marketplace_id)
    ) if mp == marketplace_id and p >= since]
    for order_id, channel, purchase_at, day in [*feedback, *grants]:
        known = appeared.get(order_id)
        if known is None or day < known[2]:
            appeared[order_id] = (channel, purchase_at.date(), day)
    ages: dict[str, dict[tuple[date, int], int]] = defaultdict(lambda: defaultdict(int))
    for channel, order_day, day in appeared.values():
        ages[channel][(order_day, max((day - order_day).days, 0))] += 1
    return {channel: dict(by_age) for channel, by_age in ages.items()}


def _removals(negative: list[NegativeFeedback]) -> dict[str, dict[tuple[date, int], int]]:
    """By fulfillment channel, (day a negative feedback was left, days until it was seen removed) -> feedbacks: how
    often and how soon the account's defects leave Amazon's figure (alerts/removal.py)."""
    removed: dict[str, dict[tuple[date, int], int]] = defaultdict(lambda: defaultdict(int))
    for _, channel, _, day, removed_at in negative:
        if removed_at is not None:
            removed[channel][(day, max((removed_at.date() - day).days, 0))] += 1
    return {channel: dict(by_delay) for channel, by_delay in removed.items()}


def _recent_claims(session: Session, account: str, marketplace_id: str, d: MetricDefinition, at: datetime,
                   unattributed: int) -> int:
    """How many of the open claims in Amazon's ODR figure came in the last `RECENT_CLAIMS_DAYS` (alerts/breach.py):
    today's against Amazon's count of then, less the grants the daemon now knows in that window. 0 without a report
    of about then (within two days), or one that did not say its claims."""
    then = at - timedelta(days=RECENT_CLAIMS_DAYS)
    a = m.AmazonFigure
    old = session.scalars(
        select(a).where(a.account == account, a.marketplace_id == marketplace_id, a.metric == d.id,
                        a.fulfillment == d.fulfillment, a.fetched_at <= then,
                        a.fetched_at > then - timedelta(days=2))
        .order_by(a.fetched_at.desc()).limit(1)
    ).first()
    if old is None:
        return 0
    details = json.loads(old.details or "{}")
    if details.get("claims") is None or details.get("chargebacks") is None:
        return 0
    first, end = d.window.days(then.date())
    granted, _ = window_counts(session, account, marketplace_id, GRANTED_CLAIMS, d.fulfillment, first, end)
    return recent_open_claims(unattributed, int(details["claims"]) + int(details["chargebacks"]), granted)


def latest_amazon(session: Session, account: str, marketplace_id: str, metric: str, fulfillment: str) -> m.AmazonFigure | None:
    a = m.AmazonFigure
    return session.scalars(
        select(a).where(a.account == account, a.marketplace_id == marketplace_id, a.metric == metric, a.fulfillment == fulfillment)
        .order_by(a.fetched_at.desc()).limit(1)
    ).first()


def _unshipped(session: Session, account: str, marketplace_id: str, at: datetime, window_first) -> dict[date, int]:
    """Unshipped seller-fulfilled orders by ship-by date: those past it can only end late or cancelled (METRICS.md
    §2); those of the days to come are that many of those days' orders known already (alerts/breach.py)."""
    o = m.Order
    first_instant = datetime.combine(window_first, datetime.min.time(), tzinfo=at.tzinfo)
    ship_by = session.scalars(
        select(o.latest_ship_at).where(
            o.account == account, o.channel == "MFN", o.status.in_(("Unshipped", "Pending", "PartiallyShipped")),
            o.marketplace_id == marketplace_id, o.latest_ship_at >= first_instant,
            o.cancelled_at.is_(None), o.ship_confirmed_at.is_(None),
        )
    )
    return dict(Counter(instant.date() for instant in ship_by))  # the ship-by day, as a late shipment is dated


def _promised(session: Session, account: str, at: datetime) -> dict[str, dict[date, int]]:
    """By marketplace, the units of seller-fulfilled orders not cancelled whose delivery is promised today or later,
    by that day: on-time delivery's coming days, counted in units, known already (alerts/breach.py). One read for
    every marketplace, through the promised-delivery index."""
    o = m.Order
    today = datetime.combine(at.date(), datetime.min.time(), tzinfo=at.tzinfo)
    promised_day = func.date(o.latest_delivery_at)  # the promised day, as a late delivery is dated
    units: dict[str, dict[date, int]] = defaultdict(dict)
    for marketplace_id, day, quantity in session.execute(
        select(o.marketplace_id, promised_day, func.sum(o.quantity)).where(
            o.account == account, o.latest_delivery_at >= today, o.channel == "MFN", o.purchase_at < at,
            o.cancelled_at.is_(None),
        ).group_by(o.marketplace_id, promised_day)
    ):
        units[marketplace_id][_day(day)] = int(quantity)
    return dict(units)


def _leads(session: Session, account: str, marketplace_id: str, at: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """The seller-fulfilled orders bought in the last LEAD_DAYS by the days from purchase day to ship-by day, and to
    promised delivery day: how much of a coming anchor day's orders is bought by now. Counted by day in the database:
    a large seller has a hundred thousand orders in those days, and reading each one was an evaluation's largest cost."""
    o = m.Order
    days = func.date(o.purchase_at), func.date(o.latest_ship_at), func.date(o.latest_delivery_at)
    ship: Counter[int] = Counter()
    delivery: Counter[int] = Counter()
    for bought, ship_by, promised, orders in session.execute(
        select(*days, func.count()).where(
            o.account == account, o.channel == "MFN", o.marketplace_id == marketplace_id,
            o.purchase_at >= at - LEAD_DAYS * timedelta(days=1), o.purchase_at < at,
        ).group_by(*days)
    ):
        if ship_by is not None:
            ship[(_day(ship_by) - _day(bought)).days] += orders
        if promised is not None:
            delivery[(_day(promised) - _day(bought)).days] += orders
    return dict(ship), dict(delivery)


def _day(value: str | date) -> date:
    """A day the database worked out: SQLite's date() gives text, PostgreSQL's a date."""
    return date.fromisoformat(str(value))


def _unreported_shipments(session: Session, account: str, marketplace_id: str, at: datetime, window_first) -> Unreported:
    """Seller-fulfilled shipments of the late-shipment windows confirmed too recently for Amazon's report to show
    them yet, and those of ship-by days still to come, confirmed early (alerts/unreported.py), by ship-by day and the
    day Amazon's report first shows them."""
    o = m.Order
    first_instant = datetime.combine(window_first, datetime.min.time(), tzinfo=at.tzinfo)
    rows = session.execute(
        select(o.latest_ship_at, o.ship_confirmed_at).where(
            o.account == account, o.channel == "MFN", o.marketplace_id == marketplace_id,
            o.latest_ship_at >= first_instant, o.cancelled_at.is_(None), o.ship_confirmed_at <= at,
            or_(o.latest_ship_at >= at, o.ship_confirmed_at > at - SHIPPING_REPORT_LAG),
        )
    ).all()
    return unreported(((ship_by.date(), confirmed, int(confirmed > ship_by), 1) for ship_by, confirmed in rows), at)
