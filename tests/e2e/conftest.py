"""Replays shared by the end-to-end tests (each takes tens of seconds: done once per session, two at a time in
separate processes so both cores work)."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from filelock import FileLock

from daemon.replay import replay
from daemon.simulator.server import Faults
from daemon.simulator.generator import builtin_profile, write_scenario
from tests.conftest import SHARED_DIR

EXAMPLES = SHARED_DIR / "scenarios" / "examples"
EXAMPLE_NAMES = ("low_volume_claims", "stockout", "odr_creep")


@pytest.fixture(scope="session")
def _replays(tmp_path_factory) -> dict[str, Path]:
    """Every replay the e2e tests read: the examples, the examples against Amazon at its worst (REALITY.md: edge
    pages, spurious CANCELLED feedback reports, deferred financial events, frozen lastUpdatedTime, reports missing
    blocks, Pending orders), and 180 days of a healthy seller.

    Made once per run: under pytest-xdist the first worker to need them makes them in the run's shared temporary
    directory while the others wait on a file lock, then every worker reads the same files."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "replays"
    jobs = {"healthy": (root / "healthy.jsonl", root / "healthy", False)}
    for name in EXAMPLE_NAMES:
        jobs[name] = (EXAMPLES / f"{name}.jsonl", root / name, False)
        jobs[f"{name}-realistic"] = (EXAMPLES / f"{name}.jsonl", root / f"{name}-realistic", True)
    with FileLock(str(shared / "replays.lock")):
        if not (root / "done").exists():
            root.mkdir(parents=True, exist_ok=True)
            write_scenario(root / "healthy.jsonl", builtin_profile("healthy"), seed=1)
            # Spawned, not forked: earlier tests may have left threads running in this process. Each keeps its
            # database (in out/state) for the commands that read it afterwards (todo, plan).
            with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
                running = [pool.submit(_replay, scenario, out, realistic) for scenario, out, realistic in jobs.values()]
                for future in running:
                    future.result()
            (root / "done").touch()
    return {key: out for key, (_, out, _) in jobs.items()}


def _replay(scenario: Path, out: Path, realistic: bool) -> None:
    """One replay in a worker process (the faults are made there: they hold thread events, which do not pickle)."""
    (out / "state").mkdir(parents=True, exist_ok=True)
    replay(scenario, out, faults=Faults.realistic() if realistic else None, state_dir=out / "state")


@pytest.fixture(scope="session")
def example_replays(_replays) -> dict[str, Path]:
    return {name: _replays[name] for name in EXAMPLE_NAMES}


@pytest.fixture(scope="session")
def realistic_replays(_replays) -> dict[str, Path]:
    return {name: _replays[f"{name}-realistic"] for name in EXAMPLE_NAMES}


@pytest.fixture(scope="session")
def healthy_replay(_replays) -> Path:
    return _replays["healthy"]
