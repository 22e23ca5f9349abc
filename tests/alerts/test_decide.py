"""When an alert state notifies: first raise, escalation, settling de-escalation, resolution, repeat."""
from datetime import datetime, timedelta, timezone

from alerts.decide import Policy, decide, initial_state
from alerts.model import Level, NotifyReason

T = datetime(2026, 3, 1, tzinfo=timezone.utc)
POLICY = Policy(repeat_interval=timedelta(hours=24), pending_evaluations=1, settle=timedelta(hours=2))


def run(levels, policy=POLICY, step=timedelta(hours=6)):
    state, reasons = initial_state(T), []
    for i, level in enumerate(levels):
        decision = decide(state, level, T + i * step, policy)
        state = decision.state
        reasons.append(decision.reason.value if decision.reason else None)
    return reasons, state


def test_a_first_raise_and_an_escalation_speak_at_once():
    reasons, state = run([Level.OK, Level.WARNING, Level.BREACH])
    assert reasons == [None, "first", "escalated"]
    assert state.sequence == 2


def test_polling_the_same_level_again_does_not_notify_again():
    reasons, _ = run([Level.WARNING, Level.WARNING, Level.WARNING])
    assert reasons == ["first", None, None]


def test_a_metric_wobbling_around_the_threshold_notifies_once():
    reasons, _ = run([Level.WARNING, Level.OK, Level.WARNING, Level.OK, Level.WARNING], step=timedelta(hours=1))
    assert reasons == ["first", None, None, None, None]


def test_resolution_waits_until_the_lower_level_holds():
    reasons, state = run([Level.CRITICAL, Level.OK, Level.OK])
    assert reasons == ["first", None, "resolved"]
    assert state.level == Level.OK


def test_de_escalation_is_announced_with_the_new_level():
    state = initial_state(T)
    for i, level in enumerate([Level.BREACH, Level.WARNING, Level.WARNING, Level.WARNING]):
        decision = decide(state, level, T + timedelta(hours=i), POLICY)
        state = decision.state
    assert decision.reason == NotifyReason.DE_ESCALATED and decision.level == Level.WARNING


def test_an_unresolved_alert_repeats_after_the_repeat_interval():
    reasons, _ = run([Level.BREACH] * 6, step=timedelta(hours=6))
    assert reasons == ["first", None, None, None, "repeat", None]


def test_a_pending_period_delays_the_first_raise():
    reasons, _ = run([Level.WARNING, Level.WARNING], policy=Policy(pending_evaluations=2))
    assert reasons == [None, "first"]


def test_a_warning_is_said_once_and_not_repeated():
    reasons, _ = run([Level.WARNING] * 10, step=timedelta(hours=12))
    assert reasons == ["first"] + [None] * 9
