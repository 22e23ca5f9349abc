"""Replays shared by the end-to-end tests: made once per run in the background from the session's start
(tests/support/replays.py), read here once they are done."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED_DIR, replay_root
from tests.support import replays
from tests.support.replays import EXAMPLE_NAMES

EXAMPLES = SHARED_DIR / "scenarios" / "examples"


@pytest.fixture(scope="session")
def _replays(tmp_path_factory) -> dict[str, Path]:
    """Every replay the e2e tests read (the examples plainly and against Amazon at its worst, 180 days of a healthy
    seller); the session's start began making them, this waits until they are made."""
    root = replay_root(tmp_path_factory)
    replays.start(root, EXAMPLES)  # already started unless the session began without any test that reads them
    replays.wait(root)
    return {key: out for key, (_, out, _) in replays.jobs(root, EXAMPLES).items()}


@pytest.fixture(scope="session")
def example_replays(_replays) -> dict[str, Path]:
    return {name: _replays[name] for name in EXAMPLE_NAMES}


@pytest.fixture(scope="session")
def realistic_replays(_replays) -> dict[str, Path]:
    return {name: _replays[f"{name}-realistic"] for name in EXAMPLE_NAMES}


@pytest.fixture(scope="session")
def healthy_replay(_replays) -> Path:
    return _replays["healthy"]
