"""A warning is said again only when its figures have stayed worse than the last notice for the configured hold,
through notify() on a real SQLite store with the daemon's default policy."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from alerts.model import AlertKey, Level
from daemon.app import open_store, policy_of
from daemon.config import default_config
from daemon.notify import Finding, notify
from storage.db import sqlite_url

T = datetime(2026, 3, 1, tzinfo=timezone.utc)
KEY = AlertKey("main", "ATVPDKIKX0DER", "odr", "MFN")


def warning(chance: float) -> Finding:
    return Finding(KEY, "metric", Level.WARNING, "ODR is near its limit",
                   dict(value=0.008, limit=0.01, direction="upper", defects_to_breach=4, breach_probability=chance,
                        breach_probability_days=14, seller_id="A2MAIN"))


def test_a_chance_that_jumps_for_a_day_is_quiet_and_one_that_stays_up_is_said_with_what_moved(tmp_path):
    store = open_store(sqlite_url(tmp_path / "sentinel.db"))
    policy = policy_of(default_config(Path("unused")).alerts)
    sent = []
    for day, chance in enumerate([0.2, 0.4, 0.2, 0.4, 0.45, 0.45]):
        with store.transaction() as session:
            alert = notify(session, warning(chance), T + day * timedelta(days=1), policy, ())
        sent.append((day, alert.reason.value, alert.explanation) if alert else None)
    assert [s for s in sent if s] == [
        (0, "first", ()),
        (4, "worse", ("Worse since the last notice: the chance of a breach rose from 20% to 45%.",)),
    ]
