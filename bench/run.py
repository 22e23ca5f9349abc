"""Runs every benchmark in one go, prints the figures and writes them to bench/results.md: `python -m bench.run`.

Ratios are measured side by side in this one run. The accounts-per-process figures take the longest (about an
hour for 10, 100 and 500 accounts); the failover needs the local PostgreSQL server and says so when it is absent.
"""
from __future__ import annotations

import json
import logging
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench import agency, backfill, ingest, replay_time

RESULTS = Path(__file__).with_name("results.md")
SIZES = (10_000, 100_000, 1_000_000)


def evaluation_rows() -> list[dict]:
    """One process per size, so each peak RSS is that size's own."""
    rows = []
    for size in SIZES:
        out = subprocess.run([sys.executable, "-m", "bench.metric_eval", str(size)], check=True, capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parents[1]).stdout
        rows.extend(json.loads(out.splitlines()[-1]))
    return rows


def failover_line() -> str:
    from bench import failover
    try:
        f = failover.run()
    except Exception as exc:  # no PostgreSQL here: say so, keep the other figures
        return f"failover: not measured ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    return (f"three daemons, {f['accounts']} accounts, lease {f['lease_seconds']} s: the {f['orphans']} accounts of the "
            f"SIGKILLed one polled again after {f['repolled_after_s']:.1f} s; {f['deliveries_sent']} deliveries sent, "
            f"{f['delivered_lines']} lines delivered (each once); survivors exited {f['exit_codes']}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    lines = [f"# Benchmark results\n\n`make bench` on {platform.machine()}, {platform.python_version()}, "
             f"{datetime.now(timezone.utc):%Y-%m-%d}.\n"]

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    r = replay_time.run()
    say(f"replay of the 180-day bench scenario: {r['events']} events, {r['orders']} orders, {r['replayed_days']} "
        f"daily syncs, {r['api_calls']} SP-API calls in {r['seconds']:.1f} s ({r['events_per_second']:.0f} events/s)\n")

    i = ingest.run()
    say(f"ingest of a {i['orders']:,}-order backfill into SQLite: store path {i['store_per_second']:,.0f} orders/s, raw "
        f"executemany of the same rows {i['raw_per_second']:,.0f} rows/s: {i['store_share_of_raw']:.0%} of raw\n")

    say("| stored orders | fill (s) | 100-order poll + evaluation (ms) | naive recompute of every metric (ms) | naive / incremental | peak RSS (MB) |")
    say("|---:|---:|---:|---:|---:|---:|")
    for row in evaluation_rows():
        say(f"| {row['orders']:,} | {row['fill_s']:.1f} | {row['poll_and_evaluate_s'] * 1000:.1f} | "
            f"{row['naive_all_metrics_s'] * 1000:.0f} | {row['naive_over_incremental']:.0f}x | {row['peak_rss_mb']:.0f} |")
    say()

    b = backfill.run()
    say(f"first start of a 3,000-orders-a-day seller ({b['orders']:,} orders over 90 days), virtual hours under "
        "Amazon's default usage plans:\n")
    say("| path | ODR exact | every metric exact | polls |")
    say("|---|---:|---:|---:|")
    for name, label in (("reports", "order reports + searchOrders for 45 days"), ("search_orders_only", "searchOrders only")):
        p = b[name]
        fmt = lambda hours: "not within 8 days" if hours is None else f"{hours:.1f} h"
        say(f"| {label} | {fmt(p['odr_hours'])} | {fmt(p['all_hours'])} | {p['polls']} |")
    say()

    say(f"accounts per process (SQLite, 4 poll workers, polls every {agency.DEFAULT_INTERVAL_MINUTES / agency.PACE:g} "
        f"minutes: {agency.PACE:g} times the default pace):\n")
    say("| accounts | first turns done (s) | polls done / due | longest gap / interval | CPU s per poll | CPU s per account-day at 15 min | peak RSS (MB) | kept |")
    say("|---:|---:|---:|---:|---:|---:|---:|---|")
    for count in (10, 100, 500):
        a = agency.measure(count, agency.PACE)
        say(f"| {count} | {a['warmup_s']:.0f} | {a['steady_polls']} / {a['expected_polls']:.0f} | "
            f"{a['max_gap_over_interval']:.2f} | {a['cpu_per_poll_s']:.3f} | {a['cpu_per_account_day_s']:.1f} | "
            f"{a['peak_rss_mb']:.0f} | {'yes' if a['kept'] else 'no'} |")
    say()

    say(failover_line())
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
