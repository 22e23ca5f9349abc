"""Three daemons on one PostgreSQL database share 30 accounts; one is SIGKILLed and the others take its accounts
within one lease period; every notification arrives once, and each account's digest is sent once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from daemon.clock import SystemClock
from daemon.simulator.agency import account_environment, agency_scenarios, write_account_files
from daemon.simulator.server import Faults, SimulatorHub
from tests.conftest import REPO_ROOT
from tests.support.receivers import HttpReceiver

ACCOUNTS = 30
LEASE_SECONDS = 6
pytestmark = pytest.mark.postgres


def _config(directory: Path, database_url: str, receiver_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(f'''accounts_dir = "../accounts.d"

[daemon]
state_dir = "state"
database_url = "{database_url}"
poll_interval_minutes = 0.1
deliver_interval_seconds = 0.5
lease_seconds = {LEASE_SECONDS}
poll_workers = 4

[http]
enabled = false

[digests]
daily_at = "00:00"
weekly = false

[[channels]]
name = "tickets"
kind = "webhook"
url = "{receiver_url}"
signing_secret_env = "TEST_WEBHOOK_SECRET"
min_level = "warning"

[[channels]]
name = "files"
kind = "file"
directory = "../alerts"
digests = true
''', encoding="utf-8")
    return path


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {seconds} s"
        time.sleep(0.25)


def test_three_daemons_share_the_accounts_and_survive_one_killed(pg_store, tmp_path):
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    scenarios = agency_scenarios(ACCOUNTS, today)
    hub = SimulatorHub(scenarios, SystemClock(), faults={name: Faults(report_seconds=1) for name in scenarios}).start()
    receiver = HttpReceiver()
    engine = pg_store.engine
    url = engine.url.render_as_string(hide_password=False)
    write_account_files(tmp_path / "accounts.d", {name: hub.url_of(name) for name in scenarios})
    env = {"PATH": os.environ["PATH"], "TEST_WEBHOOK_SECRET": "whsec_test", **account_environment(list(scenarios))}
    logs = [(tmp_path / f"daemon{n}.log").open("w") for n in range(3)]
    processes = [subprocess.Popen([sys.executable, "-m", "daemon.cli", "run", "--config",
                                   str(_config(tmp_path / f"daemon{n}", url, receiver.url))],
                                  cwd=REPO_ROOT, env=env, stderr=logs[n])
                 for n in range(3)]

    def query(sql: str):
        with engine.connect() as connection:
            return connection.execute(text(sql)).all()

    def holders() -> dict[str, str]:
        return dict(query("SELECT account, holder FROM account_leases WHERE expires_at > now() AT TIME ZONE 'UTC'"))

    def polled_since(since: datetime) -> set[str]:
        rows = query(f"SELECT account FROM feed_health WHERE source = 'orders' AND last_success_at > '{since:%Y-%m-%d %H:%M:%S.%f}'")
        return {account for (account,) in rows}

    def settled() -> bool:
        pending = query("SELECT count(*) FROM deliveries WHERE status <> 'sent'")[0][0]
        sent = query("SELECT count(*) FROM deliveries")[0][0]
        return pending == 0 and sent > 0

    try:
        started = datetime.now(timezone.utc)
        _wait(lambda: len(polled_since(started)) == ACCOUNTS, 180, "every account polled")
        _wait(lambda: sorted(Counter(holders().values()).values()) == [10, 10, 10], 60, "an even split")
        _wait(settled, 60, "the outbox drained")
        victim_holder = holders()["shop000"]
        victim = next(p for p in processes if f":{p.pid}:" in victim_holder)
        orphans = {account for account, holder in holders().items() if holder == victim_holder}
        killed_at = datetime.now(timezone.utc)
        killed = time.monotonic()
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        _wait(lambda: orphans <= polled_since(killed_at), 3 * LEASE_SECONDS, "the orphans polled again")
        taken_over = time.monotonic() - killed
        assert taken_over <= LEASE_SECONDS + 2, f"orphans polled again only after {taken_over:.1f} s"
        assert victim_holder not in holders().values()
        _wait(settled, 60, "the outbox drained after the kill")
        for process in processes:
            if process is not victim:
                process.send_signal(signal.SIGTERM)
                assert process.wait(60) == 0
    finally:
        for process in processes:
            process.kill()
            process.wait(10)
        for log in logs:
            log.close()
        hub.stop()
        receiver.close()

    deliveries = query("SELECT delivery_id, channel, status FROM deliveries")
    assert {status for _, _, status in deliveries} == {"sent"}
    webhook_ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert sorted(webhook_ids) == sorted(d for d, channel, _ in deliveries if channel == "tickets")  # each once
    alert_lines = [json.loads(line) for line in (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert Counter(line["delivery_id"] for line in alert_lines).most_common(1)[0][1] == 1
    digests = [line for line in alert_lines if "/digest/" in line["alert_id"]]
    assert sorted(line["account"] for line in digests) == sorted(scenarios)  # one daily digest per account
    assert len(alert_lines) > len(digests) and webhook_ids  # and the alerts themselves
