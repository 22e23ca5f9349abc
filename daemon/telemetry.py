"""The daemon's own counters for /metrics: polls by feed and outcome, SP-API calls and throttles by operation.

Kept in one registry of this module, so the counters are the process's, whatever the App instances.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry(auto_describe=True)
POLLS = Counter("seller_sentinel_polls", "Feed polls by outcome (ok, failed, or deferred to the next turn when the usage plan ran dry)", ["account", "feed", "outcome"],
                registry=REGISTRY)
SPAPI_CALLS = Counter("seller_sentinel_spapi_calls", "SP-API calls made, retries included", ["account", "operation"],
                      registry=REGISTRY)
THROTTLES = Counter("seller_sentinel_spapi_throttles", "SP-API answers 429 QuotaExceeded", ["account", "operation"],
                    registry=REGISTRY)
