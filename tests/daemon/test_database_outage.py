"""A database that cannot be written is said once, reminded every few minutes, said once when it ends, and the
daemon resumes by itself: a real tmpfs under the state directory, filled up and then freed; a file another process
holds locked past the busy timeout."""
from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from daemon.app import build, open_store
from daemon.clock import ManualClock
from daemon.config import default_config
from daemon.dbhealth import DatabaseOutage, database_problem, probe_writable
from daemon.healthz import health_problems
from daemon.scheduler import Job, guarded
from daemon.service import Daemon
from daemon.simulator.clockfile import remember
from daemon.simulator.server import SimulatorServer
from storage.repo import set_cursor
from tests.daemon.scenarios import small_account

SCENARIO = small_account(days=40, orders_per_day=40)


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs (room for the account's database and its write-ahead log); it needs root, as CI runs."""
    mount_point = tmp_path / "state"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Write until the file system is full; returns the filler to delete."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (65536, 4096, 512, 1):  # down to the last byte: no page of the database may still fit
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                continue
    return filler


def test_a_full_disk_is_said_once_reminded_every_five_minutes_and_the_daemon_resumes_when_space_returns(
        small_disk, caplog):
    clock = ManualClock(SCENARIO.monitor_from + timedelta(minutes=3))
    config = default_config(small_disk)
    with SimulatorServer(SCENARIO, clock) as server:
        app = build(config, clock, api_url=server.url)
        daemon = Daemon(config, app, clock.now())
        account = app.accounts[0]
        outage = DatabaseOutage(clock)
        outage.watch(app.store)
        tick = guarded(Job("poll:sim", 900, lambda: daemon.poll(account)), outage)
        tick()  # the backfill, on a disk with room
        assert outage.since is None
        with app.store.engine.connect() as connection:  # an empty write-ahead log: the next write must grow a file
            assert connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy
        filler = fill(small_disk)
        with caplog.at_level(logging.INFO):
            for _ in range(30):  # half an hour of jobs every minute on a full disk
                clock.advance(minutes=1)
                tick()
            failing = caplog.text
            assert outage.since is not None and "database or disk is full" in outage.reason
            lasted, failed_jobs = clock.now() - outage.since, outage.failed_jobs
            filler.unlink()
            clock.advance(minutes=15)
            tick()
    lines = [r.getMessage() for r in caplog.records if r.name == "daemon.dbhealth"]
    assert sum(line.startswith("database unavailable: database or disk is full") for line in lines) == 1
    # Every job failed (each poll also waits for its usage plan), yet one line said it started, then a reminder
    # at most every five minutes of the outage, never a line per failure.
    reminders = [line for line in lines if line.startswith("database still unavailable")]
    assert failed_jobs == 30 and 1 <= len(reminders) <= lasted / timedelta(minutes=5) < failed_jobs
    assert reminders[-1].endswith(f"({failed_jobs} failed jobs)")
    assert [line for line in lines if line.startswith("database available again")] == [lines[-1]]
    assert "Traceback" not in failing and "job failed" not in failing
    assert outage.since is None
    database = small_disk / "seller-sentinel.db"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Everything Amazon showed while the disk was full was read once it had room again.
        cursor = connection.execute("SELECT value FROM cursors WHERE source = 'orders'").fetchone()[0]
    assert (clock.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H") in cursor


def test_a_full_disk_met_by_a_file_write_is_the_same_outage_and_a_job_that_only_reads_does_not_end_it(
        small_disk, caplog):
    """The simulated seller's clock file is written every half second: on a full disk that is the outage said once,
    not a traceback each time; it ends once both the database and the files have been written again, not when a job
    that only reads succeeds."""
    clock = ManualClock(SCENARIO.monitor_from)
    store = open_store(default_config(small_disk).daemon.database_url)
    outage = DatabaseOutage(clock)
    outage.watch(store)

    def read_only() -> None:
        with store.sessions() as session:
            session.execute(text("SELECT count(*) FROM orders")).one()

    def write() -> None:
        with store.transaction() as session:
            set_cursor(session, "sim", "orders", {"after": clock.now().isoformat()}, clock.now())

    jobs = [guarded(Job("simulator-clock", 0.5, lambda: remember(small_disk, SCENARIO, clock.now()), writes_files=True),
                    outage),
            guarded(Job("read", 60, read_only), outage), guarded(Job("poll", 60, write), outage)]
    filler = fill(small_disk)
    with caplog.at_level(logging.INFO):
        for _ in range(120):  # a minute of the jobs
            clock.advance(seconds=0.5)
            for job in jobs:
                job()
            assert outage.since is not None  # a write the database took in its log's free pages is not the files
        filler.unlink()
        jobs[1]()
        assert outage.since is not None  # a read proves nothing
        jobs[2]()
        assert outage.since is not None  # nor does the database alone: the clock file failed too
        jobs[0]()
    lines = [r.getMessage() for r in caplog.records if r.name == "daemon.dbhealth"]
    assert lines[0].startswith("database unavailable: No space left on device")
    assert lines[-1].startswith("database available again") and len(lines) <= 3
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
    assert outage.since is None


def test_a_bug_is_not_mistaken_for_an_outage():
    engine = create_engine("sqlite://")
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert database_problem(raised.value) is None
    assert database_problem(KeyError("x")) is None


def test_status_probe_says_a_read_only_database_cannot_be_written(tmp_path):
    path = tmp_path / "read-only.db"
    sqlite3.connect(path).close()
    assert probe_writable(create_engine(f"sqlite:///{path}")) is None
    problem = probe_writable(create_engine(f"sqlite:///file:{path}?mode=ro&uri=true"))
    assert problem == "attempt to write a readonly database"


def test_a_database_locked_by_another_process_past_the_busy_timeout_is_an_outage_that_ends_by_itself(tmp_path, caplog):
    clock = ManualClock(SCENARIO.monitor_from + timedelta(minutes=3))
    base = default_config(tmp_path / "state")
    config = replace(base, daemon=replace(base.daemon, busy_timeout_seconds=0.2))  # 30 s by default
    database = tmp_path / "state" / "seller-sentinel.db"
    with SimulatorServer(SCENARIO, clock) as server:
        app = build(config, clock, api_url=server.url)
        daemon = Daemon(config, app, clock.now())
        outage = DatabaseOutage(clock)
        outage.watch(app.store)
        tick = guarded(Job("poll:sim", 900, lambda: daemon.poll(app.accounts[0])), outage)
        tick()  # the backfill
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
             "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()", str(database)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            with caplog.at_level(logging.INFO):
                for _ in range(10):  # ten minutes of jobs against a file another process holds
                    clock.advance(minutes=1)
                    tick()
                assert outage.since is not None and "locked" in outage.reason
                with app.store.sessions() as session:
                    assert health_problems(session, config, clock.now(), daemon.started_at, outage)[0].startswith(
                        "database unavailable since")
        finally:
            holder.communicate("")  # the other process ends and lets go
        clock.advance(minutes=15)
        tick()
    lines = [r.getMessage() for r in caplog.records if r.name == "daemon.dbhealth"]
    assert sum(line.startswith("database unavailable: database is locked") for line in lines) == 1
    assert lines[-1].startswith("database available again") and "Traceback" not in caplog.text
    assert outage.since is None
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        cursor = connection.execute("SELECT value FROM cursors WHERE source = 'orders'").fetchone()[0]
    assert (clock.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H") in cursor  # read up to now once free
