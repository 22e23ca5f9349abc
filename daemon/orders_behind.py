"""Gathers, from the database, the orders behind a metric and an account's to-do at one instant (alerts/actions.py
judges them)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from alerts.actions import (
    DELIVERY_LOOKBACK, DUE_SOON, TRACKING_WINDOW, OrderDetail, OrderRef, TodoItem, order_refs, todo_items,
)
from alerts.metrics.definitions import MetricDefinition, definition
from storage.orders_repo import counted_order_ids, order_details, undelivered_order_ids, unshipped_order_ids


def metric_orders(session: Session, account: str, marketplace_id: str, d: MetricDefinition, at: datetime,
                  now: datetime) -> list[OrderRef]:
    """The orders in the metric's local figure at `at` (a midnight) and, where FORMAT.md names them, those at risk
    of joining it as of `now`."""
    counted = _counted(session, account, marketplace_id, d, at)
    unshipped = undelivered = []
    if d.id in ("lsr_10d", "lsr_30d", "cr_7d"):
        unshipped = _details(session, account, unshipped_order_ids(session, account, marketplace_id, now + DUE_SOON))
    elif d.id == "otdr_14d":
        undelivered = _details(session, account, undelivered_order_ids(
            session, account, marketplace_id, now - DELIVERY_LOOKBACK, now + DUE_SOON, now))
    return order_refs(d.id, counted, unshipped, undelivered)


def account_todo(session: Session, account: str, marketplaces: tuple[str, ...], at: datetime,
                 now: datetime) -> list[TodoItem]:
    """Everything the seller can still do, across the account's marketplaces, deadline first."""
    unshipped: list[OrderDetail] = []
    untracked: list[OrderDetail] = []
    undelivered: list[OrderDetail] = []
    defective: list[OrderDetail] = []
    for marketplace_id in sorted(marketplaces):
        unshipped += _details(session, account, unshipped_order_ids(session, account, marketplace_id, now + DUE_SOON))
        # Shipped in [now - 30 d, now): at a midnight this is vtr_30d's window exactly; later in the day it takes in
        # today's shipments too (read from the bucket of the day after), which are worth fixing before they count.
        first_day, end_day = (now - TRACKING_WINDOW).date(), now.date() + timedelta(days=1)
        untracked += [d for d in _details(session, account, counted_order_ids(
                          session, account, marketplace_id, "vtr_30d", "MFN", first_day, end_day))
                      if d.facts.ship_confirmed_at is not None
                      and now - TRACKING_WINDOW <= d.facts.ship_confirmed_at < now]
        undelivered += _details(session, account, undelivered_order_ids(
            session, account, marketplace_id, now - DELIVERY_LOOKBACK, now + DUE_SOON, now))
        for fulfillment in ("MFN", "AFN"):
            defective += _counted(session, account, marketplace_id, definition("odr", fulfillment), at)
    return todo_items(now, unshipped, untracked, undelivered, defective)


def _counted(session: Session, account: str, marketplace_id: str, d: MetricDefinition, at: datetime) -> list[OrderDetail]:
    first, end = d.window.days(at.date())
    return _details(session, account, counted_order_ids(session, account, marketplace_id, d.id, d.fulfillment, first, end))


def _details(session: Session, account: str, order_ids: list[str]) -> list[OrderDetail]:
    found = order_details(session, account, order_ids)
    return [found[order_id] for order_id in order_ids if order_id in found]
