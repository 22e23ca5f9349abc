"""The replays the end-to-end tests read, made once per run in a background process that starts with the session.

They take minutes of CPU: started when the first worker begins (not when the first e2e test asks for them), they run
beside the rest of the suite instead of holding both workers at the e2e tests. Every pytest-xdist worker shares one
folder; the first to arrive starts the maker under a file lock, and each test that needs them waits for `done`.

Run as `python -m tests.support.replays FOLDER` by `start()`.
"""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from filelock import FileLock

EXAMPLE_NAMES = ("low_volume_claims", "stockout", "odr_creep")
POLL_SECONDS = 0.5


def jobs(root: Path, examples: Path) -> dict[str, tuple[Path, Path, bool]]:
    """name -> (scenario, output folder, against Amazon at its worst), longest first so two processes finish
    together: 180 days of a healthy seller, the examples plainly and against Amazon at its worst (REALITY.md: edge
    pages, spurious CANCELLED feedback reports, deferred financial events, frozen lastUpdatedTime, reports missing
    blocks, Pending orders)."""
    made = {"healthy": (root / "healthy.jsonl", root / "healthy", False)}
    for name in EXAMPLE_NAMES:
        made[name] = (examples / f"{name}.jsonl", root / name, False)
        made[f"{name}-realistic"] = (examples / f"{name}.jsonl", root / f"{name}-realistic", True)
    return made


def start(root: Path, examples: Path) -> subprocess.Popen | None:
    """Start making the replays unless a worker already has; returns the process this call started."""
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / "start.lock")):
        if (root / "started").exists():
            return None
        with (root / "maker.log").open("w") as log:  # the realistic replays log every bad answer Amazon gives
            process = subprocess.Popen([sys.executable, "-m", "tests.support.replays", str(root), str(examples)],
                                       cwd=Path(__file__).resolve().parents[2], stdout=log, stderr=subprocess.STDOUT)
        (root / "started").write_text(str(process.pid))
        return process


def wait(root: Path) -> None:
    """Block until the replays are made; raise with the maker's traceback if it failed or died."""
    pid = int((root / "started").read_text())
    while not (root / "done").exists():
        if (root / "failed").exists():
            raise RuntimeError(f"the e2e replays failed:\n{(root / 'failed').read_text()}")
        if not _alive(pid) and not (root / "done").exists():
            raise RuntimeError(f"the process making the e2e replays (pid {pid}) ended without finishing them")
        time.sleep(POLL_SECONDS)


def _alive(pid: int) -> bool:
    """Whether the process runs; a finished child its worker has not waited for yet (a zombie) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def make(root: Path, examples: Path) -> None:
    from daemon.simulator.generator import builtin_profile, write_scenario

    write_scenario(root / "healthy.jsonl", builtin_profile("healthy"), seed=1)
    # Spawned: each replay in a fresh interpreter, two at a time so both cores work when the suite leaves one free.
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = [pool.submit(_replay, *job) for job in jobs(root, examples).values()]
        for future in running:
            future.result()


def _replay(scenario: Path, out: Path, realistic: bool) -> None:
    """One replay in a worker process (the faults are made there: they hold thread events, which do not pickle).
    Each keeps its database (in out/state) for the commands that read it afterwards (todo, plan)."""
    from daemon.replay import replay
    from daemon.simulator.server import Faults

    (out / "state").mkdir(parents=True, exist_ok=True)
    replay(scenario, out, faults=Faults.realistic() if realistic else None, state_dir=out / "state")


if __name__ == "__main__":
    folder, example_folder = Path(sys.argv[1]), Path(sys.argv[2])
    os.nice(10)  # the tests running meanwhile go first; the replays take the CPU they leave
    try:
        make(folder, example_folder)
    except BaseException:
        (folder / "failed").write_text(traceback.format_exc())
        raise
    (folder / "done").touch()
