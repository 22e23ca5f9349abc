"""Order history from the Reports API on a first start: GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL.

searchOrders answers 100 orders every three minutes: a seller of 3,000 orders a day would wait days for the 90
days the windows need. The all-orders report gives a month of orders per request in minutes, with what the ODR
needs (order, purchase date, channel, status, quantity) but no ship-by or delivery-by date, ship time or tracking.
So the reports read the whole history, and the ODR is exact as soon as they, the feedback report and the financial
events are in; searchOrders reads only the recent `api_days`, where the late-shipment, tracking, delivery and
cancellation windows lie, and keeps everything current afterwards (the evaluation holds those metrics back until
it has: see Store.orders_backfilling). An order both show is merged: what the API adds fills what the report lacked.

Cursor: the slices still to read and the report being made, committed before waiting, so a poll that stops waiting
(or a restart) takes the same report up. `{"done": true}` once the history is read.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from daemon.clock import Clock, parse_instant
from daemon.errors import InvalidRequest, MalformedPayload
from daemon.sources.common import PAST_PENDING, iso, reject, request_bound
from daemon.sources.records import Batch, Cursor, OrderRecord, Reject
from daemon.sources.reports import PENDING_REPORT_MAX_AGE, create_report, wait_for_document
from daemon.sources.spapi import SpApiCaller, SpApiClients

REPORT_TYPE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
SLICE = timedelta(days=30)  # the most one order report may span
STATUSES = {"Cancelled": "Canceled", "Shipping": "PartiallyShipped"}  # flat-file spellings to the API's (v0)
CHANNELS = {"Merchant": "MFN", "Amazon": "AFN"}
REQUIRED = ("amazon-order-id", "purchase-date", "last-updated-date", "order-status", "fulfillment-channel", "quantity")


class OrderHistorySource:
    name = "order_history"

    def __init__(self, clients: SpApiClients, caller: SpApiCaller, marketplace_ids: tuple[str, ...], clock: Clock,
                 backfill_days: int) -> None:
        self.clients, self.caller, self.clock = clients, caller, clock
        self.marketplace_ids = list(marketplace_ids)
        self.backfill = timedelta(days=backfill_days)

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """One batch per report: the orders placed in one marketplace over one slice of the history."""
        state: dict[str, Any] = dict(cursor) if cursor else {"slices": self._plan(until)}
        if state.get("done"):
            return
        while state.get("slices"):
            calls_before = self.caller.calls
            marketplace_id, start, end = state["slices"][0]
            pending = state.get("pending")
            if pending is None or self.clock.now() - parse_instant(pending["requested_at"]) > PENDING_REPORT_MAX_AGE:
                report_id = create_report(self.clients, self.caller, REPORT_TYPE, [marketplace_id],
                                          parse_instant(start), parse_instant(end))
                state["pending"] = pending = {"report_id": report_id, "requested_at": iso(self.clock.now())}
                yield Batch(self.name, (), (), dict(state), self.caller.calls - calls_before)
                calls_before = self.caller.calls
            try:
                document = wait_for_document(self.clients, self.caller, self.clock, pending["report_id"])
            except InvalidRequest:  # Amazon no longer knows the report: ask again
                del state["pending"]
                continue
            except MalformedPayload as exc:  # the document will not change: keep it for a person, go on
                records, rejects = [], [reject(self.name, f"report {pending['report_id']}", exc)]
            else:  # None: CANCELLED, which an order report is when the range holds no orders
                records, rejects = parse_all_orders(document or "", marketplace_id, self.name)
            del state["pending"]
            state["slices"] = state["slices"][1:]
            if not state["slices"]:
                state = {"done": True}
            yield Batch(self.name, tuple(records), tuple(rejects), dict(state), self.caller.calls - calls_before)

    def _plan(self, until: datetime) -> list[list[str]]:
        """Slices of at most 30 days over [until - backfill, until), per marketplace, oldest first."""
        first, last = until - self.backfill, request_bound(until, self.clock.now())
        slices = []
        start = first
        while start < last:
            end = min(start + SLICE, last)
            slices += [[mp, iso(start), iso(end)] for mp in self.marketplace_ids]
            start = end
        return slices


def parse_all_orders(document: str, marketplace_id: str, source: str) -> tuple[list[OrderRecord], list[Reject]]:
    """The flat file's item rows as one OrderRecord per order (quantities summed); a bad row is a reject."""
    reader = csv.DictReader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [column for column in REQUIRED if column not in (reader.fieldnames or ())]
    if document.strip() and missing:
        return [], [reject(source, document[:10000], MalformedPayload(f"order report lacks columns {missing}"))]
    orders: dict[str, OrderRecord] = {}
    rejects: list[Reject] = []
    for row in reader:
        try:
            record = _order(row, marketplace_id)
        except MalformedPayload as exc:
            order_id = row.get("amazon-order-id") or ""
            rejects.append(reject(source, dict(row), exc, f"order:{order_id}" if order_id else None))
            continue
        earlier = orders.get(record.order_id)
        if earlier is not None:  # another item line of the same order
            record = replace(earlier, quantity=earlier.quantity + record.quantity)
        orders[record.order_id] = record
    return list(orders.values()), rejects


def _order(row: dict[str, str], marketplace_id: str) -> OrderRecord:
    order_id = (row.get("amazon-order-id") or "").strip()
    if not order_id:
        raise MalformedPayload("amazon-order-id is missing")
    channel = CHANNELS.get((row.get("fulfillment-channel") or "").strip())
    if channel is None:
        raise MalformedPayload(f"fulfillment-channel {row.get('fulfillment-channel')!r} is neither Merchant nor Amazon")
    status = (row.get("order-status") or "").strip()
    status = STATUSES.get(status, status)
    if not status:
        raise MalformedPayload("order-status is missing")
    try:
        purchase = parse_instant(row["purchase-date"])
        updated = parse_instant(row["last-updated-date"])
    except (KeyError, TypeError, ValueError):
        raise MalformedPayload("purchase-date or last-updated-date is not a date-time") from None
    try:
        quantity = int(row.get("quantity") or 0)
    except ValueError:
        raise MalformedPayload(f"quantity {row.get('quantity')!r} is not a number") from None
    return OrderRecord(
        order_id=order_id, marketplace_id=marketplace_id, channel=channel, status=status, purchase_at=purchase,
        last_update_at=updated, latest_ship_at=None, latest_delivery_at=None, quantity=max(quantity, 1),
        is_business=(row.get("is-business-order") or "").strip().lower() == "true",
        left_pending=status in PAST_PENDING, from_report=True,
    )
