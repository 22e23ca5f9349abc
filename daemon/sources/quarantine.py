"""Quarantined records read again: Amazon's blank fields are often intermittent, so a record that was malformed
once is asked for again (an order by getOrder, a financial event with the other events of its order, an order
that came without its id by its window) until it parses or a week has passed. Feedback rows need nothing here:
every feedback poll re-reads 90 days.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from daemon.clock import Clock, parse_instant
from daemon.errors import InvalidRequest, MalformedPayload
from daemon.sources.common import Window
from daemon.sources.finances import parse_events
from daemon.sources.orders_2026 import INCLUDED_DATA, SearchOrdersSource, parse_order
from daemon.sources.records import Batch, Cursor, Healed, Record


class QuarantineRetrySource:
    name = "quarantine"

    def __init__(self, clients: Any, caller: Any, clock: Clock, search: SearchOrdersSource,
                 waiting: Callable[[datetime], list[str]], max_retries: int = 50) -> None:
        self.clients, self.caller, self.clock, self.search = clients, caller, clock, search
        self.waiting = waiting
        self.max_retries = max_retries

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """One batch per retried record: what now parses, and a Healed mark when all of it did."""
        for key in self.waiting(until)[: self.max_retries]:
            calls_before = self.caller.calls
            kind, _, value = key.partition(":")
            try:
                records = self._read_again(kind, value)
            except (MalformedPayload, InvalidRequest):  # still malformed, or gone: it stays quarantined
                records = None
            healed: tuple[Record, ...] = () if records is None else (*records, Healed(key))
            yield Batch(self.name, healed, (), None, self.caller.calls - calls_before)  # the quarantine table is the state

    def _read_again(self, kind: str, value: str) -> list[Record] | None:
        """The records behind one retry key, or None when some of them still do not parse."""
        if kind == "order":
            response = self.caller.call("getOrder", self.clients.orders_2026.get_order, value, includedData=INCLUDED_DATA)
            return parse_order(response.payload["order"], observed_at=self.clock.now())
        if kind == "finance":
            response = self.caller.call("listFinancialEventsByOrderId",
                                        self.clients.finances.get_financial_events_for_order, value)
            records, rejects = parse_events(response.payload["FinancialEvents"], self.name)
            return None if rejects else list(records)
        if kind == "orders-window":
            after, _, before = value.partition("|")
            found: list[Record] = []
            for batch in self.search.read_window(Window(parse_instant(after), parse_instant(before))):
                if batch.rejects:
                    return None
                found.extend(batch.records)
            return found
        return None
