"""Synthetic sellers: a profile of daily rates and episodes becomes a scenario file (FORMAT.md). Deterministic per seed."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from daemon.clock import format_instant

START = datetime(2026, 1, 5, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rates:
    """Per-order probabilities."""

    late_ship: float = 0.01
    seller_cancel: float = 0.003
    buyer_cancel: float = 0.01
    invalid_tracking: float = 0.005
    late_delivery: float = 0.02
    negative_feedback: float = 0.004
    neutral_feedback: float = 0.01
    positive_feedback: float = 0.05
    claim: float = 0.001
    chargeback: float = 0.0003
    feedback_removed: float = 0.1  # share of negative feedback later removed
    claim_granted: float = 0.5  # share of claims and chargebacks decided against the seller


@dataclass(frozen=True, init=False)
class Episode:
    """Days [start_day, start_day + days) run with some rates replaced: `Episode(96, 20, claim=0.02)`."""

    start_day: int
    days: int
    rates: dict[str, float]

    def __init__(self, start_day: int, days: int, rates: dict[str, float] | None = None, **overrides: float) -> None:
        merged = {**(rates or {}), **overrides}
        unknown = set(merged) - {f.name for f in fields(Rates)}
        if unknown:
            raise ValueError(f"unknown rates {sorted(unknown)}; rates are {[f.name for f in fields(Rates)]}")
        object.__setattr__(self, "start_day", start_day)
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "rates", merged)


@dataclass(frozen=True)
class Profile:
    name: str
    orders_per_day: float
    days: int
    monitor_from_day: int
    afn_share: float = 0.0
    marketplace: str = "ATVPDKIKX0DER"
    other_marketplaces: tuple[str, ...] = ()  # each order goes to one of all the marketplaces at random
    handling_days: int = 2
    rates: Rates = field(default_factory=Rates)
    episodes: tuple[Episode, ...] = ()
    volume_changes: tuple[tuple[int, float], ...] = ()  # (from day, factor on orders_per_day), e.g. a drop or a spike
    start: datetime = START  # day 0; tests that run on the real clock put it in the recent past

    @property
    def marketplaces(self) -> tuple[str, ...]:
        return (self.marketplace, *self.other_marketplaces)

    def orders_on(self, day: int) -> float:
        factor = 1.0
        for start, value in sorted(self.volume_changes):
            if start <= day:
                factor = value
        return self.orders_per_day * factor

    def rates_on(self, day: int) -> Rates:
        rates = self.rates
        for episode in self.episodes:
            if episode.start_day <= day < episode.start_day + episode.days:
                rates = replace(rates, **episode.rates)
        return rates


def builtin_profile(name: str) -> Profile:
    """The simulated sellers that ship with seller-sentinel: demo, healthy, bench."""
    if name == "demo":
        # Defects rise on orders placed from day 74; they surface after installation (day 90) and push ODR
        # over 1% about ten days later, while late shipments creep up too.
        return Profile("demo", orders_per_day=40, days=120, monitor_from_day=90, episodes=(
            Episode(74, 46, {"negative_feedback": 0.03, "claim": 0.012, "late_ship": 0.025}),))
    if name == "healthy":
        # 180 monitored days after the 75 days of history the windows need.
        return Profile("healthy", orders_per_day=45, days=255, monitor_from_day=75, afn_share=0.3, rates=Rates(
            late_ship=0.005, seller_cancel=0.002, invalid_tracking=0.003, late_delivery=0.01,
            negative_feedback=0.0015, claim=0.0003, chargeback=0.0001))
    if name == "bench":
        return Profile("bench", orders_per_day=74, days=180, monitor_from_day=90, afn_share=0.3, episodes=(
            Episode(100, 20, {"negative_feedback": 0.012, "claim": 0.004}),))
    raise KeyError(f"unknown built-in profile {name!r}; choose demo, healthy or bench")


def header(profile: Profile, seed: int) -> dict[str, Any]:
    """The scenario's first line."""
    return {
        "type": "scenario", "version": 1, "name": f"{profile.name}-{seed}", "seller_id": "A2SIMSELLER01",
        "marketplaces": list(profile.marketplaces), "start": format_instant(profile.start),
        "end": format_instant(profile.start + profile.days * DAY),
        "monitor_from": format_instant(profile.start + profile.monitor_from_day * DAY),
    }


def generate_events(profile: Profile, seed: int) -> list[tuple[datetime, dict[str, Any]]]:
    """Every event of the account's life, sorted by `at` (ties keep generation order)."""
    rng = random.Random(seed)
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    serial = 0
    end = profile.start + profile.days * DAY
    for day in range(profile.days):
        rates = profile.rates_on(day)
        for _ in range(_poisson(rng, profile.orders_on(day))):
            serial += 1
            purchase = profile.start + day * DAY + timedelta(seconds=rng.randrange(86400))
            marketplace = _marketplace(rng, profile.marketplaces)
            for at, event in _order_events(rng, profile, rates, serial, purchase, marketplace):
                if at < end:
                    events.append((at, len(events), event))
    events.sort(key=lambda item: (item[0], item[1]))
    return [(at, event) for at, _, event in events]


def generate(profile: Profile, seed: int) -> list[str]:
    """The scenario's JSON Lines, header first, events sorted by `at`."""
    lines = [json.dumps(header(profile, seed))]
    for at, event in generate_events(profile, seed):
        event = dict(event)
        lines.append(json.dumps({"type": event.pop("type"), "at": format_instant(at), **event}))
    return lines


def write_scenario(path: Path, profile: Profile, seed: int) -> Path:
    """Write a generated scenario file."""
    path.write_text("\n".join(generate(profile, seed)) + "\n", encoding="utf-8")
    return path


def _marketplace(rng: random.Random, marketplaces: tuple[str, ...]) -> str:
    # At random, as a real seller's buyers choose, so each marketplace's daily count varies as independent orders'
    # would; a one-marketplace seller draws nothing, which keeps its scenarios the same for a seed.
    return marketplaces[0] if len(marketplaces) == 1 else rng.choice(marketplaces)


def _poisson(rng: random.Random, mean: float) -> int:
    return max(0, round(rng.gauss(mean, mean ** 0.5)))


def _order_events(rng: random.Random, profile: Profile, rates: Rates, serial: int, purchase: datetime, marketplace: str):
    order_id = f"{rng.randrange(100, 1000)}-{serial:07d}-{rng.randrange(10 ** 7):07d}"
    channel = "AFN" if rng.random() < profile.afn_share else "MFN"
    ship_by = datetime.combine((purchase + profile.handling_days * DAY).date(), time(23, 59, 59), tzinfo=UTC)
    deliver_by = ship_by + 5 * DAY
    quantity = 1 if rng.random() < 0.8 else rng.randint(2, 3)
    yield purchase, {
        "type": "order", "order_id": order_id, "marketplace_id": marketplace, "channel": channel,
        "purchase_date": format_instant(purchase), "earliest_ship_date": format_instant(purchase),
        "latest_ship_date": format_instant(ship_by),
        "earliest_delivery_date": format_instant(datetime.combine((ship_by + 2 * DAY).date(), time(0), tzinfo=UTC)),
        "latest_delivery_date": format_instant(deliver_by), "quantity": quantity,
        "total": round(rng.uniform(9, 180), 2), "currency": "USD", "is_replacement": rng.random() < 0.005,
    }
    roll = rng.random()
    if channel == "MFN" and roll < rates.buyer_cancel:
        yield purchase + timedelta(hours=rng.uniform(0.2, 20)), {"type": "cancel", "order_id": order_id, "by": "buyer", "reason": "BuyerCanceled"}
        return
    if channel == "MFN" and roll < rates.buyer_cancel + rates.seller_cancel:
        yield purchase + timedelta(hours=rng.uniform(1, 30)), {"type": "cancel", "order_id": order_id, "by": "seller", "reason": "NoInventory"}
        return
    if channel == "MFN" and rng.random() < rates.late_ship:
        shipped = ship_by + timedelta(hours=rng.uniform(1, 48))
    else:
        shipped = purchase + timedelta(hours=rng.uniform(2, max(3.0, (ship_by - purchase).total_seconds() / 3600 - 1)))
    valid = channel == "AFN" or rng.random() >= rates.invalid_tracking
    carrier = rng.choice(["UPS", "USPS", "FedEx"])
    yield shipped, {"type": "ship", "order_id": order_id, "carrier": carrier,
                    "tracking_id": f"{carrier[:2].upper()}{rng.randrange(10 ** 11):011d}", "tracking_valid": valid}
    if rng.random() < rates.late_delivery:
        delivered = deliver_by + timedelta(hours=rng.uniform(2, 72))
    else:
        delivered = min(shipped + timedelta(hours=rng.uniform(30, 110)), deliver_by - timedelta(hours=1))
    yield delivered, {"type": "deliver", "order_id": order_id}
    roll = rng.random()
    feedback_at = delivered + timedelta(hours=rng.uniform(4, 300))
    if roll < rates.negative_feedback:
        yield feedback_at, {"type": "feedback", "order_id": order_id, "rating": rng.choice([1, 2]),
                            "comment": rng.choice(["Item arrived damaged", "Never arrived", "Not as described"])}
        if rng.random() < rates.feedback_removed:
            yield feedback_at + timedelta(days=rng.uniform(2, 10)), {"type": "feedback_removed", "order_id": order_id}
    elif roll < rates.negative_feedback + rates.neutral_feedback:
        yield feedback_at, {"type": "feedback", "order_id": order_id, "rating": 3, "comment": "OK"}
    elif roll < rates.negative_feedback + rates.neutral_feedback + rates.positive_feedback:
        yield feedback_at, {"type": "feedback", "order_id": order_id, "rating": rng.choice([4, 5]), "comment": "Great, thanks"}
    for kind, rate in (("claim", rates.claim), ("chargeback", rates.chargeback)):
        if rng.random() < rate:
            filed = delivered + timedelta(days=rng.uniform(1, 12))
            ident = ("C" if kind == "claim" else "K") + f"{serial:09d}"
            key = f"{kind}_id"
            yield filed, {"type": kind, "order_id": order_id, key: ident, "status": "open"}
            outcome = rng.random()
            decided = filed + timedelta(days=rng.uniform(2, 9))
            # Of the rest, two in five are denied, one in five withdrawn (claims only); the others stay open.
            denied = rates.claim_granted + (1 - rates.claim_granted) * 0.4
            if outcome < rates.claim_granted:
                yield decided, {"type": kind, "order_id": order_id, key: ident, "status": "granted"}
            elif outcome < denied:
                yield decided, {"type": kind, "order_id": order_id, key: ident, "status": "denied"}
            elif outcome < denied + (1 - rates.claim_granted) * 0.2 and kind == "claim":
                yield decided, {"type": kind, "order_id": order_id, key: ident, "status": "withdrawn"}
