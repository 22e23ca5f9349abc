"""The orders behind a metric and what the seller can still do about them, each by its deadline. Pure.

Stored facts in (OrderDetail), orders with reasons and deadlines out. Which orders count follows METRICS.md as the
contributions do; the `at_risk` and to-do rules are FORMAT.md's. The deadlines Amazon documents, and what the API
cannot show, are listed with their sources in ACTIONS.md beside this module.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from alerts.marketplaces import marketplace_name
from daemon.clock import format_instant
from alerts.metrics.contributions import OrderFacts
from alerts.metrics.definitions import ODR_OFFSET_DAYS

DUE_SOON = timedelta(hours=48)  # FORMAT.md: an order is at risk once its deadline is less than 48 hours away
TRACKING_WINDOW = timedelta(days=30)  # vtr_30d's window: shipments whose tracking still counts
DELIVERY_LOOKBACK = timedelta(days=7)  # otdr_14d at risk: promises up to 7 days past (the window's newest edge)
CLAIM_APPEAL = timedelta(days=30)  # ACTIONS.md: 30 calendar days from the grant to appeal an A-to-z claim
ODR_REACH_DAYS = ODR_OFFSET_DAYS + 60  # METRICS.md §1: an order stays in Amazon's ODR window until 74 days after purchase
COMMENT_EXCERPT = 160

UNSHIPPED_METRICS = ("lsr_10d", "lsr_30d", "cr_7d")  # an unshipped order ends late or cancelled by Amazon
LATE_SHIPMENT_METRICS = frozenset({"lsr_10d", "lsr_30d"})

COUNTED, AT_RISK = "counted", "at_risk"


@dataclass(frozen=True)
class OrderDetail:
    """One stored order as the seller knows it: its facts and what identifies it in Seller Central and at the carrier."""

    order_id: str
    facts: OrderFacts
    carrier: str | None = None
    shipping_service: str | None = None
    tracking_number: str | None = None
    feedback_rating: int | None = None
    feedback_day: date | None = None
    feedback_comment: str = ""
    claim_granted_at: datetime | None = None  # the first grant the financial events show
    chargeback_granted_at: datetime | None = None
    buyer_cancel_requested: bool = False  # a buyer asked to cancel and the order is not cancelled yet

    @property
    def marketplace_id(self) -> str:
        return self.facts.marketplace_id


@dataclass(frozen=True)
class OrderRef:
    """One order behind a metric: `counted` in its figure, or `at_risk` of joining it."""

    order_id: str
    role: str
    kinds: tuple[str, ...]
    due_at: datetime | None
    detail: OrderDetail

    def row(self) -> dict[str, Any]:
        """The FORMAT.md shape: order_id, role, kinds, due_at."""
        return {"order_id": self.order_id, "role": self.role, "kinds": list(self.kinds), "due_at": _instant(self.due_at)}

    def described(self) -> dict[str, Any]:
        """The row plus what a person needs to find and judge the order (messages, the page, the plan)."""
        d, f = self.detail, self.detail.facts
        return {
            **self.row(), "marketplace_id": d.marketplace_id, "channel": f.channel, "purchase_at": _instant(f.purchase_at),
            "latest_ship_at": _instant(f.latest_ship_at), "ship_confirmed_at": _instant(f.ship_confirmed_at),
            "latest_delivery_at": _instant(f.latest_delivery_at), "delivered_after": _instant(f.delivered_after),
            "delivered_at": _instant(f.delivered_at), "cancelled_at": _instant(f.cancelled_at), "cancelled_by": f.cancel_by,
            "carrier": d.carrier, "shipping_service": d.shipping_service, "tracking_number": d.tracking_number,
            "feedback_rating": d.feedback_rating, "feedback_day": d.feedback_day.isoformat() if d.feedback_day else None,
            "feedback_comment": excerpt(d.feedback_comment), "claim_granted_at": _instant(d.claim_granted_at),
            "chargeback_granted_at": _instant(d.chargeback_granted_at),
        }


@dataclass(frozen=True)
class TodoItem:
    """Something the seller can still do about one order, by when, and which metrics it protects."""

    marketplace_id: str
    order_id: str
    action: str
    due_at: datetime | None
    metrics: tuple[str, ...]
    detail: OrderDetail

    def row(self, at: datetime) -> dict[str, Any]:
        """The FORMAT.md todo.jsonl shape."""
        return {"at": _instant(at), "marketplace_id": self.marketplace_id, "order_id": self.order_id,
                "action": self.action, "due_at": _instant(self.due_at), "metrics": list(self.metrics)}

    def described(self, at: datetime) -> dict[str, Any]:
        """The row plus what a person needs to act (the page, /api/status, the digest)."""
        d = self.detail
        return {**self.row(at), "overdue": self.due_at is not None and self.due_at <= at, "carrier": d.carrier,
                "tracking_number": d.tracking_number, "feedback_comment": excerpt(d.feedback_comment),
                "label": ACTION_LABELS[self.action], "what": ACTION_WORDS[self.action],
                "marketplace": marketplace_name(self.marketplace_id)}


ACTION_LABELS = {"ship": "Ship it", "cancel_buyer_request": "Cancel as buyer-requested", "fix_tracking": "Fix the tracking",
                 "check_delivery": "Check the delivery", "request_feedback_removal": "Ask for the feedback's removal",
                 "appeal_claim": "Appeal the claim"}
ACTION_WORDS = {
    "ship": "Confirm shipment before the ship-by instant (or cancel it yourself if it cannot ship: an Amazon "
            "auto-cancellation counts as yours)",
    "cancel_buyer_request": "The buyer asked to cancel: cancel it as buyer-requested, which does not count against you",
    "fix_tracking": "Edit the tracking number to one the carrier scans; Amazon accepts it until the package is delivered",
    "check_delivery": "Check the tracking and contact the carrier or the buyer before the promised delivery date",
    "request_feedback_removal": "Ask the buyer to remove the feedback, or ask Amazon to if it is about Amazon's "
                                "delivery or is a product review",
    "appeal_claim": "Appeal the A-to-z claim with new information (proof of delivery) before the deadline",
}


def excerpt(text: str) -> str:
    """The first characters of a buyer's comment, on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= COMMENT_EXCERPT else flat[:COMMENT_EXCERPT - 1] + "…"


def counted_kinds(metric: str, facts: OrderFacts) -> tuple[str, ...]:
    """Why an order counts against `metric` (METRICS.md §1-§5), in a fixed order."""
    if metric == "odr":
        return tuple(kind for kind, present in (("negative_feedback", facts.negative_feedback),
                                                ("a_to_z_claim", facts.claims_granted > 0),
                                                ("chargeback", facts.chargebacks_granted > 0)) if present)
    if metric in LATE_SHIPMENT_METRICS:
        return ("late_shipment",)
    if metric == "cr_7d":
        return ("cancelled_by_amazon",) if facts.cancel_by == "amazon" else ("cancelled_by_seller",)
    if metric == "vtr_30d":
        return ("invalid_tracking",)
    if metric == "otdr_14d":
        return ("late_delivery",)
    raise KeyError(f"unknown metric {metric}")


def counted_due_at(metric: str, detail: OrderDetail) -> datetime | None:
    """The last instant Amazon lets the seller undo a counted defect, where it documents one (ACTIONS.md): an A-to-z
    claim's appeal. Late shipments, cancellations and late deliveries cannot be undone; feedback removal has no
    documented window; a chargeback is only open to representment before it is decided, which the API does not show."""
    if metric == "odr" and detail.claim_granted_at is not None:
        return detail.claim_granted_at + CLAIM_APPEAL
    return None


def order_refs(metric: str, counted: list[OrderDetail], unshipped: list[OrderDetail],
               undelivered: list[OrderDetail]) -> list[OrderRef]:
    """The orders behind one metric at one instant, FORMAT.md's order: role, then deadline (nulls last), then id.

    `counted` are the orders in the metric's local numerator (or against it, for the lower-is-better metrics);
    `unshipped` and `undelivered` are the marketplace's candidates for `at_risk` (orders_repo reads them)."""
    refs = [OrderRef(d.order_id, COUNTED, counted_kinds(metric, d.facts), counted_due_at(metric, d), d) for d in counted]
    if metric in UNSHIPPED_METRICS:
        refs += [OrderRef(d.order_id, AT_RISK, ("unshipped",), d.facts.latest_ship_at, d) for d in unshipped]
    elif metric == "otdr_14d":
        refs += [OrderRef(d.order_id, AT_RISK, ("undelivered",), d.facts.latest_delivery_at, d) for d in undelivered]
    return sorted(refs, key=lambda r: (r.role, r.due_at is None, r.due_at or datetime.min, r.order_id))


def todo_items(at: datetime, unshipped: list[OrderDetail], untracked: list[OrderDetail],
               undelivered: list[OrderDetail], odr_counted: list[OrderDetail]) -> list[TodoItem]:
    """Everything the seller can still do at `at`, by the FORMAT.md rules, deadline first.

    `unshipped`: open seller-fulfilled orders due to ship before at + 48 h; `untracked`: shipments confirmed in the
    last 30 days without valid tracking; `undelivered`: tracked, not delivered, promised in [at - 7 d, at + 48 h);
    `odr_counted`: the defective orders in the ODR window (feedback to ask about, claims still open to appeal)."""
    items = [TodoItem(d.marketplace_id, d.order_id, "ship", d.facts.latest_ship_at, UNSHIPPED_METRICS, d) for d in unshipped]
    items += [TodoItem(d.marketplace_id, d.order_id, "cancel_buyer_request", d.facts.latest_ship_at, ("cr_7d",), d)
              for d in unshipped if d.buyer_cancel_requested]
    items += [TodoItem(d.marketplace_id, d.order_id, "fix_tracking", None, ("vtr_30d",), d) for d in untracked]
    items += [TodoItem(d.marketplace_id, d.order_id, "check_delivery", d.facts.latest_delivery_at, ("otdr_14d",), d)
              for d in undelivered]
    for d in odr_counted:
        if d.facts.negative_feedback:
            items.append(TodoItem(d.marketplace_id, d.order_id, "request_feedback_removal", None, ("odr",), d))
        appeal_by = counted_due_at("odr", d)
        if appeal_by is not None and appeal_by > at:
            items.append(TodoItem(d.marketplace_id, d.order_id, "appeal_claim", appeal_by, ("odr",), d))
    return sorted(items, key=lambda t: (t.due_at is None, t.due_at or datetime.min, t.marketplace_id, t.order_id, t.action))


def _instant(at: datetime | None) -> str | None:
    return format_instant(at) if at is not None else None


# --- why they happen -------------------------------------------------------------------------------------------------

KIND_NOUNS = {"late_shipment": "late shipments", "late_delivery": "late deliveries", "invalid_tracking":
              "shipments without valid tracking", "cancelled_by_seller": "cancellations", "cancelled_by_amazon":
              "cancellations", "negative_feedback": "defective orders", "a_to_z_claim": "defective orders",
              "chargeback": "defective orders"}
MOST = 0.6  # a slice is worth saying when it carries at least this share of the defects...
MIN_DEFECTS_FOR_CAUSE = 3  # ...and there are enough of them for a share to mean something
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def breakdown(refs: list[OrderRef]) -> dict[str, dict[str, int]]:
    """The counted orders by carrier, shipping service, purchase weekday, fulfilment channel and marketplace."""
    counted = [r.detail for r in refs if r.role == COUNTED]
    slices: dict[str, Counter[str]] = {name: Counter() for name in ("carrier", "shipping_service", "weekday",
                                                                    "channel", "marketplace")}
    for d in counted:
        slices["carrier"][d.carrier or "unknown"] += 1
        slices["shipping_service"][d.shipping_service or "unknown"] += 1
        slices["weekday"][WEEKDAYS[d.facts.purchase_at.weekday()]] += 1
        slices["channel"][d.facts.channel] += 1
        slices["marketplace"][d.marketplace_id] += 1
    return {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) for name, counts in slices.items()}


def cause_sentences(refs: list[OrderRef]) -> list[str]:
    """"5 of 6 late deliveries went with CarrierX", said only where one slice carries most of the defects."""
    counted = [r for r in refs if r.role == COUNTED]
    total = len(counted)
    if total < MIN_DEFECTS_FOR_CAUSE:
        return []
    noun = KIND_NOUNS[counted[0].kinds[0]] if counted[0].kinds else "defects"
    phrases = {"carrier": "went with {}", "shipping_service": "were shipped with {}", "weekday": "were {} orders",
               "channel": "were {}-fulfilled", "marketplace": "were in marketplace {}"}
    out = []
    for name, counts in breakdown(counted).items():
        if len(counts) < 2 and name in ("shipping_service", "channel", "marketplace"):
            continue  # one service, channel or marketplace for every defect: likely the account's only one
        value, count = next(iter(counts.items()))
        if value == "unknown" or count < MOST * total:
            continue
        out.append(f"{count} of {total} {noun} {phrases[name].format(value)}.")
    return out


# --- what acting buys ------------------------------------------------------------------------------------------------

def acting_sentences(metric: str, numerator: int, denominator: int, defects_to_breach: int | None,
                     limit_p: int, limit_q: int, refs: list[OrderRef], now: datetime) -> list[str]:
    """The breach arithmetic said over the orders the seller can still act on."""
    at_risk = [r for r in refs if r.role == AT_RISK]
    counted = [r for r in refs if r.role == COUNTED]
    out: list[str] = []
    if metric in UNSHIPPED_METRICS and at_risk:
        overdue = [r for r in at_risk if r.due_at is not None and r.due_at <= now]
        soon = [r for r in at_risk if r not in overdue]
        parts = []
        if overdue:
            parts.append(f"{len(overdue)} {_orders(len(overdue))} already past ship-by")
        if soon:
            parts.append(f"{len(soon)} due to ship by {_clock(max(r.due_at for r in soon), now)}")
        joined = " and ".join(parts)
        sentence = f"{joined[0].upper()}{joined[1:]} (not yet confirmed or cancelled)"
        if defects_to_breach is not None and defects_to_breach > 0 and metric in LATE_SHIPMENT_METRICS:
            spare = defects_to_breach - 1
            if spare < len(soon):
                sentence += (f"; {defects_to_breach} more late shipments breach: ship at least "
                             f"{len(soon) - spare} of the {len(soon)} due on time")
            else:
                sentence += f"; {defects_to_breach} more late shipments breach"
        out.append(sentence + ".")
    elif metric == "otdr_14d" and at_risk:
        out.append(f"{len(at_risk)} tracked {_orders(len(at_risk))} not yet delivered with a promise within 48 hours "
                   f"or past: check them with the carrier.")
    if metric == "odr" and denominator and counted:
        out += _odr_sentences(numerator, denominator, limit_p, limit_q, counted, now)
    if metric == "vtr_30d" and counted:
        out.append(f"{len(counted)} {_orders(len(counted))} shipped in the last 30 days have no valid tracking: edit "
                   f"the tracking before each is delivered.")
    return out


def _odr_sentences(numerator: int, denominator: int, p: int, q: int, counted: list[OrderRef],
                   now: datetime) -> list[str]:
    """What undoing defects buys: feedback the buyer or Amazon removes, claims won on appeal before their deadline;
    failing both, when the window lets the oldest defective order go."""
    feedback = [r for r in counted if r.kinds == ("negative_feedback",)]
    appealable = sorted((r for r in counted if r.kinds == ("a_to_z_claim",) and r.due_at is not None and r.due_at > now),
                        key=lambda r: r.due_at or now)
    needed = _removals_to_get_under(numerator, denominator, p, q)
    if needed == 0:
        if not feedback:
            return []
        return [f"Removing all {len(feedback)} negative feedback{_s(len(feedback))} would bring ODR to "
                f"{(numerator - len(feedback)) / denominator * 100:.2f}%."]
    if needed is not None and needed <= len(feedback):
        return [f"Removing {needed} of these {len(feedback)} negative feedback{_s(len(feedback))} brings ODR back to "
                f"{(numerator - needed) / denominator * 100:.2f}%."]
    if needed is not None and needed <= len(feedback) + len(appealable):
        appeals = needed - len(feedback)
        first = (f"removing the {len(feedback)} negative feedback{_s(len(feedback))} and winning " if feedback
                 else "winning ")
        return [f"{first[0].upper()}{first[1:]}{appeals} of the {len(appealable)} claim appeal{_s(len(appealable))} "
                f"still open (the first closes {appealable[0].due_at:%-d %B}) brings ODR back to "
                f"{(numerator - needed) / denominator * 100:.2f}%."]
    leaves = min(r.detail.facts.purchase_at for r in counted).date() + timedelta(days=ODR_REACH_DAYS)
    undone = len(feedback) + len(appealable)
    return [f"Even with every negative feedback removed and every open claim appeal won, ODR stays at "
            f"{(numerator - undone) / denominator * 100:.2f}%: it falls as the defective orders leave Amazon's window, "
            f"the oldest on {leaves:%-d %B}."]


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _removals_to_get_under(numerator: int, denominator: int, p: int, q: int) -> int | None:
    """The fewest defects to remove so that numerator / denominator is under p / q; 0 when it already is."""
    if numerator * q < denominator * p:
        return 0
    for removed in range(1, numerator + 1):
        if (numerator - removed) * q < denominator * p:
            return removed
    return None


def _orders(n: int) -> str:
    return "order" if n == 1 else "orders"


def _clock(due: datetime, now: datetime) -> str:
    day = "today" if due.date() == now.date() else ("tomorrow" if due.date() == now.date() + timedelta(days=1)
                                                    else due.strftime("%d %B").lstrip("0"))
    return f"{due.strftime('%H:%M')} UTC {day}"
