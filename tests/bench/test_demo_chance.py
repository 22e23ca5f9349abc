"""The demo seller's chance of an ODR breach, evaluated day by day as the daemon evaluates it: it climbs with the
defects and does not fall back while the episode behind them goes on.

The demo's defects rise from day 74 and it is watched from day 90: the change of rate is already 16 days old on the
first evaluation. A model that only considers recent changes explains it away as the account's long-run rate some
days and not others, and the chance jumps from 40% to 3% and back to 73% with no good news in between."""
from __future__ import annotations

import pytest

import bench.calibration as calibration
from alerts.metrics.definitions import METRICS
from bench.family import Member
from daemon.simulator.generator import builtin_profile

ODR = ("ATVPDKIKX0DER", "odr", "MFN")
# Day to day, before the breach: Monte Carlo and a good day move it a little (a quiet day took seed 1 from 0.59 to
# 0.43); explaining the episode away took it from 0.40 to 0.03.
LARGEST_DROP = 0.2


@pytest.mark.parametrize("seed", [1, 7])
def test_the_demo_sellers_chance_of_a_breach_climbs_without_falling_back(seed, tmp_path, monkeypatch):
    monkeypatch.setattr(calibration, "CACHE", tmp_path)  # generated events are cached beside the test, not the bench
    only_odr = [d for d in METRICS if d.id == "odr"]  # the bench's --metrics: the others are not evaluated at all
    result = calibration.run_account(Member(0, builtin_profile("demo"), seed), metrics=only_odr)
    assert {key[1] for key in result.breach_days} | {step.key[1] for step in result.steps} == {"odr"}
    breach = min(result.breach_days[ODR])
    chances = [case.p14 for case in result.cases if case.key == ODR and case.at < breach]
    assert len(chances) >= 8
    drops = [before - after for before, after in zip(chances, chances[1:])]
    assert max(drops) <= LARGEST_DROP, [round(p, 2) for p in chances]
    assert max(chances) >= 0.8  # and the breach was seen coming
