"""GET_V2_SELLER_PERFORMANCE_REPORT feed: Amazon's own figures, stored as the official snapshot (SPAPI_NOTES §6)."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from daemon.clock import Clock, parse_instant
from daemon.errors import InvalidRequest, MalformedPayload
from daemon.sources.common import instant, iso, reject
from daemon.sources.records import AmazonFigure, Batch, Cursor, PerformanceSnapshot, Reject
from daemon.sources.reports import PENDING_REPORT_MAX_AGE, create_report, wait_for_document
from daemon.sources.spapi import SpApiCaller, SpApiClients

logger = logging.getLogger(__name__)
REPORT_TYPE = "GET_V2_SELLER_PERFORMANCE_REPORT"
# The policy-compliance sections of Amazon's model (accountHealthReport-2020-11-18.json), each a ListingLevelViolation.
POLICY_BLOCKS = (
    "listingPolicyViolations", "productAuthenticityCustomerComplaints", "productConditionCustomerComplaints",
    "productSafetyCustomerComplaints", "receivedIntellectualPropertyComplaints", "restrictedProductPolicyViolations",
    "suspectedIntellectualPropertyViolations", "foodAndProductSafetyIssues", "otherPolicyViolations",
    "documentRequests",
)
# Blocks every marketplace's entry should carry; real documents lack some (REALITY.md), and that is said.
EXPECTED_BLOCKS = ("orderDefectRate", "lateShipmentRate", "preFulfillmentCancellationRate", "validTrackingRate",
                   "accountHealthRating")


class PerformanceSource:
    name = "performance"

    def __init__(self, clients: SpApiClients, caller: SpApiCaller, marketplace_ids: tuple[str, ...], clock: Clock) -> None:
        self.clients, self.caller, self.clock = clients, caller, clock
        self.marketplace_ids = list(marketplace_ids)

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """The current snapshot of Amazon's figures for every marketplace (the report ignores dates).

        A requested report's id is committed before waiting, so a poll that stops waiting (or a restart) takes the
        same report up next time instead of asking Amazon for another one.
        """
        calls_before = self.caller.calls
        pending = (cursor or {}).get("pending")
        if pending is None or self.clock.now() - parse_instant(pending["requested_at"]) > PENDING_REPORT_MAX_AGE:
            pending = {"report_id": create_report(self.clients, self.caller, REPORT_TYPE, self.marketplace_ids),
                       "requested_at": iso(self.clock.now())}
            yield Batch(self.name, (), (), dict(cursor or {}, pending=pending), self.caller.calls - calls_before)
            calls_before = self.caller.calls
        report_id = pending["report_id"]
        try:
            document = wait_for_document(self.clients, self.caller, self.clock, report_id) or ""
        except InvalidRequest:  # Amazon no longer knows the report: the next poll asks for a new one
            yield Batch(self.name, (), (), {k: v for k, v in (cursor or {}).items() if k != "pending"},
                        self.caller.calls - calls_before)
            return
        except MalformedPayload as exc:
            yield Batch(self.name, (), (reject(self.name, f"report {report_id}", exc),),
                        {"fetched_at": iso(self.clock.now())}, self.caller.calls - calls_before)
            return
        fetched_at = self.clock.now()
        figures, rejects = parse_performance(document, self.name)
        records = (PerformanceSnapshot(fetched_at, document, tuple(figures)),) if figures or not rejects else ()
        yield Batch(self.name, records, tuple(rejects), {"fetched_at": iso(fetched_at)}, self.caller.calls - calls_before)


def parse_performance(document: str, source: str) -> tuple[list[AmazonFigure], list[Reject]]:
    """Every block parsed defensively: both spellings, every block optional; a bad block is a reject, not a failure."""
    try:
        report = json.loads(document)
    except json.JSONDecodeError as exc:
        return [], [reject(source, document[:10000], MalformedPayload(f"report is not JSON: {exc.msg}"))]
    figures: list[AmazonFigure] = []
    rejects: list[Reject] = []
    statuses = {s.get("marketplaceId"): s.get("status") for s in report.get("accountStatuses") or [] if isinstance(s, dict)}
    for block in report.get("performanceMetrics") or []:
        marketplace_id = block.get("marketplaceId") if isinstance(block, dict) else None
        if not marketplace_id:
            rejects.append(reject(source, block, MalformedPayload("performanceMetrics entry without marketplaceId")))
            continue
        for parser in _PARSERS:
            try:
                figures.extend(parser(block, marketplace_id, statuses.get(marketplace_id)))
            except (MalformedPayload, TypeError, ValueError, AttributeError) as exc:
                rejects.append(reject(source, block, MalformedPayload(f"{parser.__name__}: {exc}")))
    return figures, rejects


def _missing(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    """Which expected blocks and counts this marketplace's entry lacks: said, never guessed as zero."""
    aliases = {"preFulfillmentCancellationRate": ("prefulfillmentCancelRate",)}
    missing = [name for name in EXPECTED_BLOCKS if not any(block.get(n) for n in (name, *aliases.get(name, ())))]
    for key, odr in sorted((block.get("orderDefectRate") or {}).items()):
        if isinstance(odr, dict):
            missing += [f"orderDefectRate.{key}.{count}" for count in ("claims", "chargebacks", "negativeFeedback")
                        if not isinstance(odr.get(count), dict) or odr[count].get("count") is None]
    if missing:
        logger.warning("performance report marketplace=%s lacks %s", mp, ", ".join(missing))
    return [AmazonFigure(marketplace_id=mp, metric="report", fulfillment="ALL", numerator=None, denominator=None,
                         value=None, details={"missing": missing})]


def _figure(mp: str, metric: str, fulfillment: str, block: dict[str, Any], num_key: Any, den_key: str,
            details: dict[str, Any] | None = None) -> AmazonFigure:
    num = block.get(num_key) if isinstance(num_key, str) else num_key
    if isinstance(num, dict):
        num = num.get("count")
    den = block.get(den_key)
    window = block.get("reportingDateRange") or {}
    return AmazonFigure(
        marketplace_id=mp, metric=metric, fulfillment=fulfillment,
        numerator=None if num is None else int(num), denominator=None if den is None else int(den),
        value=None if block.get("rate") is None else float(block["rate"]),
        window_from=instant(window, "reportingDateFrom", required=False),
        window_to=instant(window, "reportingDateTo", required=False),
        details=dict(details or {}, status=block.get("status"), target=block.get("targetValue"),
                     target_condition=block.get("targetCondition")),
    )


def _odr(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    out = []
    for key, fulfillment in (("mfn", "MFN"), ("afn", "AFN")):
        odr = (block.get("orderDefectRate") or {}).get(key)
        if odr:
            counts = {name: (odr.get(field) or {}).get("count") for name, field in
                      (("claims", "claims"), ("chargebacks", "chargebacks"), ("negative_feedback", "negativeFeedback"))}
            out.append(_figure(mp, "odr", fulfillment, odr, "orderWithDefects", "orderCount", counts))
    return out


def _lsr(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    out = []
    if block.get("lateShipmentRate"):
        out.append(_figure(mp, "lsr_30d", "MFN", block["lateShipmentRate"], "lateShipmentCount", "orderCount"))
    for entry in block.get("lateShipmentRateList") or []:
        window = entry.get("reportingDateRange") or {}
        start, end = instant(window, "reportingDateFrom", False), instant(window, "reportingDateTo", False)
        if start and end and 9 <= (end - start).days <= 11:
            out.append(_figure(mp, "lsr_10d", "MFN", entry, "lateShipmentCount", "orderCount"))
    return out


def _cancel(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    data = block.get("preFulfillmentCancellationRate") or block.get("prefulfillmentCancelRate")
    return [_figure(mp, "cr_7d", "MFN", data, "cancellationCount", "orderCount")] if data else []


def _tracking(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    data = block.get("validTrackingRate")
    return [_figure(mp, "vtr_30d", "MFN", data, "validTrackingCount", "shipmentCount")] if data else []


def _delivery(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    """US units over 14 days, and the 30-day on-time delivery rate Amazon reports outside the US (-models #4078)."""
    out = []
    if block.get("unitOnTimeDeliveryRate"):
        out.append(_figure(mp, "otdr_14d", "MFN", block["unitOnTimeDeliveryRate"], "unitOnTimeDeliveryCount", "totalUnitCount"))
    if block.get("onTimeDeliveryRate"):
        out.append(_figure(mp, "otdr_30d", "MFN", block["onTimeDeliveryRate"], "onTimeDeliveryCount",
                           "shipmentCountWithValidTracking"))
    return out


def _policies(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    """Every policy-compliance section present: its defect count, status and target."""
    out = []
    for name in POLICY_BLOCKS:
        data = block.get(name) or (block.get("documentRequest") if name == "documentRequests" else None)
        if isinstance(data, dict):
            out.append(_figure(mp, f"policy:{name}", "ALL", data, "defectsCount", "_none"))
    return out


def _warnings(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    """Amazon's warning states (the model's `warningStates`; its own example spells it `warningState`)."""
    states = block.get("warningStates") or block.get("warningState") or []
    listed = [{"type": w.get("warningType"), "status": w.get("status")} for w in states if isinstance(w, dict)]
    return [AmazonFigure(marketplace_id=mp, metric="warnings", fulfillment="ALL", numerator=len(listed),
                         denominator=None, value=None, details={"states": listed})]


def _invoice(block: dict[str, Any], mp: str, _status: Any) -> list[AmazonFigure]:
    data = block.get("invoiceDefectRate")
    return [_figure(mp, "idr_7d", "ALL", data, "invoiceDefect", "orderCount")] if data else []


def _health(block: dict[str, Any], mp: str, status: Any) -> list[AmazonFigure]:
    data = block.get("accountHealthRating")
    if not data:
        return []
    score = data.get("ahrScore")
    window = data.get("reportingDateRange") or {}
    return [AmazonFigure(
        marketplace_id=mp, metric="ahr", fulfillment="ALL", numerator=None, denominator=None,
        value=None if score is None else float(score),
        window_from=instant(window, "reportingDateFrom", False), window_to=instant(window, "reportingDateTo", False),
        details={"ahr_status": data.get("ahrStatus") or data.get("accountHealthRatingStatus"), "account_status": status},
    )]


_PARSERS = (_odr, _lsr, _cancel, _tracking, _delivery, _invoice, _health, _policies, _warnings, _missing)
