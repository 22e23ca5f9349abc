"""Finances v0 feed: granted A-to-z claims and chargebacks (and their reversals) from listFinancialEvents.

Amazon may list an event up to 48 hours after its PostedDate, and deferred events only once released
(financesV0 model): every poll re-reads the last 48 hours; event keys make the re-read harmless.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from daemon.clock import Clock, parse_instant
from daemon.errors import MalformedPayload
from daemon.sources.common import Page, instant, iso, paged_batches, reject, resume_window, text
from daemon.sources.records import Batch, Cursor, FinancialEventRecord, Reject
from daemon.sources.spapi import SpApiCaller, SpApiClients

LISTS = {"GuaranteeClaimEventList": "claim", "ChargebackEventList": "chargeback"}
MAX_RANGE = timedelta(days=179)  # wider ranges answer empty (SPAPI_NOTES §7.1)
OVERLAP = timedelta(hours=48)


class FinancesSource:
    name = "finances"

    def __init__(self, clients: SpApiClients, caller: SpApiCaller, clock: Clock, backfill_days: int = 90,
                 page_size: int = 100) -> None:
        self.clients, self.caller, self.clock = clients, caller, clock
        self.backfill = timedelta(days=backfill_days)
        self.page_size = page_size

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        if cursor and not cursor.get("next_token"):
            cursor = {"after": iso(parse_instant(cursor["after"]) - OVERLAP)}
        window = resume_window(cursor, until, self.clock.now(), self.backfill, MAX_RANGE)
        if window is None:
            return

        def fetch(token: str | None) -> Page:
            query: dict[str, Any] = {"PostedAfter": iso(window.after), "PostedBefore": iso(window.before),
                                     "MaxResultsPerPage": self.page_size}
            if token:
                query["NextToken"] = token
            payload = self.caller.call("listFinancialEvents", self.clients.finances.list_financial_events, **query).payload
            records, rejects = parse_events(payload["FinancialEvents"], self.name)
            return records, rejects, payload.get("NextToken"), None  # pages may be empty while a token remains

        yield from paged_batches(self.name, self.caller, window, fetch)


def finance_retry_key(raw: Any) -> str | None:
    """A malformed event is read again with the other events of its order, when it names the order."""
    order_id = raw.get("AmazonOrderId") if isinstance(raw, dict) else None
    return f"finance:{order_id}" if isinstance(order_id, str) and order_id else None


def parse_events(events: dict[str, Any], source: str) -> tuple[list[FinancialEventRecord], list[Reject]]:
    """The claim and chargeback events of a FinancialEvents object, and the ones that do not parse."""
    records, rejects = [], []
    for list_name, kind in LISTS.items():
        for raw in events.get(list_name) or []:
            try:
                records.append(parse_event(raw, list_name, kind))
            except MalformedPayload as exc:
                rejects.append(reject(source, raw, exc, finance_retry_key(raw)))
    return records, rejects


def parse_event(raw: Any, list_name: str, kind: str) -> FinancialEventRecord:
    """A `ShipmentEvent` of a claim or chargeback list: the principal taken from the seller is a grant, the principal
    given back a reversal; an event that moves no principal either way is quarantined rather than guessed."""
    if not isinstance(raw, dict):
        raise MalformedPayload("event is not an object")
    order_id = text(raw, "AmazonOrderId")
    posted_at = instant(raw, "PostedDate")
    total = principal = Decimal(0)
    currency = ""
    adjustment_ids = []
    charges = list(raw.get("OrderChargeAdjustmentList") or [])
    # SPAPI_NOTES §7.1: the amounts may sit in the adjustment lists or the plain ones; read both.
    for items_key in ("ShipmentItemAdjustmentList", "ShipmentItemList"):
        for item in raw.get(items_key) or []:
            adjustment_ids.append(str(item.get("OrderAdjustmentItemId") or ""))
            for charges_key in ("ItemChargeAdjustmentList", "ItemChargeList"):
                charges.extend(item.get(charges_key) or [])
    for charge in charges:
        amount, currency = _money(charge.get("ChargeAmount"), currency)
        total += amount
        if charge.get("ChargeType") == "Principal":
            principal += amount
    decisive = principal or total  # the principal says it; other charges only when no principal moved
    if not decisive:
        raise MalformedPayload("event moves no money: neither a grant nor a reversal")
    direction = 1 if decisive < 0 else -1
    key = "|".join([order_id, list_name, raw.get("PostedDate", ""), ",".join(sorted(adjustment_ids))])
    return FinancialEventRecord(
        event_key=hashlib.sha256(key.encode()).hexdigest(), order_id=order_id, kind=kind, direction=direction,
        posted_at=posted_at, amount=abs(total), currency=currency or "USD",
    )


def _money(value: Any, currency: str) -> tuple[Decimal, str]:
    if not isinstance(value, dict):
        raise MalformedPayload("ChargeAmount is not an object")
    try:
        return Decimal(str(value.get("CurrencyAmount"))), value.get("CurrencyCode") or currency
    except InvalidOperation:
        raise MalformedPayload("CurrencyAmount is not a number") from None
