"""Parsed SP-API records and the Batch a source hands to the pipeline. Values only, no IO."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator, Protocol, Union

Cursor = dict[str, Any]  # JSON-able; each source owns its shape


@dataclass(frozen=True)
class OrderRecord:
    """One order as searchOrders (Orders 2026-01-01) or getOrders (v0) shows it, statuses in v0 spelling."""

    order_id: str
    marketplace_id: str
    channel: str  # "MFN" | "AFN"
    status: str  # OrderStatus, e.g. "Unshipped", "Shipped", "Canceled"
    purchase_at: datetime
    last_update_at: datetime
    latest_ship_at: datetime | None
    latest_delivery_at: datetime | None
    quantity: int
    is_replacement: bool = False
    is_business: bool = False
    ship_confirmed_at: datetime | None = None  # packages[].shipTime (2026); v0 gives none, the store takes first sight
    left_pending: bool = False  # seen in a status past Pending: a v0 cancel without the buyer flag counts only then
    # Read from an order report: Shipped there says nothing of when, and the row stands in for no API record (a
    # quarantined searchOrders payload of the same order still waits to be read).
    from_report: bool = False


@dataclass(frozen=True)
class CancellationRecord:
    """Who cancelled an order: "seller", "buyer", "amazon" or "unknown" (v0 getOrderItems or 2026 cancellation)."""

    order_id: str
    by: str
    reason: str | None = None


@dataclass(frozen=True)
class PackageRecord:
    """Shipment facts of a seller-fulfilled order from Orders 2026-01-01 (packages[] and cancellation)."""

    order_id: str
    marketplace_id: str
    tracking_valid: bool | None  # None: no package yet
    delivered: bool
    cancelled_by: str | None = None  # "seller" | "buyer" | "amazon" | "unknown" when the order is cancelled
    cancel_reason: str | None = None  # Amazon's free text, shown to people, never used to decide
    updated_at: datetime | None = None  # lastUpdatedTime: bounds a delivery only when it moved after the last sighting
    shipped_at: datetime | None = None  # the earliest package shipTime (or createdTime)
    observed_at: datetime | None = None  # when the answer was given, for getOrder; searchOrders answers as of its bound
    carrier: str | None = None  # of the first package: what the seller sees, and why defects happen (alerts/actions.py)
    shipping_service: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True)
class FeedbackRecord:
    """A 1-3 star row of GET_SELLER_FEEDBACK_DATA."""

    order_id: str
    marketplace_id: str
    feedback_day: date
    rating: int
    comment: str = ""


@dataclass(frozen=True)
class FeedbackCoverage:
    """The days two clean feedback reports covered completely: stored feedback inside them that neither listed
    was removed. It travels with the second report's rows; `also_present` are the first report's order ids."""

    marketplace_id: str
    first_day: date
    last_day: date
    also_present: tuple[str, ...] = ()


@dataclass(frozen=True)
class FinancialEventRecord:
    """A GuaranteeClaimEventList or ChargebackEventList entry: direction +1 grants, -1 reverses."""

    event_key: str
    order_id: str
    kind: str  # "claim" | "chargeback"
    direction: int
    posted_at: datetime
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class AmazonFigure:
    """One metric as Amazon's GET_V2_SELLER_PERFORMANCE_REPORT states it."""

    marketplace_id: str
    metric: str  # metric id as in METRICS.md ("odr", "lsr_30d", "ahr", ...)
    fulfillment: str  # "MFN" | "AFN" | "ALL"
    numerator: int | None
    denominator: int | None
    value: float | None
    window_from: datetime | None = None
    window_to: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)  # e.g. claims/chargebacks counts, ahrStatus


@dataclass(frozen=True)
class PerformanceSnapshot:
    """A whole performance report, kept as Amazon's official figures at `fetched_at`."""

    fetched_at: datetime
    document: str  # the raw JSON text, stored verbatim
    figures: tuple[AmazonFigure, ...]


@dataclass(frozen=True)
class Healed:
    """A quarantined record read again cleanly: its quarantine row is done with."""

    retry_key: str


Record = Union[
    OrderRecord, CancellationRecord, PackageRecord, FeedbackRecord, FeedbackCoverage,
    FinancialEventRecord, PerformanceSnapshot, Healed,
]


@dataclass(frozen=True)
class Reject:
    """A raw payload that did not parse, with the reason; quarantined, never fatal.

    `retry_key` says how to read it again (quarantine.py): "order:<id>", "finance:<order id>", "feedback:<order id>",
    or "orders-window:<after>|<before>" when an order came without its id; None when nothing can.
    """

    source: str
    raw: str
    error: str
    retry_key: str | None = None



@dataclass(frozen=True)
class Batch:
    """One page of a source: what to store, what to quarantine, and the cursor once both are committed."""

    source: str
    records: tuple[Record, ...]
    rejects: tuple[Reject, ...]
    next_cursor: Cursor | None
    api_calls: int = 0


class Source(Protocol):
    name: str  # "orders", "orders_v0", "deliveries", "feedback", "finances", "performance"

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """Yield batches up to `until`; each batch's next_cursor is safe to store once it is committed."""
        ...
