"""SQLite: one daemon per database; a second `run` on the same file refuses to start with one sentence.

SQLite: an exclusive flock on `<database>.lock`, which the kernel releases when the process dies, so the lock a
killed daemon leaves behind never blocks the next start. PostgreSQL: several daemons share one database and split
its accounts by leases (daemon/leases.py); the lock only makes daemons starting together migrate one at a time (a
session advisory lock, held until the schema is current, released by the server if the process dies).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

from daemon.errors import SentinelError

ADVISORY_KEY = 0x5E11E75E  # "seller-sentinel": the daemon's lock in a shared PostgreSQL database


class AlreadyRunning(SentinelError):
    """Another daemon holds the database."""


class DaemonLock:
    """Held from `acquire()` until `release()` or the end of the process."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._connection: Connection | None = None

    def acquire(self, engine: Engine) -> None:
        """Take the database for this process, or raise AlreadyRunning naming who has it and what to do."""
        if engine.dialect.name == "sqlite":
            database = Path(engine.url.database or "")
            self._lock_file(database.with_name(database.name + ".lock"))
        else:
            self._lock_advisory(engine)

    def _lock_file(self, path: Path) -> None:
        handle = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunning(
                f"another seller-sentinel daemon (pid {holder}) already runs on {path.with_suffix('')}; stop it first "
                "(systemctl stop seller-sentinel) or give this one another state_dir or database_url") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def _lock_advisory(self, engine: Engine) -> None:
        connection = engine.connect()
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})  # waits for a migrating peer
        connection.commit()
        self._connection = connection

    def migrated(self) -> None:
        """The schema is current: PostgreSQL peers may start; SQLite keeps its lock for the daemon's life."""
        self._release_advisory()

    def release(self) -> None:
        """Let the next daemon have the database."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self._release_advisory()

    def _release_advisory(self) -> None:
        if self._connection is not None:
            # The pool would keep the session, and its lock, alive: unlock first.
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            self._connection.close()
            self._connection = None
