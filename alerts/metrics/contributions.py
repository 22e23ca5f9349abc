"""What one order contributes to each metric's per-day buckets, from its current facts. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from alerts.metrics.definitions import METRICS

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
    cancel_reason: str | None  # Amazon's free text: shown, never decided on
    tracking_valid: bool | None
    delivered_at: datetime | None  # delivered at or before this instant
    negative_feedback: bool
    claims_granted: int
    chargebacks_granted: int
    cancelled_at: datetime | None = None
    items_cancelled: bool = False  # some items cancelled in an order that was not cancelled as a whole
    left_pending: bool = True  # seen in a status past Pending
    delivered_after: datetime | None = None  # and after this one; None when nothing bounds it from below

    @property
    def defective(self) -> bool:
        """ODR defect as the API shows it: 1-2 star feedback not removed, or a granted claim or chargeback."""
        return self.negative_feedback or self.claims_granted > 0 or self.chargebacks_granted > 0

    @property
    def seller_cancelled(self) -> bool:
        """Counts in cr_7d (METRICS.md §3): seller cancels and Amazon's auto-cancel of an order never ship-confirmed."""
        if not (self.cancelled or self.items_cancelled) or self.cancel_by == "buyer":
            return False
        if self.cancel_by == "seller":
            return True
        if self.cancel_by == "amazon":
            # Amazon cancels an unshipped order past its ship-by date for want of a confirmation; its other cancels
            # (payment, fraud) come before that and are not the seller's. Decided by times, never by reason text.
            return (self.ship_confirmed_at is None and self.latest_ship_at is not None
                    and self.cancelled_at is not None and self.cancelled_at > self.latest_ship_at)
        # Nobody named (v0 without the buyer flag): SPAPI_NOTES §3 counts it only once the order had left Pending.
        return self.left_pending

    @property
    def delivered_on_time(self) -> bool | None:
        """Whether the delivery met the promise; None when what was seen cannot tell (the order is then left out).

        The delivery lies in (delivered_after, delivered_at]. When the promise falls inside that span, the middle
        of the span stands for the instant (deliveries are taken as equally likely anywhere in it); FORMAT.md's
        "first sync that sees DELIVERED" is the span's end. First seen already delivered with nothing earlier to
        bound it, after its promise: unknown.
        """
        promise = self.latest_delivery_at
        if promise is None:
            return None
        if self.delivered_at is None:
            return False  # not delivered by now, and the promise is past once the order is in the window
        if self.delivered_at <= promise:
            return True
        if self.delivered_after is not None:
            return self.delivered_after + (self.delivered_at - self.delivered_after) / 2 <= promise
        if self.ship_confirmed_at is not None and self.ship_confirmed_at > promise:
            return False
        return None

@dataclass(frozen=True, order=True)
class Contribution:
    metric: str
    fulfillment: str
    day: date
    numerator: int
    denominator: int


_DIRECTION = {(d.id, d.fulfillment): d.limit.direction for d in METRICS}


def counts_against(c: Contribution) -> bool:
    """Whether this entry pulls its metric toward the limit: a numerator of an upper-limited metric (a defect), a
    denominator not in the numerator of a lower-limited one (a shipment without valid tracking, a late unit)."""
    direction = _DIRECTION.get((c.metric, c.fulfillment))
    if direction == "upper":
        return c.numerator > 0
    if direction == "lower":
        return c.denominator > c.numerator
    return False  # not a metric (GRANTED_CLAIMS)


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
        on_time = facts.delivered_on_time
        if facts.tracking_valid and facts.latest_delivery_at is not None and on_time is not None:
            units = max(facts.quantity, 1)
            out.append(Contribution("otdr_14d", "MFN", facts.latest_delivery_at.date(), units if on_time else 0, units))
    return tuple(out)
