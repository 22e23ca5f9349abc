"""Which accounts this daemon polls.

SQLite: every account; one daemon per database, by its lock (daemon/lock.py).
PostgreSQL: several daemons share the database and split the accounts by leases. Each daemon heartbeats a row in
`lease_holders`, renews the leases it holds and claims its fair share (accounts / live daemons) of the unheld or
expired ones with `FOR UPDATE SKIP LOCKED`, so two daemons never claim one account. A daemon that dies stops
renewing. Renewals come every third of the lease period and a lease runs two thirds ahead, so it outlives one missed
renewal, expires at most two thirds of a period after its holder died, and the others (refreshing every third)
have taken it within one period. A daemon that stops cleanly lets its leases go at once. Times are the database's,
so daemons on several hosts agree.
"""
from __future__ import annotations

import logging
import math
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, text, update

from sqlalchemy.orm import Session

from storage import models as m
from storage.repo import Store
from storage.upsert import upsert

logger = logging.getLogger(__name__)


def holder_name() -> str:
    """This process, recognisable in the table: host, pid and a nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AllAccounts:
    """SQLite: the one daemon polls every account."""

    def __init__(self, accounts: list[str]) -> None:
        self.accounts = list(accounts)

    def refresh(self) -> set[str]:
        return set(self.accounts)

    def holds(self, account: str) -> bool:
        return True

    def release(self) -> None:
        return None


class AccountLeases:
    """Leases on a shared PostgreSQL database; `refresh()` runs every third of `period`."""

    def __init__(self, store: Store, accounts: list[str], period: timedelta, holder: str | None = None) -> None:
        self.store, self.accounts, self.period = store, sorted(accounts), period
        self.holder = holder or holder_name()
        self._held: frozenset[str] = frozenset()

    def holds(self, account: str) -> bool:
        return account in self._held

    def refresh(self) -> set[str]:
        """Heartbeat, renew what this daemon holds, claim its fair share of the rest, give back any excess."""
        a, h = m.AccountLease, m.LeaseHolder
        with self.store.transaction() as session:
            now = _database_now(session)
            until = now + self.period * 2 / 3
            upsert(session, h.__table__, [{"holder": self.holder, "expires_at": until}], ("holder",),
                   lambda ex: {"expires_at": ex.expires_at})
            upsert(session, a.__table__, [{"account": name, "holder": None, "expires_at": now - self.period}
                                          for name in self.accounts], ("account",))
            live = session.scalar(select(func.count()).select_from(h).where(h.expires_at > now)) or 1
            mine = set(session.scalars(update(a).where(a.holder == self.holder, a.account.in_(self.accounts))
                                       .values(expires_at=until).returning(a.account)))
            fair = math.ceil(len(self.accounts) / live)
            if len(mine) < fair:
                free = session.scalars(
                    select(a.account).where(a.account.in_(self.accounts), a.expires_at <= now)
                    .order_by(a.account).limit(fair - len(mine)).with_for_update(skip_locked=True)).all()
                if free:
                    session.execute(update(a).where(a.account.in_(free)).values(holder=self.holder, expires_at=until))
                    mine |= set(free)
            elif len(mine) > fair:  # another daemon joined: hand back the excess for it to claim
                excess = sorted(mine)[fair:]
                session.execute(update(a).where(a.account.in_(excess)).values(holder=None, expires_at=now))
                mine -= set(excess)
            session.execute(delete(h).where(h.expires_at <= now - self.period))  # daemons long gone
        gained, lost = mine - self._held, self._held - mine
        if gained or lost:
            logger.info("leases holder=%s held=%d gained=%s lost=%s", self.holder, len(mine),
                        ",".join(sorted(gained)) or "-", ",".join(sorted(lost)) or "-")
        self._held = frozenset(mine)
        return set(mine)

    def release(self) -> None:
        """A clean stop: the accounts go to the other daemons at their next refresh, not a period later."""
        a, h = m.AccountLease, m.LeaseHolder
        with self.store.transaction() as session:
            now = _database_now(session)
            session.execute(update(a).where(a.holder == self.holder).values(holder=None, expires_at=now))
            session.execute(update(h).where(h.holder == self.holder).values(expires_at=now))
        self._held = frozenset()


def _database_now(session: Session) -> datetime:
    """PostgreSQL's own clock: the one every daemon sharing the database reads."""
    return session.scalar(text("SELECT clock_timestamp() AT TIME ZONE 'UTC'")).replace(tzinfo=timezone.utc)


def leases_for(store: Store, accounts: list[str], period: timedelta) -> AllAccounts | AccountLeases:
    """Leases where several daemons may share the database, every account where only one can."""
    if store.engine.dialect.name == "postgresql":
        return AccountLeases(store, accounts, period)
    return AllAccounts(accounts)
