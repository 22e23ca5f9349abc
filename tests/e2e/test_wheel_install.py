"""The install section as written: a wheel built from the repository, installed into a fresh virtualenv, runs
--version, check-config and a short simulated `run` from outside the repository."""
from __future__ import annotations

import os
import signal
import site
import subprocess
import sys
import time

from tests.conftest import REPO_ROOT
from tests.e2e.test_cli import simulated_config


def test_the_built_wheel_installs_and_runs_on_its_own(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(REPO_ROOT)], check=True, capture_output=True, text=True)
    [wheel] = dist.glob("seller_sentinel-*.whl")
    venv = tmp_path / "opt" / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The dependencies come from this test run's environment (no network in tests); the package from the wheel alone.
    [packages] = list((venv / "lib").glob("python3.*/site-packages"))
    (packages / "test-dependencies.pth").write_text(site.getsitepackages()[0] + "\n", encoding="utf-8")
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, text=True)
    env = {"PATH": os.environ["PATH"]}
    program = str(venv / "bin" / "seller-sentinel")
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import daemon, alerts; print(daemon.__file__, alerts.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, check=True).stdout
    assert str(REPO_ROOT) not in where and str(packages) in where

    version = subprocess.run([program, "--version"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert version.returncode == 0 and version.stdout.strip() == "seller-sentinel 0.1.0"
    config = simulated_config(tmp_path)
    checked = subprocess.run([program, "check-config", "--config", str(config)], capture_output=True, text=True,
                             cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr

    daemon = subprocess.Popen([program, "run", "--config", str(config)], stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                              env=env)
    seen, deadline = [], time.monotonic() + 90
    try:
        for line in daemon.stderr:
            seen.append(line)
            if "poll account=" in line or time.monotonic() > deadline:
                break
    finally:
        daemon.send_signal(signal.SIGTERM)
        rest = daemon.communicate(timeout=60)[1]
    assert any("poll account=" in line for line in seen), "".join(seen) + rest
    assert daemon.returncode == 0, rest
    assert (tmp_path / "state" / "seller-sentinel.db").exists()
