"""SQLAlchemy 2.x mapped tables. No queries, no business rules."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Float, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Order(Base):
    """One order as Orders v0 shows it, plus the facts derived from the other feeds and its bucket contributions."""

    __tablename__ = "orders"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(24))
    purchase_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_update_at: Mapped[datetime] = mapped_column(UtcDateTime)
    latest_ship_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    latest_delivery_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    quantity: Mapped[int] = mapped_column(Integer)
    is_replacement: Mapped[bool] = mapped_column(Boolean, default=False)
    is_business: Mapped[bool] = mapped_column(Boolean, default=False)
    ship_confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # first sight of Shipped
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # first sight of Canceled
    left_pending: Mapped[bool] = mapped_column(Boolean, default=False)  # ever seen past Pending (v0 cancel rule)
    contributions: Mapped[str] = mapped_column(Text, default="[]")  # JSON of what is in metric_buckets
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Open seller-fulfilled orders by ship-by date (past-due unshipped orders, every evaluation): with the date in
        # the index the count reads only those orders, not every order of the marketplace.
        Index("ix_orders_open_ship_by", "account", "channel", "status", "latest_ship_at"),
        Index("ix_orders_purchase", "account", "marketplace_id", "purchase_at"),
        Index("ix_orders_delivery_due", "account", "latest_delivery_at"),  # the deliveries feed's look-ups
    )


class Feedback(Base):
    __tablename__ = "feedback"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(20))
    feedback_day: Mapped[date] = mapped_column(Date)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_feedback_day", "account", "marketplace_id", "feedback_day"),)


class Shipment(Base):
    """Orders 2026-01-01 facts: tracking validity, the delivery's bounds, explicit cancel attribution."""

    __tablename__ = "shipments"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tracking_valid: Mapped[bool | None] = mapped_column(Boolean)
    in_transit_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # last sight shipped, not delivered
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # delivered at or before (first sight)
    delivered_after: Mapped[datetime | None] = mapped_column(UtcDateTime)  # delivered after; None: unbounded
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(String(120))
    carrier: Mapped[str | None] = mapped_column(String(120))
    shipping_service: Mapped[str | None] = mapped_column(String(120))
    tracking_number: Mapped[str | None] = mapped_column(String(120))


class Cancellation(Base):
    """Orders v0 getOrderItems verdict on a cancelled order: "buyer" or "unknown"."""

    __tablename__ = "cancellations"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    by: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))


class FinancialEvent(Base):
    __tablename__ = "financial_events"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[int] = mapped_column(Integer)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))

    __table_args__ = (
        Index("ix_financial_events_order", "account", "order_id"),
        Index("ix_financial_events_posted", "account", "posted_at"),  # the ODR lag reads the recent grants
    )


class MetricBucket(Base):
    """Sum of order contributions per anchor day: a metric value is the sum over its window's days."""

    __tablename__ = "metric_buckets"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    fulfillment: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    numerator: Mapped[int] = mapped_column(Integer, default=0)
    denominator: Mapped[int] = mapped_column(Integer, default=0)


class OrderDefect(Base):
    """An order counted against one metric on one window day (a bucket entry that pulls the metric toward its limit):
    the orders behind a figure, read by the same window range as the buckets."""

    __tablename__ = "order_defects"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    fulfillment: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)


class MetricHistory(Base):
    """The value of each metric at each daily evaluation, for trends, pace and digests."""

    __tablename__ = "metric_history"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    fulfillment: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)


class SourceCursor(Base):
    __tablename__ = "cursors"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FeedHealth(Base):
    """When each feed last succeeded, last failed and why: the daemon's own No Data and Error signals."""

    __tablename__ = "feed_health"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    credentials_refused: Mapped[bool] = mapped_column(Boolean, default=False)


class QuarantinedPayload(Base):
    """A payload that did not parse; read again by its retry key until it does (resolved_at) or is given up."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    raw: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retry_key: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_quarantine_waiting", "account", "resolved_at", "retry_key"),)


class PerformanceReport(Base):
    """Amazon's V2 performance report, verbatim, as fetched."""

    __tablename__ = "performance_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)
    document: Mapped[str] = mapped_column(Text)


class AmazonFigure(Base):
    """One metric as Amazon's report states it, per fetch: the official figure beside the local one."""

    __tablename__ = "amazon_figures"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    fulfillment: Mapped[str] = mapped_column(String(3), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    numerator: Mapped[int | None] = mapped_column(Integer)
    denominator: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    window_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_to: Mapped[datetime | None] = mapped_column(UtcDateTime)
    details: Mapped[str] = mapped_column(Text, default="{}")


class AlertState(Base):
    """The current level of one (account, marketplace, metric, fulfillment): what decide() compares against."""

    __tablename__ = "alert_states"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    fulfillment: Mapped[str] = mapped_column(String(3), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A change waiting out the pending period; at the current level, a worsening waiting out its hold.
    candidate_level: Mapped[str | None] = mapped_column(String(16))
    candidate_count: Mapped[int] = mapped_column(Integer, default=0)
    candidate_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # notifications sent for this key


class AlertRecord(Base):
    __tablename__ = "alerts"
    alert_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    marketplace_id: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(64))
    fulfillment: Mapped[str] = mapped_column(String(3))
    level: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    payload: Mapped[str] = mapped_column(Text)  # the Alert as JSON

    __table_args__ = (Index("ix_alerts_raised", "account", "raised_at"),)


class Delivery(Base):
    """One alert to one channel: the outbox row the delivery job claims, sends and records."""

    __tablename__ = "deliveries"
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(160))
    channel: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)


class Ticket(Base):
    """One incident's ticket on a tracker: an alert key's episode from its first notice to its resolution."""

    __tablename__ = "tickets"
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident: Mapped[str] = mapped_column(String(200), primary_key=True)  # dedup key @ the first notice's instant
    dedup_key: Mapped[str] = mapped_column(String(160))
    ticket_id: Mapped[str] = mapped_column(String(64))  # the tracker's own id (GitHub: the issue number)
    url: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))  # the level the ticket says now
    state: Mapped[str] = mapped_column(String(16))  # open | closed
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The latest delivery that commented (or is commenting): its retry looks for that comment before adding it.
    commenting: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_tickets_key", "channel", "dedup_key", "opened_at"),)


class Silence(Base):
    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64))
    marketplace_id: Mapped[str | None] = mapped_column(String(20))
    metric: Mapped[str | None] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DigestRun(Base):
    """A digest period already enqueued, so a restart never sends the same digest twice."""

    __tablename__ = "digest_runs"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AccountLease(Base):
    """Which daemon polls an account, until when (PostgreSQL with several daemons; the database's clock decides)."""

    __tablename__ = "account_leases"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LeaseHolder(Base):
    """A live daemon sharing the database: counted to split the accounts fairly."""

    __tablename__ = "lease_holders"
    holder: Mapped[str] = mapped_column(String(120), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
