"""Cost of the orders behind an alert and of an account's to-do, as stored history grows:
`python -m bench.orders_behind 10000 100000 1000000`.

The same recent seller at every size (60 days of 150 orders a day, with late shipments, shipments without valid
tracking, negative feedback, undelivered packages and open orders due), below it older history (shipped, tracked,
delivered) up to the size. What is listed is the same at every size; only the stored orders grow, so any growth of
the cost is the history's.
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from alerts.metrics.definitions import definition
from bench.metric_eval import empty_store, peak_rss_mb, timed
from daemon.orders_behind import account_todo, metric_orders
from daemon.sources.records import Batch, FeedbackCoverage, FeedbackRecord, OrderRecord, PackageRecord
from storage.repo import Store, store_batch

MP = "ATVPDKIKX0DER"
ACCOUNT = "bench"
NOW = datetime(2026, 7, 1, tzinfo=timezone.utc)
RECENT_DAYS, RECENT_PER_DAY = 60, 150
PAGE = 5000


def _shipped(order_id: str, purchase: datetime, rng: random.Random, recent: bool) -> list:
    ship_by = purchase + timedelta(days=2)
    late = recent and rng.random() < 0.02
    shipped_at = ship_by + timedelta(hours=6) if late else purchase + timedelta(hours=rng.randrange(2, 40))
    promise = purchase + timedelta(days=6)
    if shipped_at > NOW:
        return [OrderRecord(order_id=order_id, marketplace_id=MP, channel="MFN", status="Unshipped", purchase_at=purchase,
                            last_update_at=purchase, latest_ship_at=ship_by, latest_delivery_at=promise, quantity=1)]
    valid = not (recent and rng.random() < 0.02)
    delivered = shipped_at + timedelta(days=3) < NOW
    return [
        OrderRecord(order_id=order_id, marketplace_id=MP, channel="MFN", status="Shipped", purchase_at=purchase,
                    last_update_at=shipped_at, latest_ship_at=ship_by, latest_delivery_at=promise, quantity=1,
                    ship_confirmed_at=shipped_at),
        PackageRecord(order_id, MP, tracking_valid=valid, delivered=delivered and valid, carrier=rng.choice(("UPS", "USPS")),
                      tracking_number=f"1Z{rng.randrange(10**9)}", updated_at=shipped_at + timedelta(days=3) if delivered else shipped_at,
                      shipped_at=shipped_at, observed_at=NOW),
    ]


def fill(store: Store, size: int, seed: int = 11) -> int:
    """The recent seller plus older history up to `size` orders; returns the orders stored."""
    rng = random.Random(seed)
    recent_count = RECENT_DAYS * RECENT_PER_DAY
    history = max(0, size - recent_count)
    records: list = []
    feedback: list = []
    serial = 0

    def flush() -> None:
        with store.transaction() as session:
            store_batch(session, ACCOUNT, Batch("orders", tuple(records), (), {"after": NOW.isoformat()}), NOW)
        records.clear()

    for n in range(history):  # from 200 days back to 3 years back: outside every window
        serial += 1
        purchase = NOW - timedelta(days=200) - timedelta(seconds=rng.randrange(900 * 86400))
        records += _shipped(f"{rng.randrange(100, 999)}-{rng.randrange(10**7):07d}-{serial:07d}", purchase, rng, False)
        if len(records) >= PAGE:
            flush()
    for n in range(recent_count):
        serial += 1
        purchase = NOW - timedelta(seconds=rng.randrange(RECENT_DAYS * 86400))
        order_id = f"{rng.randrange(100, 999)}-{rng.randrange(10**7):07d}-{serial:07d}"
        records += _shipped(order_id, purchase, rng, True)
        if rng.random() < 0.005:
            feedback.append(FeedbackRecord(order_id, MP, (purchase + timedelta(days=8)).date(), 1, "late and broken"))
        if len(records) >= PAGE:
            flush()
    flush()
    with store.transaction() as session:
        coverage = FeedbackCoverage(MP, date(2026, 1, 1), NOW.date())
        store_batch(session, ACCOUNT, Batch("feedback", (*[f for f in feedback if f.feedback_day <= NOW.date()], coverage),
                                            (), None), NOW)
    return history + recent_count


def run(sizes: tuple[int, ...]) -> list[dict]:
    """For each size: best of 5 for one alert's orders (lsr_10d, with its at-risk orders; odr) and the to-do."""
    out = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = empty_store(Path(tmp))
            stored = fill(store, size)
            with store.sessions() as session:
                listed = {name: len(metric_orders(session, ACCOUNT, MP, definition(name, "MFN"), NOW, NOW))
                          for name in ("lsr_10d", "odr")}
                todo = len(account_todo(session, ACCOUNT, (MP,), NOW, NOW))

                def one_alert(name: str) -> None:
                    metric_orders(session, ACCOUNT, MP, definition(name, "MFN"), NOW, NOW)

                out.append({
                    "orders": stored, "lsr_10d_orders": listed["lsr_10d"], "odr_orders": listed["odr"], "todo_items": todo,
                    "lsr_10d_s": timed(lambda: one_alert("lsr_10d"), 5), "odr_s": timed(lambda: one_alert("odr"), 5),
                    "todo_s": timed(lambda: account_todo(session, ACCOUNT, (MP,), NOW, NOW), 5),
                    "peak_rss_mb": peak_rss_mb(),
                })
            store.engine.dispose()
    return out


if __name__ == "__main__":
    print(json.dumps(run(tuple(int(a) for a in sys.argv[1:]) or (10_000, 100_000, 1_000_000))))
