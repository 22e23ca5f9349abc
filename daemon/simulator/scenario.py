"""Reads a scenario file (scenarios/FORMAT.md) into per-order timelines the simulator can query by instant."""
from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.clock import parse_instant
from daemon.errors import ScenarioError

HEADER_KEYS = ("type", "version", "name", "seller_id", "marketplaces", "start", "end")
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "order": ("order_id", "marketplace_id", "channel", "purchase_date", "earliest_ship_date", "latest_ship_date",
              "earliest_delivery_date", "latest_delivery_date", "quantity", "total", "currency"),
    "ship": ("order_id", "carrier", "tracking_id", "tracking_valid"),
    "deliver": ("order_id",),
    "cancel": ("order_id", "by"),
    "feedback": ("order_id", "rating"),
    "feedback_removed": ("order_id",),
    "claim": ("order_id", "claim_id", "status"),
    "chargeback": ("order_id", "chargeback_id", "status"),
}
ORDER_DATES = ("purchase_date", "earliest_ship_date", "latest_ship_date", "earliest_delivery_date", "latest_delivery_date")
# Values FORMAT.md allows; anything else would be silently misread by every metric.
ALLOWED: dict[tuple[str, str], frozenset[Any]] = {
    ("order", "channel"): frozenset({"MFN", "AFN"}),
    ("cancel", "by"): frozenset({"seller", "buyer", "amazon"}),
    ("feedback", "rating"): frozenset({1, 2, 3, 4, 5}),
    ("claim", "status"): frozenset({"open", "granted", "denied", "withdrawn"}),
    ("chargeback", "status"): frozenset({"open", "granted", "denied"}),
    ("ship", "tracking_valid"): frozenset({True, False}),
}


@dataclass(frozen=True)
class Event:
    type: str
    at: datetime
    line: int
    data: dict[str, Any]


@dataclass
class OrderTimeline:
    """One order's placing and every later fact about it, in file order."""

    order: Event
    events: list[Event] = field(default_factory=list)

    @property
    def order_id(self) -> str:
        return self.order.data["order_id"]

    def date(self, key: str) -> datetime:
        return self.order.data[key]

    def last_of(self, kind: str, as_of: datetime) -> Event | None:
        found = None
        for event in self.events:
            if event.at > as_of:
                break
            if event.type == kind:
                found = event
        return found


@dataclass
class Scenario:
    name: str
    seller_id: str
    marketplaces: tuple[str, ...]
    start: datetime
    end: datetime
    monitor_from: datetime
    events: list[Event]
    orders: dict[str, OrderTimeline]
    _updates: list[tuple[datetime, str]] = field(default_factory=list)  # order/ship/cancel instants (Orders v0)
    _updates_2026: list[tuple[datetime, str]] = field(default_factory=list)  # plus deliveries (Orders 2026)
    # Results other modules derive from this scenario and keep with it (amazon.py's daily figures).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def orders_updated(self, after: datetime, until: datetime, include_deliveries: bool = False) -> list[str]:
        """Ids of orders with an update in (after, until], ordered by their last update up to `until`, then id."""
        updates = self._updates_2026 if include_deliveries else self._updates
        lo = bisect_right(updates, (after, "\uffff"))
        hi = bisect_right(updates, (until, "\uffff"))
        latest: dict[str, datetime] = {}
        for at, order_id in updates[lo:hi]:
            latest[order_id] = at
        return [order_id for order_id, _ in sorted(latest.items(), key=lambda item: (item[1], item[0]))]

    def orders_created(self, after: datetime, until: datetime) -> list[str]:
        """Ids of orders purchased in [after, until], by purchase instant then id."""
        lo = bisect_left(self._created, (after, ""))
        hi = bisect_right(self._created, (until, "\uffff"))
        return [order_id for _, order_id in self._created[lo:hi]]

    def events_between(self, kinds: frozenset[str], after: datetime, before: datetime) -> list[Event]:
        """Events of the given kinds with after <= at < before, in file order."""
        lo = bisect_left(self._event_times, after)
        hi = bisect_left(self._event_times, before)
        return [e for e in self.events[lo:hi] if e.type in kinds]

    def __post_init__(self) -> None:
        self._event_times = [e.at for e in self.events]
        self._created = sorted((t.date("purchase_date"), t.order_id) for t in self.orders.values())


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; errors name the file and line."""
    try:
        with path.open(encoding="utf-8") as handle:
            return parse_scenario(handle, str(path))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror}") from exc


def parse_scenario(lines: Iterable[str], name: str) -> Scenario:
    """Parse scenario JSON Lines; the first line is the header."""
    header: dict[str, Any] | None = None
    events: list[Event] = []
    orders: dict[str, OrderTimeline] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{name}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise ScenarioError(f"{name}:{number}: expected a JSON object")
        if header is None:
            header = _header(data, name, number)
            continue
        event = _event(data, name, number, tuple(header["marketplaces"]))
        if event.type == "order":
            if event.data["order_id"] in orders:
                raise ScenarioError(f"{name}:{number}: order {event.data['order_id']} placed twice")
            orders[event.data["order_id"]] = OrderTimeline(event)
        else:
            timeline = orders.get(event.data["order_id"])
            if timeline is None:
                raise ScenarioError(f"{name}:{number}: {event.type} event about unknown order {event.data['order_id']}")
            timeline.events.append(event)
        events.append(event)
    if header is None:
        raise ScenarioError(f"{name}: empty scenario, expected a header line")
    events.sort(key=lambda e: e.at)  # stable: ties keep file order
    updates, updates_2026 = [], []
    for event in events:
        entry = (event.at, event.data["order_id"])
        if event.type in ("order", "ship", "cancel"):
            updates.append(entry)
            updates_2026.append(entry)
        elif event.type == "deliver":
            updates_2026.append(entry)
    for timeline in orders.values():
        timeline.events.sort(key=lambda e: e.at)
    return Scenario(
        name=header["name"], seller_id=header["seller_id"], marketplaces=tuple(header["marketplaces"]),
        start=header["start"], end=header["end"], monitor_from=header["monitor_from"], events=events, orders=orders,
        _updates=sorted(updates), _updates_2026=sorted(updates_2026),
    )


def _header(data: dict[str, Any], name: str, number: int) -> dict[str, Any]:
    missing = [key for key in HEADER_KEYS if key not in data]
    if missing:
        raise ScenarioError(f"{name}:{number}: header misses {', '.join(missing)}")
    if data["type"] != "scenario" or data["version"] != 1:
        raise ScenarioError(f"{name}:{number}: expected a version 1 scenario header")
    out = dict(data)
    for key in ("start", "end"):
        out[key] = _instant(data[key], name, number, key)
    out["monitor_from"] = _instant(data.get("monitor_from", data["start"]), name, number, "monitor_from")
    return out


def _event(data: dict[str, Any], name: str, number: int, marketplaces: tuple[str, ...]) -> Event:
    kind = data.get("type")
    if kind not in EVENT_KEYS:
        raise ScenarioError(f"{name}:{number}: unknown event type {kind!r}")
    missing = [key for key in ("at",) + EVENT_KEYS[kind] if key not in data]
    if missing:
        raise ScenarioError(f"{name}:{number}: {kind} event misses {', '.join(missing)}")
    for (allowed_kind, key), allowed in ALLOWED.items():
        # bool is an int in Python: a rating of true must not pass as 1.
        value = data.get(key)
        if allowed_kind == kind and (value not in allowed or isinstance(value, bool) != (key == "tracking_valid")):
            raise ScenarioError(f"{name}:{number}: {kind} {key} {value!r} is not one of {sorted(allowed, key=str)}")
    values = dict(data)
    if kind == "order":
        if data["marketplace_id"] not in marketplaces:
            raise ScenarioError(f"{name}:{number}: order {data['order_id']} is in marketplace {data['marketplace_id']}, "
                                f"which the header does not list")
        if not isinstance(data["quantity"], int) or isinstance(data["quantity"], bool) or data["quantity"] < 1:
            raise ScenarioError(f"{name}:{number}: order quantity {data['quantity']!r} is not a positive integer")
        for key in ORDER_DATES:
            values[key] = _instant(data[key], name, number, key)
    return Event(kind, _instant(data["at"], name, number, "at"), number, values)


def _instant(text: Any, name: str, number: int, key: str) -> datetime:
    try:
        return parse_instant(str(text))
    except ValueError as exc:
        raise ScenarioError(f"{name}:{number}: {key} is not an ISO 8601 instant: {text!r}") from exc
