"""Cost of one evaluation after a 100-order poll, against a naive recompute of every metric, at growing order counts.

Like for like: both give the seven metrics of every marketplace. The incremental side is what the daemon does after
a poll: store the 100 orders (their bucket contributions move) and evaluate the account (window sums from the day
buckets, the day series, the breach model, the alert decision). The naive side recomputes every metric from the
stored orders: it reads every order that can fall in a window with its facts from the other feeds, works out its
contributions by the same rules and sums those inside each window.
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from alerts.evaluate import Thresholds
from alerts.metrics.contributions import contributions
from alerts.metrics.definitions import METRICS
from alerts.render import render
from daemon.clock import ManualClock
from daemon.runtime import AccountRuntime, App
from daemon.sources.records import Batch, OrderRecord
from storage import models as m
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store, facts_of, store_batch

MP = "ATVPDKIKX0DER"
ACCOUNT = "bench"
EVAL_AT = datetime(2026, 7, 1, tzinfo=timezone.utc)
PAGE = 5000
POLL = 100
LONGEST_REACH = timedelta(days=max(d.window.length_days + d.window.offset_days for d in METRICS) + 30)


def _order(n: int, purchase: datetime, rng: random.Random) -> OrderRecord:
    shipped = rng.random() < 0.97
    return OrderRecord(
        order_id=f"{rng.randrange(100, 999)}-{rng.randrange(10**7):07d}-{n:07d}", marketplace_id=MP,
        channel="MFN" if rng.random() < 0.7 else "AFN", status="Shipped" if shipped else "Unshipped",
        purchase_at=purchase, last_update_at=purchase + timedelta(hours=rng.randrange(1, 60)),
        latest_ship_at=purchase + timedelta(days=2), latest_delivery_at=purchase + timedelta(days=7), quantity=1,
    )


def fill(store: Store, count: int, seed: int = 7) -> None:
    """Store `count` orders spread over the 180 days before EVAL_AT, through the same code path as a sync."""
    rng = random.Random(seed)
    start = EVAL_AT - timedelta(days=180)
    for first in range(0, count, PAGE):
        records = [_order(n, start + timedelta(seconds=rng.randrange(180 * 86400)), rng)
                   for n in range(first, min(count, first + PAGE))]
        with store.transaction() as session:
            store_batch(session, ACCOUNT, Batch("orders", tuple(records), (), None), EVAL_AT)


def bench_app(store: Store) -> App:
    account = AccountRuntime(name=ACCOUNT, seller_id="ABENCH", marketplaces=(MP,), sources={},
                             otdr_enforced=frozenset({MP}), thresholds=lambda _mp, _metric: Thresholds())
    return App(store=store, clock=ManualClock(EVAL_AT), accounts=[account], routes=(), channels={}, render=render)


def poll_then_evaluate(store: Store, app: App, rng: random.Random, serial: list[int]) -> None:
    """What one poll costs the daemon past the network: 100 new orders stored, then the account evaluated."""
    records = []
    for _ in range(POLL):
        serial[0] += 1
        records.append(_order(serial[0], EVAL_AT - timedelta(hours=rng.randrange(1, 48)), rng))
    with store.transaction() as session:
        store_batch(session, ACCOUNT, Batch("orders", tuple(records), (), None), EVAL_AT)
    app.evaluate(app.accounts[0], EVAL_AT, EVAL_AT)


def naive_all_metrics(store: Store) -> dict[tuple[str, str], tuple[int, int]]:
    """Every metric recomputed from the orders in reach of a window and their facts, with no stored contributions."""
    today = EVAL_AT.date()
    windows = {(d.id, d.fulfillment): d.window.days(today) for d in METRICS}
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    o = m.Order.__table__
    with store.sessions() as session:
        rows = session.execute(select(o).where(o.c.account == ACCOUNT, o.c.marketplace_id == MP,
                                               o.c.purchase_at >= EVAL_AT - LONGEST_REACH)).all()
        for first in range(0, len(rows), 500):
            for _order_row, facts in facts_of(session, ACCOUNT, [r._mapping for r in rows[first:first + 500]]):
                for c in contributions(facts):
                    window = windows.get((c.metric, c.fulfillment))
                    if window is not None and window[0] <= c.day < window[1]:
                        totals[(c.metric, c.fulfillment)][0] += c.numerator
                        totals[(c.metric, c.fulfillment)][1] += c.denominator
    return {key: (num, den) for key, (num, den) in totals.items()}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM, which, unlike ru_maxrss, starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def empty_store(directory: Path) -> Store:
    """A migrated SQLite database in `directory`."""
    engine = make_engine(sqlite_url(directory / "bench.db"))
    upgrade(engine)
    return Store(engine)


def run(sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)) -> list[dict]:
    """For each size: seconds to fill; best of 5 for a poll + evaluation and best of 2 for the naive recompute."""
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = empty_store(Path(tmp))
            engine = store.engine
            started = time.perf_counter()
            fill(store, size)
            fill_s = time.perf_counter() - started
            app = bench_app(store)
            rng, serial = random.Random(3), [size]
            incremental = timed(lambda: poll_then_evaluate(store, app, rng, serial), 5)
            rss = peak_rss_mb()  # the daemon's path only: the naive recompute below holds every row at once
            naive = timed(lambda: naive_all_metrics(store), 2)
            results.append({"orders": size, "fill_s": fill_s, "poll_and_evaluate_s": incremental,
                            "naive_all_metrics_s": naive, "naive_over_incremental": naive / incremental,
                            "peak_rss_mb": rss})
            engine.dispose()
    return results


if __name__ == "__main__":
    # One size per process, so the peak RSS is that size's: `python -m bench.metric_eval 1000000`.
    print(json.dumps(run(tuple(int(a) for a in sys.argv[1:]))))
