"""Account leases on PostgreSQL: daemons split the accounts, a dead one's accounts move, a stopping one's at once."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from daemon.leases import AccountLeases

ACCOUNTS = [f"shop{i:02d}" for i in range(10)]
PERIOD = timedelta(seconds=1.5)

pytestmark = pytest.mark.postgres


def test_two_daemons_split_the_accounts_and_never_hold_one_together(pg_store):
    a, b = AccountLeases(pg_store, ACCOUNTS, PERIOD, "a"), AccountLeases(pg_store, ACCOUNTS, PERIOD, "b")
    assert a.refresh() == set(ACCOUNTS)  # alone: everything
    assert b.refresh() == set()  # nothing is free yet
    assert len(a.refresh()) == 5  # a sees two daemons and hands back its excess...
    assert len(b.refresh()) == 5  # ...which b claims
    assert a.refresh().isdisjoint(b.refresh())
    assert all(a.holds(n) != b.holds(n) for n in ACCOUNTS)


def test_a_dead_daemons_accounts_move_within_one_period_and_a_stopping_ones_at_once(pg_store):
    a, b = AccountLeases(pg_store, ACCOUNTS, PERIOD, "a"), AccountLeases(pg_store, ACCOUNTS, PERIOD, "b")
    a.refresh(), b.refresh(), a.refresh(), b.refresh()
    held_by_a = {n for n in ACCOUNTS if a.holds(n)}
    assert len(held_by_a) == 5
    died = time.monotonic()  # a stops renewing; b refreshes every third of the period, as the daemon does
    while not held_by_a <= b.refresh():
        assert time.monotonic() - died <= PERIOD.total_seconds(), "not taken over within one lease period"
        time.sleep(PERIOD.total_seconds() / 3)
    assert b.refresh() == set(ACCOUNTS)
    b.release()
    c = AccountLeases(pg_store, ACCOUNTS, PERIOD, "c")
    assert c.refresh() == set(ACCOUNTS)  # at once, not a period later
