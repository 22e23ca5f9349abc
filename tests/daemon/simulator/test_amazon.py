"""Amazon's figures by full recompute: the example files' reference numbers, Amazon's lags and its claim rules."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from daemon.clock import parse_instant
from daemon.simulator.amazon import Lags, figures, performance_report
from daemon.simulator.scenario import load_scenario
from tests.daemon.simulator.conftest import (
    DAY0,
    MP,
    SHARED_DIR,
    event,
    order,
    scenario_of,
    ship,
)

EXAMPLES = SHARED_DIR / "scenarios" / "examples"
NO_LAGS = Lags(defects=timedelta(0), shipping=timedelta(0), count_open=False)
D = timedelta(days=1)


@pytest.mark.parametrize("name", ["low_volume_claims", "stockout", "odr_creep"])
def test_without_lags_or_open_claims_the_recompute_matches_the_expected_numbers(name):
    scenario = load_scenario(EXAMPLES / f"{name}.jsonl")
    checked = mismatched = 0
    for line in (EXAMPLES / f"{name}.metrics.expected.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["metric"] not in ("odr", "lsr_10d", "lsr_30d", "cr_7d", "vtr_30d"):
            continue
        f = figures(scenario, parse_instant(row["at"]), row["marketplace_id"], NO_LAGS)
        if row["metric"] == "odr":
            got = (f["odr"][row["fulfillment"]].defective, f["odr"][row["fulfillment"]].orders)
        else:
            got = (f[row["metric"]].num, f[row["metric"]].den)
        checked += 1
        mismatched += got != (row["numerator"], row["denominator"])
    assert checked > 500 and mismatched == 0


# Order 1 has a claim; T is the day its order enters the ODR window plus a margin.
T = DAY0 + 20 * D


AMAZON_LAGS = Lags()


def odr_of(*lines: str, lags: Lags = AMAZON_LAGS) -> tuple[int, int, int]:
    c = figures(scenario_of(order(1, DAY0), *lines), T, MP, lags)["odr"]["MFN"]
    return c.defective, c.claims, c.orders


@pytest.mark.parametrize("statuses, counts", [
    (["open"], 1), (["open", "granted"], 1), (["open", "denied"], 0), (["open", "withdrawn"], 0),
    (["open", "granted", "withdrawn"], 1), (["open", "granted", "denied"], 0),
])
def test_amazon_counts_open_and_granted_claims_not_denied_and_withdrawn_only_after_a_grant(statuses, counts):
    lines = [event("claim", 1, DAY0 + (2 + i) * D, claim_id="C1", status=s) for i, s in enumerate(statuses)]
    assert odr_of(*lines) == (counts, counts, 1)


def test_without_open_claims_a_pending_claim_is_no_defect():
    assert odr_of(event("claim", 1, DAY0 + 2 * D, claim_id="C1", status="open"), lags=NO_LAGS) == (0, 0, 1)


def test_feedback_reaches_amazons_figure_48_hours_late_and_a_removal_too():
    bad = event("feedback", 1, T - 47 * timedelta(hours=1), rating=1)
    assert odr_of(bad)[0] == 0 and odr_of(bad, lags=NO_LAGS)[0] == 1
    older = event("feedback", 1, T - 3 * D, rating=2)
    assert odr_of(older)[0] == 1
    assert odr_of(older, event("feedback_removed", 1, T - 3 * D + timedelta(hours=1)))[0] == 0
    assert odr_of(older, event("feedback_removed", 1, T - timedelta(hours=1)))[0] == 1
    assert odr_of(event("feedback", 1, T - 3 * D, rating=3))[0] == 0


def test_a_shipment_reaches_amazons_figures_72_hours_late_while_a_cancel_counts_at_once():
    t = DAY0 + 6 * D
    late_ship = scenario_of(order(1, t - 4 * D), ship(1, t - D, valid=False))  # ship-by was t - 2 days
    assert figures(late_ship, t, MP)["lsr_30d"].den == 0 and figures(late_ship, t, MP)["vtr_30d"].den == 0
    f = figures(late_ship, t, MP, NO_LAGS)
    assert (f["lsr_30d"].num, f["lsr_30d"].den, f["vtr_30d"].num, f["vtr_30d"].den) == (1, 1, 0, 1)
    cancelled = scenario_of(order(1, t - D), event("cancel", 1, t - timedelta(minutes=1), by="seller"))
    assert (figures(cancelled, t, MP)["cr_7d"].num, figures(cancelled, t, MP)["cr_7d"].den) == (1, 1)


def test_the_report_has_a_block_per_marketplace_and_unit_on_time_delivery_only_in_the_us():
    uk = "A1F83G8C2ARO7P"
    scenario = scenario_of(order(1, DAY0), order(2, DAY0, marketplace=uk), marketplaces=(MP, uk))
    report = performance_report(scenario, T + timedelta(hours=5), [MP, uk])
    us_block, uk_block = report["performanceMetrics"]
    assert [a["status"] for a in report["accountStatuses"]] == ["NORMAL", "NORMAL"]
    assert "unitOnTimeDeliveryRate" in us_block and "unitOnTimeDeliveryRate" not in uk_block
    assert us_block["orderDefectRate"]["mfn"]["orderCount"] == uk_block["orderDefectRate"]["mfn"]["orderCount"] == 1
    assert us_block["orderDefectRate"]["mfn"]["reportingDateRange"] == {"reportingDateFrom": "2026-01-06T00:00:00Z",
                                                                        "reportingDateTo": "2026-03-07T00:00:00Z"}
    assert [e["reportingDateRange"]["reportingDateFrom"] for e in us_block["lateShipmentRateList"]] == [
        "2026-03-11T00:00:00Z", "2026-02-19T00:00:00Z"]
    assert us_block["accountHealthRating"]["ahrScore"] == 250 and us_block["invoiceDefectRate"]["rate"] == 0.0


def test_exactly_one_percent_is_bad_because_the_limit_is_under_one_percent():
    lines = [order(n, DAY0 + timedelta(minutes=n)) for n in range(1, 101)]
    lines.append(event("claim", 1, DAY0 + 2 * D, claim_id="C1", status="granted"))
    report = performance_report(scenario_of(*lines), T, [MP])
    odr = report["performanceMetrics"][0]["orderDefectRate"]["mfn"]
    assert (odr["orderWithDefects"]["count"], odr["orderCount"], odr["rate"], odr["status"]) == (1, 100, 0.01, "BAD")
    assert (odr["targetValue"], odr["targetCondition"]) == (0.01, "LESS_THAN")


def test_figures_are_kept_per_publication_instant():
    scenario = scenario_of(order(1, DAY0))
    assert figures(scenario, T, MP) is figures(scenario, T, MP)
    assert figures(scenario, T, MP) is not figures(scenario, T + D, MP)
