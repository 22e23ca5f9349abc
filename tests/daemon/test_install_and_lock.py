"""What a seller installing and upgrading meets: --version, an online backup, one daemon per database (a killed
daemon's lock never blocks the next start), and a database of the first schema migrating with its data intact."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from datetime import datetime, timezone
from io import StringIO

import pytest
from sqlalchemy import event, text

from daemon.app import open_store
from daemon.commands import backup_database
from daemon.config import default_config
from daemon.lock import AlreadyRunning, DaemonLock
from storage.db import make_engine, sqlite_url
from storage.migrate import MIGRATIONS, newest_revision, upgrade
from tests.conftest import REPO_ROOT
from tests.e2e.test_cli import cli, simulated_config

T = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_version_names_the_installed_release():
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == "seller-sentinel 0.1.0"


def test_a_backup_taken_while_the_database_is_written_is_consistent(tmp_path):
    config = default_config(tmp_path / "state")
    (tmp_path / "state").mkdir()
    engine = make_engine(config.daemon.database_url)
    upgrade(engine)
    stop, writing = threading.Event(), threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO cursors (account, source, value, updated_at) VALUES "
                                        "(:a, 'orders', '{}', :t)"), {"a": f"acct-{n}", "t": T.isoformat()})
            n += 1
            writing.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(30)
        out = StringIO()
        assert backup_database(config, tmp_path / "backup.db", out) == 0
    finally:
        stop.set()
        writer.join()
    assert "integrity ok" in out.getvalue()
    with sqlite3.connect(tmp_path / "backup.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM cursors").fetchone()[0] > 0
    with pytest.raises(Exception, match="already exists"):
        backup_database(config, tmp_path / "backup.db", StringIO())


def _start_run(config, lines: queue.Queue) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "daemon.cli", "run", "--config", str(config)], cwd=REPO_ROOT,
                               stderr=subprocess.PIPE, text=True, env={"PATH": os.environ["PATH"]})

    def read() -> None:
        for line in iter(process.stderr.readline, ""):
            lines.put(line)
        process.stderr.close()

    threading.Thread(target=read, daemon=True).start()
    return process


def _wait_for_poll(lines: queue.Queue) -> None:
    while " poll account=sim " not in lines.get(timeout=120):
        pass


def test_a_second_daemon_on_one_database_refuses_and_a_killed_ones_lock_does_not_block(tmp_path):
    config = simulated_config(tmp_path)
    first_lines: queue.Queue = queue.Queue()
    first = _start_run(config, first_lines)
    try:
        _wait_for_poll(first_lines)
        second = cli("run", "--config", str(config), timeout=60)
        assert second.returncode == 2
        [said] = [line for line in second.stderr.splitlines() if line.startswith("seller-sentinel:")]
        assert f"another seller-sentinel daemon (pid {first.pid}) already runs on" in said
        assert "Traceback" not in second.stderr
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        third_lines: queue.Queue = queue.Queue()
        third = _start_run(config, third_lines)
        try:
            _wait_for_poll(third_lines)  # the dead daemon's lock file is there, its lock is not
            third.send_signal(signal.SIGTERM)
            assert third.wait(timeout=60) == 0
        finally:
            third.kill()
    finally:
        first.kill()


@pytest.mark.postgres
def test_daemons_sharing_postgresql_migrate_one_at_a_time(pg_store):
    first, second = DaemonLock(), DaemonLock()
    first.acquire(pg_store.engine)
    waiting = threading.Thread(target=second.acquire, args=(pg_store.engine,), daemon=True)
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive()  # the second waits while the first migrates
    first.migrated()
    waiting.join(10)
    assert not waiting.is_alive()
    second.migrated()
    first.release()
    second.release()


def test_a_database_of_the_first_schema_migrates_with_its_data_intact(tmp_path):
    engine = make_engine(sqlite_url(tmp_path / "old.db"))
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO orders (account, order_id, marketplace_id, channel, status, purchase_at, last_update_at, "
            "quantity, is_replacement, is_business, cancelled_at, contributions, first_seen_at) VALUES "
            "('main', 'A', 'ATVPDKIKX0DER', 'MFN', 'Canceled', :t, :t, 1, 0, 0, :t, :a, :t), "
            "('main', 'B', 'ATVPDKIKX0DER', 'MFN', 'Pending', :t, :t, 1, 0, 0, NULL, '[]', :t)"),
            {"t": T.isoformat(), "a": json.dumps([["cr_7d", "MFN", "2026-03-01", 1, 1], ["odr", "MFN", "2026-03-01", 0, 1]])})
        connection.execute(text("INSERT INTO shipments (account, order_id, tracking_valid, delivered_at) VALUES "
                                "('main', 'A', 1, :t)"), {"t": T.isoformat()})
        connection.execute(text("INSERT INTO quarantine (account, source, raw, error, seen_at) VALUES "
                                "('main', 'orders', '{}', 'orderId is missing', :t)"), {"t": T.isoformat()})
        connection.execute(text("INSERT INTO cursors (account, source, value, updated_at) VALUES "
                                "('main', 'orders', :v, :t)"), {"v": json.dumps({"after": "2026-03-01T00:00:00Z"}),
                                                                "t": T.isoformat()})
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
        orders = connection.execute(text("SELECT order_id, status, left_pending FROM orders ORDER BY order_id")).all()
        assert [tuple(o) for o in orders] == [("A", "Canceled", 1), ("B", "Pending", 0)]
        shipment = connection.execute(text("SELECT delivered_at, delivered_after FROM shipments")).one()
        assert shipment[0] == shipment[1] and shipment[0] is not None  # a delivery stored before counts as exact
        # The orders behind each metric come from what the stored contributions already count.
        assert [tuple(r) for r in connection.execute(text("SELECT order_id, metric, day FROM order_defects"))] == [
            ("A", "cr_7d", "2026-03-01")]
        assert connection.execute(text("SELECT error, retry_key, resolved_at FROM quarantine")).one() == (
            "orderId is missing", None, None)
        assert json.loads(connection.execute(text("SELECT value FROM cursors")).scalar()) == {
            "after": "2026-03-01T00:00:00Z"}


def test_each_revision_is_named_after_its_file_so_an_up_to_date_start_skips_alembic(tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert {Path(script.path).name.split("_", 1)[0] for script in scripts.walk_revisions()} == {
        script.revision for script in scripts.walk_revisions()}
    assert scripts.get_current_head() == newest_revision()

    database = tmp_path / "sentinel.db"
    upgrade(make_engine(sqlite_url(database)))
    start = ("import sys; from storage.db import make_engine, sqlite_url; from storage.migrate import upgrade; "
             f"upgrade(make_engine(sqlite_url({str(database)!r}))); print('alembic' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", start], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_the_lock_file_names_the_holder_and_a_fresh_lock_takes_over_after_release(tmp_path):
    engine = make_engine(sqlite_url(tmp_path / "sentinel.db"))
    lock = DaemonLock()
    lock.acquire(engine)
    assert (tmp_path / "sentinel.db.lock").read_text() == str(os.getpid())
    with pytest.raises(AlreadyRunning):
        DaemonLock().acquire(engine)
    lock.release()
    again = DaemonLock()
    again.acquire(engine)
    again.release()


def test_the_migrations_build_exactly_the_schema_the_models_describe(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    engine = make_engine(sqlite_url(tmp_path / "fresh.db"))
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_the_unit_stays_sandboxed_as_systemd_rates_it():
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(REPO_ROOT / "systemd" / "seller-sentinel.service")],
                            capture_output=True, text=True)
    overall = [line for line in result.stdout.splitlines() if "Overall exposure level" in line]
    assert overall, result.stdout[-500:] + result.stderr[-500:]
    exposure = float(overall[0].split(":")[1].split()[0])
    assert exposure <= 2.0 and " OK" in overall[0], overall[0]


def test_a_first_start_that_dies_inside_its_migrations_leaves_nothing_half_made(tmp_path):
    engine = make_engine(sqlite_url(tmp_path / "sentinel.db"))
    created = []

    def die_on_the_third_table(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("CREATE TABLE"):
            created.append(statement)
            if len(created) == 3:
                raise KeyboardInterrupt  # what a kill looks like from inside: nothing after this line runs

    event.listen(engine, "after_cursor_execute", die_on_the_third_table)
    with pytest.raises(KeyboardInterrupt):
        upgrade(engine)
    event.remove(engine, "after_cursor_execute", die_on_the_third_table)
    with engine.connect() as connection:  # the two tables created before it are gone with it
        assert connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).fetchall() == []
    upgrade(engine)  # and the next start migrates from nothing
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'orders'")).scalar() == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can leave files another user cannot open")
def test_commands_run_by_root_on_a_stopped_services_database_leave_its_files_to_their_owner(tmp_path):
    """SQLite hands the log and shared-memory files it creates as root to the database file's owner; the commands
    that open the database (status, todo, silence) create nothing else beside it."""
    from daemon.cli import main

    state = tmp_path / "state"
    config = default_config(state)
    open_store(config.daemon.database_url).engine.dispose()  # the stopped service's database, no side files
    service_uid, service_gid = 61234, 61234
    for path in (state, *state.iterdir()):
        os.chown(path, service_uid, service_gid)
    assert main(["status", "--state-dir", str(state)]) == 0
    assert main(["todo", "--state-dir", str(state)]) == 0
    owners = {path.name: path.stat().st_uid for path in state.iterdir()}
    assert {"seller-sentinel.db", "seller-sentinel.db-shm"} <= set(owners) and set(owners.values()) == {service_uid}
