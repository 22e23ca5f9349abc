"""Storage that cannot be written (the database full, locked past the busy timeout, read-only, unreachable; a file
under the state directory on a full or read-only disk) is said once when it starts, reminded at most every few
minutes, and said once when it ends, which is when a write has gone through again: never a traceback per job, which
would flood journald on the very disk that is full."""
from __future__ import annotations

import errno
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from storage.repo import Store

from daemon.clock import Clock

logger = logging.getLogger(__name__)

# What SQLite says when the database, not the code, is the problem.
SQLITE_OUTAGES = ("database or disk is full", "database is locked", "readonly database", "disk i/o error",
                  "unable to open database file")


FULL_OR_READ_ONLY = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})


def database_problem(exc: BaseException) -> str | None:
    """One line saying why the storage cannot be used, or None when the error is something else (a bug)."""
    if isinstance(exc, OSError) and exc.errno in FULL_OR_READ_ONLY:
        return f"{exc.strerror} (writing {exc.filename})" if exc.filename else str(exc.strerror)
    if not isinstance(exc, OperationalError):
        return None
    original = exc.orig
    message = str(original).strip().splitlines()[0] if original is not None else str(exc)
    if type(original).__module__.startswith("psycopg") or any(m in message.lower() for m in SQLITE_OUTAGES):
        return message
    return None


@dataclass
class DatabaseOutage:
    """The daemon's view of its database: said on change, reminded every `remind_every` while it lasts."""

    clock: Clock
    remind_every: timedelta = timedelta(minutes=5)
    since: datetime | None = None
    reason: str = ""
    failed_jobs: int = 0
    reminded_at: datetime | None = None
    # What has failed since the outage began and has not been written since: the database, files, or both. The outage
    # ends when each has taken a write again (a job that only read proves nothing).
    unproven: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def watch(self, store: Store) -> None:
        """Hear of the store's committed writes."""
        store.on_committed_write(self.wrote)

    def wrote(self, what: str = "database") -> None:
        """A write of the database (a committed unit of work) or of files under the state directory went through."""
        with self._lock:
            self.unproven.discard(what)

    def failed(self, job: str, exc: BaseException) -> bool:
        """Take a job's failure; True when it was the database's (and so is said here, not as a traceback)."""
        problem = database_problem(exc)
        if problem is None:
            return False
        now = self.clock.now()
        self.failed_jobs += 1
        with self._lock:
            self.unproven.add("files" if isinstance(exc, OSError) else "database")
        if self.since is None:
            self.since, self.reason, self.reminded_at = now, problem, now
            logger.error("database unavailable: %s (job %s); data waits at Amazon and is read once it returns",
                         problem, job)
        elif now - self.reminded_at >= self.remind_every:
            self.reminded_at = now
            logger.error("database still unavailable since %s: %s (%d failed jobs)", self.since.isoformat(), problem,
                         self.failed_jobs)
        return True

    def succeeded(self) -> None:
        """A job finished: if the storage was out and a write has gone through since, say that it is back."""
        if self.since is None or self.unproven:
            return
        logger.warning("database available again after %s (%d failed jobs)",
                       str(self.clock.now() - self.since).split(".")[0], self.failed_jobs)
        self.since, self.reason, self.failed_jobs, self.reminded_at = None, "", 0, None


def probe_writable(engine: Engine) -> str | None:
    """Try a write that is rolled back: None when the database takes it, else why not (for `status`)."""
    try:
        with engine.connect() as connection:
            with connection.begin() as transaction:
                connection.execute(text("CREATE TABLE IF NOT EXISTS write_probe (n INTEGER)"))
                connection.execute(text("INSERT INTO write_probe (n) VALUES (1)"))
                transaction.rollback()
    except OperationalError as exc:
        return database_problem(exc) or str(exc.orig)
    return None
