"""Alert value types shared by the judgement (evaluate, decide) and the delivery (render, channels). No IO."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class Level(str, Enum):
    """Alert levels in increasing severity; `resolved` is the return below warning."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    BREACH = "breach"
    RESOLVED = "resolved"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Level.OK: 0, Level.RESOLVED: 0, Level.WARNING: 1, Level.CRITICAL: 2, Level.BREACH: 3}


class NotifyReason(str, Enum):
    FIRST = "first"
    ESCALATED = "escalated"
    DE_ESCALATED = "de-escalated"
    RESOLVED = "resolved"
    REPEAT = "repeat"
    WORSE = "worse"  # same level, but something new went wrong (e.g. one more policy violation)


@dataclass(frozen=True)
class AlertKey:
    """One alert state per (account, marketplace, metric, fulfillment); operational alerts use metric ids like "feed_stale:orders"."""

    account: str
    marketplace_id: str
    metric: str
    fulfillment: str

    @property
    def dedup_key(self) -> str:
        return f"{self.account}/{self.marketplace_id}/{self.fulfillment}/{self.metric}"


@dataclass(frozen=True)
class Alert:
    """A notification-worthy change of one alert state."""

    alert_id: str  # stable: receivers dedupe on it (with the channel it forms the delivery id)
    key: AlertKey
    kind: str  # "metric" | "operational" | "amazon" (Amazon's own rating and policy sections)
    level: Level
    reason: NotifyReason
    raised_at: datetime
    headline: str  # one line, e.g. "ODR 0.82% of 1.00%: 2 more defects breach"
    explanation: tuple[str, ...] = ()  # sentences: why, what is certain to enter, low volume, ...
    advice: tuple[str, ...] = ()  # what the seller can do next
    value: float | None = None
    limit: float | None = None
    direction: str = "upper"  # "upper": breach at or above; "lower": breach below
    numerator: int | None = None
    denominator: int | None = None
    defects_to_breach: int | None = None
    forecast_breach_at: datetime | None = None  # the median day Amazon's figure crosses, within the horizon
    breach_probability: float | None = None  # the chance Amazon's figure is over the limit within...
    breach_probability_days: int | None = None  # ...this many days
    amazon_value: float | None = None
    seller_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderedMessage:
    """One alert or digest in every shape the channels need; channels pick their part."""

    subject: str
    text: str
    html: str
    slack: dict[str, Any]  # Slack incoming-webhook body: {"text": ..., "blocks": [...]}
    data: dict[str, Any]  # versioned JSON body for webhooks (see alerts/render.py)
    inline_images: tuple[tuple[str, bytes], ...] = ()  # (content id, PNG bytes) for HTML email
