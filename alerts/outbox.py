"""At-least-once delivery: the alert and its delivery rows are written with the state change; a job sends them.

Knows no channel protocol: a channel makes one attempt and says, through DeliveryError, whether a
failure is permanent. Retries, backoff, giving up and resuming after a restart live here.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alerts.grouping import group
from alerts.model import Alert, RenderedMessage
from alerts.serialize import alert_from_json, alert_to_json
from daemon.clock import Clock
from daemon.errors import DeliveryError
from storage import models as m
from storage.alerts_repo import release_stale_claims
from storage.upsert import upsert

logger = logging.getLogger(__name__)


CLAIM_CANDIDATES = 50  # due rows looked at per claim: some may wait behind an older delivery of their account


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 30.0
    factor: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 20
    max_age: timedelta = timedelta(hours=72)
    claim_timeout: timedelta = timedelta(minutes=5)

    def backoff(self, delivery_id: str, attempts: int, retry_after: float | None) -> float:
        """Exponential with a deterministic jitter of up to 20% (derived from the id, so replays repeat)."""
        jitter = int(hashlib.sha256(f"{delivery_id}:{attempts}".encode()).hexdigest()[:4], 16) / 0xFFFF * 0.2
        delay = min(self.cap_seconds, self.base_seconds * self.factor ** max(0, attempts - 1)) * (1 + jitter)
        return max(delay, retry_after or 0.0)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0


def record(session: Session, alert: Alert) -> None:
    """Store the alert (idempotent by alert id) in the caller's transaction."""
    upsert(session, m.AlertRecord.__table__, [{
        "alert_id": alert.alert_id, "account": alert.key.account, "marketplace_id": alert.key.marketplace_id,
        "metric": alert.key.metric, "fulfillment": alert.key.fulfillment, "level": alert.level.value,
        "reason": alert.reason.value, "raised_at": alert.raised_at, "payload": alert_to_json(alert),
    }], ("alert_id",))


def enqueue(session: Session, alert: Alert, channel_names: Sequence[str], now: datetime) -> list[str]:
    """Store the alert and one pending delivery per channel in the caller's transaction; idempotent by alert id."""
    record(session, alert)
    ids = [f"{alert.alert_id}:{name}" for name in channel_names]
    upsert(session, m.Delivery.__table__, [
        {"delivery_id": delivery_id, "alert_id": alert.alert_id, "channel": name, "status": "pending", "attempts": 0,
         "created_at": now, "next_attempt_at": now}
        for delivery_id, name in zip(ids, channel_names)
    ], ("delivery_id",))
    return ids


def enqueue_grouped(session: Session, raised: Sequence[tuple[Alert, Sequence[str]]], now: datetime,
                    one_by_one: Collection[str] = ()) -> None:
    """Alerts of one account raised in one evaluation: each is stored; each channel gets one message, the alert
    itself when it is alone there, else one group of all of them, worst first (Alertmanager's group_by). The
    channels in `one_by_one` (tickets: one per incident) get each alert on its own."""
    by_channel: dict[str, list[Alert]] = {}
    for alert, channels in raised:
        record(session, alert)
        for name in channels:
            by_channel.setdefault(name, []).append(alert)
    for name, alerts in by_channel.items():
        if name in one_by_one:
            for alert in alerts:
                enqueue(session, alert, [name], now)
        else:
            enqueue(session, alerts[0] if len(alerts) == 1 else group(alerts, name), [name], now)


def deliver_due(store, channels: Mapping[str, object], render: Callable[[Alert], RenderedMessage], clock: Clock,
                policy: RetryPolicy = RetryPolicy()) -> DeliveryReport:
    """Send every due delivery once; what fails transiently is rescheduled, what cannot succeed is marked dead."""
    sent = retried = dead = 0
    with store.transaction() as session:
        released = release_stale_claims(session, clock.now() - policy.claim_timeout)
    if released:
        logger.warning("resending deliveries left unfinished by a previous run count=%d", released)
    while True:
        claimed = _claim_one(store, clock.now())
        if claimed is None:
            break
        delivery_id, channel_name, alert_json, attempts, created_at = claimed
        now = clock.now()
        channel = channels.get(channel_name)
        if channel is None:
            _finish(store, delivery_id, "dead", now, attempts, "channel removed from the config")
            dead += 1
            continue
        try:
            channel.send(render(alert_from_json(alert_json)), delivery_id)
        except DeliveryError as exc:
            # A receiver that says when to come back (Retry-After) is busy, not failing: the wait is its own and the
            # attempt does not count toward giving up (max_age still bounds it).
            counted = attempts if exc.retry_after is not None else attempts + 1
            outcome = _failed(store, delivery_id, exc.reason, exc.permanent, exc.retry_after, counted, created_at, clock,
                              policy)
        except Exception as exc:  # a channel bug must not stop the daemon: treat as transient
            outcome = _failed(store, delivery_id, type(exc).__name__, False, None, attempts + 1, created_at, clock, policy)
        else:
            _finish(store, delivery_id, "sent", clock.now(), attempts + 1, None)
            logger.debug("delivered delivery=%s channel=%s", delivery_id, channel_name)
            sent += 1
            continue
        if outcome == "dead":
            dead += 1
        else:
            retried += 1
    return DeliveryReport(sent, retried, dead)


def _claim_one(store, now: datetime) -> tuple[str, str, str, int, datetime] | None:
    """Take one due row by conditional update, so two processes never send the same row at once. A row waits while
    an older one of the same account is still undelivered on its channel: a receiver hears one account in order."""
    d = m.Delivery
    with store.transaction() as session:
        candidates = session.execute(
            select(d.delivery_id).where(d.status == "pending", d.next_attempt_at <= now)
            .order_by(d.next_attempt_at, d.delivery_id).limit(CLAIM_CANDIDATES)
        ).scalars().all()
        for delivery_id in candidates:
            row = session.get(d, delivery_id)
            alert = session.get(m.AlertRecord, row.alert_id)
            if _waits_for_an_older_one(session, row, alert.account):
                continue
            changed = session.execute(
                update(d).where(d.delivery_id == delivery_id, d.status == "pending").values(status="sending", claimed_at=now)
            ).rowcount
            if changed == 1:
                return delivery_id, row.channel, alert.payload, row.attempts, row.created_at
    return None


def _waits_for_an_older_one(session: Session, row: m.Delivery, account: str) -> bool:
    d, a = m.Delivery, m.AlertRecord
    older = (d.created_at < row.created_at) | ((d.created_at == row.created_at) & (d.delivery_id < row.delivery_id))
    return session.execute(
        select(d.delivery_id).join(a, a.alert_id == d.alert_id).where(
            d.channel == row.channel, d.status.in_(("pending", "sending")), a.account == account, older).limit(1)
    ).first() is not None


def _finish(store, delivery_id: str, status: str, now: datetime, attempts: int, error: str | None) -> None:
    with store.transaction() as session:
        values = {"status": status, "attempts": attempts, "last_error": error, "claimed_at": None}
        if status == "sent":
            values["sent_at"] = now
        session.execute(update(m.Delivery).where(m.Delivery.delivery_id == delivery_id).values(**values))


def _failed(store, delivery_id: str, reason: str, permanent: bool, retry_after: float | None, attempts: int,
            created_at: datetime, clock: Clock, policy: RetryPolicy) -> str:
    now = clock.now()
    if permanent:
        logger.warning("delivery dead delivery=%s reason=%s", delivery_id, reason)
        _finish(store, delivery_id, "dead", now, attempts, reason)
        return "dead"
    if attempts >= policy.max_attempts or now - created_at >= policy.max_age:
        logger.warning("delivery gave up delivery=%s attempts=%d reason=%s", delivery_id, attempts, reason)
        _finish(store, delivery_id, "dead", now, attempts, f"gave up after {attempts} attempts: {reason}")
        return "dead"
    wait = policy.backoff(delivery_id, attempts, retry_after)
    with store.transaction() as session:
        session.execute(update(m.Delivery).where(m.Delivery.delivery_id == delivery_id).values(
            status="pending", attempts=attempts, last_error=reason, claimed_at=None,
            next_attempt_at=now + timedelta(seconds=wait)))
    logger.info("delivery retry delivery=%s reason=%s wait_seconds=%.0f", delivery_id, reason, wait)
    return "retry"
