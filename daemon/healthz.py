"""Whether the daemon is doing its job, for /healthz: every feed polled within its staleness limit, the outbox not
stuck, the database writable. Each problem is one sentence."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from daemon.clock import format_instant
from daemon.config import Config
from daemon.dbhealth import DatabaseOutage
from storage import models as m

OUTBOX_STUCK_AFTER = timedelta(minutes=15)  # a delivery due this long and still not attempted: the sender is stuck
CHANNEL_FAILING_AFTER = timedelta(minutes=30)  # a delivery tried and still waiting this long: its channel is failing


def health_problems(session: Session, config: Config, now: datetime, started_at: datetime,
                    outage: DatabaseOutage | None = None) -> list[str]:
    """Every reason the daemon is not healthy now; empty when it is."""
    problems = []
    if outage is not None and outage.since is not None:
        problems.append(f"database unavailable since {format_instant(outage.since)}: {outage.reason}")
    try:
        problems += _stale_feeds(session, config, now, started_at) + _stuck_outbox(session, now) + \
            _failing_channels(session, now)
    except SQLAlchemyError as exc:
        problems.append(f"database cannot be read: {str(exc.orig or exc).splitlines()[0]}")
    return problems


def _stale_feeds(session: Session, config: Config, now: datetime, started_at: datetime) -> list[str]:
    out = []
    for account in config.accounts:
        rows = {r.source: r for r in session.scalars(select(m.FeedHealth).where(m.FeedHealth.account == account.name))}
        for feed, hours in sorted(config.alerts.feed_stale_hours.items()):
            row = rows.get(feed)
            last = row.last_success_at if row is not None and row.last_success_at else started_at
            if now - last > timedelta(hours=hours):
                out.append(f"{account.name}: no successful {feed} poll since {format_instant(last)} "
                           f"(limit {hours:g} hours)")
    return out


def _stuck_outbox(session: Session, now: datetime) -> list[str]:
    d = m.Delivery
    due_since = now - OUTBOX_STUCK_AFTER
    count, oldest = session.execute(select(func.count(), func.min(d.next_attempt_at)).where(
        d.status == "pending", d.next_attempt_at <= due_since)).one()
    if not count:
        return []
    return [f"outbox stuck: {count} deliveries due since {format_instant(oldest)} not attempted"]


def _failing_channels(session: Session, now: datetime) -> list[str]:
    """Channels whose deliveries have been tried and still wait (an SMTP server refusing, Slack throttling), with
    everything waiting there (later ones queue behind the first, in order)."""
    d = m.Delivery
    failing = dict(session.execute(select(d.channel, func.max(d.last_error)).where(
        d.status == "pending", d.last_error.is_not(None), d.created_at <= now - CHANNEL_FAILING_AFTER).group_by(d.channel)).all())
    if not failing:
        return []
    rows = session.execute(select(d.channel, func.count(), func.min(d.created_at)).where(
        d.status == "pending", d.channel.in_(failing)).group_by(d.channel).order_by(d.channel)).all()
    return [f"channel {channel} failing: {count} {'delivery' if count == 1 else 'deliveries'} waiting since "
            f"{format_instant(oldest)} (error: {failing[channel]})" for channel, count, oldest in rows]
