"""A plan of action after a breach, drafted in Markdown from the orders behind the metric. Renders; no IO.

Amazon asks an appeal for the root cause, the actions taken and the measures that keep it from happening again;
the draft fills each with what the data shows and marks plainly what only the seller can write.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from alerts.actions import CLAIM_APPEAL, COUNTED, OrderRef, breakdown, cause_sentences

TEMPLATES = Path(__file__).resolve().parent / "templates"
KIND_TITLES = {
    "negative_feedback": "Negative feedback (1 or 2 stars)", "a_to_z_claim": "A-to-z Guarantee claims granted",
    "chargeback": "Chargebacks granted", "late_shipment": "Shipments confirmed after the ship-by date",
    "cancelled_by_seller": "Orders cancelled by the seller", "cancelled_by_amazon":
    "Orders cancelled by Amazon because shipment was not confirmed in time", "invalid_tracking":
    "Shipments without valid tracking", "late_delivery": "Units delivered after the promised date, or not delivered",
}
# What the data can say about each cause, and what the seller has to add (the parts in brackets stay theirs).
CORRECTIVE = {
    "negative_feedback": "Each buyer above was contacted through Buyer-Seller Messages and offered a resolution.",
    "a_to_z_claim": "Each claim above was reviewed; those with proof of delivery were appealed.",
    "chargeback": "Each chargeback above was reviewed with the shipping and tracking records.",
    "late_shipment": "Every open order is confirmed on the day it ships; orders that cannot ship are cancelled before "
                     "their ship-by date.",
    "cancelled_by_seller": "Inventory counts were reconciled so that out-of-stock offers are closed before they sell.",
    "cancelled_by_amazon": "Every open order is confirmed or cancelled before its ship-by date.",
    "invalid_tracking": "The tracking numbers above were corrected where the packages were not yet delivered.",
    "late_delivery": "Shipments with the late carrier or service were moved to a faster one.",
}
PREVENTIVE = {
    "negative_feedback": "Buyer messages are answered within 24 hours, every day of the week.",
    "a_to_z_claim": "Orders above a value threshold ship with signature confirmation and Buy Shipping.",
    "chargeback": "Orders above a value threshold ship with signature confirmation.",
    "late_shipment": "Handling time in the shipping settings matches the real dispatch time, including weekends.",
    "cancelled_by_seller": "Stock is synchronised with the listings several times a day.",
    "cancelled_by_amazon": "A daily check lists every order due to ship within 48 hours (seller-sentinel's to-do).",
    "invalid_tracking": "Tracking numbers are taken from the carrier's label system, not typed by hand.",
    "late_delivery": "Transit times in the shipping template match the carrier's measured delivery times.",
}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|<>~])")  # what can start markup inside a table cell or a list item


def md(text: object) -> str:
    """Buyer and carrier text made inert in Markdown (and in the HTML a Markdown viewer may pass through)."""
    flat = " ".join(str(text or "").split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat).replace("&", "&amp;")


@dataclass(frozen=True)
class PlanFigures:
    """The figure the plan is about, as the daemon and as Amazon state it."""

    account: str
    seller_id: str
    marketplace: str
    metric: str
    metric_name: str
    fulfillment: str
    at: datetime
    numerator: int
    denominator: int
    limit: float
    direction: str
    window: str  # "orders purchased 2026-03-02 to 2026-04-30"
    amazon_value: float | None


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined,
                   keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
_env.filters["md"] = md


def render_plan(figures: PlanFigures, refs: list[OrderRef]) -> str:
    """The draft plan of action in Markdown."""
    counted = [r for r in refs if r.role == COUNTED]
    by_kind: dict[str, list[OrderRef]] = defaultdict(list)
    for ref in counted:
        for kind in ref.kinds:
            by_kind[kind].append(ref)
    groups = [{"title": KIND_TITLES.get(kind, kind), "kind": kind, "orders": [_row(r) for r in items]}
              for kind, items in sorted(by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    value = figures.numerator / figures.denominator if figures.denominator else None
    return _env.get_template("plan.md.j2").render(
        f=figures, value=_pct(value), limit=_pct(figures.limit), amazon=_pct(figures.amazon_value),
        total=len(counted), groups=groups, slices=breakdown(counted), causes=cause_sentences(counted),
        corrective=[CORRECTIVE[g["kind"]] for g in groups if g["kind"] in CORRECTIVE],
        preventive=[PREVENTIVE[g["kind"]] for g in groups if g["kind"] in PREVENTIVE],
        generated=figures.at.strftime("%-d %B %Y"),
    )


def _row(ref: OrderRef) -> dict[str, str]:
    d, f = ref.detail, ref.detail.facts
    when = {
        "negative_feedback": d.feedback_day.isoformat() if d.feedback_day else "",
        "a_to_z_claim": _day(d.claim_granted_at), "chargeback": _day(d.chargeback_granted_at),
        "late_shipment": _day(f.ship_confirmed_at), "cancelled_by_seller": _day(f.cancelled_at),
        "cancelled_by_amazon": _day(f.cancelled_at), "invalid_tracking": _day(f.ship_confirmed_at),
        "late_delivery": _day(f.delivered_at) or "not delivered",
    }
    detail = []
    if d.feedback_rating and "negative_feedback" in ref.kinds:
        stars = f"{d.feedback_rating} star{'' if d.feedback_rating == 1 else 's'}"
        detail.append(f"{stars}: {d.feedback_comment}" if d.feedback_comment else stars)
    if "late_shipment" in ref.kinds and f.latest_ship_at:
        detail.append(f"ship-by {f.latest_ship_at:%Y-%m-%d %H:%M}, confirmed {f.ship_confirmed_at:%Y-%m-%d %H:%M}")
    if d.claim_granted_at and "a_to_z_claim" in ref.kinds:
        detail.append(f"appeal by {d.claim_granted_at + CLAIM_APPEAL:%Y-%m-%d}")
    if d.carrier and ("invalid_tracking" in ref.kinds or "late_delivery" in ref.kinds):
        detail.append(" ".join(filter(None, (d.carrier, d.shipping_service, d.tracking_number))))
    if "late_delivery" in ref.kinds and f.latest_delivery_at:
        detail.append(f"promised {f.latest_delivery_at:%Y-%m-%d}")
    return {"order_id": ref.order_id, "purchased": _day(f.purchase_at), "channel": f.channel,
            "when": "; ".join(filter(None, (when.get(k, "") for k in ref.kinds))), "detail": "; ".join(detail)}


def _day(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d") if at else ""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"
