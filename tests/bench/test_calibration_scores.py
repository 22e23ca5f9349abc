"""The calibration's scores: a chance is judged against Amazon's figure over the days it spoke of, per metric."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from alerts.decide import Policy, Said
from alerts.model import Level
from bench.calibration import (
    AccountResult,
    Case,
    Step,
    brier,
    decile_misses,
    misses_by_chance,
    notify_steps,
    reliability,
    summarize,
)

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)
CR = ("ATVPDKIKX0DER", "cr_7d", "MFN")
ODR = ("ATVPDKIKX0DER", "odr", "MFN")


def account() -> AccountResult:
    """Two metrics, 60 days: cancellations over the limit on day 10, ODR never."""
    result = AccountResult("seller", tuning=False, months=2.0, monitor_from=START, breach_days={CR: [START + 10 * DAY]})
    result.cases = [
        Case(CR, START + 1 * DAY, p3=0.0, p14=0.8, level="warning", orders=40),  # over on day 10: came true
        Case(CR, START + 20 * DAY, p3=0.0, p14=0.3, level="ok", orders=40),  # nothing after: did not
        Case(ODR, START + 1 * DAY, p3=0.0, p14=0.1, level="ok", orders=900),  # did not
        Case(ODR, START + 50 * DAY, p3=0.0, p14=0.9, level="ok", orders=900),  # its 14 days run past the end: left out
    ]
    return result


def test_the_brier_score_is_the_mean_square_gap_between_the_chance_and_what_happened():
    assert brier([account()], 14) == pytest.approx(((0.8 - 1) ** 2 + 0.3 ** 2 + 0.1 ** 2) / 3)
    assert brier([account()], 14, lambda case: case.key == CR) == pytest.approx(((0.8 - 1) ** 2 + 0.3 ** 2) / 2)
    assert brier([account()], 14, lambda case: False) == 0.0


def test_reliability_reports_the_same_brier_score_beside_its_deciles():
    table, score = reliability([account()], 14)
    assert score == brier([account()], 14)
    assert [(label, cases, observed) for label, cases, _, observed, _, _ in table] == [
        ("10-20%", 1, 0.0), ("30-40%", 1, 0.0), ("80-90%", 1, 1.0)]


def test_the_summary_gives_each_metric_its_every_evaluation_brier_score():
    scores = summarize([account()])["brier_by_metric"]
    assert scores == pytest.approx({"cr_7d": ((0.8 - 1) ** 2 + 0.3 ** 2) / 2, "odr": 0.1 ** 2})


def test_the_notices_are_judged_apart_by_why_they_were_sent():
    result = account()
    for case, why in zip(result.cases, ("first", "de-escalated", None, None)):
        case.notice = why
    subsets = summarize([result])["subsets"]
    first, _ = subsets[("notified as first", "all", "all")]
    fallen_back, _ = subsets[("notified as de-escalated", "all", "all")]
    assert [(label, cases, observed) for label, cases, _, observed, _, _ in first] == [("80-90%", 1, 1.0)]
    assert [(label, cases, observed) for label, cases, _, observed, _, _ in fallen_back] == [("30-40%", 1, 0.0)]
    assert subsets[("notified as worse", "all", "all")] == ([], 0.0)


def test_the_bench_decides_as_the_daemon_does_a_worsening_said_once_it_has_held():
    chances = [0.2, 0.4, 0.2, 0.4, 0.45]
    result = AccountResult("seller", tuning=False, months=1.0, monitor_from=START)
    for day, chance in enumerate(chances):
        at = START + day * DAY
        result.cases.append(Case(ODR, at, p3=0.0, p14=chance, level="warning", orders=900))
        evaluation = SimpleNamespace(value=0.008, forecast_breach_at=None)  # all decide() and the alert rows read
        result.steps.append(Step(ODR, at, Level.WARNING, Said(chance, 4, 0.008), evaluation, None, day))

    def notices(hold: timedelta) -> list[str | None]:
        notify_steps(result, Policy(settle=DAY, worse_hold=hold), None)
        return [case.notice for case in result.cases]

    assert notices(timedelta(0)) == ["first", "worse", None, None, None]
    assert notices(DAY) == ["first", None, None, None, "worse"]


def fortnight_of_notices(stated: float, came_true: int, count: int = 30, metric: str = "cr_7d") -> list:
    """`count` notices of one metric in one account's fortnight, the first `came_true` of them followed by a breach."""
    return [(metric, stated, k < came_true, ("seller", metric, 0)) for k in range(count)]


def test_a_decile_of_thirty_notices_misses_the_mark_when_more_than_ten_points_off_in_its_metric_and_in_all():
    # 66.7% came true: off by 16.7 points, per metric and all together.
    assert decile_misses(fortnight_of_notices(0.5, 20)) == 2
    assert decile_misses(fortnight_of_notices(0.5, 17)) == 0  # 56.7%: within 10
    assert decile_misses(fortnight_of_notices(0.5, 20, count=29)) == 0  # too few cases to judge
    both = fortnight_of_notices(0.5, 20) + fortnight_of_notices(0.5, 0, metric="odr")
    assert decile_misses(both) == 3  # each metric misses, and together 20 of 60 (33.3%) is off too
    assert decile_misses(both, [True] * 30 + [False] * 30) == 2  # against these outcomes, only per metric: 30 of 60


def test_a_model_exactly_right_never_misses_when_it_is_certain_and_misses_often_on_few_shared_outcomes():
    certain = fortnight_of_notices(1.0, 30) + fortnight_of_notices(0.0, 0)
    assert misses_by_chance(certain, draws=50) == {"independent": (0.0, 1.0), "by fortnight": (0.0, 1.0)}
    shared = misses_by_chance(fortnight_of_notices(0.5, 15), draws=200)
    assert shared["by fortnight"] == (2.0, 0.0)  # one outcome for all 30: always 50 points off, per metric and all
    mean, none = shared["independent"]
    assert 0.2 < mean < 0.7 and 0.65 < none < 0.9  # 30 fair coins land outside 12-18 heads about a fifth of the time
