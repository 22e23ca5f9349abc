"""The orders behind every alert and the to-do that `replay` writes follow FORMAT.md exactly, checked against a
recompute from the scenario's events alone (tests/support/expected_orders.py), plainly and against Amazon at its
worst; the seller is told to ship every late shipment and every Amazon auto-cancellation in time to prevent it; the
plan of action and the to-do read the replay's database from the command line."""
from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta

import pytest

from daemon.clock import format_instant, parse_instant
from tests.e2e.conftest import EXAMPLE_NAMES, EXAMPLES
from tests.e2e.test_replay_examples import rows, waits
from tests.support.expected_orders import ScenarioFacts

FORMAT_ACTIONS = ("ship", "fix_tracking", "check_delivery")  # the rest are this daemon's own additions
UNSHIPPED_METRICS = ("lsr_10d", "lsr_30d", "cr_7d")
SYNC_BLUR = timedelta(hours=1)  # a replay's daily sync runs minutes after its instant, longer when Amazon throttles


def _expected_at_risk(facts: ScenarioFacts, alert: dict) -> list[tuple[str, str]]:
    at = parse_instant(alert["at"])
    if alert["metric"] in UNSHIPPED_METRICS:
        found = facts.unshipped(at, alert["marketplace_id"])
    elif alert["metric"] == "otdr_14d":
        found = facts.undelivered(at, alert["marketplace_id"])
    else:
        found = {}
    return sorted((format_instant(due), order_id) for order_id, due in found.items())


def _delivered_during_sync(facts: ScenarioFacts, day: str, blur: timedelta) -> set[str]:
    """Orders whose first delivery scan came in the minutes after the evaluation instant, before the lookup that saw
    it: with lastUpdatedTime frozen nothing tells which side of the instant the scan fell."""
    at = parse_instant(day)
    return {order_id for order_id, o in facts.orders.items()
            if any(e["type"] == "deliver" and at < t <= at + blur for t, e in o.events)}


def _check_alerts(name: str, out, explained, blur: timedelta = timedelta(0)) -> list:
    """Every metric alert's orders against the recompute; returns what differs and is not `explained`."""
    facts = ScenarioFacts(EXAMPLES / f"{name}.jsonl")
    wrong = []
    for alert in rows(out / "alerts.jsonl"):
        orders = alert["orders"]
        assert [o["role"] for o in orders] == sorted(o["role"] for o in orders)
        counted = [o for o in orders if o["role"] == "counted"]
        at_risk = [o for o in orders if o["role"] == "at_risk"]
        assert len({o["order_id"] for o in counted}) == len(counted), "an order appears once, with each kind"
        got = {o["order_id"] for o in counted}
        expected = facts.counted(parse_instant(alert["at"]), alert["marketplace_id"], alert["metric"], alert["fulfillment"])
        if got != expected and not explained(alert, got ^ expected):
            wrong.append((alert["at"], alert["metric"], alert["fulfillment"], sorted(got ^ expected)))
        blurred = _delivered_during_sync(facts, alert["at"], blur)
        assert ([(o["due_at"], o["order_id"]) for o in at_risk if o["order_id"] not in blurred]
                == [pair for pair in _expected_at_risk(facts, alert) if pair[1] not in blurred]), alert["at"]
        assert all(o["kinds"] == (["unshipped"] if alert["metric"] in UNSHIPPED_METRICS else ["undelivered"])
                   for o in at_risk)
    return wrong


def _todo_by_day(out) -> dict[str, list[dict]]:
    by_day: dict[str, list[dict]] = defaultdict(list)
    for row in rows(out / "todo.jsonl"):
        by_day[row["at"]].append(row)
    return by_day


def _check_todo(name: str, out, blur: timedelta = timedelta(0)) -> None:
    facts = ScenarioFacts(EXAMPLES / f"{name}.jsonl")
    by_day = _todo_by_day(out)
    days = sorted({row["at"] for row in rows(out / "metrics.jsonl")})
    for day in days:
        day_rows = by_day.get(day, [])
        assert [list(r) for r in day_rows] == [["at", "marketplace_id", "order_id", "action", "due_at", "metrics"]] * len(day_rows)
        order = [(r["due_at"] is None, r["due_at"] or "", r["marketplace_id"], r["order_id"], r["action"]) for r in day_rows]
        assert order == sorted(order), day
        blurred = _delivered_during_sync(facts, day, blur)
        got = {(r["marketplace_id"], r["order_id"], r["action"], r["due_at"]) for r in day_rows
               if r["action"] in FORMAT_ACTIONS and r["order_id"] not in blurred}
        assert got == {row for row in facts.todo(parse_instant(day)) if row[1] not in blurred}, day


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_the_orders_behind_each_alert_are_exactly_those_the_rules_name(example_replays, name):
    assert _check_alerts(name, example_replays[name], lambda alert, differing: False) == []


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_the_todo_follows_the_format_on_every_day(example_replays, name):
    _check_todo(name, example_replays[name])


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_against_amazon_at_its_worst_the_orders_differ_only_where_amazon_made_the_daemon_wait(realistic_replays, name):
    """As the metric rows: ODR by the facts Amazon still hid at that instant, on-time delivery in the first 21 days
    (deliveries made before installation are left out); the at-risk orders and the to-do exactly, but for deliveries
    scanned during the sync that followed the evaluation instant (within the hour)."""
    installed = parse_instant(rows(EXAMPLES / f"{name}.jsonl")[0]["monitor_from"])
    hiding = waits(name)

    def explained(alert: dict, differing: set[str]) -> bool:
        at = parse_instant(alert["at"])
        if alert["metric"] == "otdr_14d":
            return at < installed + timedelta(days=21)
        hidden = sum(1 for happened, wait in hiding if at - wait < happened <= at)
        return alert["metric"] == "odr" and len(differing) <= hidden

    assert _check_alerts(name, realistic_replays[name], explained, SYNC_BLUR) == []
    _check_todo(name, realistic_replays[name], SYNC_BLUR)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_late_shipment_and_auto_cancellation_was_on_the_todo_before_it_happened(example_replays, name):
    """A late shipment whose ship-by falls after the first evaluation following its purchase was listed `ship` at an
    evaluation before its ship-by; an order Amazon auto-cancelled, at an evaluation while it was past due."""
    events = rows(EXAMPLES / f"{name}.jsonl")
    events = events[1:]  # after the header
    orders = {e["order_id"]: e for e in events if e["type"] == "order"}
    days = sorted(parse_instant(r["at"]) for r in rows(example_replays[name] / "metrics.jsonl"))
    listed: dict[str, set] = defaultdict(set)
    for row in rows(example_replays[name] / "todo.jsonl"):
        if row["action"] == "ship":
            listed[row["order_id"]].add(parse_instant(row["at"]))
    checked = 0
    for e in events:
        order = orders[e["order_id"]]
        if order["channel"] != "MFN":
            continue
        ship_by = parse_instant(order["latest_ship_date"])
        first_eval = next((d for d in days if d > parse_instant(order["purchase_date"])), None)
        if first_eval is None or ship_by <= first_eval:
            continue
        at = parse_instant(e["at"])
        if e["type"] == "ship" and at > ship_by:
            assert any(d < ship_by for d in listed[e["order_id"]]), e
            checked += 1
        elif e["type"] == "cancel" and e["by"] == "amazon" and at > ship_by:
            assert any(ship_by <= d < at for d in listed[e["order_id"]]), e
            checked += 1
    assert checked > 0 or name == "odr_creep"


def _cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "daemon.cli", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_plan_of_a_breached_account_names_its_defective_orders_by_cause(example_replays):
    out = example_replays["low_volume_claims"]
    breached = [a for a in rows(out / "alerts.jsonl") if a["metric"] == "odr" and a["level"] == "breach"]
    assert breached
    plan = _cli("plan", "--state-dir", str(out / "state"), "--account", "sim", "--marketplace", "ATVPDKIKX0DER",
                "--metric", "odr")
    for heading in ("## The figure", "## The orders", "## Where they come from", "## Root cause",
                    "## Corrective actions taken", "## Preventive measures"):
        assert heading in plan
    assert "[Seller to write" in plan
    last_day = rows(out / "metrics.jsonl")[-1]["at"]
    facts = ScenarioFacts(EXAMPLES / "low_volume_claims.jsonl")
    defective = facts.counted(parse_instant(last_day), "ATVPDKIKX0DER", "odr", "MFN")
    assert defective and all(order_id in plan for order_id in defective)
    assert f"The orders ({len(defective)})" in plan


def test_the_todo_command_lists_the_last_days_rows_deadline_first(example_replays):
    out = example_replays["stockout"]
    text = _cli("todo", "--state-dir", str(out / "state"))
    last = _todo_by_day(out)[rows(out / "metrics.jsonl")[-1]["at"]]
    assert f"sim: {len(last)} to do" in text
    listed = [re.search(r"\b\d{3}-\d{7}-\d{7}\b", line).group(0) for line in text.splitlines()[1:]]
    assert listed == [r["order_id"] for r in last]
