"""Cost of evaluating every metric from the day buckets, against a full recompute over the orders, at growing order counts."""
from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Integer, and_, func, select

from daemon.pipeline import local_metrics
from daemon.sources.records import Batch, OrderRecord
from storage import models as m
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store, store_batch

MP = "ATVPDKIKX0DER"
EVAL_AT = datetime(2026, 7, 1, tzinfo=timezone.utc)
PAGE = 5000


def fill(store: Store, count: int, seed: int = 7) -> None:
    """Store `count` orders spread over the 180 days before EVAL_AT, through the same code path as a sync."""
    rng = random.Random(seed)
    start = EVAL_AT - timedelta(days=180)
    for first in range(0, count, PAGE):
        records = []
        for n in range(first, min(count, first + PAGE)):
            purchase = start + timedelta(seconds=rng.randrange(180 * 86400))
            shipped = rng.random() < 0.97
            records.append(OrderRecord(
                order_id=f"{n % 1000:03d}-{n:07d}-{rng.randrange(10**7):07d}", marketplace_id=MP,
                channel="MFN" if rng.random() < 0.7 else "AFN", status="Shipped" if shipped else "Unshipped",
                purchase_at=purchase, last_update_at=purchase + timedelta(hours=rng.randrange(1, 60)),
                latest_ship_at=purchase + timedelta(days=2), latest_delivery_at=purchase + timedelta(days=7),
                quantity=1,
            ))
        with store.transaction() as session:
            store_batch(session, "bench", Batch("orders", tuple(records), (), None), EVAL_AT)


def full_recompute_odr(store: Store) -> tuple[int, int]:
    """What one evaluation costs without buckets: count the window's orders and their defects by scanning them."""
    first = EVAL_AT - timedelta(days=74)
    end = EVAL_AT - timedelta(days=14)
    o, f = m.Order, m.Feedback
    negative = select(f.order_id).where(f.account == o.account, f.order_id == o.order_id, f.rating <= 2,
                                        f.removed_at.is_(None)).exists()
    with store.sessions() as session:
        den, num = session.execute(
            select(func.count(), func.coalesce(func.sum(negative.cast(Integer)), 0)).select_from(o).where(
                and_(o.account == "bench", o.channel == "MFN", o.purchase_at >= first, o.purchase_at < end))
        ).one()
    return int(num), int(den)


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def run(sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)) -> list[dict]:
    """For each size: seconds to fill, best-of-5 seconds for all metrics from buckets and for one metric by scan."""
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(sqlite_url(Path(tmp) / "bench.db"))
            upgrade(engine)
            store = Store(engine)
            started = time.perf_counter()
            fill(store, size)
            fill_s = time.perf_counter() - started
            buckets = timed(lambda: local_metrics(store, "bench", (MP,), EVAL_AT), 5)
            scan = timed(lambda: full_recompute_odr(store), 5)
            results.append({"orders": size, "fill_s": fill_s, "all_metrics_from_buckets_s": buckets,
                            "odr_by_full_scan_s": scan, "scan_over_buckets": scan / buckets})
            engine.dispose()
    return results
