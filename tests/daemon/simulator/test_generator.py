"""Synthetic sellers are deterministic and shaped as their profiles say."""
import json

from daemon.simulator.generator import Episode, Profile, builtin_profile, generate
from daemon.simulator.scenario import parse_scenario


def test_the_same_seed_gives_the_same_scenario_and_another_seed_another():
    profile = Profile("t", orders_per_day=20, days=20, monitor_from_day=10)
    assert generate(profile, 7) == generate(profile, 7)
    assert generate(profile, 7) != generate(profile, 8)


def test_events_are_sorted_and_the_scenario_parses():
    lines = generate(Profile("t", orders_per_day=30, days=30, monitor_from_day=20, afn_share=0.5), 1)
    ats = [json.loads(line)["at"] for line in lines[1:]]
    assert ats == sorted(ats)
    scenario = parse_scenario(lines, "t")
    assert 700 < len(scenario.orders) < 1100
    assert {t.order.data["channel"] for t in scenario.orders.values()} == {"MFN", "AFN"}


def test_an_episode_raises_its_rates_only_on_its_days():
    profile = Profile("t", orders_per_day=200, days=20, monitor_from_day=10,
                      episodes=(Episode(10, 5, {"seller_cancel": 0.5}),))
    events = [json.loads(line) for line in generate(profile, 1)[1:]]
    cancels = [e for e in events if e["type"] == "cancel" and e["by"] == "seller"]
    inside = [e for e in cancels if "2026-01-15" <= e["at"][:10] <= "2026-01-20"]
    assert len(inside) > 0.8 * len(cancels)


def test_the_bench_profile_is_about_forty_thousand_events():
    assert 35_000 < len(generate(builtin_profile("bench"), 1)) < 45_000
