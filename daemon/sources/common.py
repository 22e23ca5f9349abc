"""What every feed shares: the request upper bound, instants in Amazon's format, rejects, resumable paging."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from daemon.clock import Clock, format_instant, parse_instant
from daemon.errors import InvalidRequest, MalformedPayload
from daemon.sources.records import Batch, Cursor, Reject

logger = logging.getLogger(__name__)
TWO_MINUTES = timedelta(minutes=2)
# Order statuses (v0 spelling) past Pending: a cancel nobody is named for counts only after one of them.
PAST_PENDING = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})


def request_bound(until: datetime, now: datetime) -> datetime:
    """The newest instant Amazon accepts as an upper bound: never closer than two minutes to now (PITFALLS #5)."""
    return min(until, now - TWO_MINUTES)


def iso(value: datetime) -> str:
    return format_instant(value)


def instant(record: dict[str, Any], key: str, required: bool = True) -> datetime | None:
    """A date-time field of a payload, or MalformedPayload naming the field."""
    value = record.get(key)
    if value in (None, ""):
        if required:
            raise MalformedPayload(f"{key} is missing")
        return None
    try:
        return parse_instant(str(value))
    except ValueError:
        raise MalformedPayload(f"{key} is not a date-time: {str(value)[:40]!r}") from None


def text(record: dict[str, Any], key: str) -> str:
    """A required string field of a payload."""
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{key} is missing")
    return value


def reject(source: str, raw: Any, error: Exception, retry_key: str | None = None) -> Reject:
    """A Reject keeping the raw payload as JSON text, and how to read it again when that is known."""
    raw_text = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str)
    return Reject(source, raw_text, str(error), retry_key)


def order_retry_key(raw: Any, window: Window | None = None) -> str | None:
    """How to read a malformed order again: by its id when it has one, else by its window."""
    order_id = raw.get("orderId") or raw.get("AmazonOrderId") if isinstance(raw, dict) else None
    if isinstance(order_id, str) and order_id:
        return f"order:{order_id}"
    if window is not None:
        return f"orders-window:{iso(window.after)}|{iso(window.before)}"
    return None


@dataclass(frozen=True)
class Window:
    """The (after, before] range a paged feed reads, and the next token when a previous run stopped mid-way."""

    after: datetime
    before: datetime
    token: str | None = None


def resume_window(cursor: Cursor | None, until: datetime, now: datetime, backfill: timedelta,
                  max_range: timedelta | None = None) -> Window | None:
    """Where a paged feed goes on: mid-pagination from a stored token, or from the cursor (or the backfill) to the bound."""
    if cursor and cursor.get("next_token"):
        return Window(parse_instant(cursor["after"]), parse_instant(cursor["before"]), cursor["next_token"])
    after = parse_instant(cursor["after"]) if cursor else until - backfill
    before = request_bound(until, now)
    if max_range is not None:
        before = min(before, after + max_range)
    return Window(after, before) if before > after else None


Page = tuple[list[Any], list[Reject], str | None, str | None]  # records, rejects, next token, echoed upper bound


def paged_batches(source: str, caller: Any, window: Window, fetch: Callable[[str | None], Page]) -> Iterator[Batch]:
    """One batch per page; each carries the cursor that resumes after it (PITFALLS #4: an explicit token loop)."""
    token = window.token
    while True:
        calls_before = caller.calls
        try:
            records, rejects, next_token, echoed = fetch(token)
        except InvalidRequest:
            if token is None:
                raise
            token = None  # an expired next token: read the window again, upserts make it harmless
            continue
        if next_token:
            cursor: Cursor = {"after": iso(window.after), "before": iso(window.before), "next_token": next_token}
        else:
            cursor = {"after": iso(echoed_bound(echoed, window))}
        yield Batch(source, tuple(records), tuple(rejects), cursor, caller.calls - calls_before)
        if not next_token:
            return
        token = next_token


def echoed_bound(echoed: str | None, window: Window) -> datetime:
    """The upper bound Amazon says it answered for, when it is an ISO instant inside the window; else the one asked.

    Amazon's own sandbox echoes `1.569521782042E9` (REALITY.md): such a bound must never reach the cursor.
    """
    if echoed:
        try:
            bound = parse_instant(str(echoed))
        except ValueError:
            logger.info("ignored a non-ISO upper bound from Amazon: %r", str(echoed)[:40])
            return window.before
        if window.after < bound <= window.before:
            return bound
    return window.before


class OrderWindowFeed:
    """What the two order feeds share: clients, caller, marketplaces, backfill and page size."""

    def __init__(self, clients: Any, caller: Any, marketplace_ids: tuple[str, ...], clock: Clock,
                 backfill_days: int = 90, page_size: int = 100) -> None:
        self.clients, self.caller, self.clock = clients, caller, clock
        self.marketplace_ids = list(marketplace_ids)
        self.backfill = timedelta(days=backfill_days)
        self.page_size = page_size
