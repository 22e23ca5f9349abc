"""Runs the benchmarks, prints the figures and keeps them in bench/results.md: `python -m bench.run [SECTION ...]`.

Sections: replay, ingest, evaluation, backfill, agency, status, failover (all of them by default). Each section's ratios are
measured side by side in one run; running some sections replaces only theirs in results.md. The agency section
takes the longest (about half an hour for 10, 100 and 500 accounts); the failover needs the local PostgreSQL server
and says so when it is absent.
"""
from __future__ import annotations

import json
import logging
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from bench import agency, backfill, ingest, replay_time

RESULTS = Path(__file__).with_name("results.md")
SIZES = (10_000, 100_000, 1_000_000)


def replay() -> list[str]:
    r = replay_time.run()
    return [f"replay of the 180-day bench scenario: {r['events']} events, {r['orders']} orders, {r['replayed_days']} "
            f"daily syncs, {r['api_calls']} SP-API calls in {r['seconds']:.1f} s ({r['events_per_second']:.0f} events/s)"]


def ingestion() -> list[str]:
    i = ingest.run()
    return [f"ingest of a {i['orders']:,}-order backfill into SQLite: store path {i['store_per_second']:,.0f} orders/s, "
            f"raw executemany of the same rows {i['raw_per_second']:,.0f} rows/s: {i['store_share_of_raw']:.0%} of raw"]


def evaluation() -> list[str]:
    lines = ["| stored orders | fill (s) | 100-order poll + evaluation (ms) | naive recompute of every metric (ms) | "
             "naive / incremental | peak RSS, fill + polls (MB) |", "|---:|---:|---:|---:|---:|---:|"]
    for size in SIZES:  # one process per size, so each peak RSS is that size's own
        out = subprocess.run([sys.executable, "-m", "bench.metric_eval", str(size)], check=True, capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parents[1]).stdout
        for row in json.loads(out.splitlines()[-1]):
            lines.append(f"| {row['orders']:,} | {row['fill_s']:.1f} | {row['poll_and_evaluate_s'] * 1000:.1f} | "
                         f"{row['naive_all_metrics_s'] * 1000:.0f} | {row['naive_over_incremental']:.0f}x | "
                         f"{row['peak_rss_mb']:.0f} |")
    lines += ["", "the orders behind an alert and the account's to-do (`bench.orders_behind`): the same recent seller at every "
              "size (60 days of 150 orders a day), older history below it; best of 5:", "",
              "| stored orders | lsr_10d alert: orders listed / ms | odr alert: orders / ms | to-do: items / ms |",
              "|---:|---:|---:|---:|"]
    for size in SIZES:
        out = subprocess.run([sys.executable, "-m", "bench.orders_behind", str(size)], check=True, capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parents[1]).stdout
        for row in json.loads(out.splitlines()[-1]):
            lines.append(f"| {row['orders']:,} | {row['lsr_10d_orders']} / {row['lsr_10d_s'] * 1000:.1f} | "
                         f"{row['odr_orders']} / {row['odr_s'] * 1000:.1f} | {row['todo_items']} / {row['todo_s'] * 1000:.1f} |")
    return lines


def first_start() -> list[str]:
    b = backfill.run()
    lines = [f"first start of a 3,000-orders-a-day seller ({b['orders']:,} orders over 90 days), virtual hours under "
             "Amazon's default usage plans, polls every 15 minutes:", "",
             "| path | every metric shown | late shipments over the margin alerted | ODR exact | every metric exact | polls |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, label in (("reports", "order reports + searchOrders for 45 days"), ("search_orders_only", "searchOrders only")):
        p = b[name]
        hours = [("not within 8 days" if h is None else f"{h:.1f} h")
                 for h in (p["shown_hours"], p["lsr_alert_hours"], p["odr_hours"], p["all_hours"])]
        lines.append(f"| {label} | {' | '.join(hours)} | {p['polls']} |")
    return lines


def accounts() -> list[str]:
    lines = [f"accounts per process (SQLite, 4 poll workers, polls every {agency.DEFAULT_INTERVAL_MINUTES / agency.PACE:g} "
             f"minutes: {agency.PACE:g} times the default pace):", "",
             "| accounts | first turns done (s) | polls done / due | longest gap / interval | CPU s per poll | "
             "CPU s per account-day at 15 min | peak RSS (MB) | kept |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for count in (10, 100, 500):
        a = agency.measure(count, agency.PACE)
        lines.append(f"| {count} | {a['warmup_s']:.0f} | {a['steady_polls']} / {a['expected_polls']:.0f} | "
                     f"{a['max_gap_over_interval']:.2f} | {a['cpu_per_poll_s']:.3f} | {a['cpu_per_account_day_s']:.1f} | "
                     f"{a['peak_rss_mb']:.0f} | {'yes' if a['kept'] else 'no'} |")
    return lines


def status() -> list[str]:
    lines = ["status routes over loopback, SQLite, 60 days of orders per account; cold = first request after a start "
             "(every account evaluated, as every request was before evaluations were kept), warm = no cursor moved since "
             "(after a poll its own evaluation is kept, so the page does not evaluate it again):", "",
             "| accounts | cold / (s) | cold /metrics (s) | warm / (ms) | warm /api/status (ms) | warm /metrics (ms) | "
             "warm /healthz (ms) | warm /accounts/NAME (ms) | page (KB) |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    out = subprocess.run([sys.executable, "-m", "bench.status_page"], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    for r in json.loads(out.splitlines()[-1]):
        warm = [r[f"warm {route}"] * 1000 for route in ("/", "/api/status", "/metrics", "/healthz", "/accounts/NAME")]
        lines.append(f"| {r['accounts']} | {r['cold /']:.1f} | {r['cold /metrics']:.1f} | "
                     + " | ".join(f"{w:.0f}" for w in warm) + f" | {r['page_kb']:.0f} |")
    return lines


def failover() -> list[str]:
    from bench import failover as cluster
    try:
        f = cluster.run()
    except Exception as exc:  # no PostgreSQL here: say so, keep the other figures
        return [f"failover: not measured ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"]
    return [f"three daemons, {f['accounts']} accounts, lease {f['lease_seconds']} s: the {f['orphans']} accounts of the "
            f"SIGKILLed one polled again after {f['repolled_after_s']:.1f} s; {f['deliveries_sent']} deliveries sent, "
            f"{f['delivered_lines']} lines delivered (each once); the survivors exited {f['exit_codes']}"]


SECTIONS: dict[str, Callable[[], list[str]]] = {
    "replay": replay, "ingest": ingestion, "evaluation": evaluation, "backfill": first_start, "agency": accounts,
    "status": status, "failover": failover,
}


def update(results: str, name: str, lines: list[str]) -> str:
    """results.md with one section's block replaced (or added in SECTIONS order)."""
    stamp = f"{datetime.now(timezone.utc):%Y-%m-%d}, {platform.machine()}, Python {platform.python_version()}"
    block = f"<!-- {name} -->\n_{stamp}_\n\n" + "\n".join(lines) + f"\n<!-- /{name} -->\n"
    pattern = re.compile(rf"<!-- {name} -->.*?<!-- /{name} -->\n", re.S)
    if pattern.search(results):
        return pattern.sub(lambda _: block, results)
    blocks = {n: m.group(0) for n in SECTIONS if (m := re.search(rf"<!-- {n} -->.*?<!-- /{n} -->\n", results, re.S))}
    blocks[name] = block
    return "# Benchmark results (`make bench`)\n\n" + "\n".join(blocks[n] for n in SECTIONS if n in blocks)


def main(names: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in names or list(SECTIONS):
        if name not in SECTIONS:
            raise SystemExit(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
        lines = SECTIONS[name]()
        print("\n".join(lines) + "\n", flush=True)
        results = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        RESULTS.write_text(update(results, name, lines), encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
