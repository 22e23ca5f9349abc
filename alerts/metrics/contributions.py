"""What one order contributes to each metric's per-day buckets, from its current facts. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

SELLER_CAUSED_AMAZON_CANCELS = frozenset({"ship_confirm_timeout"})  # METRICS.md §3
GRANTED_CLAIMS = "odr_granted_claims"


@dataclass(frozen=True)
class OrderFacts:
    """Everything the API let the daemon learn about one order, as of the last sync."""

    marketplace_id: str
    channel: str
    purchase_at: datetime
    latest_ship_at: datetime | None
    latest_delivery_at: datetime | None
    quantity: int
    ship_confirmed_at: datetime | None
    cancelled: bool
    cancel_by: str | None  # "seller" | "buyer" | "amazon" | "unknown"
    cancel_reason: str | None
    tracking_valid: bool | None
    delivered_at: datetime | None
    negative_feedback: bool
    claims_granted: int
    chargebacks_granted: int

    @property
    def defective(self) -> bool:
        """ODR defect as the API shows it: 1-2 star feedback not removed, or a granted claim or chargeback."""
        return self.negative_feedback or self.claims_granted > 0 or self.chargebacks_granted > 0

    @property
    def seller_cancelled(self) -> bool:
        """Counts in cr_7d: seller cancels, Amazon's auto-cancel for no ship confirmation, and unattributed cancels."""
        if not self.cancelled:
            return False
        if self.cancel_by == "amazon":
            return self.cancel_reason in SELLER_CAUSED_AMAZON_CANCELS
        # "unknown": v0 could not tell and no 2026 record yet; SPAPI_NOTES §3 counts an order that left Pending.
        return self.cancel_by in ("seller", "unknown", None)


@dataclass(frozen=True, order=True)
class Contribution:
    metric: str
    fulfillment: str
    day: date
    numerator: int
    denominator: int


def contributions(facts: OrderFacts) -> tuple[Contribution, ...]:
    """Bucket entries of one order for every metric it belongs to (METRICS.md §1-§5)."""
    out: list[Contribution] = []
    purchase_day = facts.purchase_at.date()
    if facts.channel in ("MFN", "AFN"):
        out.append(Contribution("odr", facts.channel, purchase_day, int(facts.defective), 1))
        if facts.claims_granted > 0 or facts.chargebacks_granted > 0:
            # Not a metric: lets the daemon tell Amazon's open claims from the granted ones it already knows.
            out.append(Contribution(GRANTED_CLAIMS, facts.channel, purchase_day, 1, 0))
    if facts.channel != "MFN":
        return tuple(out)
    out.append(Contribution("cr_7d", "MFN", purchase_day, int(facts.seller_cancelled), 1))
    if facts.ship_confirmed_at is not None:
        if not facts.cancelled and facts.latest_ship_at is not None:
            late = int(facts.ship_confirmed_at > facts.latest_ship_at)
            ship_by_day = facts.latest_ship_at.date()
            out.append(Contribution("lsr_10d", "MFN", ship_by_day, late, 1))
            out.append(Contribution("lsr_30d", "MFN", ship_by_day, late, 1))
        out.append(Contribution("vtr_30d", "MFN", facts.ship_confirmed_at.date(), int(facts.tracking_valid is True), 1))
        if facts.tracking_valid and facts.latest_delivery_at is not None:
            on_time = facts.delivered_at is not None and facts.delivered_at <= facts.latest_delivery_at
            units = max(facts.quantity, 1)
            out.append(Contribution("otdr_14d", "MFN", facts.latest_delivery_at.date(), units if on_time else 0, units))
    return tuple(out)
