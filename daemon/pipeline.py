"""One function per stage of the daemon: poll a feed, compute the metrics of a day. Owns transactions, not protocols."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta


from alerts.metrics.definitions import METRICS, MetricDefinition
from daemon.errors import BudgetSpent, SourceError, SourceUnavailable
from daemon.sources.records import Source
from daemon.telemetry import POLLS
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage import models as m
from storage.repo import Store, store_batch, window_counts
from storage.upsert import upsert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollResult:
    account: str
    source: str
    records: int
    rejects: int
    pages: int
    api_calls: int
    error: str | None = None
    deferred: bool = False  # the usage plan ran dry: the rest is read at the account's next turn


@dataclass(frozen=True)
class MetricValue:
    """A locally computed metric at an evaluation instant (a row of metrics.jsonl)."""

    at: datetime
    account: str
    marketplace_id: str
    definition: MetricDefinition
    numerator: int
    denominator: int

    @property
    def metric(self) -> str:
        return self.definition.id

    @property
    def fulfillment(self) -> str:
        return self.definition.fulfillment

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def poll_source(store: Store, account: str, source: Source, until: datetime, now: datetime) -> PollResult:
    """Read one feed up to `until`, committing each page with its cursor; a failure leaves the cursor where it was."""
    records = rejects = pages = calls = 0
    try:
        for batch in source.pages(store.cursor(account, source.name), until):
            with store.transaction() as session:
                store_batch(session, account, batch, seen_at=until)
            records += len(batch.records)
            rejects += len(batch.rejects)
            pages += 1
            calls += batch.api_calls
            for reject in batch.rejects:
                logger.warning("quarantined account=%s source=%s reason=%s", account, reject.source, reject.error)
    except BudgetSpent as exc:
        POLLS.labels(account, source.name, "deferred").inc()
        logger.info("poll deferred account=%s source=%s reason=%s", account, source.name, exc)
        return PollResult(account, source.name, records, rejects, pages, calls, deferred=True)
    except SourceError as exc:
        POLLS.labels(account, source.name, "failed").inc()
        record_feed_failure(store, account, source.name, now, exc)
        logger.warning("poll failed account=%s source=%s error=%s", account, source.name, exc)
        return PollResult(account, source.name, records, rejects, pages, calls, error=str(exc))
    except SQLAlchemyError:
        raise  # the database itself: nothing can be recorded here; the job says it (daemon/dbhealth.py)
    except Exception as exc:  # a bug in one feed must not stop the others: said with its traceback, kept in health
        logger.exception("poll failed unexpectedly account=%s source=%s", account, source.name)
        POLLS.labels(account, source.name, "failed").inc()
        error = SourceError(f"unexpected {type(exc).__name__}: {exc}")
        record_feed_failure(store, account, source.name, now, error)
        return PollResult(account, source.name, records, rejects, pages, calls, error=str(error))
    POLLS.labels(account, source.name, "ok").inc()
    record_feed_success(store, account, source.name, now)
    return PollResult(account, source.name, records, rejects, pages, calls)


def record_feed_success(store: Store, account: str, source: str, now: datetime) -> None:
    """Mark a feed healthy at `now`."""
    with store.transaction() as session:
        upsert(
            session, m.FeedHealth.__table__,
            [{"account": account, "source": source, "last_success_at": now, "failing_since": None,
              "last_error": None, "credentials_refused": False}],
            ("account", "source"),
            lambda ex: {"last_success_at": ex.last_success_at, "failing_since": None, "last_error": None,
                        "credentials_refused": False},
        )


def record_feed_failure(store: Store, account: str, source: str, now: datetime, error: Exception) -> None:
    """Remember when a feed started failing and why (the message never carries a secret)."""
    refused = isinstance(error, SourceUnavailable) and error.credentials_refused
    with store.transaction() as session:
        row = session.get(m.FeedHealth, (account, source))
        if row is None:
            row = m.FeedHealth(account=account, source=source)
            session.add(row)
        row.last_failure_at = now
        row.failing_since = row.failing_since or now
        row.last_error = str(error)[:500]
        row.credentials_refused = refused


def evaluation_instant(now: datetime) -> datetime:
    """The 00:00Z that starts the day of `now` (METRICS.md: T is always midnight UTC)."""
    return datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)


def local_metrics(store: Store, account: str, marketplaces: tuple[str, ...], at: datetime) -> list[MetricValue]:
    """Every locally computed metric at instant `at` (a midnight), per marketplace, from the day buckets."""
    day = at.date()
    values = []
    with store.sessions() as session:
        for marketplace_id in sorted(marketplaces):
            for definition in METRICS:
                first, end = definition.window.days(day)
                num, den = window_counts(session, account, marketplace_id, definition.id, definition.fulfillment, first, end)
                values.append(MetricValue(at, account, marketplace_id, definition, num, den))
    return values


def record_history(session: Session, values: list[MetricValue]) -> None:
    """Keep each day's values for trends and digests, in the caller's transaction; re-recording a day overwrites it."""
    rows = [
        {"account": v.account, "marketplace_id": v.marketplace_id, "metric": v.metric, "fulfillment": v.fulfillment,
         "day": v.at.date(), "numerator": v.numerator, "denominator": v.denominator}
        for v in values
    ]
    upsert(
        session, m.MetricHistory.__table__, rows, ("account", "marketplace_id", "metric", "fulfillment", "day"),
        lambda ex: {"numerator": ex.numerator, "denominator": ex.denominator},
    )


def sync_bound(now: datetime) -> datetime:
    """The newest instant Amazon lets a client ask about: two minutes ago (PITFALLS #5)."""
    return now - timedelta(minutes=2)
