"""Failures stay where they happen, in the daemon's own composition (`Daemon.poll` under the scheduler's guard): one
account's refused credentials and one feed's bug stop no other feed or account, health names them, and the
scheduler's jobs survive a job that fails every time."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select

from daemon.app import build
from daemon.clock import ManualClock
from daemon.config import load_config
from daemon.dbhealth import DatabaseOutage
from daemon.scheduler import Job, guarded, run_jobs
from daemon.service import Daemon
from daemon.simulator.server import Faults, SimulatorServer
from daemon.sources.records import Batch, Cursor
from storage import models as m
from tests.daemon.scenarios import small_account

SCENARIO = small_account()
ACCOUNTS = ("alpha", "bravo", "charlie")


class BrokenFeed:
    """A feed with a bug: it raises what no source is meant to raise."""

    name = "finances"

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        raise KeyError("PostedDate")
        yield  # pragma: no cover  (a generator, like every feed)


def three_accounts(tmp_path):
    accounts = "".join(f'''
[[accounts]]
name = "{name}"
seller_id = "A2{name.upper()}"
marketplaces = ["ATVPDKIKX0DER"]
lwa_client_id_env = "ID"
lwa_client_secret_env = "SECRET"
refresh_token_env = "TOKEN_{name.upper()}"
''' for name in ACCOUNTS)
    path = tmp_path / "config.toml"
    path.write_text(f'[daemon]\nstate_dir = "state"\n\n[alerts]\npoll_failure_minutes = 30\n{accounts}\n'
                    '[[channels]]\nname = "files"\nkind = "file"\n', encoding="utf-8")
    environ = {"ID": "amzn1.application-oa2-client.x", "SECRET": "s"} | {
        f"TOKEN_{name.upper()}": f"Atzr|{name}-token" for name in ACCOUNTS}
    return load_config(path, environ)


def health(app, account):
    with app.store.sessions() as session:
        return {row.source: row for row in session.scalars(select(m.FeedHealth).where(m.FeedHealth.account == account))}


def orders(app, account):
    with app.store.sessions() as session:
        return len(session.scalars(select(m.Order.order_id).where(m.Order.account == account)).all())


def test_refused_credentials_on_one_account_and_a_bug_in_one_feed_stop_nothing_else(tmp_path, caplog):
    config = three_accounts(tmp_path)
    clock = ManualClock(SCENARIO.end + timedelta(minutes=3))
    faults = Faults(refused_refresh_tokens=frozenset({"Atzr|bravo-token"}))
    with SimulatorServer(SCENARIO, clock, faults=faults) as server:
        app = build(config, clock, api_url=server.url)
        app.account("alpha").sources["finances"] = BrokenFeed()
        daemon = Daemon(config, app, clock.now())
        outage = DatabaseOutage(clock)
        with caplog.at_level(logging.WARNING):
            for account in app.accounts:
                guarded(Job(f"poll:{account.name}", 900, lambda a=account: daemon.poll(a)), outage)()
            clock.advance(minutes=45)
            guarded(Job("watch", 60, daemon.watch), outage)()
    alpha, bravo, charlie = (health(app, name) for name in ACCOUNTS)
    # alpha: its broken feed is named with the bug; every other feed of alpha went on.
    assert alpha["finances"].failing_since is not None
    assert alpha["finances"].last_error == "unexpected KeyError: 'PostedDate'"
    assert all(alpha[f].failing_since is None for f in ("orders", "deliveries", "feedback", "performance"))
    assert orders(app, "alpha") == orders(app, "charlie") > 0
    # bravo: refused, every feed that asked Amazon says so (deliveries had nothing to look up), nothing stored.
    refused = {feed for feed, row in bravo.items() if row.credentials_refused}
    assert refused == {"orders", "order_history", "finances", "feedback", "performance"} and orders(app, "bravo") == 0
    # charlie: untouched.
    assert all(row.failing_since is None for row in charlie.values()) and set(charlie) == set(alpha)
    assert "poll failed unexpectedly account=alpha source=finances" in caplog.text
    with app.store.sessions() as session:
        raised = {(a.account, a.metric) for a in session.scalars(select(m.AlertRecord))}
    assert ("alpha", "feed_failing:finances") in raised and ("bravo", "credentials") in raised
    assert not {metric for account, metric in raised if account == "charlie" and metric.startswith(("feed", "cred"))}


def test_the_scheduler_keeps_every_job_running_when_one_fails_every_time(caplog):
    ran = {"good": 0, "bad": 0}
    stop = threading.Event()

    def bad() -> None:
        ran["bad"] += 1
        raise RuntimeError("a bug")

    def good() -> None:
        ran["good"] += 1
        if ran["good"] >= 3 and ran["bad"] >= 3:
            stop.set()

    timer = threading.Timer(20, stop.set)  # a deadline, not a wait: the jobs stop it as soon as both ran thrice
    timer.start()
    with caplog.at_level(logging.ERROR):
        run_jobs([Job("bad", 0.05, bad), Job("good", 0.05, good)], stop, DatabaseOutage(ManualClock(datetime.now().astimezone())))
    timer.cancel()
    assert ran["bad"] >= 3 and ran["good"] >= 3
    assert caplog.text.count("job failed job=bad") == ran["bad"] and "RuntimeError: a bug" in caplog.text
