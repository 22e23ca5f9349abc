"""Previous alert state + new level -> whether to notify, and the next state. Pure.

Escalation speaks at once; de-escalation and resolution wait until the lower level has held for
`settle` (Grafana's "keep firing for"), so a metric wobbling around a threshold does not notify on
every poll. A raised metric resolves only once it is clear of its margin (alerts/hysteresis.py) and has stayed
clear for `clear_for`: while it hovers just under the margin, its warning stays open. An unchanged raised level is
said again only when it got worse (got_worse: the chance of a breach up by a step, defects closer to the limit, a
breached rate further over it) and stayed worse for `worse_hold`, so a one-day jump of the chance is not announced as
news; when something new went wrong (a new policy violation); or, while it is critical or breached, after the long
repeat interval (Alertmanager's repeat_interval). A raised level that was never announced (a silence swallowed it:
notify() leaves last_notified_at unset) is announced at the first evaluation after the silence ends.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alerts.breach import chance_text
from alerts.model import Level, NotifyReason


@dataclass(frozen=True)
class StateView:
    level: Level
    since: datetime
    last_notified_at: datetime | None
    candidate_level: Level | None
    candidate_count: int
    candidate_since: datetime | None
    sequence: int


@dataclass(frozen=True)
class Policy:
    repeat_interval: timedelta = timedelta(days=7)
    pending_evaluations: int = 1  # evaluations a raise must hold before it is sent
    settle: timedelta = timedelta(hours=24)  # how long a lower level must hold before de-escalating or resolving
    clear_for: timedelta = timedelta(0)  # how long a metric must stay clear of its margin before its alert resolves
    worse_hold: timedelta = timedelta(0)  # how long a worsening at the same level must last before it is said


@dataclass(frozen=True)
class Decision:
    reason: NotifyReason | None
    state: StateView
    level: Level  # the level to announce (RESOLVED for a resolution)


@dataclass(frozen=True)
class Said:
    """What the last notification of a key said, for telling whether the situation got worse since."""

    probability: float | None
    defects_to_breach: int | None
    value: float | None
    direction: str = "upper"


WORSE_PROBABILITY_STEP = 0.15
WORSE_OVER_LIMIT = 0.1  # a breached rate 10% further past the limit (relative) is worth saying again


def got_worse(said: Said | None, now: Said) -> bool:
    """Worse than what was last said: the chance of a breach up by a step, a quarter of the defects left before the
    limit gone (at least one), or, once over, the rate further past the limit."""
    if said is None:
        return False
    if now.probability is not None and said.probability is not None and \
            now.probability >= said.probability + WORSE_PROBABILITY_STEP:
        return True
    if now.defects_to_breach and said.defects_to_breach and \
            now.defects_to_breach <= said.defects_to_breach - max(1, said.defects_to_breach // 4):
        return True
    if now.defects_to_breach == 0 and said.defects_to_breach == 0 and now.value is not None and said.value is not None:
        change = (now.value - said.value) / said.value if said.value else 0.0
        return change >= WORSE_OVER_LIMIT if now.direction == "upper" else -change >= WORSE_OVER_LIMIT
    return False


def what_got_worse(said: Said, now: Said) -> str:
    """The sentence a repeat opens with: what moved since the last notification."""
    parts = []
    if now.probability is not None and said.probability is not None and \
            chance_text(now.probability) != chance_text(said.probability) and now.probability > said.probability:
        parts.append(f"the chance of a breach rose from {chance_text(said.probability)} to {chance_text(now.probability)}")
    if now.defects_to_breach is not None and said.defects_to_breach and now.defects_to_breach < said.defects_to_breach:
        parts.append(f"defects left before the limit fell from {said.defects_to_breach} to {now.defects_to_breach}")
    before, after = (f"{v * 100:.2f}%" if v is not None else None for v in (said.value, now.value))
    if before and after and before != after:
        parts.append(f"the rate moved from {before} to {after}")
    return "Worse since the last notice: " + ("; ".join(parts) if parts else "the situation changed") + "."


def initial_state(now: datetime) -> StateView:
    """The state of a key never evaluated before: OK."""
    return StateView(Level.OK, now, None, None, 0, None, 0)


def decide(previous: StateView, observed: Level, now: datetime, policy: Policy, worse: bool = False,
           clear: bool | None = None, violation: bool = False) -> Decision:
    """Whether this evaluation notifies, and the state to store. `worse`: the figures are worse than the last
    notice said (got_worse), said once that has lasted `policy.worse_hold`; `violation`: something new went wrong
    at the same level (a new policy violation), said at once; `clear`: whether a metric is clear of its margin (None
    for what has no margin: operational and Amazon's own alerts resolve after `settle` alone)."""
    current = previous.level
    if observed == Level.OK and current.rank >= Level.WARNING.rank and clear is False:
        observed = Level.WARNING  # hovering under the margin: the warning stays open, and the wait to resolve restarts
    if observed == current:
        settled = replace(previous, candidate_level=None, candidate_count=0, candidate_since=None)
        raised = current.rank >= Level.WARNING.rank
        # A worsening waits as a candidate at the current level (no other candidate ever has it).
        worsening = raised and worse
        waited = previous.candidate_level == current and previous.candidate_since is not None
        since = previous.candidate_since if waited else now
        if raised and (violation or (worsening and now - since >= policy.worse_hold)):
            return _notify(settled, NotifyReason.WORSE, current, now)
        if raised and previous.last_notified_at is None:
            return _notify(settled, NotifyReason.FIRST, current, now)  # raised while silenced: said once it may be
        due = previous.last_notified_at is not None and now - previous.last_notified_at >= policy.repeat_interval
        # Warnings are said once (digests keep them in view); critical and breach repeat, rarely, until they end.
        if current.rank >= Level.CRITICAL.rank and due:
            return _notify(settled, NotifyReason.REPEAT, current, now)
        if worsening:
            count = previous.candidate_count + 1 if waited else 1
            return Decision(None, replace(previous, candidate_level=current, candidate_count=count,
                                          candidate_since=since), current)
        return Decision(None, settled, current)

    same = previous.candidate_level == observed
    count = previous.candidate_count + 1 if same else 1
    since = previous.candidate_since if same and previous.candidate_since else now
    hold = max(policy.settle, policy.clear_for) if observed == Level.OK and clear is not None else policy.settle
    waiting = count < policy.pending_evaluations if observed.rank > current.rank else now - since < hold
    if waiting:
        return Decision(None, replace(previous, candidate_level=observed, candidate_count=count, candidate_since=since), current)

    state = replace(previous, level=observed, since=now, candidate_level=None, candidate_count=0, candidate_since=None)
    if observed.rank > current.rank:
        reason = NotifyReason.FIRST if current == Level.OK else NotifyReason.ESCALATED
        return _notify(state, reason, observed, now)
    if observed == Level.OK:
        return _notify(state, NotifyReason.RESOLVED, Level.RESOLVED, now)
    return _notify(state, NotifyReason.DE_ESCALATED, observed, now)


def _notify(state: StateView, reason: NotifyReason, level: Level, now: datetime) -> Decision:
    return Decision(reason, replace(state, last_notified_at=now, sequence=state.sequence + 1), level)
