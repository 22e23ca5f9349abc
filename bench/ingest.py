"""Orders per second through the store path against a raw executemany of the same rows into SQLite, in one run.

Both write a 90-day backfill of one large seller (3,000 orders a day: 270,000 orders) into a freshly migrated SQLite
file with the same schema and indexes, in pages of 5,000 orders, one transaction per page. The raw side writes the
rows as the orders table holds them (dates already as text) with sqlite3 alone: the most this machine's SQLite takes.
The store path is what a sync runs: records merged with what is stored, bucket contributions worked out and written.
"""
from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from daemon.sources.records import Batch, OrderRecord
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store, store_batch

MP = "ATVPDKIKX0DER"
PAGE = 5000
END = datetime(2026, 7, 1, tzinfo=timezone.utc)


def backfill_records(days: int = 90, per_day: int = 3000, seed: int = 11) -> list[OrderRecord]:
    """A large seller's orders over `days` days, with Amazon's 3-7-7 order ids (so inserts land all over the index)."""
    rng = random.Random(seed)
    start = END - timedelta(days=days)
    records = []
    for n in range(days * per_day):
        purchase = start + timedelta(seconds=rng.randrange(days * 86400))
        shipped = rng.random() < 0.97
        records.append(OrderRecord(
            order_id=f"{rng.randrange(100, 999)}-{rng.randrange(10**7):07d}-{n:07d}", marketplace_id=MP,
            channel="MFN" if rng.random() < 0.6 else "AFN", status="Shipped" if shipped else "Unshipped",
            purchase_at=purchase, last_update_at=purchase + timedelta(hours=rng.randrange(1, 60)),
            latest_ship_at=purchase + timedelta(days=2), latest_delivery_at=purchase + timedelta(days=7), quantity=1,
        ))
    return records


def _text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def raw_rows(records: list[OrderRecord]) -> list[tuple]:
    return [
        ("bench", r.order_id, r.marketplace_id, r.channel, r.status, _text(r.purchase_at), _text(r.last_update_at),
         _text(r.latest_ship_at), _text(r.latest_delivery_at), r.quantity, 0, 0,
         _text(r.last_update_at) if r.status == "Shipped" else None, None, 1, "[]", _text(END))
        for r in records
    ]


RAW_INSERT = (
    "INSERT INTO orders (account, order_id, marketplace_id, channel, status, purchase_at, last_update_at, "
    "latest_ship_at, latest_delivery_at, quantity, is_replacement, is_business, ship_confirmed_at, cancelled_at, "
    "left_pending, contributions, first_seen_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _fresh_database(directory: Path, name: str) -> Path:
    path = directory / name
    engine = make_engine(sqlite_url(path))
    upgrade(engine)
    engine.dispose()
    return path


def raw_seconds(path: Path, rows: list[tuple]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # as the store's engine sets it
    started = time.perf_counter()
    for first in range(0, len(rows), PAGE):
        connection.execute("BEGIN")
        connection.executemany(RAW_INSERT, rows[first:first + PAGE])
        connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def store_seconds(path: Path, records: list[OrderRecord]) -> float:
    engine = make_engine(sqlite_url(path))
    store = Store(engine)
    started = time.perf_counter()
    for first in range(0, len(records), PAGE):
        with store.transaction() as session:
            store_batch(session, "bench", Batch("orders", tuple(records[first:first + PAGE]), (), None), END)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def run(days: int = 90, per_day: int = 3000) -> dict:
    records = backfill_records(days, per_day)
    rows = raw_rows(records)
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_seconds(_fresh_database(Path(tmp), "raw.db"), rows)
        stored = store_seconds(_fresh_database(Path(tmp), "store.db"), records)
    count = len(records)
    return {"orders": count, "raw_per_second": count / raw, "store_per_second": count / stored,
            "store_share_of_raw": raw / stored}


if __name__ == "__main__":
    result = run()
    print(f"ingest of {result['orders']:,} orders: store path {result['store_per_second']:,.0f}/s, raw executemany "
          f"{result['raw_per_second']:,.0f}/s ({result['store_share_of_raw']:.0%} of raw)")
