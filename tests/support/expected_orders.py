"""FORMAT.md's orders behind an alert and to-do rows, recomputed from a scenario file's events alone.

Independent of alerts/ and storage/: it reads the scenario's facts as of each evaluation instant and applies the
rules of FORMAT.md ("Orders behind an alert", todo.jsonl) and METRICS.md directly, the way the expected metric rows
of the shared examples were made.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from daemon.clock import format_instant, parse_instant

H48 = timedelta(hours=48)
DAY = timedelta(days=1)


@dataclass
class _Order:
    order: dict
    at: datetime
    events: list[tuple[datetime, dict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Parsed once: every question about an instant reads them for every order.
        self.purchase = parse_instant(self.order["purchase_date"])
        self.ship_by = _instant_or_none(self.order.get("latest_ship_date"))
        self.promise = _instant_or_none(self.order.get("latest_delivery_date"))


def _instant_or_none(text: str | None) -> datetime | None:
    return parse_instant(text) if text else None


class ScenarioFacts:
    """Every order of a scenario with its events, asked about as of an instant."""

    def __init__(self, path: Path) -> None:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.header = lines[0]
        self.orders: dict[str, _Order] = {}
        for event in lines[1:]:
            if event["type"] == "order":
                self.orders[event["order_id"]] = _Order(event, parse_instant(event["at"]))
            else:
                self.orders[event["order_id"]].events.append((parse_instant(event["at"]), event))

    def _last(self, o: _Order, kind: str, at: datetime) -> tuple[datetime, dict] | None:
        seen = [(t, e) for t, e in o.events if e["type"] == kind and t <= at]
        return seen[-1] if seen else None

    def _first(self, o: _Order, kind: str, at: datetime) -> tuple[datetime, dict] | None:
        seen = [(t, e) for t, e in o.events if e["type"] == kind and t <= at]
        return seen[0] if seen else None

    def _defect_kinds(self, o: _Order, at: datetime) -> list[str]:
        kinds = []
        feedback = self._last(o, "feedback", at)
        removed = self._last(o, "feedback_removed", at)
        if feedback and feedback[1]["rating"] <= 2 and not (removed and removed[0] >= feedback[0]):
            kinds.append("negative_feedback")
        for kind, name in (("claim", "a_to_z_claim"), ("chargeback", "chargeback")):
            by_id: dict[str, list[str]] = {}
            for t, e in o.events:
                if e["type"] == kind and t <= at:
                    by_id.setdefault(e.get("claim_id") or e.get("chargeback_id"), []).append(e["status"])
            # Granted and not decided for the seller since (the simulator shows a reversal for that alone).
            if any("granted" in s and "denied" not in s[s.index("granted"):] for s in by_id.values()):
                kinds.append(name)
        return kinds

    def counted(self, at: datetime, marketplace_id: str, metric: str, fulfillment: str) -> set[str]:
        """The orders in the local numerator (or against a lower-bound metric) at `at`, under METRICS.md."""
        out = set()
        for order_id, o in self.orders.items():
            order = o.order
            if o.at > at or order["marketplace_id"] != marketplace_id:
                continue
            purchase = o.purchase
            if metric == "odr":
                if (order["channel"] == fulfillment and at - 74 * DAY <= purchase < at - 14 * DAY
                        and self._defect_kinds(o, at)):
                    out.add(order_id)
                continue
            if order["channel"] != "MFN":
                continue
            ship = self._first(o, "ship", at)
            cancel = self._first(o, "cancel", at)
            ship_by, promise = o.ship_by, o.promise
            if metric in ("lsr_10d", "lsr_30d"):
                days = 10 if metric == "lsr_10d" else 30
                if ship and not cancel and at - days * DAY <= ship_by < at and ship[0] > ship_by:
                    out.add(order_id)
            elif metric == "cr_7d":
                if cancel and at - 7 * DAY <= purchase < at and self._seller_cancel(cancel[1]):
                    out.add(order_id)
            elif metric == "vtr_30d":
                if ship and at - 30 * DAY <= ship[0] < at and not ship[1]["tracking_valid"]:
                    out.add(order_id)
            elif metric == "otdr_14d":
                delivered = self._first(o, "deliver", at)
                if (ship and ship[1]["tracking_valid"] and at - 21 * DAY <= promise < at - 7 * DAY
                        and (delivered is None or delivered[0] > promise)):
                    out.add(order_id)
        return out

    @staticmethod
    def _seller_cancel(cancel: dict) -> bool:
        if cancel["by"] == "seller":
            return True
        return cancel["by"] == "amazon" and cancel.get("reason") == "ship_confirm_timeout"

    def unshipped(self, at: datetime, marketplace_id: str) -> dict[str, datetime]:
        """Seller-fulfilled orders visible at `at`, neither ship-confirmed nor cancelled, due to ship before at + 48 h."""
        out = {}
        for order_id, o in self.orders.items():
            order = o.order
            if (o.at <= at and order["marketplace_id"] == marketplace_id and order["channel"] == "MFN"
                    and o.ship_by < at + H48
                    and not self._first(o, "ship", at) and not self._first(o, "cancel", at)):
                out[order_id] = o.ship_by
        return out

    def undelivered(self, at: datetime, marketplace_id: str) -> dict[str, datetime]:
        """Tracked seller-fulfilled shipments not delivered at `at`, promised in [at - 7 d, at + 48 h)."""
        out = {}
        for order_id, o in self.orders.items():
            order = o.order
            if (order["marketplace_id"] != marketplace_id or order["channel"] != "MFN"
                    or not at - 7 * DAY <= o.promise < at + H48):
                continue
            ship = self._first(o, "ship", at)
            if ship and ship[1]["tracking_valid"] and not self._first(o, "deliver", at):
                out[order_id] = o.promise
        return out

    def untracked(self, at: datetime, marketplace_id: str) -> set[str]:
        """Seller-fulfilled shipments confirmed in [at - 30 d, at) without valid tracking."""
        return self.counted(at, marketplace_id, "vtr_30d", "MFN")

    def todo(self, at: datetime) -> set[tuple[str, str, str, str | None]]:
        """FORMAT.md's ship / fix_tracking / check_delivery rows at `at`: (marketplace, order, action, due_at)."""
        rows = set()
        for mp in self.header["marketplaces"]:
            rows |= {(mp, order_id, "ship", format_instant(due)) for order_id, due in self.unshipped(at, mp).items()}
            rows |= {(mp, order_id, "fix_tracking", None) for order_id in self.untracked(at, mp)}
            rows |= {(mp, order_id, "check_delivery", format_instant(due)) for order_id, due in self.undelivered(at, mp).items()}
        return rows
