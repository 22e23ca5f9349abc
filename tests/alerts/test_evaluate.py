"""Levels, defects to breach and forecasts of one metric evaluation."""
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from alerts.evaluate import Observation, Thresholds, evaluate, with_seller_days
from alerts.series import DaySeries
from alerts.metrics.definitions import definition
from alerts.model import Level

T = datetime(2026, 5, 1, tzinfo=timezone.utc)
ODR = definition("odr", "MFN")
LSR = definition("lsr_10d", "MFN")
ODR_MARGINS = Thresholds(warning_rate=0.0075, critical_rate=0.009)


def flat(first: date, days: int, per_day: int, defects: dict[int, int] | None = None) -> DaySeries:
    defects = defects or {}
    return DaySeries({first + timedelta(days=i): (defects.get(i, 0), per_day) for i in range(days)})


def odr_observation(series: DaySeries, **kw) -> Observation:
    first, end = ODR.window.days(T.date())
    num, den = series.window(first, end)
    return Observation(ODR, "ATVPDKIKX0DER", T, num, den, series, **kw)


def test_a_healthy_metric_is_ok_with_no_forecast():
    ev = evaluate(odr_observation(flat(date(2026, 2, 1), 89, 50)), ODR_MARGINS, 30)
    assert ev.level == Level.OK and ev.forecast_breach_at is None
    assert ev.defects_to_breach == 30


def test_defects_on_recent_orders_that_will_enter_the_window_raise_a_forecast_alert():
    # 50 orders a day; 40 defects on orders of the last 14 days, invisible in today's window.
    series = flat(date(2026, 2, 1), 89, 50, {i: 3 for i in range(76, 89)})
    ev = evaluate(odr_observation(series), ODR_MARGINS, 30)
    assert ev.value == 0
    assert ev.level == Level.WARNING  # 0.00% today: the chance of a breach alone raises it
    assert ev.breach_probability == 1.0 and ev.probability_days == 14
    # Ten days of three defects must enter (30 of 3,000) by 11 May; sooner, since three a day on orders this young,
    # most of whose defects are still to come, say the rate jumped and more are on their way.
    assert ev.forecast_breach_at == datetime(2026, 5, 7, tzinfo=timezone.utc)
    assert ("39 defective orders on orders from the last 14 days will enter the window by 15 May: "
            "ODR will reach 1.30%.") in ev.explanation
    assert any(s.startswith("The chance that Amazon's figure crosses the limit by 15 May (14 days) is over 99%, "
                            "most likely around 7 May: about ")
               for s in ev.explanation), ev.explanation


def test_one_defect_in_a_small_window_is_a_warning_saying_one_more_breaches():
    series = flat(date(2026, 2, 1), 89, 1, {20: 1})
    ev = evaluate(odr_observation(series), ODR_MARGINS, 30)
    assert (ev.numerator, ev.denominator) == (1, 60)
    assert ev.level == Level.BREACH  # under 100 orders a single defect is already over 1%
    series = flat(date(2026, 2, 1), 89, 3, {20: 1})
    ev = evaluate(odr_observation(series), ODR_MARGINS, 30)
    assert (ev.numerator, ev.denominator, ev.defects_to_breach) == (1, 180, 1)
    assert ev.level == Level.WARNING  # 0.56% is under the 0.75% margin, but one more defect breaches
    assert "1 more defective order in the window breaches the limit." in ev.explanation


def test_low_volume_is_stated_in_the_explanation():
    ev = evaluate(odr_observation(flat(date(2026, 2, 1), 89, 1)), ODR_MARGINS, 30)
    assert ev.low_volume
    assert "With 60 orders in the window, one order decides: one more defective order breaches the limit." in ev.explanation


def test_open_claims_in_amazons_report_count_toward_the_estimate():
    ev = evaluate(odr_observation(flat(date(2026, 2, 1), 89, 3), unattributed=2), ODR_MARGINS, 30)
    assert ev.level == Level.BREACH and ev.numerator == 2


def test_the_explanation_says_how_many_open_claims_came_lately():
    ev = evaluate(odr_observation(flat(date(2026, 2, 1), 89, 3), unattributed=5, recent_claims=3), ODR_MARGINS, 30)
    assert "5 open A-to-z claims or chargebacks in Amazon's report are counted too; 3 of them came in the last 14 " \
           "days." in ev.explanation


def test_unshipped_orders_past_their_ship_by_date_are_certain_late_shipments():
    series = flat(date(2026, 4, 17), 14, 10)
    first, end = LSR.window.days(T.date())
    num, den = series.window(first, end)
    obs = Observation(LSR, "ATVPDKIKX0DER", T, num, den, series, past_due={T.date() - timedelta(days=1): 6})
    ev = evaluate(obs, Thresholds(warning_rate=0.03, critical_rate=0.036), 30)
    # Amazon's report shows them once shipped and 72 hours on: half of them (shipped today) on the fourth day, all on
    # the fifth.
    assert ev.value == 0 and ev.forecast_breach_at == T + timedelta(days=5)
    assert ev.level == Level.WARNING and ev.breach_probability == 1.0
    assert any("past their ship-by date" in s for s in ev.explanation)


def test_otdr_outside_enforcing_marketplaces_never_alerts():
    d = definition("otdr_14d", "MFN")
    series = flat(date(2026, 4, 1), 30, 10)
    obs = Observation(d, "A1PA6795UKMFR9", T, 0, 100, series, enforced=False)
    assert evaluate(obs, Thresholds(warning_rate=0.92), 30).level == Level.OK


def lsr_burst(amazon_value: float) -> Observation:
    """41 late shipments of 1,000 in the 10-day window: 20 on days about to leave it, which Amazon already counts, and
    21 from the last two days, confirmed too recently for Amazon's report, which shows them on the third day, once the
    first 20 have left."""
    first_day = date(2026, 4, 1)
    ages = {9: 10, 8: 10, 2: 10, 1: 11}
    series = flat(first_day, 30, 100, {(T.date() - first_day).days - age: n for age, n in ages.items()})
    first, end = LSR.window.days(T.date())
    num, den = series.window(first, end)
    unreported = {(T.date() - timedelta(days=2), 3): (10, 100), (T.date() - timedelta(days=1), 3): (11, 100)}
    return Observation(LSR, "ATVPDKIKX0DER", T, num, den, series, amazon_value=amazon_value, unreported=unreported)


def test_over_the_limit_by_the_daemons_count_alone_is_a_warning_until_amazons_figure_is_likely_to_show_it():
    margins = Thresholds(warning_rate=0.03, critical_rate=0.036)
    ev = evaluate(lsr_burst(amazon_value=0.021), margins, 30)
    assert (ev.numerator, ev.denominator, ev.defects_to_breach) == (41, 1000, 0)
    assert ev.level == Level.WARNING
    assert ev.headline.startswith("LSR 10d 4.10% of 4.00%: over the limit by the daemon's count, not yet in Amazon's")
    assert any(s.startswith("Over the limit by the daemon's own count.") and s.endswith("by 4 May (3 days) is less than 1 in 20.")
               for s in ev.explanation), ev.explanation
    # Once Amazon's own figure is over, it is the breach it says.
    ev = evaluate(lsr_burst(amazon_value=0.041), margins, 30)
    assert ev.level == Level.BREACH and ev.headline.endswith(": over the limit")


def test_a_window_not_yet_seen_whole_is_judged_on_amazons_figure_and_the_partial_count_raises_nothing():
    """A fresh install: deliveries before it cannot be dated, so the daemon's own on-time count is 0 of 1 units;
    Amazon's 97% decides, and once Amazon's figure is under the limit that is a breach whatever the count says."""
    d = definition("otdr_14d", "MFN")
    at = datetime(2026, 4, 10, tzinfo=timezone.utc)
    partial = Observation(definition=d, marketplace_id="ATVPDKIKX0DER", at=at, numerator=0, denominator=1,
                          series=DaySeries({}), amazon_value=0.97, whole_from=date(2026, 4, 27))
    fine = evaluate(partial, Thresholds(), horizon_days=30)
    assert (fine.level, fine.value, fine.breach_probability) == (Level.OK, 0.97, None)
    assert "judged on Amazon's report until 27 April" in fine.explanation[0] and "0.00% (0 of 1)" in fine.explanation[0]
    assert evaluate(replace(partial, amazon_value=0.85), Thresholds(), horizon_days=30).level == Level.BREACH
    seen_whole = evaluate(replace(partial, at=datetime(2026, 4, 27, tzinfo=timezone.utc)), Thresholds(), horizon_days=30)
    assert seen_whole.value == 0.0 and seen_whole.level == Level.WARNING  # from then on its own count is judged


def test_the_late_shipment_rates_get_the_sellers_days_summed_over_its_marketplaces():
    yesterday = T.date() - timedelta(days=1)
    us = Observation(LSR, "ATVPDKIKX0DER", T, 0, 20, DaySeries({yesterday: (1, 10)}), past_due={yesterday: 2})
    ca = replace(us, marketplace_id="A2EUQ1WTGCTBG2", series=DaySeries({yesterday: (3, 5)}), past_due={})
    odr = odr_observation(flat(date(2026, 2, 1), 89, 50))
    pooled = with_seller_days([us, ca, odr])
    # 1 late of 10 and 3 of 5 shipped, and 2 past due that can only ship late.
    assert [o.seller_days for o in pooled[:2]] == [DaySeries({yesterday: (6, 17)})] * 2
    assert pooled[2].seller_days is None  # ODR's defects are the buyers', marketplace by marketplace
    assert with_seller_days([us])[0].seller_days is None  # one marketplace is its own seller
