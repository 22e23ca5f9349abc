"""Replays shared by the end-to-end tests (each takes tens of seconds: done once per session)."""
from __future__ import annotations

from pathlib import Path

import pytest

from daemon.replay import replay
from daemon.simulator.server import Faults
from daemon.simulator.generator import builtin_profile, write_scenario
from tests.conftest import SHARED_DIR

EXAMPLES = SHARED_DIR / "scenarios" / "examples"
EXAMPLE_NAMES = ("low_volume_claims", "stockout", "odr_creep")


@pytest.fixture(scope="session")
def example_replays(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name in EXAMPLE_NAMES:
        target = tmp_path_factory.mktemp(name)
        replay(EXAMPLES / f"{name}.jsonl", target)
        out[name] = target
    return out


@pytest.fixture(scope="session")
def realistic_replays(tmp_path_factory) -> dict[str, Path]:
    """The examples replayed against Amazon at its worst (REALITY.md): edge pages, spurious CANCELLED feedback
    reports, deferred financial events, frozen lastUpdatedTime, reports missing blocks, Pending orders."""
    out = {}
    for name in EXAMPLE_NAMES:
        target = tmp_path_factory.mktemp(f"{name}-realistic")
        replay(EXAMPLES / f"{name}.jsonl", target, faults=Faults.realistic())
        out[name] = target
    return out


@pytest.fixture(scope="session")
def healthy_replay(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("healthy")
    scenario = write_scenario(folder / "healthy.jsonl", builtin_profile("healthy"), seed=1)
    replay(scenario, folder / "out")
    return folder / "out"
