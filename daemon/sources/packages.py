"""Orders 2026-01-01 feed: tracking validity, delivery and who cancelled, for seller-fulfilled orders (searchOrders)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from daemon.errors import MalformedPayload
from daemon.sources.common import OrderWindowFeed, Page, instant, iso, paged_batches, reject, resume_window, text
from daemon.sources.records import Batch, Cursor, PackageRecord

CANCELLED_BY = {"MERCHANT": "seller", "BUYER": "buyer", "AMAZON": "amazon"}
SCANNED = frozenset({"IN_TRANSIT", "DELIVERED"})  # a carrier scan happened: the tracking is valid


class PackagesSource(OrderWindowFeed):
    name = "packages"

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """Pages of seller-fulfilled orders updated since the cursor (its usage plan is slow: 1 call per 3 minutes)."""
        window = resume_window(cursor, until, self.clock.now(), self.backfill)
        if window is None:
            return

        def fetch(token: str | None) -> Page:
            query: dict[str, Any] = {
                "lastUpdatedAfter": iso(window.after), "lastUpdatedBefore": iso(window.before),
                "marketplaceIds": self.marketplace_ids, "fulfilledBy": "MERCHANT",
                "includedData": ["PACKAGES", "CANCELLATION"], "maxResultsPerPage": self.page_size,
            }
            if token:
                query["paginationToken"] = token  # tokens expire after 24 hours: paged_batches restarts the window
            response = self.caller.call("searchOrders", self.clients.orders_2026.search_orders, **query)
            payload = response.payload or {}
            records, rejects = [], []
            for raw in payload.get("orders") or []:
                try:
                    records.append(parse_package(raw))
                except MalformedPayload as exc:
                    rejects.append(reject(self.name, raw, exc))
            # The client lifts `pagination` out of the payload of unwrapped (2026) responses.
            next_token = (response.pagination or payload.get("pagination") or {}).get("nextToken")
            return records, rejects, next_token, payload.get("lastUpdatedBefore")

        yield from paged_batches(self.name, self.caller, window, fetch)


def parse_package(raw: Any) -> PackageRecord:
    """An Orders 2026-01-01 `Order` as a PackageRecord."""
    if not isinstance(raw, dict):
        raise MalformedPayload("order is not an object")
    order_id = text(raw, "orderId")
    instant(raw, "createdTime")
    marketplace_id = (raw.get("salesChannel") or {}).get("marketplaceId") or ""
    packages = raw.get("packages") or []
    statuses = [((p.get("packageStatus") or {}).get("status") or "") for p in packages if isinstance(p, dict)]
    cancelled_by = cancel_reason = None
    for item in raw.get("orderItems") or []:
        execution = ((item or {}).get("cancellation") or {}).get("cancellationExecution") or {}
        if execution.get("cancelledBy"):
            cancelled_by = CANCELLED_BY.get(execution["cancelledBy"], "amazon")
            cancel_reason = execution.get("cancelReason")
    return PackageRecord(
        order_id=order_id, marketplace_id=marketplace_id,
        tracking_valid=any(s in SCANNED for s in statuses) if statuses else None,
        delivered="DELIVERED" in statuses, cancelled_by=cancelled_by, cancel_reason=cancel_reason,
        updated_at=instant(raw, "lastUpdatedTime", required=False),
    )
