"""Orders 2026-01-01, the order feed: searchOrders by last update with packages and cancellations (SPAPI_NOTES §2).

Ship confirmation comes from `packages[].shipTime` (or `createdTime`), who cancelled from the cancellation
request and execution (never from free text), and a delivery is bounded by what was seen when (REALITY.md:
`lastUpdatedTime` need not move when a package progresses, so deliveries are also looked up with getOrder).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from daemon.errors import InvalidRequest, MalformedPayload
from daemon.sources.common import (
    PAST_PENDING, OrderWindowFeed, Page, Window, instant, iso, order_retry_key, paged_batches, reject, resume_window, text,
)
from daemon.sources.records import Batch, Cursor, OrderRecord, PackageRecord, Record, Reject

STATUS_V0 = {"PENDING_AVAILABILITY": "PendingAvailability", "PENDING": "Pending", "UNSHIPPED": "Unshipped",
             "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
             "UNFULFILLABLE": "Unfulfillable"}
SHIPPED = frozenset({"Shipped", "PartiallyShipped"})
CHANNELS = {"MERCHANT": "MFN", "AMAZON": "AFN"}
EXECUTED_BY = {"MERCHANT": "seller", "BUYER": "buyer", "AMAZON": "amazon"}  # the model's enumeration
SCANNED = frozenset({"IN_TRANSIT", "DELIVERED"})  # a carrier scan happened: the tracking is valid
INCLUDED_DATA = ["FULFILLMENT", "PACKAGES", "CANCELLATION"]


class SearchOrdersSource(OrderWindowFeed):
    name = "orders"

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """Pages of orders of every channel updated since the cursor (usage plan: 1 call per 3 minutes, burst 20)."""
        window = resume_window(cursor, until, self.clock.now(), self.backfill)
        if window is not None:
            yield from self.read_window(window)

    def read_window(self, window: Window) -> Iterator[Batch]:
        """Every page of one (after, before] window, each with the cursor that resumes after it."""

        def fetch(token: str | None) -> Page:
            query: dict[str, Any] = {
                "lastUpdatedAfter": iso(window.after), "lastUpdatedBefore": iso(window.before),
                "marketplaceIds": self.marketplace_ids, "includedData": INCLUDED_DATA,
                "maxResultsPerPage": self.page_size,
            }
            if token:
                query["paginationToken"] = token  # tokens expire after 24 hours: paged_batches restarts the window
            response = self.caller.call("searchOrders", self.clients.orders_2026.search_orders, **query)
            payload = response.payload
            records: list[Record] = []
            rejects: list[Reject] = []
            for raw in payload["orders"]:
                try:
                    records.extend(parse_order(raw))
                except MalformedPayload as exc:
                    rejects.append(reject(self.name, raw, exc, order_retry_key(raw, window)))
            # The client lifts `pagination` out of the payload of unwrapped (2026) responses.
            next_token = (response.pagination or payload.get("pagination") or {}).get("nextToken")
            return records, rejects, next_token, payload.get("lastUpdatedBefore")

        yield from paged_batches(self.name, self.caller, window, fetch)


class DeliveryLookupSource:
    """getOrder for shipped seller-fulfilled orders not seen delivered yet, within its usage plan and a budget a poll.

    `in_transit(now)` names them, most urgent promise first; the store answers it (the composition root wires it).
    """

    name = "deliveries"

    def __init__(self, clients: Any, caller: Any, clock: Any, in_transit: Callable[[datetime], list[str]],
                 max_lookups: int = 600) -> None:
        self.clients, self.caller, self.clock = clients, caller, clock
        self.in_transit = in_transit
        self.max_lookups = max_lookups

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """One batch per 50 lookups."""
        order_ids = self.in_transit(until)[: self.max_lookups]
        for start in range(0, len(order_ids), 50):
            calls_before = self.caller.calls
            records: list[Record] = []
            rejects: list[Reject] = []
            for order_id in order_ids[start:start + 50]:
                try:
                    response = self.caller.call("getOrder", self.clients.orders_2026.get_order, order_id,
                                                includedData=INCLUDED_DATA)
                except InvalidRequest as exc:  # an order Amazon does not show any more: the others go on
                    rejects.append(reject(self.name, {"orderId": order_id}, exc))
                    continue
                try:
                    records.extend(parse_order(response.payload["order"], observed_at=self.clock.now()))
                except MalformedPayload as exc:
                    rejects.append(reject(self.name, response.payload["order"], exc, f"order:{order_id}"))
            # No cursor: the store's own state (what is still in transit) says what to look up next.
            yield Batch(self.name, tuple(records), tuple(rejects), None, self.caller.calls - calls_before)


def parse_order(raw: Any, observed_at: datetime | None = None) -> list[Record]:
    """An Orders 2026-01-01 `Order` as an OrderRecord, plus a PackageRecord for seller-fulfilled orders."""
    if not isinstance(raw, dict):
        raise MalformedPayload("order is not an object")
    order_id = text(raw, "orderId")
    marketplace_id = text(raw.get("salesChannel") or {}, "marketplaceId")
    fulfillment = raw.get("fulfillment") or {}
    channel = CHANNELS.get(fulfillment.get("fulfilledBy") or "")
    if channel is None:
        raise MalformedPayload(f"fulfillment.fulfilledBy {fulfillment.get('fulfilledBy')!r} is neither MERCHANT nor AMAZON")
    status = STATUS_V0.get(fulfillment.get("fulfillmentStatus") or "")
    if status is None:
        raise MalformedPayload(f"fulfillment.fulfillmentStatus {fulfillment.get('fulfillmentStatus')!r} is unknown")
    items = [item for item in raw.get("orderItems") or [] if isinstance(item, dict)]
    try:
        quantity = sum(int(item.get("quantityOrdered") or 0) for item in items)
    except (TypeError, ValueError):
        raise MalformedPayload("orderItems[].quantityOrdered is not an integer") from None
    packages = [p for p in raw.get("packages") or [] if isinstance(p, dict)]
    shipped_at = _first_ship_time(packages)
    updated_at = instant(raw, "lastUpdatedTime")
    ship_confirmed_at = None
    if status in SHIPPED:
        ship_confirmed_at = shipped_at or updated_at  # FBA orders carry no packages
    order = OrderRecord(
        order_id=order_id, marketplace_id=marketplace_id, channel=channel, status=status,
        purchase_at=instant(raw, "createdTime"), last_update_at=updated_at,
        latest_ship_at=instant(fulfillment.get("shipByWindow") or {}, "latestDateTime", required=False),
        latest_delivery_at=instant(fulfillment.get("deliverByWindow") or {}, "latestDateTime", required=False),
        quantity=max(quantity, 1),
        is_replacement=any((a or {}).get("associationType") == "REPLACEMENT_ORIGINAL_ID"
                           for a in raw.get("associatedOrders") or []),
        is_business="AMAZON_BUSINESS" in (raw.get("programs") or []),
        ship_confirmed_at=ship_confirmed_at, left_pending=status in PAST_PENDING,
    )
    if channel != "MFN":
        return [order]
    statuses = [((p.get("packageStatus") or {}).get("status") or "") for p in packages]
    # Items carry cancellations in orders that are not (wholly) cancelled too (Amazon's own example).
    cancelled_by, cancel_reason = cancellation_of(items)
    if cancelled_by is None and status == "Canceled":
        cancelled_by = "unknown"
    package = PackageRecord(
        order_id=order_id, marketplace_id=marketplace_id,
        tracking_valid=any(s in SCANNED for s in statuses) if statuses else None,
        delivered="DELIVERED" in statuses, cancelled_by=cancelled_by, cancel_reason=cancel_reason,
        updated_at=updated_at, shipped_at=shipped_at, observed_at=observed_at,
        carrier=_package_text(packages, "carrier"), shipping_service=_package_text(packages, "shippingService"),
        tracking_number=_package_text(packages, "trackingNumber"),
    )
    return [order, package]


def cancellation_of(items: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """Who a cancellation is charged to: a buyer's request wins over whoever executed it (Amazon's own example
    has requester BUYER executed by MERCHANT); then the executor; None when no item says anything."""
    executed: list[tuple[str, str | None]] = []
    for item in items:
        cancellation = item.get("cancellation") or {}
        request = cancellation.get("cancellationRequest") or {}
        if request.get("requester") == "BUYER":
            return "buyer", request.get("cancelReason")
        execution = cancellation.get("cancellationExecution") or {}
        if execution.get("cancelledBy"):
            executed.append((EXECUTED_BY.get(execution["cancelledBy"], "unknown"), execution.get("cancelReason")))
    for by in ("seller", "amazon", "buyer", "unknown"):  # any seller-executed item counts (METRICS.md §3)
        for who, reason in executed:
            if who == by:
                return who, reason
    return None, None


def _package_text(packages: list[dict[str, Any]], key: str) -> str | None:
    """A text field of the first package that has it (a string of at most 120 characters; anything else is ignored)."""
    for package in packages:
        value = package.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:120]
    return None


def _first_ship_time(packages: list[dict[str, Any]]) -> datetime | None:
    """The earliest instant a package was handed to the carrier (or created, when shipTime is missing)."""
    times = [instant(p, "shipTime", required=False) or instant(p, "createdTime", required=False) for p in packages]
    known = [t for t in times if t is not None]
    return min(known) if known else None
