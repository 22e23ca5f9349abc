"""Amazon's default usage plans as token buckets on the virtual clock, one per (access token, operation)."""
from __future__ import annotations

import threading
from datetime import datetime

# SPAPI_NOTES §1.1, §2, §4, §7.1: (requests per second, burst)
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),  # Orders 2026-01-01
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "listFinancialEvents": (0.5, 30),
    "listFinancialEventsByOrderId": (0.5, 30),
}


class UsagePlans:
    """Token buckets that refill by virtual time; `take` says whether a call may go through."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def take(self, token: str, operation: str, now: datetime) -> bool:
        rate, burst = USAGE_PLANS[operation]
        with self._lock:
            tokens, last = self._buckets.get((token, operation), (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, (now - last).total_seconds()) * rate)
            if tokens < 1.0:
                self._buckets[(token, operation)] = (tokens, now)
                return False
            self._buckets[(token, operation)] = (tokens - 1.0, now)
            return True
