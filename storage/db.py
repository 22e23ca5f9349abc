"""Engine and sessionmaker, SQLite pragmas, and the UTC datetime column type. No queries."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            # SQLAlchemy's SQLite storage format ("2026-07-01 00:00:00.000000"), made by isoformat in C: a backfill
            # binds millions of these, and the generic path formats each in Python twice.
            naive = self.process_bind_param(value, dialect)
            return None if naive is None else naive.isoformat(" ", "microseconds")

        return to_text

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


WRITES = "seller_sentinel_writes"  # execution option: this transaction will write


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def make_engine(url: str, busy_timeout_seconds: float = 30.0) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # The driver's own transaction handling commits before DDL, so a migration killed half-way would leave
            # half a schema behind; SQLAlchemy's recipe: the driver does nothing, and every transaction BEGINs below.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # A unit of work takes the write lock at its start: a read transaction that later writes cannot wait for
            # the lock (SQLite answers "database is locked" at once), one that starts as a writer waits its turn.
            writes = connection.get_execution_options().get(WRITES, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine, writes: bool = False) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (values are read after the unit of work); `writes`: sessions of
    units of work that write, which on SQLite take the write lock when they begin."""
    return sessionmaker(engine.execution_options(**{WRITES: True}) if writes else engine, expire_on_commit=False)
