"""The notify stage: an observed level becomes, through decide(), a stored state change, an alert and its deliveries, in one transaction."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.decide import Policy, Said, StateView, decide, got_worse, initial_state, what_got_worse
from alerts.model import Alert, AlertKey, Level, NotifyReason
from alerts.outbox import enqueue
from alerts.serialize import alert_from_json
from storage import alerts_repo


@dataclass(frozen=True)
class Route:
    """Which alerts a channel receives."""

    channel: str
    min_level: Level
    accounts: frozenset[str] = frozenset()  # empty: every account

    def accepts(self, account: str, level: Level) -> bool:
        return (not self.accounts or account in self.accounts) and level.rank >= self.min_level.rank


@dataclass(frozen=True)
class Finding:
    """What an evaluation found, before decide(): the level and the words that go with it."""

    key: AlertKey
    kind: str  # "metric" | "operational" | "amazon"
    level: Level
    headline: str
    fields: dict  # the remaining Alert fields (value, limit, explanation, ...)
    violation: bool = False  # something new went wrong at the same level (one more policy violation): said at once
    clear: bool | None = None  # a metric clear of its margin (alerts/hysteresis.py); None for what has no margin
    # Adds what is costly to gather (the orders behind a metric) to the fields, only when a notification goes out.
    attach: Callable[[dict, Level], dict] | None = None


def notify(session: Session, finding: Finding, now: datetime, policy: Policy, routes: tuple[Route, ...],
           grouped: list[tuple[Alert, list[str]]] | None = None) -> Alert | None:
    """Apply one finding to its alert state; on a notify reason, insert the alert and one delivery per route, or, when
    `grouped` is given, append the alert and its channels there for one grouped message (enqueue_grouped)."""
    row = alerts_repo.get_state(session, finding.key)
    previous = initial_state(now) if row is None else StateView(
        Level(row.level), row.since, row.last_notified_at,
        Level(row.candidate_level) if row.candidate_level else None, row.candidate_count, row.candidate_since, row.sequence,
    )
    # Only an unchanged raised level can be "worse" than its last notification: nothing to look up otherwise.
    unchanged = finding.level == previous.level and previous.level.rank >= Level.WARNING.rank
    said = _last_said(session, finding) if unchanged else None
    saying = said_of(finding.fields)
    worse = got_worse(said, saying) if said is not None else False
    decision = decide(previous, finding.level, now, policy, worse, finding.clear, finding.violation)
    if decision.reason is not None and finding.attach is not None:
        finding = replace(finding, fields=finding.attach(finding.fields, decision.level))
    if decision.reason == NotifyReason.WORSE and worse:
        fields = dict(finding.fields)
        fields["explanation"] = (what_got_worse(said, saying), *fields.get("explanation", ()))
        finding = replace(finding, fields=fields)
    state = decision.state
    silenced = decision.reason is not None and alerts_repo.is_silenced(session, finding.key, now)
    if silenced:
        # Kept, not sent. A raise is not counted as said, so what is still open is announced once the silence ends.
        raised = decision.reason in (NotifyReason.FIRST, NotifyReason.ESCALATED, NotifyReason.WORSE)
        state = replace(state, last_notified_at=None if raised else previous.last_notified_at)
    alerts_repo.save_state(
        session, finding.key, state.level.value, state.since, state.last_notified_at,
        state.candidate_level.value if state.candidate_level else None, state.candidate_count, state.candidate_since,
        state.sequence,
    )
    if decision.reason is None:
        return None
    alert = Alert(
        alert_id=f"{finding.key.dedup_key}#{state.sequence}", key=finding.key, kind=finding.kind,
        level=decision.level, reason=decision.reason, raised_at=now, headline=finding.headline, **finding.fields,
    )
    # A resolution goes wherever the raise went: routes that accepted the level being left.
    routed_level = previous.level if decision.reason == NotifyReason.RESOLVED else decision.level
    channels = [] if silenced else [r.channel for r in routes if r.accepts(finding.key.account, routed_level)]
    if grouped is None:
        enqueue(session, alert, channels, now)
    else:
        grouped.append((alert, channels))
    return alert


def said_of(fields: dict) -> Said:
    """The figures of an alert that say how bad things are."""
    return Said(fields.get("breach_probability"), fields.get("defects_to_breach"), fields.get("value"),
                fields.get("direction", "upper"))


def _last_said(session: Session, finding: Finding) -> Said | None:
    """What the last notification of a metric said (decide() acts on "worse" only at an unchanged level)."""
    if finding.kind != "metric":
        return None
    last = alerts_repo.latest_alert(session, finding.key)
    if last is None:
        return None
    before = alert_from_json(last.payload)
    return Said(before.breach_probability, before.defects_to_breach, before.value, before.direction)
