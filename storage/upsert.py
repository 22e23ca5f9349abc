"""Dialect-aware INSERT ... ON CONFLICT, shared by SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Table) -> Any:
    """The dialect's insert construct, which knows on_conflict_*."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert(
    session: Session,
    table: Table,
    rows: Iterable[Mapping[str, Any]],
    keys: tuple[str, ...],
    update: Callable[[Any], Mapping[str, Any]] | None = None,
) -> None:
    """Insert rows; on a key conflict apply `update(excluded)` (a column -> expression map) or do nothing."""
    rows = list(rows)
    if not rows:
        return
    stmt = insert_for(session, table)
    if update is None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    else:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(update(stmt.excluded)))
    # executemany of one compiled statement: far cheaper than compiling a multi-row VALUES per batch.
    session.execute(stmt, rows)
