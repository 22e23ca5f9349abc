"""Runs every benchmark side by side in one process and prints the figures the README quotes: `python -m bench.run`."""
from __future__ import annotations

import logging
import sys

from bench import metric_eval, replay_time


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    sizes = tuple(int(a) for a in argv) or (10_000, 100_000, 1_000_000)
    r = replay_time.run()
    print(f"replay of the 180-day bench scenario: {r['events']} events, {r['orders']} orders, {r['replayed_days']} "
          f"daily syncs, {r['api_calls']} SP-API calls in {r['seconds']:.1f} s ({r['events_per_second']:.0f} events/s)")
    print(f"{'stored orders':>14} {'fill (s)':>9} {'all metrics from buckets (ms)':>30} {'ODR by full scan (ms)':>22} {'scan/buckets':>13}")
    for row in metric_eval.run(sizes):
        print(f"{row['orders']:>14,} {row['fill_s']:>9.1f} {row['all_metrics_from_buckets_s'] * 1000:>30.2f} "
              f"{row['odr_by_full_scan_s'] * 1000:>22.2f} {row['scan_over_buckets']:>12.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
