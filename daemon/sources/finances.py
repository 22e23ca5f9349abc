"""Finances v0 feed: granted A-to-z claims and chargebacks (and their reversals) from listFinancialEvents."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from daemon.clock import Clock, parse_instant
from daemon.errors import InvalidRequest, MalformedPayload
from daemon.sources.common import instant, iso, reject, request_bound, text
from daemon.sources.records import Batch, Cursor, FinancialEventRecord
from daemon.sources.spapi import SpApiCaller, SpApiClients

LISTS = {"GuaranteeClaimEventList": "claim", "ChargebackEventList": "chargeback"}
MAX_RANGE = timedelta(days=179)  # wider ranges answer empty (SPAPI_NOTES §7.1)


class FinancesSource:
    name = "finances"

    def __init__(self, clients: SpApiClients, caller: SpApiCaller, clock: Clock, backfill_days: int = 90,
                 page_size: int = 100) -> None:
        self.clients, self.caller, self.clock = clients, caller, clock
        self.backfill = timedelta(days=backfill_days)
        self.page_size = page_size

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        if cursor and cursor.get("next_token"):
            after, before, token = parse_instant(cursor["after"]), parse_instant(cursor["before"]), cursor["next_token"]
        else:
            after = parse_instant(cursor["after"]) if cursor else until - self.backfill
            before, token = min(request_bound(until, self.clock.now()), after + MAX_RANGE), None
        if before <= after:
            return
        while True:
            query: dict[str, Any] = {"PostedAfter": iso(after), "PostedBefore": iso(before), "MaxResultsPerPage": self.page_size}
            if token:
                query["NextToken"] = token
            calls_before = self.caller.calls
            try:
                response = self.caller.call("listFinancialEvents", self.clients.finances.list_financial_events, **query)
            except InvalidRequest:
                if token is None:
                    raise
                token = None
                continue
            payload = response.payload or {}
            records, rejects = [], []
            events = payload.get("FinancialEvents") or {}
            for list_name, kind in LISTS.items():
                for raw in events.get(list_name) or []:
                    try:
                        records.append(parse_event(raw, list_name, kind))
                    except MalformedPayload as exc:
                        rejects.append(reject(self.name, raw, exc))
            token = payload.get("NextToken")  # pages may be empty while a token remains: keep going
            next_cursor = {"after": iso(after), "before": iso(before), "next_token": token} if token else {"after": iso(before)}
            yield Batch(self.name, tuple(records), tuple(rejects), next_cursor, self.caller.calls - calls_before)
            if not token:
                return


def parse_event(raw: Any, list_name: str, kind: str) -> FinancialEventRecord:
    """A `ShipmentEvent` of a claim or chargeback list; money against the seller is a grant, money back a reversal."""
    if not isinstance(raw, dict):
        raise MalformedPayload("event is not an object")
    order_id = text(raw, "AmazonOrderId")
    posted_at = instant(raw, "PostedDate")
    total = Decimal(0)
    currency = ""
    adjustment_ids = []
    # SPAPI_NOTES §7.1: the amounts may sit in the adjustment lists or the plain ones; read both.
    for items_key in ("ShipmentItemAdjustmentList", "ShipmentItemList"):
        for item in raw.get(items_key) or []:
            adjustment_ids.append(str(item.get("OrderAdjustmentItemId") or ""))
            for charges_key in ("ItemChargeAdjustmentList", "ItemChargeList"):
                for charge in item.get(charges_key) or []:
                    amount, currency = _money(charge.get("ChargeAmount"), currency)
                    total += amount
    for charge in raw.get("OrderChargeAdjustmentList") or []:
        amount, currency = _money(charge.get("ChargeAmount"), currency)
        total += amount
    direction = -1 if total > 0 else 1
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
