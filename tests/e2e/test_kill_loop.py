"""SIGKILLs of `run` at random moments against a simulated seller whose virtual clock survives the restarts: the
final database holds exactly what an uninterrupted run's holds, every alert raised was delivered, and the ticket
channel's GitHub holds one issue per incident with a comment per later notice, none twice."""
from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon.simulator.generator import Episode, Profile, write_scenario
from tests.conftest import REPO_ROOT
from tests.e2e.test_cli import simulated_config
from tests.support import ticket_replay
from tests.support.github_fake import FakeGitHub
from tests.support.vendor_api import github_openapi

KILLS = int(os.environ.get("SELLER_SENTINEL_KILLS", "50"))
# Five monitored days after the 75 the windows need; cancellations and late shipments surge so alerts are raised.
PROFILE = Profile("killed", orders_per_day=20, days=80, monitor_from_day=75,
                  episodes=(Episode(72, 8, seller_cancel=0.06, late_ship=0.1),))
SPEED = 40_000  # virtual seconds per real second: the six simulated days take about 13 s without a kill
# What the API showed, independent of when it was polled (sighting instants such as delivered_at are not compared).
# The first start reads the history from order reports and searchOrders from 45 days back: a start killed before
# its first page begins that sweep a little later, so orders last updated in between are known from the reports
# alone. What that changes is outside every metric's window at the end; the facts are compared where both runs
# read the API (purchases from day 36, buckets from day 46), and the ODR, which the reports give whole, everywhere.
SWEPT = "'2026-02-10'"  # day 36 of the scenario: the sweep began at day 30, or a few days later after early kills
SWEPT_BUCKETS = "'2026-02-20'"  # ten days on: ship-by, ship and promise days of earlier purchases are behind it
FACTS = {
    "orders": "SELECT order_id, status, purchase_at, last_update_at, latest_ship_at, ship_confirmed_at, cancelled_at, "
              f"quantity FROM orders WHERE purchase_at >= {SWEPT}",
    "orders_from_reports": f"SELECT order_id, purchase_at, quantity FROM orders WHERE purchase_at < {SWEPT}",
    "feedback": "SELECT order_id, rating, removed_at IS NULL FROM feedback",
    "financial_events": "SELECT event_key, order_id, kind, direction, posted_at, amount FROM financial_events",
    "cancellations": "SELECT order_id, by FROM cancellations",
    "metric_buckets": "SELECT marketplace_id, metric, fulfillment, day, numerator, denominator FROM metric_buckets "
                      f"WHERE metric != 'otdr_14d' AND (numerator != 0 OR denominator != 0) "
                      f"AND (metric IN ('odr', 'odr_granted_claims') OR day >= {SWEPT_BUCKETS})",
}


def config(tmp_path: Path, name: str, scenario: Path, extra: str = "") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return simulated_config(folder, extra, scenario=str(scenario), speed=SPEED)


def ticket_channel(github: FakeGitHub) -> str:
    return f'''
[[channels]]
name = "github"
kind = "ticket"
tracker = "github"
repository = "{ticket_replay.REPOSITORY}"
url = "{github.url}"
token_env = "GITHUB_TOKEN"
'''


def start(path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "daemon.cli", "run", "--config", str(path)], cwd=REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={"PATH": os.environ["PATH"], "GITHUB_TOKEN": ticket_replay.TOKEN})


def ticket_history(database: Path) -> list[dict]:
    """The notices the daemon raised for the ticket channel, as alerts.jsonl rows with their account."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT a.account, a.marketplace_id, a.metric, a.fulfillment, a.level, a.raised_at FROM alerts a "
            "JOIN deliveries d ON d.alert_id = a.alert_id WHERE d.channel = 'github' ORDER BY a.raised_at, a.alert_id"
        ).fetchall()
    return [dict(zip(("account", "marketplace_id", "metric", "fulfillment", "level", "at"), row)) for row in rows]


def facts(database: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(database) as connection:
        return {table: sorted(connection.execute(query).fetchall()) for table, query in FACTS.items()}


@pytest.fixture
def github():
    fake = FakeGitHub(github_openapi(), ticket_replay.REPOSITORY, ticket_replay.TOKEN)
    yield fake
    fake.close()


def test_a_run_killed_again_and_again_ends_with_the_database_of_an_uninterrupted_one(tmp_path, github):
    scenario = write_scenario(tmp_path / "killed.jsonl", PROFILE, 5)
    reference = config(tmp_path, "reference", scenario)
    finished = start(reference)
    errors = finished.communicate(timeout=180)[1]
    assert finished.returncode == 0, errors[-2000:]

    killed = config(tmp_path, "killed", scenario, ticket_channel(github))
    rng = random.Random(7)
    for kill in range(KILLS):
        process = start(killed)
        time.sleep(rng.uniform(0.2, 1.6))  # a random moment: starting, backfilling, polling, delivering
        process.kill()
        errors = process.communicate()[1]
        assert process.returncode == -9, f"kill {kill}: the run ended by itself: {errors[-2000:]}"
    last = start(killed)  # goes on from the virtual time the killed ones reached, to the end
    errors = last.communicate(timeout=180)[1]
    assert last.returncode == 0, errors[-2000:]

    database = killed.parent / "state" / "seller-sentinel.db"
    assert facts(database) == facts(reference.parent / "state" / "seller-sentinel.db")
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        deliveries = connection.execute("SELECT count(*) FROM deliveries WHERE channel = 'files'").fetchone()[0]
        undelivered = connection.execute("SELECT delivery_id, status FROM deliveries WHERE status != 'sent'").fetchall()
    assert deliveries > 0 and undelivered == []
    written = list((killed.parent / "state" / "alerts").glob("*.eml"))
    assert len(written) >= deliveries  # at least once each: a kill between sending and recording sends again

    history = ticket_history(database)
    expected = ticket_replay.expected_tickets(history)
    assert history and ticket_replay.final_state(github, database) == expected
    assert len(github.issues) == sum(len(tickets) for tickets in expected.values()) and github.violations == []
