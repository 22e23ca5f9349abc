"""The simulated seller's virtual time, kept in the state directory: a `run` that was stopped or killed goes on
where the last one got to, instead of starting the scenario again from its first day."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from daemon.clock import format_instant, parse_instant
from daemon.simulator.scenario import Scenario

CLOCK_FILE = "simulator-clock.json"


def resume_point(state_dir: Path, scenario: Scenario) -> datetime:
    """Where the last run of this scenario got to (at most its end); the installation instant when there was none."""
    try:
        saved = json.loads((state_dir / CLOCK_FILE).read_text(encoding="utf-8"))
        instant = parse_instant(saved["virtual_time"])
    except (OSError, ValueError, KeyError):
        return scenario.monitor_from
    if saved.get("scenario") != scenario.name or instant < scenario.monitor_from:
        return scenario.monitor_from
    return min(instant, scenario.end)  # a finished scenario stays finished: its data are already in the database


def remember(state_dir: Path, scenario: Scenario, instant: datetime) -> None:
    """Write the virtual time reached, atomically: a kill leaves the old file or the new one, never half of one."""
    state_dir.mkdir(parents=True, exist_ok=True)
    partial = state_dir / f"{CLOCK_FILE}.partial"
    partial.write_text(json.dumps({"scenario": scenario.name, "virtual_time": format_instant(instant)}), encoding="utf-8")
    os.replace(partial, state_dir / CLOCK_FILE)
