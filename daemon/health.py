"""The daemon's warnings about itself (ALERTING.md §3.4): feeds gone quiet, polls failing, credentials refused, an expiring LWA secret.

A seller must never mistake a silent daemon for a healthy account, so each becomes a Finding that goes
through the same alert states and channels as a metric.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.model import AlertKey, Level
from daemon.notify import Finding
from storage import models as m

LWA_SECRET_LIFETIME = timedelta(days=180)  # PITFALLS #7
ALL = "ALL"


@dataclass(frozen=True)
class HealthRules:
    stale_after: dict[str, timedelta]  # per feed: no successful poll for this long is No Data
    failing_after: timedelta  # polls failing for this long is Error
    secret_warning: timedelta  # warn this long before the LWA client secret expires


def health_findings(
    session: Session, account: str, seller_id: str, now: datetime, rules: HealthRules,
    started_at: datetime, secret_rotated_on: date | None,
) -> list[Finding]:
    """One finding per operational check of one account; OK findings resolve what was raised."""
    rows = {row.source: row for row in session.scalars(select(m.FeedHealth).where(m.FeedHealth.account == account))}
    findings = []
    refused = any(row.credentials_refused for row in rows.values())
    findings.append(_finding(
        account, seller_id, "credentials", Level.CRITICAL if refused else Level.OK,
        "Amazon refused the account's credentials" if refused else "Credentials accepted",
        ("Check the LWA client id and secret and the refresh token; re-authorise the app in Seller Central if needed.",)
        if refused else (),
    ))
    for feed, limit in sorted(rules.stale_after.items()):
        row = rows.get(feed)
        last = row.last_success_at if row and row.last_success_at else started_at
        silent = now - last
        findings.append(_finding(
            account, seller_id, f"feed_stale:{feed}", Level.WARNING if silent > limit else Level.OK,
            f"No data from the {feed} feed for {_hours(silent)}" if silent > limit else f"The {feed} feed is current",
            (f"The last successful {feed} poll was at {last:%Y-%m-%d %H:%M}Z; metrics may be out of date.",)
            if silent > limit else (),
        ))
        failing = row is not None and row.failing_since is not None and now - row.failing_since > rules.failing_after
        findings.append(_finding(
            account, seller_id, f"feed_failing:{feed}", Level.WARNING if failing else Level.OK,
            f"Polls of the {feed} feed failing for {_hours(now - row.failing_since)}" if failing
            else f"Polls of the {feed} feed succeed",
            (f"Last error: {row.last_error}",) if failing and row.last_error else (),
        ))
    if secret_rotated_on is not None:
        expires = datetime.combine(secret_rotated_on, datetime.min.time(), tzinfo=now.tzinfo) + LWA_SECRET_LIFETIME
        left = expires - now
        level = Level.OK
        if left <= timedelta(0):
            level = Level.BREACH
        elif left <= timedelta(days=7):
            level = Level.CRITICAL
        elif left <= rules.secret_warning:
            level = Level.WARNING
        findings.append(_finding(
            account, seller_id, "lwa_secret_expiry", level,
            f"The LWA client secret expires on {expires:%Y-%m-%d} ({max(0, left.days)} days left)",
            ("Rotate the client secret in the Developer Console, update the secret file, and set "
             "lwa_client_secret_rotated_on to the rotation date.",) if level != Level.OK else (),
        ))
    return findings


def _finding(account: str, seller_id: str, check: str, level: Level, headline: str, explanation: tuple[str, ...]) -> Finding:
    return Finding(
        key=AlertKey(account, ALL, check, ALL), kind="operational", level=level, headline=headline,
        fields={"explanation": explanation, "seller_id": seller_id, "defects_to_breach": None},
    )


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.1f} days"
