"""The bench's fast views of a generated account equal the simulator's independent recompute of Amazon's figures."""
from __future__ import annotations

from datetime import timedelta

from bench.observer import AMAZON_CLAIMS, account_changes, sweep
from daemon.simulator.amazon import Lags, figures
from daemon.simulator.generator import Episode, Profile, generate_events, write_scenario
from daemon.simulator.scenario import load_scenario
from alerts.metrics.definitions import METRICS

PROFILE = Profile("observer", orders_per_day=30, days=100, monitor_from_day=80, afn_share=0.3,
                  other_marketplaces=("A2EUQ1WTGCTBG2",), volume_changes=((85, 0.5),),
                  episodes=(Episode(60, 30, negative_feedback=0.03, claim=0.02, late_ship=0.05, invalid_tracking=0.03),))


def _views_agree(tmp_path, lags: Lags | None, simulator_lags: Lags) -> None:
    events = generate_events(PROFILE, 3)
    scenario = load_scenario(write_scenario(tmp_path / "observer.jsonl", PROFILE, 3))
    instants = [scenario.monitor_from + k * timedelta(days=1) for k in range(0, 21, 4)]
    checked = 0
    for at, buckets in sweep(account_changes(events, lags), instants):
        for mp in scenario.marketplaces:
            expected = figures(scenario, at, mp, simulator_lags)
            for d in METRICS:
                first, end = d.window.days(at.date())
                got = buckets.window((d.id, d.fulfillment, mp), first, end)
                if d.id == "odr":
                    odr = expected["odr"][d.fulfillment]
                    want = (odr.defective, odr.orders)
                    if lags is not None:
                        claims = buckets.window((AMAZON_CLAIMS, d.fulfillment, mp), first, end)[0]
                        assert claims == odr.claims + odr.chargebacks, (at, mp)
                else:
                    want = (expected[d.id].num, expected[d.id].den)
                assert got == want, (at, mp, d.id, d.fulfillment)
                checked += 1
    assert checked == 6 * 2 * len(METRICS)


def test_amazons_view_equals_the_simulators_report(tmp_path):
    _views_agree(tmp_path, Lags(), Lags())


def test_the_daemons_view_equals_an_unlagged_recompute_without_open_claims(tmp_path):
    _views_agree(tmp_path, None, Lags(timedelta(0), timedelta(0), count_open=False))
