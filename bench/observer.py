"""What the daemon and Amazon see of a generated account, day by day, without running the daemon.

The replay tests prove that a full sync gives exactly the metrics of FORMAT.md; running the whole
daemon over fifty accounts of up to 3,000 orders a day would take hours. This observer derives the
same per-day buckets straight from the generated events, through the daemon's own
`contributions()`: the local view sees each fact at its instant, Amazon's view sees it with the
simulator's reporting lags (Lags: 48 h for defects, 72 h for shipping) and counts open claims and
chargebacks, as the simulator's performance report does. `tests/bench/test_observer.py` checks both
against the simulator's independent recompute.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from alerts.metrics.contributions import OrderFacts, contributions
from daemon.clock import parse_instant
from daemon.simulator.amazon import Lags

DAY = timedelta(days=1)
UNSHIPPED = "unshipped"  # not a metric: seller-fulfilled orders bought and not shipped or cancelled, by ship-by day
PROMISED = "promised"  # not a metric: units of seller-fulfilled orders bought and not cancelled, by promised delivery day
SHIP_LEAD = "ship_lead"  # not a metric: seller-fulfilled orders by purchase day, its fulfillment slot the days from
# the purchase day to the ship-by day
DELIVERY_LEAD = "delivery_lead"  # the same, to the promised delivery day
AMAZON_CLAIMS = "amazon_claims"  # not a metric: orders with a counting claim or chargeback in Amazon's view
Key = tuple[str, str, str]  # metric, fulfillment, marketplace
Change = tuple[datetime, Key, date, int, int]  # instant, bucket, anchor day, numerator delta, denominator delta


@dataclass
class Buckets:
    """Per-day (numerator, denominator) of every bucket key, as of the last instant applied."""

    counts: dict[Key, dict[date, list[int]]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, key: Key, day: date, num: int, den: int) -> None:
        cell = self.counts[key].setdefault(day, [0, 0])
        cell[0] += num
        cell[1] += den

    def window(self, key: Key, first: date, end: date) -> tuple[int, int]:
        num = den = 0
        for day, (n, d) in self.counts.get(key, {}).items():
            if first <= day < end:
                num += n
                den += d
        return num, den

    def series(self, key: Key, first: date, end: date) -> dict[date, tuple[int, int]]:
        return {day: (n, d) for day, (n, d) in self.counts.get(key, {}).items() if first <= day < end}


def order_changes(events: list[tuple[datetime, dict[str, Any]]], lags: Lags | None) -> list[Change]:
    """Bucket changes of one order's events; `lags` None is the daemon's view, else Amazon's (a fact keeps its own
    instant but becomes visible after its lag)."""
    visible = sorted(((at + (_lag(event["type"], lags) if lags else timedelta(0)), at, event) for at, event in events),
                     key=lambda item: item[0])
    state = _OrderState(events[0][1], count_open=lags is not None and lags.count_open)
    out: list[Change] = []
    previous: dict[tuple[Key, date], tuple[int, int]] = {}
    for seen, at, event in visible:
        state.apply(at, event)
        current = state.buckets(amazon=lags is not None)
        for bucket in previous.keys() | current.keys():
            old, new = previous.get(bucket, (0, 0)), current.get(bucket, (0, 0))
            if old != new:
                out.append((seen, bucket[0], bucket[1], new[0] - old[0], new[1] - old[1]))
        previous = current
    if lags is None:
        out.extend(state.open_order_changes())
    return out


def _lag(kind: str, lags: Lags) -> timedelta:
    if kind in ("feedback", "feedback_removed", "claim", "chargeback"):
        return lags.defects
    if kind in ("ship", "deliver"):
        return lags.shipping
    return timedelta(0)


class _OrderState:
    """One order's facts as its events arrive (a small version of what the daemon's sync stores)."""

    def __init__(self, order: dict[str, Any], count_open: bool) -> None:
        self.order = order
        self.count_open = count_open
        self.marketplace = order["marketplace_id"]
        self.ship_by = parse_instant(order["latest_ship_date"])
        self.shipped_at: datetime | None = None
        self.cancelled_at: datetime | None = None
        self.tracking_valid: bool | None = None
        self.cancel_by: str | None = None
        self.delivered_at: datetime | None = None
        self.negative = False
        self.disputes: dict[str, str] = {}
        self.granted_once: set[str] = set()

    def apply(self, at: datetime, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "ship":
            self.shipped_at, self.tracking_valid = at, bool(event["tracking_valid"])
        elif kind == "deliver":
            self.delivered_at = at
        elif kind == "cancel":
            self.cancelled_at, self.cancel_by = at, event["by"]
        elif kind == "feedback":
            self.negative = int(event["rating"]) <= 2
        elif kind == "feedback_removed":
            self.negative = False
        elif kind in ("claim", "chargeback"):
            ident = event.get("claim_id") or event.get("chargeback_id")
            self.disputes[ident] = event["status"]
            if event["status"] == "granted":
                self.granted_once.add(ident)

    def counting_disputes(self) -> int:
        """METRICS.md §1: granted counts, denied does not, withdrawn only after a grant, open in Amazon's view."""
        return sum(1 for ident, status in self.disputes.items()
                   if status == "granted" or (status == "withdrawn" and ident in self.granted_once)
                   or (status == "open" and self.count_open))

    def buckets(self, amazon: bool) -> dict[tuple[Key, date], tuple[int, int]]:
        o = self.order
        facts = OrderFacts(
            marketplace_id=self.marketplace, channel=o["channel"], purchase_at=parse_instant(o["purchase_date"]),
            latest_ship_at=self.ship_by, latest_delivery_at=parse_instant(o["latest_delivery_date"]),
            quantity=int(o["quantity"]), ship_confirmed_at=self.shipped_at, cancelled=self.cancelled_at is not None,
            cancel_by=self.cancel_by, cancel_reason=None, tracking_valid=self.tracking_valid,
            delivered_at=self.delivered_at, negative_feedback=self.negative, claims_granted=self.counting_disputes(),
            chargebacks_granted=0, cancelled_at=self.cancelled_at, delivered_after=self.delivered_at,
        )
        out = {((c.metric, c.fulfillment, self.marketplace), c.day): (c.numerator, c.denominator)
               for c in contributions(facts)}
        if amazon and facts.claims_granted:
            out[((AMAZON_CLAIMS, o["channel"], self.marketplace), facts.purchase_at.date())] = (1, 0)
        return out

    def open_order_changes(self) -> list[Change]:
        """UNSHIPPED: +1 on the ship-by day when the order is bought, -1 when it ships or is cancelled; PROMISED: its
        units on the promised delivery day when bought, taken off when cancelled; and the order's leads (SHIP_LEAD,
        DELIVERY_LEAD), on its purchase day."""
        if self.order["channel"] != "MFN":
            return []
        bought = parse_instant(self.order["purchase_date"])
        promised = parse_instant(self.order["latest_delivery_date"]).date()
        units = int(self.order["quantity"])
        out: list[Change] = [
            (bought, (UNSHIPPED, "MFN", self.marketplace), self.ship_by.date(), 1, 1),
            (bought, (PROMISED, "MFN", self.marketplace), promised, units, units),
            (bought, (SHIP_LEAD, str((self.ship_by.date() - bought.date()).days), self.marketplace), bought.date(), 0, 1),
            (bought, (DELIVERY_LEAD, str((promised - bought.date()).days), self.marketplace), bought.date(), 0, 1)]
        ended = min((t for t in (self.shipped_at, self.cancelled_at) if t is not None), default=None)
        if ended is not None:
            out.append((ended, (UNSHIPPED, "MFN", self.marketplace), self.ship_by.date(), -1, -1))
        if self.cancelled_at is not None:
            out.append((self.cancelled_at, (PROMISED, "MFN", self.marketplace), promised, -units, -units))
        return out


def account_changes(events: list[tuple[datetime, dict[str, Any]]], lags: Lags | None) -> list[Change]:
    """Every bucket change of an account's events in one view, sorted by instant."""
    by_order: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for at, event in events:
        by_order[event["order_id"]].append((at, event))
    out: list[Change] = []
    for order_events in by_order.values():
        out.extend(order_changes(order_events, lags))
    out.sort(key=lambda change: change[0])
    return out


def sweep(changes: list[Change], instants: list[datetime]) -> Iterator[tuple[datetime, Buckets]]:
    """The buckets at each instant (ascending): every change at or before it applied. The same object each time."""
    buckets = Buckets()
    position = 0
    for instant in instants:
        while position < len(changes) and changes[position][0] <= instant:
            _, key, day, num, den = changes[position]
            buckets.add(key, day, num, den)
            position += 1
        yield instant, buckets
