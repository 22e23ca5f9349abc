"""Orders v0 feed, the fallback Amazon is removing (REALITY.md): getOrders by LastUpdatedAfter, and getOrderItems
to recognise buyer-requested cancellations. Off by default; Orders 2026-01-01 (orders_2026.py) is the order feed."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from daemon.errors import MalformedPayload
from daemon.sources.common import (
    PAST_PENDING, OrderWindowFeed, Page, instant, iso, order_retry_key, paged_batches, reject, resume_window, text,
)
from daemon.sources.records import Batch, CancellationRecord, Cursor, OrderRecord, Reject




class OrdersSource(OrderWindowFeed):
    name = "orders_v0"

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """Pages of orders updated since the cursor; a cursor with a next token resumes mid-pagination."""
        window = resume_window(cursor, until, self.clock.now(), self.backfill)
        if window is None:
            return

        def fetch(token: str | None) -> Page:
            query: dict[str, Any] = {"LastUpdatedAfter": iso(window.after), "LastUpdatedBefore": iso(window.before),
                                     "MarketplaceIds": self.marketplace_ids, "MaxResultsPerPage": self.page_size}
            if token:
                query["NextToken"] = token
            payload = self.caller.call("getOrders", self.clients.orders.get_orders, **query).payload
            records, rejects = self._parse(payload["Orders"])
            return records, rejects, payload.get("NextToken"), payload.get("LastUpdatedBefore")

        yield from paged_batches(self.name, self.caller, window, fetch)

    def _parse(self, orders: list[Any]) -> tuple[list[Any], list[Reject]]:
        records: list[Any] = []
        rejects: list[Reject] = []
        for raw in orders:
            try:
                record = parse_order(raw)
            except MalformedPayload as exc:
                rejects.append(reject(self.name, raw, exc, order_retry_key(raw)))
                continue
            records.append(record)
            if record.status == "Canceled" and record.channel == "MFN":
                records.append(self._cancellation(record.order_id))
        return records, rejects

    def _cancellation(self, order_id: str) -> CancellationRecord:
        """SPAPI_NOTES §3: an item flagged IsBuyerRequestedCancel (a string "true") means the buyer asked."""
        token: str | None = None
        while True:
            query = {"NextToken": token} if token else {}
            payload = self.caller.call("getOrderItems", self.clients.orders.get_order_items, order_id, **query).payload
            for item in payload["OrderItems"]:
                request = (item.get("BuyerRequestedCancel") or {}) if isinstance(item, dict) else {}
                if str(request.get("IsBuyerRequestedCancel", "")).lower() == "true":
                    return CancellationRecord(order_id, "buyer", request.get("BuyerCancelReason"))
            token = payload.get("NextToken")
            if not token:
                return CancellationRecord(order_id, "unknown")


def parse_order(raw: Any) -> OrderRecord:
    """An Orders v0 `Order` as an OrderRecord, or MalformedPayload naming what is wrong."""
    if not isinstance(raw, dict):
        raise MalformedPayload("order is not an object")
    channel = text(raw, "FulfillmentChannel")
    if channel not in ("MFN", "AFN"):
        raise MalformedPayload(f"FulfillmentChannel {channel!r} is neither MFN nor AFN")
    try:
        quantity = int(raw.get("NumberOfItemsShipped") or 0) + int(raw.get("NumberOfItemsUnshipped") or 0)
    except (TypeError, ValueError):
        raise MalformedPayload("NumberOfItemsShipped/Unshipped are not integers") from None
    return OrderRecord(
        order_id=text(raw, "AmazonOrderId"), marketplace_id=text(raw, "MarketplaceId"), channel=channel,
        status=text(raw, "OrderStatus"), purchase_at=instant(raw, "PurchaseDate"),
        last_update_at=instant(raw, "LastUpdateDate"), latest_ship_at=instant(raw, "LatestShipDate", required=False),
        latest_delivery_at=instant(raw, "LatestDeliveryDate", required=False), quantity=max(quantity, 1),
        is_replacement=_flag(raw.get("IsReplacementOrder")), is_business=_flag(raw.get("IsBusinessOrder")),
        left_pending=raw["OrderStatus"] in PAST_PENDING,
    )


def _flag(value: Any) -> bool:
    """A v0 boolean, which some answers spell as the string "true" or "false"."""
    return value is True or str(value).lower() == "true"
