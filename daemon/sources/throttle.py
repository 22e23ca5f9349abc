"""Client-side usage plans: wait for a token before calling, so Amazon rarely has to answer 429 (PITFALLS #1-#3)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.clock import Clock
from daemon.errors import BudgetSpent

# SPAPI_NOTES: default (requests per second, burst) per operation.
DEFAULT_PLANS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "listFinancialEvents": (0.5, 30),
    "listFinancialEventsByOrderId": (0.5, 30),
}


@dataclass
class _Bucket:
    rate: float
    burst: int
    tokens: float
    updated_at: datetime


class RateLimiter:
    """One token bucket per operation on the injected clock; waits go through clock.sleep()."""

    def __init__(self, clock: Clock, plans: dict[str, tuple[float, int]] | None = None,
                 max_wait_seconds: float | None = None) -> None:
        self.clock = clock
        self.max_wait_seconds = max_wait_seconds  # None: always wait (replays, where waiting is virtual)
        self.plans = dict(DEFAULT_PLANS if plans is None else plans)
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, operation: str) -> _Bucket:
        bucket = self._buckets.get(operation)
        now = self.clock.now()
        if bucket is None:
            rate, burst = self.plans.get(operation, (1.0, 1))
            bucket = self._buckets[operation] = _Bucket(rate, burst, float(burst), now)
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        bucket.tokens = min(float(bucket.burst), bucket.tokens + elapsed * bucket.rate)
        bucket.updated_at = now
        return bucket

    def interval(self, operation: str) -> float:
        """Seconds one token takes to refill."""
        return 1.0 / self._bucket(operation).rate

    def acquire(self, operation: str) -> None:
        """Take a token, sleeping (virtually, in replays) until one is there; BudgetSpent past `max_wait_seconds`."""
        bucket = self._bucket(operation)
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / bucket.rate
            if self.max_wait_seconds is not None and wait > self.max_wait_seconds:
                raise BudgetSpent(f"{operation}: next token in {wait:.0f} s")
            self.clock.sleep(wait)
            bucket = self._bucket(operation)
        bucket.tokens -= 1.0

    def throttled(self, operation: str) -> None:
        """Amazon said 429: the bucket is empty whatever we believed."""
        self._bucket(operation).tokens = 0.0

    def observe(self, operation: str, rate_limit: Any) -> None:
        """Follow `x-amzn-RateLimit-Limit` when Amazon sends it (a raised or lowered usage plan)."""
        try:
            rate = float(rate_limit)
        except (TypeError, ValueError):
            return
        if rate > 0:
            self._bucket(operation).rate = rate
