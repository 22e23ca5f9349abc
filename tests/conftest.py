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

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
START = datetime(2026, 3, 1, tzinfo=timezone.utc)


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


@pytest.fixture
def pg_store():
    """A throwaway database on the local PostgreSQL server, migrated by the daemon's own code."""
    name = f"sentinel_test_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    upgrade(engine)
    yield Store(engine)
    engine.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')
