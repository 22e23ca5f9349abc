"""Accounts per process: one `seller-sentinel run` against an agency's simulated sellers, on the real clock.

The sellers are served by a SimulatorHub in another process (so its work is not counted), which throttles each seller
by Amazon's default usage plans and takes 30 s to make a report. The daemon polls them on SQLite with its default
four poll workers at a pace PACE times faster than the default 15 minutes, so a few real minutes show whether the
process keeps its schedule: after every account has had its first turn (the backfill), each later gap between two
polls of one account is measured against the interval. CPU and peak RSS are read from /proc.
`python -m bench.agency [--cycles N] [--outage] 10 100 500` (N intervals measured after the first turns, 1 by
default; `--outage`: Amazon answers every call with the edge's HTML 504 throughout).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from daemon.clock import SystemClock
from daemon.simulator.agency import account_environment, agency_scenarios, write_account_files
from daemon.simulator.server import Faults, SimulatorHub

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INTERVAL_MINUTES = 15
PACE = 3  # polls come every 5 minutes instead of 15: the process does three times the work it would by default
POLL_LINE = re.compile(r"^(\S+ \S+) INFO daemon\.service poll account=(\S+)")


def serve(count: int, outage: bool = False) -> None:
    """The hub's own process: prints its base URL, serves until stdin closes. `outage`: every API call of every seller
    is answered by the edge's HTML 504 (REALITY.md), as during an Amazon-wide outage; tokens are still handed out."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    scenarios = agency_scenarios(count, today)
    faults = {name: Faults(edge_every=1, edge_answers=("html_504",)) for name in scenarios} if outage else None
    hub = SimulatorHub(scenarios, SystemClock(), faults=faults).start()
    print(hub.url_of("").removesuffix("/sellers/"), flush=True)
    sys.stdin.read()
    hub.stop()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _polls(log: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = POLL_LINE.match(line)
        if match:
            at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            times[match.group(2)].append(at)
    return times


def measure(count: int, pace: float, steady_cycles: int = 1, warmup_limit_s: float = 1200, outage: bool = False) -> dict:
    interval_s = DEFAULT_INTERVAL_MINUTES * 60 / pace
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        hub = subprocess.Popen([sys.executable, "-m", "bench.agency", "--serve", str(count), *(["--outage"] * outage)],
                               cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        base = hub.stdout.readline().strip()
        names = [f"shop{n:03d}" for n in range(count)]
        write_account_files(directory / "accounts.d", {name: f"{base}/sellers/{name}" for name in names})
        config = directory / "config.toml"
        config.write_text(f'accounts_dir = "accounts.d"\n[daemon]\nstate_dir = "state"\n'
                          f'poll_interval_minutes = {DEFAULT_INTERVAL_MINUTES / pace}\n[http]\nenabled = false\n'
                          '[[channels]]\nname = "files"\nkind = "file"\ndirectory = "alerts"\n', encoding="utf-8")
        log = directory / "daemon.log"
        env = {"PATH": os.environ["PATH"], **account_environment(names)}
        with log.open("w") as stderr:
            daemon = subprocess.Popen([sys.executable, "-m", "daemon.cli", "run", "--config", str(config)],
                                      cwd=ROOT, env=env, stderr=stderr)
        started = time.monotonic()
        try:
            while len(_polls(log)) < count:  # every account's first turn, its backfill included
                if time.monotonic() - started > warmup_limit_s or daemon.poll() is not None:
                    break
                time.sleep(1)
            warm_at, warm_cpu = time.time(), _cpu_seconds(daemon.pid)
            warmup_s = time.monotonic() - started
            time.sleep(steady_cycles * interval_s)
            end_at, end_cpu, rss = time.time(), _cpu_seconds(daemon.pid), _peak_rss_mb(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(120)
            hub.stdin.close()
            hub.wait(30)
        polls = _polls(log)
    steady = [t for times in polls.values() for t in times if warm_at <= t <= end_at]
    gaps = [b - a for times in polls.values() for a, b in zip(times, times[1:]) if a >= warm_at - interval_s and b <= end_at]
    every_account = len(polls) == count
    cpu_per_poll = (end_cpu - warm_cpu) / max(1, len(steady))
    return {
        "accounts": count, "interval_s": interval_s, "warmup_s": warmup_s, "steady_polls": len(steady),
        "expected_polls": count * (end_at - warm_at) / interval_s,
        "max_gap_over_interval": max(gaps) / interval_s if gaps else float("nan"),
        "cpu_per_poll_s": cpu_per_poll,
        "cpu_per_account_day_s": cpu_per_poll * 86400 / (DEFAULT_INTERVAL_MINUTES * 60),
        "peak_rss_mb": rss,
        "kept": every_account and bool(gaps) and max(gaps) <= interval_s * 1.25,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), outage="--outage" in sys.argv[3:])
    else:
        arguments = argparse.ArgumentParser(prog="python -m bench.agency")
        arguments.add_argument("--cycles", type=int, default=1, help="intervals measured after the first turns")
        arguments.add_argument("--outage", action="store_true", help="every API call answered by the edge's HTML 504")
        arguments.add_argument("counts", type=int, nargs="*", default=[10, 100, 500])
        args = arguments.parse_args()
        for n in args.counts:
            print(measure(n, pace=PACE, steady_cycles=args.cycles, outage=args.outage), flush=True)
