"""Amazon's own figures for a simulated account: the V2 performance report, by full recompute of METRICS.md.

Deliberately independent of alerts/metrics (the daemon's incremental code): every figure is recounted
from the scenario's orders for each daily publication. Amazon sees facts with its reporting lags
(METRICS.md "Amazon's cadence") and counts open A-to-z claims and chargebacks, which the API never
attributes to an order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from daemon.clock import format_instant
from daemon.simulator.scenario import OrderTimeline, Scenario

DAY = timedelta(days=1)
US = "ATVPDKIKX0DER"


@dataclass(frozen=True)
class Lags:
    defects: timedelta = timedelta(hours=48)  # feedback, claims, chargebacks
    shipping: timedelta = timedelta(hours=72)  # ship, deliver, tracking
    count_open: bool = True  # open claims and chargebacks are defects (METRICS.md §1 decision)


@dataclass
class Counts:
    num: int = 0
    den: int = 0


def publication_instant(now: datetime) -> datetime:
    """The latest daily publication (00:00Z) at or before `now`."""
    return datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)


def figures(scenario: Scenario, at: datetime, marketplace_id: str, lags: Lags = Lags()) -> dict[str, Any]:
    """Every metric Amazon would publish at `at` for one marketplace, by full recompute (kept per instant)."""
    key = ("amazon.figures", at, marketplace_id, lags)
    if key not in scenario.memo:
        scenario.memo[key] = _recompute(scenario, at, marketplace_id, lags)
    return scenario.memo[key]


def _recompute(scenario: Scenario, at: datetime, marketplace_id: str, lags: Lags) -> dict[str, Any]:
    defects_cut = at - lags.defects
    shipping_cut = at - lags.shipping
    odr = {"MFN": _OdrCounts(), "AFN": _OdrCounts()}
    lsr10, lsr30, cr, vtr, otd = Counts(), Counts(), Counts(), Counts(), Counts()
    for timeline in _within_reach(scenario, at):
        order = timeline.order.data
        if order["marketplace_id"] != marketplace_id or timeline.order.at > at:
            continue
        channel = order["channel"]
        purchase = order["purchase_date"]
        cancel = _last(timeline, ("cancel",), at)
        ship = _last(timeline, ("ship",), shipping_cut)
        if at - 74 * DAY <= purchase < at - 14 * DAY:
            odr[channel].add(timeline, defects_cut, lags.count_open)
        if channel != "MFN":
            continue
        if at - 7 * DAY <= purchase < at:
            cr.den += 1
            if cancel is not None and (cancel.data["by"] == "seller" or (
                    cancel.data["by"] == "amazon" and cancel.data.get("reason") == "ship_confirm_timeout")):
                cr.num += 1
        if ship is not None:
            if cancel is None:
                ship_by = order["latest_ship_date"]
                for window, counts in ((10, lsr10), (30, lsr30)):
                    if at - window * DAY <= ship_by < at:
                        counts.den += 1
                        counts.num += ship.at > ship_by
            if at - 30 * DAY <= ship.at < at:
                vtr.den += 1
                vtr.num += bool(ship.data["tracking_valid"])
            deliver_by = order["latest_delivery_date"]
            if ship.data["tracking_valid"] and at - 21 * DAY <= deliver_by < at - 7 * DAY:
                units = int(order["quantity"])
                delivered = _last(timeline, ("deliver",), shipping_cut)
                otd.den += units
                if delivered is not None and delivered.at <= deliver_by:
                    otd.num += units
    return {"odr": odr, "lsr_10d": lsr10, "lsr_30d": lsr30, "cr_7d": cr, "vtr_30d": vtr, "otdr_14d": otd}


def _within_reach(scenario: Scenario, at: datetime) -> list[OrderTimeline]:
    """The orders that can count in a figure published at `at`: purchased within the ODR's 74 days, or late enough
    that a ship-by date, shipment or promised delivery of theirs can fall in the 30-day windows. The rest of the
    history is skipped, which keeps a long replay's daily recompute from growing with every day of it."""
    first = at - max(74 * DAY, 30 * DAY + _longest_reach(scenario))
    return [scenario.orders[order_id] for order_id in scenario.orders_created(first, at)]


def _longest_reach(scenario: Scenario) -> timedelta:
    """How long after its purchase any order of the scenario has a ship-by date, a shipment or a promised delivery."""
    key = ("amazon.longest_reach",)
    if key not in scenario.memo:
        reach = timedelta(0)
        for timeline in scenario.orders.values():
            order = timeline.order.data
            later = [order.get("latest_ship_date"), order.get("latest_delivery_date")]
            later += [event.at for event in timeline.events if event.type == "ship"]
            reach = max([reach] + [moment - order["purchase_date"] for moment in later if moment is not None])
        scenario.memo[key] = reach
    return scenario.memo[key]


class _OdrCounts:
    def __init__(self) -> None:
        self.orders = self.defective = self.claims = self.chargebacks = self.negative = 0

    def add(self, timeline: OrderTimeline, cut: datetime, count_open: bool) -> None:
        self.orders += 1
        negative = _negative_feedback(timeline, cut)
        claim = _counting(timeline, "claim", "claim_id", cut, count_open)
        chargeback = _counting(timeline, "chargeback", "chargeback_id", cut, count_open)
        self.negative += negative
        self.claims += claim
        self.chargebacks += chargeback
        self.defective += negative or claim or chargeback


def _last(timeline: OrderTimeline, kinds: tuple[str, ...], cut: datetime):
    found = None
    for event in timeline.events:
        if event.at > cut:
            break
        if event.type in kinds:
            found = event
    return found


def _negative_feedback(timeline: OrderTimeline, cut: datetime) -> bool:
    last = _last(timeline, ("feedback", "feedback_removed"), cut)
    return last is not None and last.type == "feedback" and int(last.data["rating"]) <= 2


def _counting(timeline: OrderTimeline, kind: str, id_key: str, cut: datetime, count_open: bool) -> bool:
    """METRICS.md §1: granted counts, denied does not, withdrawn counts only after a grant, open by decision."""
    status: dict[str, str] = {}
    was_granted: set[str] = set()
    for event in timeline.events:
        if event.at > cut:
            break
        if event.type == kind:
            status[event.data[id_key]] = event.data["status"]
            if event.data["status"] == "granted":
                was_granted.add(event.data[id_key])
    for claim_id, state in status.items():
        if state == "granted" or (state == "open" and count_open) or (state == "withdrawn" and claim_id in was_granted):
            return True
    return False


@dataclass(frozen=True)
class AccountSignals:
    """Amazon's own judgements the scenario format does not carry: Account Health Rating changes and policy
    violations, each from an instant on (published with the next daily report)."""

    ahr: tuple[tuple[datetime, str, int], ...] = ()  # (from, ahrStatus, ahrScore)
    violations: tuple[tuple[datetime, str], ...] = ()  # (at, policy section), e.g. receivedIntellectualPropertyComplaints


def performance_report(scenario: Scenario, published_at: datetime, marketplaces: list[str], lags: Lags = Lags(),
                       signals: AccountSignals = AccountSignals()) -> dict[str, Any]:
    """The GET_V2_SELLER_PERFORMANCE_REPORT document of the latest daily publication at or before `published_at`."""
    at = publication_instant(published_at)
    blocks = [_marketplace_block(scenario, at, mp, lags) for mp in marketplaces]
    for block in blocks:
        _apply_signals(block, at, signals)
    return {
        "accountStatuses": [{"marketplaceId": mp, "businessType": "SELF_SERVICE", "status": "NORMAL"} for mp in marketplaces],
        "performanceMetrics": blocks,
    }


def _apply_signals(block: dict[str, Any], at: datetime, signals: AccountSignals) -> None:
    """The rating and the violations in force at the publication instant `at` (violations count for 180 days)."""
    for since, status, score in sorted(signals.ahr):
        if since <= at:
            block["accountHealthRating"].update(ahrStatus=status, ahrScore=score)
    for when, section in signals.violations:
        if when <= at < when + 180 * DAY:
            block[section]["defectsCount"] += 1
            block[section]["status"] = "BAD"


def _range(at: datetime, days: int, offset: int = 0) -> dict[str, str]:
    end = at - offset * DAY
    return {"reportingDateFrom": format_instant(end - days * DAY), "reportingDateTo": format_instant(end)}


def _rate(num: int, den: int) -> float:
    return num / den if den else 0.0


def _status(breached: bool) -> str:
    return "BAD" if breached else "GOOD"


def _marketplace_block(scenario: Scenario, at: datetime, mp: str, lags: Lags) -> dict[str, Any]:
    f = figures(scenario, at, mp, lags)
    block: dict[str, Any] = {"marketplaceId": mp}
    odr = {}
    for channel, key in (("MFN", "mfn"), ("AFN", "afn")):
        c = f["odr"][channel]
        odr[key] = {
            "reportingDateRange": _range(at, 60, 14), "status": _status(c.orders and c.defective * 100 >= c.orders),
            "targetValue": 0.01, "targetCondition": "LESS_THAN", "fulfillmentType": key, "orderCount": c.orders,
            "orderWithDefects": {"count": c.defective, "status": _status(c.orders and c.defective * 100 >= c.orders)},
            "claims": {"count": c.claims, "status": "NONE"},
            "chargebacks": {"count": c.chargebacks, "status": "NONE"},
            "negativeFeedback": {"count": c.negative, "status": "NONE"},
            "rate": _rate(c.defective, c.orders),
        }
    block["orderDefectRate"] = odr
    lsr_entries = []
    for days in (10, 30):
        c = f[f"lsr_{days}d"]
        lsr_entries.append({
            "reportingDateRange": _range(at, days), "status": _status(c.den and c.num * 25 >= c.den),
            "targetValue": 0.04, "targetCondition": "LESS_THAN", "orderCount": c.den, "lateShipmentCount": c.num,
            "rate": _rate(c.num, c.den),
        })
    block["lateShipmentRate"] = lsr_entries[1]
    block["lateShipmentRateList"] = lsr_entries
    c = f["cr_7d"]
    block["preFulfillmentCancellationRate"] = {
        "reportingDateRange": _range(at, 7), "status": _status(c.den and c.num * 40 >= c.den), "targetValue": 0.025,
        "targetCondition": "LESS_THAN", "orderCount": c.den, "cancellationCount": c.num, "rate": _rate(c.num, c.den),
    }
    c = f["vtr_30d"]
    block["validTrackingRate"] = {
        "reportingDateRange": _range(at, 30), "status": _status(c.den and c.num * 100 < c.den * 95), "targetValue": 0.95,
        "targetCondition": "GREATER_THAN", "shipmentCount": c.den, "validTrackingCount": c.num, "rate": _rate(c.num, c.den),
    }
    c = f["otdr_14d"]
    otd = {"reportingDateRange": _range(at, 14, 7), "status": _status(c.den and c.num * 10 < c.den * 9),
           "targetValue": 0.9, "targetCondition": "GREATER_THAN"}
    if mp == US:
        block["unitOnTimeDeliveryRate"] = dict(otd, unitOnTimeDeliveryCount=c.num, totalUnitCount=c.den, rate=_rate(c.num, c.den))
    block["onTimeDeliveryRate"] = dict(otd, shipmentCountWithValidTracking=c.den, onTimeDeliveryCount=c.num, rate=_rate(c.num, c.den))
    block["invoiceDefectRate"] = {
        "reportingDateRange": _range(at, 7, 6), "status": "GOOD", "targetValue": 0.05, "targetCondition": "LESS_THAN",
        "orderCount": 0, "invoiceDefect": {"count": 0, "status": "NONE"}, "missingInvoice": {"count": 0, "status": "NONE"},
        "lateInvoice": {"count": 0, "status": "NONE"}, "rate": 0.0,
    }
    block["accountHealthRating"] = {"ahrStatus": "GREAT", "ahrScore": 250, "reportingDateRange": _range(at, 181)}
    block["warningStates"] = []
    for policy in ("listingPolicyViolations", "productAuthenticityCustomerComplaints", "productConditionCustomerComplaints",
                   "productSafetyCustomerComplaints", "receivedIntellectualPropertyComplaints",
                   "restrictedProductPolicyViolations", "suspectedIntellectualPropertyViolations",
                   "foodAndProductSafetyIssues", "otherPolicyViolations", "documentRequests"):
        block[policy] = {"reportingDateRange": _range(at, 180), "status": "GOOD", "targetValue": 0,
                         "targetCondition": "EQUALS", "defectsCount": 0}
    return block
