"""Fixtures shared by every test folder: a virtual clock, a real SQLite database, a clean environment."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from daemon.clock import ManualClock
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store
from tests.support import replays

REPO_ROOT = Path(__file__).resolve().parents[1]
# Where the PostgreSQL tests find a server (trust auth, user postgres); CI sets SELLER_SENTINEL_REQUIRE_POSTGRES=1.
POSTGRES_ADDRESS = os.environ.get("SELLER_SENTINEL_POSTGRES", "127.0.0.1:5432")
POSTGRES_REQUIRED = os.environ.get("SELLER_SENTINEL_REQUIRE_POSTGRES") == "1"
POSTGRES_ADMIN_URL = f"postgresql://postgres@{POSTGRES_ADDRESS}/postgres"
_postgres_problem: list[str | None] = []
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def replay_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the e2e replays, one for the whole run: under pytest-xdist the run's shared temporary folder."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "replays"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that read the e2e replays run last, when the replays begun with the session are most likely done."""
    items.sort(key=lambda item: "_replays" in item.fixturenames)  # stable: the order is otherwise kept


@pytest.fixture(scope="session", autouse=True)
def _replays_begun_with_the_session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Start the e2e replays as soon as a worker begins, when the run holds a test that reads them, so they use the
    CPU the rest of the suite leaves (tests/support/replays.py)."""
    if not any("_replays" in item.fixturenames for item in request.session.items):
        yield
        return
    process = replays.start(replay_root(tmp_path_factory), SHARED_DIR / "scenarios" / "examples")
    yield
    if process is not None:
        try:
            process.wait()  # the other worker may still be waiting for them: not stopped half-way
        except KeyboardInterrupt:
            process.terminate()
            raise


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(sqlite_url(tmp_path / "sentinel.db"))
    upgrade(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SP-API library reads credentials and marketplaces from the environment: tests start without any."""
    for name in list(os.environ):
        if name.startswith(("SP_API_", "LWA_", "AWS_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)


def postgres_problem() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None; asked once per session."""
    if not _postgres_problem:
        try:
            with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
                _postgres_problem.append(None)
        except psycopg.OperationalError as exc:
            _postgres_problem.append(f"no PostgreSQL answers on {POSTGRES_ADDRESS} ({str(exc).strip().splitlines()[0]})")
    return _postgres_problem[0]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line, even under -q, when the PostgreSQL tests could not run."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "PostgreSQL" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"PostgreSQL tests skipped ({len(skipped)}): {postgres_problem()}; start PostgreSQL there "
            "(user postgres, trust auth) or set SELLER_SENTINEL_POSTGRES=host:port to run them")


@pytest.fixture
def pg_store():
    """A throwaway database on the local PostgreSQL server, migrated by the daemon's own code."""
    problem = postgres_problem()
    if problem is not None:
        if POSTGRES_REQUIRED:
            pytest.fail(f"PostgreSQL tests are required here but {problem}")
        pytest.skip(f"{problem}; start PostgreSQL there to run this test")
    name = f"sentinel_test_{uuid.uuid4().hex[:8]}"
    admin = POSTGRES_ADMIN_URL
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"postgresql+psycopg://postgres@{POSTGRES_ADDRESS}/{name}")
    upgrade(engine)
    yield Store(engine)
    engine.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')
