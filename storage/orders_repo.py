"""Indexed reads of the orders behind a metric and of the orders the seller can still act on. No metric rules.

Every read is bounded by an index range (order_defects by window day, open orders by ship-by, tracked orders by
promise), so its cost follows the orders it returns, not the orders stored.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from alerts.actions import OrderDetail
from storage import models as m
from storage.repo import CHUNK, facts_of

OPEN_STATUSES = ("PendingAvailability", "Pending", "Unshipped", "PartiallyShipped")


def counted_order_ids(session: Session, account: str, marketplace_id: str, metric: str, fulfillment: str,
                      first_day: date, end_day: date) -> list[str]:
    """Orders counted against a metric on the window's days [first_day, end_day), each once, by id."""
    d = m.OrderDefect
    return sorted(set(session.scalars(select(d.order_id).where(
        d.account == account, d.marketplace_id == marketplace_id, d.metric == metric, d.fulfillment == fulfillment,
        d.day >= first_day, d.day < end_day))))


def unshipped_order_ids(session: Session, account: str, marketplace_id: str, ship_by_before: datetime) -> list[str]:
    """Seller-fulfilled orders neither ship-confirmed nor cancelled whose ship-by is before `ship_by_before` (past
    due included), through the open-orders index."""
    o = m.Order
    rows = session.execute(select(o.order_id, o.marketplace_id).where(
        o.account == account, o.channel == "MFN", o.status.in_(OPEN_STATUSES), o.latest_ship_at < ship_by_before,
        o.ship_confirmed_at.is_(None), o.cancelled_at.is_(None)))
    return _of_marketplace(rows, marketplace_id)


def undelivered_order_ids(session: Session, account: str, marketplace_id: str, promised_from: datetime,
                          promised_before: datetime, as_of: datetime) -> list[str]:
    """Seller-fulfilled orders shipped with valid tracking, not known delivered by `as_of`, promised in [from,
    before). A delivery seen after `as_of` counts as not yet made only when it surely happened after `as_of` (its
    earliest possible instant is later: exact whenever lastUpdatedTime pinned it)."""
    o, s = m.Order, m.Shipment
    rows = session.execute(
        select(o.order_id, o.marketplace_id).join(s, and_(s.account == o.account, s.order_id == o.order_id)).where(
            o.account == account, o.latest_delivery_at >= promised_from, o.latest_delivery_at < promised_before,
            o.channel == "MFN", o.ship_confirmed_at <= as_of,
            s.tracking_valid.is_(True), or_(s.delivered_at.is_(None), s.delivered_after > as_of)))
    return _of_marketplace(rows, marketplace_id)


def _of_marketplace(rows, marketplace_id: str) -> list[str]:
    """The ids of one marketplace's rows, sorted. Neither the marketplace nor the order is asked of the database: a
    condition on the marketplace leads SQLite's planner to the purchase-date index, an ORDER BY to the primary key,
    and either walks every order of the account instead of the few the deadline index finds."""
    return sorted(order_id for order_id, marketplace in rows if marketplace == marketplace_id)


def order_details(session: Session, account: str, order_ids: list[str]) -> dict[str, OrderDetail]:
    """Each order's facts with its carrier, tracking, feedback and grant dates, read by key."""
    o, s, f, e = m.Order.__table__, m.Shipment, m.Feedback, m.FinancialEvent
    found: dict[str, OrderDetail] = {}
    for start in range(0, len(order_ids), CHUNK):
        ids = order_ids[start:start + CHUNK]
        orders = [row._mapping for row in session.execute(select(o).where(o.c.account == account, o.c.order_id.in_(ids)))]
        shipments = {row.order_id: row for row in session.scalars(select(s).where(s.account == account, s.order_id.in_(ids)))}
        feedback = {row.order_id: row for row in session.scalars(select(f).where(
            f.account == account, f.order_id.in_(ids), f.removed_at.is_(None)))}
        grants = {(order_id, kind): at for order_id, kind, at in session.execute(
            select(e.order_id, e.kind, func.min(e.posted_at)).where(e.account == account, e.order_id.in_(ids),
                                                                     e.direction > 0).group_by(e.order_id, e.kind))}
        for order, facts in facts_of(session, account, orders):
            order_id = order["order_id"]
            shipment, fb = shipments.get(order_id), feedback.get(order_id)
            found[order_id] = OrderDetail(
                order_id=order_id, facts=facts,
                carrier=shipment.carrier if shipment else None,
                shipping_service=shipment.shipping_service if shipment else None,
                tracking_number=shipment.tracking_number if shipment else None,
                feedback_rating=fb.rating if fb else None, feedback_day=fb.feedback_day if fb else None,
                feedback_comment=fb.comment if fb else "",
                claim_granted_at=grants.get((order_id, "claim")) if facts.claims_granted > 0 else None,
                chargeback_granted_at=grants.get((order_id, "chargeback")) if facts.chargebacks_granted > 0 else None,
                buyer_cancel_requested=(not facts.cancelled and shipment is not None and shipment.cancelled_by == "buyer"),
            )
    return found
