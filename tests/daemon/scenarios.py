"""Small scenarios built in code for the data-path tests."""
from __future__ import annotations

from datetime import datetime, timezone

from daemon.simulator.generator import Episode, Profile, generate
from daemon.simulator.scenario import Scenario, parse_scenario

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


def small_account(days: int = 40, orders_per_day: float = 25, seed: int = 3) -> Scenario:
    """A seller with some of everything: cancels, late shipments, feedback, claims, removals."""
    profile = Profile("small", orders_per_day=orders_per_day, days=days, monitor_from_day=days - 1, afn_share=0.2,
                      episodes=(Episode(5, 30, {"negative_feedback": 0.05, "claim": 0.03, "late_ship": 0.05,
                                                "seller_cancel": 0.02, "invalid_tracking": 0.05,
                                                "feedback_removed": 0.3, "chargeback": 0.01}),))
    return parse_scenario(generate(profile, seed), "small")
