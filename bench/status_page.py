"""What the status page, /api/status, /metrics and /healthz cost an agency: `python -m bench.status_page [COUNT ...]`.

Accounts are stored through the same code path as a sync (60 days of MFN orders each, a few sellers shipping late
so the overview has something to sort), then the daemon's own HTTP server is asked over loopback: the page and a
scrape cold (right after a start, nothing evaluated yet: what every request cost before evaluations were kept), then
every route warm (no cursor moved since).
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from daemon.clock import ManualClock, format_instant
from daemon.config import Config, default_config
from daemon.dbhealth import DatabaseOutage
from daemon.sources.records import Batch, OrderRecord, PackageRecord
from daemon.web import WebServer, status_app
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store, store_batch

MP = "ATVPDKIKX0DER"
NOW = datetime(2026, 7, 1, 0, 30, tzinfo=timezone.utc)
SYNCED = NOW - timedelta(minutes=5)
ROUTES = ("/", "/api/status", "/metrics", "/healthz")
COLD_ROUTES = ("/metrics", "/")


def account_names(count: int) -> list[str]:
    return [f"seller{i:03d}" for i in range(count)]


def agency_config(state_dir: Path, names: list[str]) -> Config:
    """The default config with one account per name (their data comes from `fill_accounts`, not the simulator)."""
    base = default_config(state_dir)
    accounts = tuple(replace(base.accounts[0], name=name, seller_id=f"A{i:012d}", marketplaces=(MP,))
                     for i, name in enumerate(names))
    return replace(base, accounts=accounts)


def fill_accounts(store: Store, names: list[str], late_share: dict[str, float], orders_per_day: int = 10,
                  days: int = 60, seed: int = 5) -> None:
    """`days` of shipped MFN orders per account, `late_share[name]` of them shipped after their ship-by day, and
    each account's orders cursor at SYNCED, as a finished sync leaves it."""
    rng = random.Random(seed)
    for name in names:
        late = late_share.get(name, 0.005)
        records = []
        for n in range(orders_per_day * days):
            purchase = SYNCED - timedelta(seconds=rng.randrange(days * 86400))
            ship_by = purchase + timedelta(days=2)
            shipped = ship_by + timedelta(hours=5) if rng.random() < late else purchase + timedelta(hours=20)
            if shipped > SYNCED:
                continue
            order_id = f"{rng.randrange(100, 999)}-{rng.randrange(10**7):07d}-{n:07d}"
            records.append(OrderRecord(
                order_id=order_id, marketplace_id=MP, channel="MFN", status="Shipped", purchase_at=purchase,
                last_update_at=shipped, latest_ship_at=ship_by, latest_delivery_at=purchase + timedelta(days=7),
                quantity=1, ship_confirmed_at=shipped))
            delivered = shipped < SYNCED - timedelta(days=3)
            records.append(PackageRecord(order_id, MP, tracking_valid=True, delivered=delivered, updated_at=shipped,
                                         shipped_at=shipped, observed_at=SYNCED))
        cursor = {"after": format_instant(SYNCED)}
        with store.transaction() as session:
            store_batch(session, name, Batch("orders", tuple(records), (), cursor), SYNCED)


def measure(count: int) -> dict:
    """Seconds per route, cold and warm, and the page's size, for `count` accounts."""
    names = account_names(count)
    late = {name: 0.02 + 0.01 * k for k, name in enumerate(names[:: max(1, count // 5)])}  # five sellers shipping late
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(sqlite_url(Path(tmp) / "bench.db"))
        upgrade(engine)
        store = Store(engine)
        started = time.perf_counter()
        fill_accounts(store, names, late)
        fill_s = time.perf_counter() - started
        clock = ManualClock(NOW)
        config = agency_config(Path(tmp), names)
        out: dict = {"accounts": count, "fill_s": fill_s}
        for route in COLD_ROUTES:
            # A new application for each: nothing evaluated yet, as right after a start (and as every request was
            # before evaluations were kept).
            web = WebServer(status_app(config, store, clock, NOW - timedelta(hours=1), "bench", DatabaseOutage(clock)),
                            "127.0.0.1", 0)
            url = web.start()
            out[f"cold {route}"], _ = _get(url, route)
            if route != COLD_ROUTES[-1]:
                web.stop()
        for route in ROUTES + (f"/accounts/{names[0]}",):
            out[f"warm {route.replace(names[0], 'NAME')}"], body = _get(url, route)
            if route == "/":
                out["page_kb"] = len(body) / 1024
        web.stop()
        engine.dispose()
    return out


def _get(url: str, route: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = httpx.get(url.rstrip("/") + route, timeout=900)
    response.raise_for_status()
    return time.perf_counter() - started, response.content


if __name__ == "__main__":
    counts = [int(a) for a in sys.argv[1:]] or [10, 100, 500]
    print(json.dumps([measure(c) for c in counts]))
