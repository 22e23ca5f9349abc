"""When an alert state notifies: first raise, escalation, settling de-escalation, resolution, repeat."""
from datetime import datetime, timedelta, timezone

from alerts.decide import Policy, Said, decide, got_worse, initial_state
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


def test_the_same_level_is_said_again_only_when_it_got_worse():
    said = Said(probability=0.3, defects_to_breach=8, value=0.006)
    assert not got_worse(said, Said(probability=0.4, defects_to_breach=7, value=0.0062))  # small moves: quiet
    assert got_worse(said, Said(probability=0.46, defects_to_breach=8, value=0.006))  # the chance up a step
    assert got_worse(said, Said(probability=0.3, defects_to_breach=6, value=0.007))  # a quarter of the margin gone
    over = Said(probability=1.0, defects_to_breach=0, value=0.011)
    assert not got_worse(over, Said(probability=1.0, defects_to_breach=0, value=0.0115))
    assert got_worse(over, Said(probability=1.0, defects_to_breach=0, value=0.0125))  # further over the limit
    lower = Said(probability=1.0, defects_to_breach=0, value=0.93, direction="lower")
    assert got_worse(lower, Said(probability=1.0, defects_to_breach=0, value=0.82, direction="lower"))
    assert not got_worse(None, said)


def test_a_worse_situation_is_said_at_once_without_a_hold():
    raised = decide(initial_state(T), Level.WARNING, T, POLICY).state
    quiet = decide(raised, Level.WARNING, T + timedelta(hours=1), POLICY)
    assert quiet.reason is None
    worse = decide(raised, Level.WARNING, T + timedelta(hours=1), POLICY, worse=True)
    assert worse.reason == NotifyReason.WORSE and worse.state.sequence == raised.sequence + 1


HOLDING = Policy(repeat_interval=timedelta(days=7), settle=timedelta(hours=24), worse_hold=timedelta(hours=24))


def run_worse(worse_days, policy=HOLDING, violations=()):
    """A warning raised on day 0, then whether its figures are worse than the last notice, per daily evaluation."""
    state, reasons = decide(initial_state(T), Level.WARNING, T, policy).state, []
    for i, worse in enumerate(worse_days, start=1):
        decision = decide(state, Level.WARNING, T + i * timedelta(days=1), policy, worse=worse, violation=i in violations)
        state = decision.state
        reasons.append(decision.reason.value if decision.reason else None)
    return reasons


def test_a_worsening_is_said_once_it_has_lasted_the_hold():
    assert run_worse([False, True, True, True]) == [None, None, "worse", None]


def test_a_one_day_jump_of_the_chance_is_not_said():
    assert run_worse([True, False, True, False, True, False]) == [None] * 6


def test_a_new_policy_violation_is_said_at_once_whatever_the_hold():
    assert run_worse([False, False, False], violations=(2,)) == [None, "worse", None]


def test_a_pending_worsening_gives_way_to_an_escalation():
    state = decide(initial_state(T), Level.WARNING, T, HOLDING).state
    state = decide(state, Level.WARNING, T + timedelta(days=1), HOLDING, worse=True).state
    escalated = decide(state, Level.CRITICAL, T + timedelta(days=2), HOLDING)
    assert escalated.reason == NotifyReason.ESCALATED and escalated.state.candidate_level is None


HOVERING = Policy(repeat_interval=timedelta(days=7), settle=timedelta(hours=24), clear_for=timedelta(days=7))


def run_margin(steps, policy=HOVERING, step=timedelta(days=1)):
    """(level, clear of the margin) per daily evaluation -> the reasons notified."""
    state, reasons = initial_state(T), []
    for i, (level, clear) in enumerate(steps):
        decision = decide(state, level, T + i * step, policy, clear=clear)
        state = decision.state
        reasons.append(decision.reason.value if decision.reason else None)
    return reasons


def test_a_warning_stays_open_while_the_rate_hovers_under_its_margin():
    hovering = [(Level.WARNING, False), (Level.OK, False), (Level.WARNING, False), (Level.OK, False)] * 10
    assert run_margin(hovering) == ["first"] + [None] * 39


def test_a_warning_resolves_once_the_metric_has_stayed_clear_for_the_days():
    reasons = run_margin([(Level.WARNING, False)] + [(Level.OK, True)] * 8)
    assert reasons == ["first"] + [None] * 7 + ["resolved"]  # clear from day 1, resolved on day 8 (7 days later)


def test_a_day_back_near_the_margin_restarts_the_wait():
    reasons = run_margin([(Level.WARNING, False)] + [(Level.OK, True)] * 5 + [(Level.OK, False)] + [(Level.OK, True)] * 8)
    assert reasons.index("resolved") == 14 and reasons.count("resolved") == 1


def test_what_has_no_margin_resolves_after_the_settle_period_alone():
    reasons = run_margin([(Level.WARNING, None), (Level.OK, None), (Level.OK, None)])
    assert reasons == ["first", None, "resolved"]


def test_a_critical_metric_back_under_its_margin_but_not_clear_of_it_steps_down_to_a_warning():
    reasons = run_margin([(Level.CRITICAL, False), (Level.OK, False), (Level.OK, False)])
    assert reasons == ["first", None, "de-escalated"]
