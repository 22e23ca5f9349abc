"""Three daemons on one PostgreSQL database with 30 simulated accounts; one is SIGKILLed: seconds until its accounts
are polled again. `python -m bench.failover` (needs the PostgreSQL server of SELLER_SENTINEL_POSTGRES, default
127.0.0.1:5432, user postgres, trust auth). The e2e test tests/e2e/test_postgres_daemons.py runs the same cluster.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import psycopg
from sqlalchemy import Engine, create_engine, text

from daemon.clock import SystemClock
from daemon.simulator.agency import account_environment, agency_scenarios, write_account_files
from daemon.simulator.server import Faults, SimulatorHub
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
LEASE_SECONDS = 10
ADDRESS = os.environ.get("SELLER_SENTINEL_POSTGRES", "127.0.0.1:5432")


def daemon_config(directory: Path, database_url: str, channels: str) -> Path:
    """One daemon of the cluster: the shared accounts directory and database, fast polls, short leases."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(f'''accounts_dir = "../accounts.d"

[daemon]
state_dir = "state"
database_url = "{database_url}"
poll_interval_minutes = 0.5
deliver_interval_seconds = 0.5
lease_seconds = {LEASE_SECONDS}

[http]
enabled = false

[digests]
daily_at = "00:00"
weekly = false
{channels}''', encoding="utf-8")
    return path


def wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {seconds} s")
        time.sleep(0.25)


class Cluster:
    """A hub of `accounts` sellers and three `run` processes on one database; `query` reads that database."""

    def __init__(self, engine: Engine, directory: Path, channels: str, accounts: int = 30, daemons: int = 3) -> None:
        today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        self.scenarios = agency_scenarios(accounts, today)
        self.engine, self.directory = engine, directory
        self.hub = SimulatorHub(self.scenarios, SystemClock(),
                                faults={name: Faults(report_seconds=1) for name in self.scenarios}).start()
        url = engine.url.render_as_string(hide_password=False)
        write_account_files(directory / "accounts.d", {name: self.hub.url_of(name) for name in self.scenarios})
        env = {"PATH": os.environ["PATH"], "TEST_WEBHOOK_SECRET": "whsec_test", **account_environment(list(self.scenarios))}
        self.logs = [(directory / f"daemon{n}.log").open("w") for n in range(daemons)]
        self.processes = [subprocess.Popen(
            [sys.executable, "-m", "daemon.cli", "run", "--config",
             str(daemon_config(directory / f"daemon{n}", url, channels))], cwd=ROOT, env=env, stderr=self.logs[n])
            for n in range(daemons)]

    def query(self, sql: str) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql)).all())

    def holders(self) -> dict[str, str]:
        return dict(self.query("SELECT account, holder FROM account_leases "
                               "WHERE expires_at > now() AT TIME ZONE 'UTC'"))

    def polled_since(self, since: datetime) -> set[str]:
        rows = self.query("SELECT account FROM feed_health WHERE source = 'orders' "
                          f"AND last_success_at > '{since:%Y-%m-%d %H:%M:%S.%f}'")
        return {account for (account,) in rows}

    def outbox_drained(self) -> bool:
        (waiting,), (total,) = self.query("SELECT count(*) FROM deliveries WHERE status <> 'sent'")[0], \
            self.query("SELECT count(*) FROM deliveries")[0]
        return waiting == 0 and total > 0

    def settle(self, started: datetime) -> None:
        """Every account polled, an even split, the first alerts delivered."""
        count, daemons = len(self.scenarios), len(self.processes)
        wait_for(lambda: len(self.polled_since(started)) == count, 180, "every account polled")
        even = sorted([count // daemons] * daemons)
        wait_for(lambda: sorted(Counter(self.holders().values()).values()) == even, 60, "an even split")
        wait_for(self.outbox_drained, 60, "the outbox drained")

    def kill_one(self) -> tuple[float, set[str], str]:
        """SIGKILL the holder of the first account: (seconds until all its accounts were polled again, them, it)."""
        holders = self.holders()
        victim_holder = holders[min(holders)]
        victim = next(p for p in self.processes if f":{p.pid}:" in victim_holder)
        orphans = {account for account, holder in holders.items() if holder == victim_holder}
        killed_at, killed = datetime.now(timezone.utc), time.monotonic()
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        wait_for(lambda: orphans <= self.polled_since(killed_at), 5 * LEASE_SECONDS, "the orphans polled again")
        return time.monotonic() - killed, orphans, victim_holder

    def stop(self) -> list[int]:
        """SIGTERM the living daemons; their exit codes."""
        codes = []
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                codes.append(process.wait(60))
        return codes

    def close(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(10)
        for log in self.logs:
            log.close()
        self.hub.stop()


@contextmanager
def scratch_database() -> Iterator[Engine]:
    """A throwaway database on the PostgreSQL server, migrated by the daemon's own code."""
    name = f"sentinel_bench_{uuid.uuid4().hex[:8]}"
    admin = f"postgresql://postgres@{ADDRESS}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(f"postgresql+psycopg://postgres@{ADDRESS}/{name}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def run() -> dict:
    with scratch_database() as engine, tempfile.TemporaryDirectory() as tmp:
        channels = '[[channels]]\nname = "files"\nkind = "file"\ndirectory = "../alerts"\ndigests = true\n'
        cluster = Cluster(engine, Path(tmp), channels)
        try:
            cluster.settle(datetime.now(timezone.utc))
            seconds, orphans, _ = cluster.kill_one()
            wait_for(cluster.outbox_drained, 60, "the outbox drained after the kill")
            codes = cluster.stop()
            sent = cluster.query("SELECT count(*) FROM deliveries WHERE status = 'sent'")[0][0]
            lines = (Path(tmp) / "alerts" / "alerts.jsonl").read_text().splitlines()
        finally:
            cluster.close()
    return {"accounts": 30, "lease_seconds": LEASE_SECONDS, "orphans": len(orphans), "repolled_after_s": seconds,
            "deliveries_sent": sent, "delivered_lines": len(lines), "exit_codes": codes}


if __name__ == "__main__":
    print(run())
