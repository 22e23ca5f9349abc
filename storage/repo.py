"""Writes and reads of the data path: batches, cursors, quarantine, derived order facts and metric buckets.

No metric rules live here: what an order contributes comes from alerts.metrics.contributions.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, event, func, or_, select, update
from sqlalchemy.orm import Session

from alerts.metrics.contributions import Contribution, OrderFacts, contributions, counts_against
from daemon.sources.records import (
    AmazonFigure as AmazonFigureRecord,
    Batch, CancellationRecord, Cursor, FeedbackCoverage, FeedbackRecord, FinancialEventRecord, Healed,
    OrderRecord, PackageRecord, PerformanceSnapshot, Reject,
)
from storage import models as m
from storage.db import make_sessionmaker
from storage.upsert import upsert

SHIPPED_STATUSES = frozenset({"Shipped", "PartiallyShipped"})
BACKFILL_SWEEP = timedelta(days=1)  # an order window wider than this is a first start's sweep, not a poll
CHUNK = 500

BucketKey = tuple[str, str, str, date]  # marketplace, metric, fulfillment, day


class Store:
    """The database of one daemon: every unit of work is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self._writes = make_sessionmaker(engine, writes=True)

    def on_committed_write(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each unit of work that wrote something has committed (a storage outage is over only
        once a write went through: a read-only job proves nothing)."""
        def wrote(session: Session, *_: Any) -> None:
            session.info["wrote"] = True

        def mark_statement(state: Any) -> None:
            if state.is_insert or state.is_update or state.is_delete:
                state.session.info["wrote"] = True

        def committed(session: Session) -> None:
            if session.info.pop("wrote", False):
                callback()

        def rolled_back(session: Session) -> None:
            session.info.pop("wrote", None)

        for name, handler in (("after_flush", wrote), ("do_orm_execute", mark_statement), ("after_commit", committed),
                              ("after_rollback", rolled_back)):
            event.listen(self._writes, name, handler)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block, or rolls back on an exception."""
        with self._writes.begin() as session:
            yield session

    def cursor(self, account: str, source: str) -> Cursor | None:
        """The stored cursor of one feed, or None before its first committed page."""
        with self.sessions() as session:
            row = session.get(m.SourceCursor, (account, source))
            return json.loads(row.value) if row else None

    def orders_in_transit(self, account: str, promised_from: datetime, promised_by: datetime,
                          looked_before: datetime) -> list[str]:
        """Shipped seller-fulfilled orders with valid tracking not seen delivered, promised in [promised_from,
        promised_by] and not seen in transit after `looked_before`: the ones a getOrder may show delivered.
        Earliest promise first."""
        o, s = m.Order, m.Shipment
        with self.sessions() as session:
            return list(session.scalars(
                select(o.order_id).join(s, and_(s.account == o.account, s.order_id == o.order_id)).where(
                    o.account == account, o.channel == "MFN", o.ship_confirmed_at.is_not(None), o.cancelled_at.is_(None),
                    o.latest_delivery_at >= promised_from, o.latest_delivery_at <= promised_by,
                    s.tracking_valid.is_(True), s.delivered_at.is_(None),
                    or_(s.in_transit_seen_at.is_(None), s.in_transit_seen_at < looked_before),
                ).order_by(o.latest_delivery_at, o.order_id)
            ))

    def quarantine_waiting(self, account: str, since: datetime) -> list[str]:
        """Retry keys of records quarantined since `since` and not read cleanly yet (feedback heals by itself)."""
        q = m.QuarantinedPayload
        with self.sessions() as session:
            return list(session.scalars(
                select(q.retry_key).where(q.account == account, q.resolved_at.is_(None), q.retry_key.is_not(None),
                                          q.seen_at >= since, ~q.retry_key.startswith("feedback:"))
                .group_by(q.retry_key).order_by(func.min(q.seen_at), q.retry_key)
            ))

    def orders_backfilling(self, account: str) -> bool:
        """Whether the order feed is still on its first sweep: never read, or paging through a window of days."""
        return orders_sweeping(self.cursor(account, "orders"))

    def last_polled(self, account: str) -> datetime | None:
        """When any feed of the account was last polled, successfully or not (by any daemon)."""
        h = m.FeedHealth
        with self.sessions() as session:
            success, failure = session.execute(select(func.max(h.last_success_at), func.max(h.last_failure_at))
                                               .where(h.account == account)).one()
        return max(filter(None, (success, failure)), default=None)

    def window_counts(
        self, account: str, marketplace_id: str, metric: str, fulfillment: str, first_day: date, end_day: date
    ) -> tuple[int, int]:
        """Numerator and denominator summed over buckets with first_day <= day < end_day."""
        with self.sessions() as session:
            return window_counts(session, account, marketplace_id, metric, fulfillment, first_day, end_day)


def window_counts(
    session: Session, account: str, marketplace_id: str, metric: str, fulfillment: str, first_day: date, end_day: date
) -> tuple[int, int]:
    """Numerator and denominator summed over the window's day buckets: O(days), whatever the order count."""
    b = m.MetricBucket
    num, den = session.execute(
        select(func.coalesce(func.sum(b.numerator), 0), func.coalesce(func.sum(b.denominator), 0)).where(
            b.account == account, b.marketplace_id == marketplace_id, b.metric == metric,
            b.fulfillment == fulfillment, b.day >= first_day, b.day < end_day,
        )
    ).one()
    return int(num), int(den)


def orders_sweeping(cursor: Cursor | None) -> bool:
    """Whether an orders cursor is still on its first sweep: never read, or paging through a window of days."""
    if cursor is None:
        return True
    if not cursor.get("next_token"):
        return False
    return datetime.fromisoformat(cursor["before"]) - datetime.fromisoformat(cursor["after"]) > BACKFILL_SWEEP


def store_batch(session: Session, account: str, batch: Batch, seen_at: datetime) -> set[str]:
    """Upsert a batch's records, quarantine its rejects, move its cursor; returns the order ids whose facts changed."""
    changed: set[str] = set()
    by_type: dict[type, list[Any]] = defaultdict(list)
    for record in batch.records:
        by_type[type(record)].append(record)
    changed |= _store_cancellations(session, account, by_type[CancellationRecord])
    changed |= _store_packages(session, account, by_type[PackageRecord], seen_at)
    changed |= _store_feedback(session, account, by_type[FeedbackRecord], by_type[FeedbackCoverage], seen_at)
    changed |= _store_financial_events(session, account, by_type[FinancialEventRecord])
    for snapshot in by_type[PerformanceSnapshot]:
        _store_performance(session, account, snapshot)
    quarantine(session, account, batch.rejects, seen_at)
    heal(session, account, [f"order:{r.order_id}" for r in by_type[OrderRecord] if not r.from_report]
         + [f"feedback:{r.order_id}" for r in by_type[FeedbackRecord]] + [h.retry_key for h in by_type[Healed]], seen_at)
    if batch.next_cursor is not None:
        set_cursor(session, account, batch.source, batch.next_cursor, seen_at)
    # Orders last: their contributions then see this batch's packages, feedback and events.
    deltas = BucketDeltas()
    stored = _store_orders(session, account, by_type[OrderRecord], seen_at, deltas)
    refresh_contributions(session, account, changed - stored, deltas)
    deltas.write(session, account)
    return changed | stored


def set_cursor(session: Session, account: str, source: str, cursor: Cursor, now: datetime) -> None:
    """Move a feed's cursor; called in the transaction that stored the rows it covers."""
    upsert(
        session, m.SourceCursor.__table__,
        [{"account": account, "source": source, "value": json.dumps(cursor, sort_keys=True), "updated_at": now}],
        ("account", "source"),
        lambda ex: {"value": ex.value, "updated_at": ex.updated_at},
    )


def quarantine(session: Session, account: str, rejects: Iterable[Reject], now: datetime) -> None:
    """Keep payloads that did not parse, with the reason and how to read them again; one waiting row per key."""
    q = m.QuarantinedPayload
    rows = [{"account": account, "source": r.source, "raw": r.raw, "error": r.error, "seen_at": now,
             "retry_key": r.retry_key} for r in rejects]
    keys = [r["retry_key"] for r in rows if r["retry_key"]]
    waiting = set(session.scalars(select(q.retry_key).where(
        q.account == account, q.resolved_at.is_(None), q.retry_key.in_(keys)))) if keys else set()
    kept = []
    for row in rows:
        if row["retry_key"] is None or row["retry_key"] not in waiting:
            kept.append(row)
            waiting.add(row["retry_key"])
    rows = kept
    if rows:
        session.execute(q.__table__.insert(), rows)


def heal(session: Session, account: str, retry_keys: list[str], now: datetime) -> None:
    """Quarantined records that have now been read cleanly are done with."""
    q = m.QuarantinedPayload
    for start in range(0, len(retry_keys), CHUNK):
        session.execute(update(q).where(q.account == account, q.resolved_at.is_(None),
                                        q.retry_key.in_(retry_keys[start:start + CHUNK])).values(resolved_at=now))


def _store_orders(session: Session, account: str, records: list[OrderRecord], seen_at: datetime,
                  deltas: BucketDeltas) -> set[str]:
    """Merge the records into the stored orders and write each once, with its bucket contributions.

    Merging here rather than in the upsert lets the contributions be worked out before the write, so a backfill
    writes every order once instead of writing it, reading it back and updating it.
    """
    if not records:
        return set()
    existing = _existing_orders(session, account, sorted({r.order_id for r in records}))
    merged: dict[str, dict[str, Any]] = {}
    for r in records:
        merged[r.order_id] = _merge_order(merged.get(r.order_id) or existing.get(r.order_id), _order_row(account, r, seen_at))
    rows = list(merged.values())
    for order, facts in facts_of(session, account, rows):
        new = _encode(contributions(facts))
        old = existing[order["order_id"]]["contributions"] if order["order_id"] in existing else "[]"
        deltas.move(order["marketplace_id"], order["order_id"], old, new)
        order["contributions"] = new
    upsert(session, m.Order.__table__, rows, ("account", "order_id"),
           lambda ex: {column: getattr(ex, column) for column in ORDER_MERGED_COLUMNS})
    return set(merged)


# What a new sight of an order may change; the rest (marketplace, channel, purchase, first sight) stays as first seen.
ORDER_MERGED_COLUMNS = ("status", "last_update_at", "latest_ship_at", "latest_delivery_at", "quantity", "is_replacement",
                        "is_business", "ship_confirmed_at", "cancelled_at", "left_pending", "contributions")


def _order_row(account: str, r: OrderRecord, seen_at: datetime) -> dict[str, Any]:
    return {
        "account": account, "order_id": r.order_id, "marketplace_id": r.marketplace_id, "channel": r.channel,
        "status": r.status, "purchase_at": r.purchase_at, "last_update_at": r.last_update_at,
        "latest_ship_at": r.latest_ship_at, "latest_delivery_at": r.latest_delivery_at,
        "quantity": r.quantity, "is_replacement": r.is_replacement, "is_business": r.is_business,
        # packages[].shipTime where Orders 2026 gives it; for v0 only, LastUpdateDate at the first sight of Shipped.
        "ship_confirmed_at": r.ship_confirmed_at or (
            r.last_update_at if r.status in SHIPPED_STATUSES and not r.from_report else None),
        "cancelled_at": r.last_update_at if r.status == "Canceled" else None,
        "left_pending": r.left_pending, "contributions": "[]", "first_seen_at": seen_at,
    }


def _merge_order(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The stored order after a new sight: the newest status, every date either knows, the first sight of shipping and
    cancelling."""
    if old is None:
        return new
    merged = dict(old)
    # A sight older than the stored one (an order report made before the last poll) only fills what is missing.
    newest = old if new["last_update_at"] < old["last_update_at"] else new
    for column in ("status", "last_update_at", "quantity", "is_replacement", "is_business"):
        merged[column] = newest[column]
    merged["latest_ship_at"] = new["latest_ship_at"] or old["latest_ship_at"]
    merged["latest_delivery_at"] = new["latest_delivery_at"] or old["latest_delivery_at"]
    merged["ship_confirmed_at"] = old["ship_confirmed_at"] or new["ship_confirmed_at"]
    merged["cancelled_at"] = old["cancelled_at"] or new["cancelled_at"]
    merged["left_pending"] = bool(old["left_pending"] or new["left_pending"])
    return merged


def _existing_orders(session: Session, account: str, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    o = m.Order.__table__
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(order_ids), CHUNK):
        for row in session.execute(select(o).where(o.c.account == account, o.c.order_id.in_(order_ids[start:start + CHUNK]))):
            found[row.order_id] = dict(row._mapping)
    return found


def _store_cancellations(session: Session, account: str, records: list[CancellationRecord]) -> set[str]:
    rows = [{"account": account, "order_id": r.order_id, "by": r.by, "reason": r.reason} for r in records]
    upsert(session, m.Cancellation.__table__, rows, ("account", "order_id"), lambda ex: {"by": ex.by, "reason": ex.reason})
    return {r.order_id for r in records}


def _store_packages(session: Session, account: str, records: list[PackageRecord], seen_at: datetime) -> set[str]:
    existing = _existing_shipments(session, account, [r.order_id for r in records])
    rows = []
    for r in records:
        old = existing.get(r.order_id)
        row = {
            "account": account, "order_id": r.order_id,
            "tracking_valid": r.tracking_valid if r.tracking_valid is not None else (old.tracking_valid if old else None),
            "cancelled_by": r.cancelled_by or (old.cancelled_by if old else None),
            "cancel_reason": r.cancel_reason or (old.cancel_reason if old else None),
            "carrier": r.carrier or (old.carrier if old else None),
            "shipping_service": r.shipping_service or (old.shipping_service if old else None),
            "tracking_number": r.tracking_number or (old.tracking_number if old else None),
            "in_transit_seen_at": old.in_transit_seen_at if old else None,
            "delivered_at": old.delivered_at if old else None,
            "delivered_after": old.delivered_after if old else None,
        }
        seen = r.observed_at or seen_at  # searchOrders answers as of its bound, getOrder as of the call
        if not r.delivered and r.shipped_at is not None:
            row["in_transit_seen_at"] = max(filter(None, (row["in_transit_seen_at"], seen)))
        elif r.delivered and row["delivered_at"] is None:
            row["delivered_at"], row["delivered_after"] = delivery_bounds(r, row["in_transit_seen_at"], seen)
        rows.append(row)
    upsert(
        session, m.Shipment.__table__, rows, ("account", "order_id"),
        lambda ex: {key: getattr(ex, key) for key in ("tracking_valid", "cancelled_by", "cancel_reason", "carrier",
                                                      "shipping_service", "tracking_number", "in_transit_seen_at",
                                                      "delivered_at", "delivered_after")},
    )
    return {r.order_id for r in records}


def delivery_bounds(r: PackageRecord, last_in_transit: datetime | None, seen: datetime) -> tuple[datetime, datetime | None]:
    """(latest, earliest) instant of a delivery first seen at `seen`; the earliest is None when nothing bounds it.

    lastUpdatedTime pins it only when it moved after the last sighting in transit (and after shipping): Amazon's
    own examples show it earlier than the packages' times, so it cannot be assumed to move (REALITY.md).
    """
    floor = max(filter(None, (last_in_transit, r.shipped_at)), default=None)
    if r.updated_at is not None and r.updated_at <= seen and (floor is None or r.updated_at > floor):
        return r.updated_at, r.updated_at
    return seen, last_in_transit


def _existing_shipments(session: Session, account: str, order_ids: list[str]) -> dict[str, m.Shipment]:
    s = m.Shipment
    found: dict[str, m.Shipment] = {}
    for start in range(0, len(order_ids), CHUNK):
        for row in session.scalars(select(s).where(s.account == account, s.order_id.in_(order_ids[start:start + CHUNK]))):
            found[row.order_id] = row
    return found


def _store_feedback(
    session: Session, account: str, records: list[FeedbackRecord], coverages: list[FeedbackCoverage], seen_at: datetime
) -> set[str]:
    rows = [
        {
            "account": account, "order_id": r.order_id, "marketplace_id": r.marketplace_id,
            "feedback_day": r.feedback_day, "rating": r.rating, "comment": r.comment,
            "first_seen_at": seen_at, "removed_at": None,
        }
        for r in records
    ]
    table = m.Feedback.__table__
    # Only rows whose visible state changes are reported as changed, so re-reading the same report is free.
    existing = _existing_feedback(session, account, [r.order_id for r in records])
    changed = {
        r.order_id for r in records
        if existing.get(r.order_id) != (r.rating, None)
    }
    upsert(
        session, table, rows, ("account", "order_id"),
        lambda ex: {"rating": ex.rating, "feedback_day": ex.feedback_day, "comment": ex.comment, "removed_at": None},
    )
    for coverage in coverages:
        present = {r.order_id for r in records if r.marketplace_id == coverage.marketplace_id}
        present |= set(coverage.also_present)
        f = m.Feedback
        candidates = session.scalars(
            select(f.order_id).where(
                f.account == account, f.marketplace_id == coverage.marketplace_id, f.removed_at.is_(None),
                f.feedback_day >= coverage.first_day, f.feedback_day <= coverage.last_day,
            )
        ).all()
        removed = [order_id for order_id in candidates if order_id not in present]
        for start in range(0, len(removed), CHUNK):
            session.execute(
                update(f).where(f.account == account, f.order_id.in_(removed[start:start + CHUNK])).values(removed_at=seen_at)
            )
        changed |= set(removed)
    return changed


def _existing_feedback(session: Session, account: str, order_ids: list[str]) -> dict[str, tuple[int, datetime | None]]:
    f = m.Feedback
    found: dict[str, tuple[int, datetime | None]] = {}
    for start in range(0, len(order_ids), CHUNK):
        for order_id, rating, removed_at in session.execute(
            select(f.order_id, f.rating, f.removed_at).where(f.account == account, f.order_id.in_(order_ids[start:start + CHUNK]))
        ):
            found[order_id] = (rating, removed_at)
    return found


def _store_financial_events(session: Session, account: str, records: list[FinancialEventRecord]) -> set[str]:
    rows = [
        {
            "account": account, "event_key": r.event_key, "order_id": r.order_id, "kind": r.kind,
            "direction": r.direction, "posted_at": r.posted_at, "amount": r.amount, "currency": r.currency,
        }
        for r in records
    ]
    upsert(session, m.FinancialEvent.__table__, rows, ("account", "event_key"))
    return {r.order_id for r in records}


def _store_performance(session: Session, account: str, snapshot: PerformanceSnapshot) -> None:
    session.add(m.PerformanceReport(account=account, fetched_at=snapshot.fetched_at, document=snapshot.document))
    upsert(
        session, m.AmazonFigure.__table__,
        [_figure_row(account, snapshot.fetched_at, figure) for figure in snapshot.figures],
        ("account", "marketplace_id", "metric", "fulfillment", "fetched_at"),
        lambda ex: {"numerator": ex.numerator, "denominator": ex.denominator, "value": ex.value, "details": ex.details},
    )


def _figure_row(account: str, fetched_at: datetime, figure: AmazonFigureRecord) -> dict[str, Any]:
    return {
        "account": account, "marketplace_id": figure.marketplace_id, "metric": figure.metric,
        "fulfillment": figure.fulfillment, "fetched_at": fetched_at, "numerator": figure.numerator,
        "denominator": figure.denominator, "value": figure.value, "window_from": figure.window_from,
        "window_to": figure.window_to, "details": json.dumps(figure.details, sort_keys=True, default=str),
    }


DefectKey = tuple[str, str, str, date, str]  # marketplace, metric, fulfillment, day, order id


class BucketDeltas:
    """How much each day bucket moves as orders' contributions change, and which orders start or stop counting
    against a metric; written once per batch."""

    def __init__(self) -> None:
        self._deltas: dict[BucketKey, list[int]] = defaultdict(lambda: [0, 0])
        self._defects: dict[DefectKey, int] = defaultdict(int)  # +1 starts counting, -1 stops

    def move(self, marketplace_id: str, order_id: str, old: str, new: str) -> None:
        """An order's encoded contributions went from `old` to `new`."""
        if old == new:
            return
        for sign, encoded in ((-1, old), (1, new)):
            for metric, fulfillment, day, num, den in json.loads(encoded):
                bucket_day = date.fromisoformat(day)
                delta = self._deltas[(marketplace_id, metric, fulfillment, bucket_day)]
                delta[0] += sign * num
                delta[1] += sign * den
                if counts_against(Contribution(metric, fulfillment, bucket_day, num, den)):
                    self._defects[(marketplace_id, metric, fulfillment, bucket_day, order_id)] += sign

    def write(self, session: Session, account: str) -> None:
        rows = [
            {"account": account, "marketplace_id": mp, "metric": metric, "fulfillment": ff, "day": day,
             "numerator": num, "denominator": den}
            for (mp, metric, ff, day), (num, den) in sorted(self._deltas.items())
            if num or den
        ]
        table = m.MetricBucket.__table__
        upsert(
            session, table, rows, ("account", "marketplace_id", "metric", "fulfillment", "day"),
            lambda ex: {"numerator": table.c.numerator + ex.numerator, "denominator": table.c.denominator + ex.denominator},
        )
        self._deltas.clear()
        self._write_defects(session, account)

    def _write_defects(self, session: Session, account: str) -> None:
        defects = m.OrderDefect.__table__
        keys = ("marketplace_id", "metric", "fulfillment", "day", "order_id")
        started = [{"account": account, **dict(zip(keys, key))} for key, sign in sorted(self._defects.items()) if sign > 0]
        stopped = [{f"key_{k}": v for k, v in zip(("account", *keys), (account, *key))}
                   for key, sign in sorted(self._defects.items()) if sign < 0]
        upsert(session, defects, started, ("account", *keys))
        if stopped:
            session.execute(defects.delete().where(*(defects.c[k] == bindparam(f"key_{k}") for k in ("account", *keys))),
                            stopped)
        self._defects.clear()


def refresh_contributions(session: Session, account: str, order_ids: Iterable[str], deltas: BucketDeltas | None = None) -> None:
    """Recompute the facts of changed orders and move their bucket contributions by the difference."""
    own = deltas is None
    deltas = deltas or BucketDeltas()
    ids = sorted(order_ids)
    o = m.Order.__table__
    updates: list[dict[str, Any]] = []
    for start in range(0, len(ids), CHUNK):
        orders = [row._mapping for row in session.execute(
            select(o).where(o.c.account == account, o.c.order_id.in_(ids[start:start + CHUNK])))]
        for order, facts in facts_of(session, account, orders):
            new = _encode(contributions(facts))
            if new != order["contributions"]:
                deltas.move(order["marketplace_id"], order["order_id"], order["contributions"], new)
                updates.append({"key_account": account, "key_order_id": order["order_id"], "contributions": new})
    if updates:
        # Core executemany by primary key: the ORM's bulk update costs as much again per row.
        session.execute(update(o).where(o.c.account == bindparam("key_account"), o.c.order_id == bindparam("key_order_id"))
                        .values(contributions=bindparam("contributions")), updates)
    if own:
        deltas.write(session, account)


def _encode(items: tuple[Contribution, ...]) -> str:
    return json.dumps([[c.metric, c.fulfillment, c.day.isoformat(), c.numerator, c.denominator] for c in sorted(items)])


def facts_of(session: Session, account: str, orders: list[Mapping[str, Any]]) -> Iterator[tuple[Any, OrderFacts]]:
    """Each order row (a mapping of the orders table's columns) with its facts from the other feeds."""
    if not orders:
        return
    ids = [order["order_id"] for order in orders]
    f, s, c, e = m.Feedback, m.Shipment, m.Cancellation, m.FinancialEvent
    negative = set(session.scalars(
        select(f.order_id).where(f.account == account, f.order_id.in_(ids), f.rating <= 2, f.removed_at.is_(None))
    ))
    shipments = {row.order_id: row for row in session.scalars(select(s).where(s.account == account, s.order_id.in_(ids)))}
    cancels = {row.order_id: row for row in session.scalars(select(c).where(c.account == account, c.order_id.in_(ids)))}
    granted: dict[tuple[str, str], int] = {
        (order_id, kind): int(total)
        for order_id, kind, total in session.execute(
            select(e.order_id, e.kind, func.sum(e.direction))
            .where(and_(e.account == account, e.order_id.in_(ids)))
            .group_by(e.order_id, e.kind)
        )
    }
    for order in orders:
        shipment = shipments.get(order["order_id"])
        cancel = cancels.get(order["order_id"])
        cancel_by, cancel_reason = None, None
        items_cancelled = order["cancelled_at"] is None and shipment is not None and shipment.cancelled_by is not None
        if items_cancelled:
            cancel_by, cancel_reason = shipment.cancelled_by, shipment.cancel_reason
        elif order["cancelled_at"] is not None:
            # The 2026 API names who asked and who executed; v0 items only recognise buyer requests.
            if shipment is not None and shipment.cancelled_by not in (None, "unknown"):
                cancel_by, cancel_reason = shipment.cancelled_by, shipment.cancel_reason
            elif cancel is not None:
                cancel_by, cancel_reason = cancel.by, cancel.reason
            else:
                cancel_by = "unknown"
        yield order, OrderFacts(
            marketplace_id=order["marketplace_id"], channel=order["channel"], purchase_at=order["purchase_at"],
            latest_ship_at=order["latest_ship_at"], latest_delivery_at=order["latest_delivery_at"],
            quantity=order["quantity"], ship_confirmed_at=order["ship_confirmed_at"],
            cancelled=order["cancelled_at"] is not None, cancelled_at=order["cancelled_at"], items_cancelled=items_cancelled,
            left_pending=order["left_pending"],
            cancel_by=cancel_by, cancel_reason=cancel_reason,
            tracking_valid=shipment.tracking_valid if shipment else None,
            delivered_at=shipment.delivered_at if shipment else None,
            delivered_after=shipment.delivered_after if shipment else None,
            negative_feedback=order["order_id"] in negative,
            claims_granted=granted.get((order["order_id"], "claim"), 0),
            chargebacks_granted=granted.get((order["order_id"], "chargeback"), 0),
        )
