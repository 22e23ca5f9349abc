"""Wall time of replaying the 180-day bench scenario (~40,000 events) through simulator, client, storage and alerts."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from daemon.replay import replay
from daemon.simulator.generator import builtin_profile, write_scenario
from daemon.simulator.scenario import load_scenario


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_scenario(Path(tmp) / "bench.jsonl", builtin_profile("bench"), seed=1)
        scenario = load_scenario(path)
        started = time.perf_counter()
        summary = replay(path, Path(tmp) / "out")
        seconds = time.perf_counter() - started
    return {"events": len(scenario.events), "orders": len(scenario.orders), "replayed_days": summary.days,
            "api_calls": summary.api_calls, "seconds": seconds, "events_per_second": len(scenario.events) / seconds}
