"""Queries of the alert side: alert states, stored alerts, delivery rows, silences, digest runs. No alert rules."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from alerts.model import AlertKey
from storage import models as m
from storage.upsert import upsert


def get_state(session: Session, key: AlertKey) -> m.AlertState | None:
    """The stored state of one alert key."""
    return session.get(m.AlertState, (key.account, key.marketplace_id, key.metric, key.fulfillment))


def save_state(session: Session, key: AlertKey, level: str, since: datetime, last_notified_at: datetime | None,
               candidate_level: str | None, candidate_count: int, candidate_since: datetime | None, sequence: int) -> None:
    """Insert or replace the state of one alert key."""
    row = {"account": key.account, "marketplace_id": key.marketplace_id, "metric": key.metric,
           "fulfillment": key.fulfillment, "level": level, "since": since, "last_notified_at": last_notified_at,
           "candidate_level": candidate_level, "candidate_count": candidate_count, "candidate_since": candidate_since,
           "sequence": sequence}
    upsert(session, m.AlertState.__table__, [row], ("account", "marketplace_id", "metric", "fulfillment"),
           lambda ex: {k: getattr(ex, k) for k in ("level", "since", "last_notified_at", "candidate_level",
                                                   "candidate_count", "candidate_since", "sequence")})


def open_states(session: Session, account: str | None = None) -> list[m.AlertState]:
    """Alert states currently raised (warning or worse), optionally of one account."""
    s = m.AlertState
    query = select(s).where(s.level.in_(("warning", "critical", "breach")))
    if account is not None:
        query = query.where(s.account == account)
    return list(session.scalars(query.order_by(s.account, s.marketplace_id, s.metric, s.fulfillment)))


def latest_alert(session: Session, key: AlertKey) -> m.AlertRecord | None:
    """The newest alert of one key."""
    a = m.AlertRecord
    return session.scalars(
        select(a).where(a.account == key.account, a.marketplace_id == key.marketplace_id, a.metric == key.metric,
                        a.fulfillment == key.fulfillment).order_by(a.raised_at.desc()).limit(1)
    ).first()


def add_silence(session: Session, account: str, marketplace_id: str | None, metric: str | None, until: datetime,
                reason: str, now: datetime) -> int:
    """Mute one account, or one of its metrics or marketplaces, until `until`."""
    row = m.Silence(account=account, marketplace_id=marketplace_id, metric=metric, until=until, reason=reason, created_at=now)
    session.add(row)
    session.flush()
    return row.id


def end_silence(session: Session, silence_id: int, now: datetime) -> bool:
    """Make an active silence expire now; False when none by that id is active."""
    row = session.get(m.Silence, silence_id)
    if row is None or row.until <= now:
        return False
    row.until = now
    return True


def active_silences(session: Session, now: datetime) -> list[m.Silence]:
    """Silences not yet expired."""
    return list(session.scalars(select(m.Silence).where(m.Silence.until > now).order_by(m.Silence.until)))


def is_silenced(session: Session, key: AlertKey, now: datetime) -> bool:
    """Whether an active silence covers this key (a silence naming no metric or marketplace covers them all)."""
    s = m.Silence
    return session.scalar(
        select(func.count()).select_from(s).where(
            s.account == key.account, s.until > now,
            or_(s.marketplace_id.is_(None), s.marketplace_id == key.marketplace_id),
            or_(s.metric.is_(None), s.metric == key.metric),
        )
    ) > 0


def claim_digest_run(session: Session, account: str, period: str, period_key: str, now: datetime) -> bool:
    """True only the first time a digest period is claimed (insert-or-nothing)."""
    table = m.DigestRun.__table__
    before = session.scalar(select(func.count()).select_from(table).where(
        table.c.account == account, table.c.period == period, table.c.period_key == period_key))
    if before:
        return False
    upsert(session, table, [{"account": account, "period": period, "period_key": period_key, "enqueued_at": now}],
           ("account", "period", "period_key"))
    return True


def delivery_statuses(session: Session, alert_id: str | None = None) -> dict[str, str]:
    """delivery_id -> status, of one alert or of all."""
    d = m.Delivery
    query = select(d.delivery_id, d.status)
    if alert_id is not None:
        query = query.where(d.alert_id == alert_id)
    return {delivery_id: status for delivery_id, status in session.execute(query)}


def release_stale_claims(session: Session, older_than: datetime) -> int:
    """Claims left `sending` by a daemon that died between send and commit go back to pending."""
    d = m.Delivery
    result = session.execute(
        update(d).where(d.status == "sending", d.claimed_at < older_than).values(status="pending", claimed_at=None)
    )
    return result.rowcount or 0
