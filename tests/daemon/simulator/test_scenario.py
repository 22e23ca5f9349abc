"""Scenario files load as FORMAT.md says: errors name file and line, and the indexes answer like a full scan."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from daemon.errors import ScenarioError
from daemon.simulator.scenario import load_scenario, parse_scenario
from daemon.simulator.state import order_state
from tests.daemon.simulator.conftest import (
    DAY0,
    SHARED_DIR,
    event,
    header,
    order,
    order_id,
    scenario_of,
    ship,
)

EXAMPLES = SHARED_DIR / "scenarios" / "examples"


@pytest.fixture(scope="module")
def odr_creep():
    return load_scenario(EXAMPLES / "odr_creep.jsonl")


def test_the_example_file_loads_with_its_header_and_every_event(odr_creep):
    lines = (EXAMPLES / "odr_creep.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert (odr_creep.name, odr_creep.seller_id, odr_creep.marketplaces) == (first["name"], first["seller_id"], ("ATVPDKIKX0DER",))
    assert odr_creep.monitor_from.isoformat() == "2026-04-05T00:00:00+00:00"
    assert odr_creep.start.tzinfo is not None and odr_creep.end > odr_creep.monitor_from > odr_creep.start
    assert len(odr_creep.events) == len(lines) - 1
    assert len(odr_creep.orders) == sum(1 for line in lines[1:] if '"type": "order"' in line or '"type":"order"' in line)
    assert [e.at for e in odr_creep.events] == sorted(e.at for e in odr_creep.events)


@pytest.mark.parametrize("days_back, span_hours", [(170, 5), (100, 30), (60, 24 * 10), (1, 2)])
def test_updated_orders_come_from_the_index_as_a_full_scan_finds_them(odr_creep, days_back, span_hours):
    after = odr_creep.end - timedelta(days=days_back)
    until = after + timedelta(hours=span_hours)
    expected = {}
    for e in odr_creep.events:
        if e.type in ("order", "ship", "cancel") and after < e.at <= until:
            expected[e.data["order_id"]] = e.at
    assert odr_creep.orders_updated(after, until) == sorted(expected, key=lambda i: (expected[i], i))
    assert all(order_state(odr_creep.orders[i], until).last_update == expected[i] for i in expected)


def test_orders_2026_updates_include_deliveries():
    s = scenario_of(order(1, DAY0), ship(1, DAY0 + timedelta(days=1)), event("deliver", 1, DAY0 + timedelta(days=4)))
    window = (DAY0 + timedelta(days=3), DAY0 + timedelta(days=5))
    assert s.orders_updated(*window) == []
    assert s.orders_updated(*window, include_deliveries=True) == [order_id(1)]


def test_monitor_from_defaults_to_start_and_unknown_keys_are_ignored():
    s = parse_scenario([header(colour="blue"), order(1, DAY0, gift_wrap=True)], "t.jsonl")
    assert s.monitor_from == s.start == DAY0
    assert list(s.orders) == [order_id(1)]


def test_events_sort_by_instant_and_ties_keep_file_order():
    at = DAY0 + timedelta(days=1)
    s = scenario_of(order(1, DAY0), event("feedback", 1, at + timedelta(hours=1), rating=5),
                    event("feedback", 1, at, rating=1), event("feedback_removed", 1, at))
    assert [(e.type, e.data.get("rating")) for e in s.events[1:]] == [("feedback", 1), ("feedback_removed", None), ("feedback", 5)]


def without(line: str, key: str) -> str:
    data = json.loads(line)
    del data[key]
    return json.dumps(data)


@pytest.mark.parametrize("lines, line_number, words", [
    ([without(header(), "seller_id")], 1, "seller_id"),
    ([header(), without(order(1, DAY0), "latest_ship_date")], 2, "latest_ship_date"),
    ([header(), order(1, DAY0), without(ship(1, DAY0), "tracking_valid")], 3, "tracking_valid"),
    ([header(), order(1, DAY0), event("claim", 1, DAY0, status="open")], 3, "claim_id"),
    ([header(), order(1, DAY0), event("feedback", 2, DAY0, rating=1)], 3, "unknown order"),
    ([header(), order(1, DAY0), order(1, DAY0)], 3, "placed twice"),
    ([header(), order(1, DAY0), event("feedback", 1, DAY0, rating=6)], 3, "rating"),
    ([header(), order(1, DAY0, channel="FBA")], 2, "channel"),
    ([header(), order(1, DAY0), event("chargeback", 1, DAY0, chargeback_id="K", status="withdrawn")], 3, "status"),
    ([header(), order(1, DAY0, marketplace="A1PA6795UKMFR9")], 2, "marketplace"),
    ([header(), order(1, DAY0), '{"type": "ship", "at": "yesterday"}'], 3, "ship"),
    ([header(), order(1, DAY0), "{not json"], 3, "not JSON"),
])
def test_a_bad_line_is_an_error_naming_the_file_and_line(lines, line_number, words):
    with pytest.raises(ScenarioError) as error:
        parse_scenario(lines, "broken.jsonl")
    assert f"broken.jsonl:{line_number}:" in str(error.value)
    assert words in str(error.value)


def test_a_missing_file_is_a_scenario_error_naming_it(tmp_path):
    with pytest.raises(ScenarioError, match="absent.jsonl"):
        load_scenario(tmp_path / "absent.jsonl")


def test_a_file_on_disk_loads_like_its_lines(tmp_path):
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join([header(), order(1, DAY0), ship(1, DAY0 + timedelta(hours=5)), ""]), encoding="utf-8")
    s = load_scenario(path)
    assert s.name == "t" and [e.type for e in s.events] == ["order", "ship"]
