"""The simulator answers in Amazon's shapes: every response validates against the JSON models in spapi/models."""
from __future__ import annotations

import gzip
import json
from datetime import timedelta

import httpx
import jsonschema
import pytest

from daemon.clock import ManualClock, format_instant
from daemon.simulator.amazon import performance_report
from daemon.simulator.generator import Episode, Profile, generate
from daemon.simulator.scenario import parse_scenario
from tests.daemon.simulator.conftest import MODELS, clients, validator

# A seller with some of everything: cancels, late shipments, feedback, claims, chargebacks, removals.
SCENARIO = parse_scenario(generate(Profile("small", orders_per_day=25, days=40, monitor_from_day=39, afn_share=0.2, episodes=(
    Episode(5, 30, negative_feedback=0.05, claim=0.03, late_ship=0.05, seller_cancel=0.02, invalid_tracking=0.05,
            feedback_removed=0.3, chargeback=0.01),)), 3), "small")
NOW = SCENARIO.end + timedelta(minutes=3)


@pytest.fixture
def server(simulator):
    return simulator(SCENARIO, ManualClock(NOW))


@pytest.fixture
def api(server):
    token = httpx.post(server.url + "/auth/o2/token", data={"grant_type": "refresh_token", "client_id": "c",
                                                           "client_secret": "s", "refresh_token": "Atzr|models"}).json()

    def get(path: str, **params):
        response = httpx.get(server.url + path, params=params, headers={"x-amz-access-token": token["access_token"]})
        return response.status_code, response.json()

    return get


def window(days: int = 30) -> dict[str, str]:
    return {"LastUpdatedAfter": format_instant(SCENARIO.end - timedelta(days=days)), "MarketplaceIds": "ATVPDKIKX0DER"}


def test_get_orders_and_order_items_match_the_orders_v0_model(api):
    status, body = api("/orders/v0/orders", **window(), MaxResultsPerPage=50)
    assert status == 200 and body["payload"]["Orders"] and "NextToken" in body["payload"]
    validator("ordersV0.json", "GetOrdersResponse").validate(body)
    cancelled = next(o for o in body["payload"]["Orders"] if o["OrderStatus"] in ("Canceled", "Shipped"))
    status, items = api(f"/orders/v0/orders/{cancelled['AmazonOrderId']}/orderItems")
    validator("ordersV0.json", "GetOrderItemsResponse").validate(items)


def test_search_orders_matches_the_2026_model_with_packages_and_cancellations(api):
    status, body = api("/orders/2026-01-01/orders", lastUpdatedAfter=window()["LastUpdatedAfter"], fulfilledBy="MERCHANT",
                       includedData="FULFILLMENT,PACKAGES,CANCELLATION")
    assert status == 200
    validator("orders_2026-01-01.json", "SearchOrdersResponse").validate(body)
    assert any(o.get("packages") for o in body["orders"])
    statuses = {p["packageStatus"]["status"] for o in body["orders"] for p in o.get("packages", [])}
    assert statuses <= {"IN_TRANSIT", "DELIVERED", "SHIPPED"} and "DELIVERED" in statuses


def test_get_order_matches_the_2026_model(api):
    status, body = api("/orders/2026-01-01/orders", lastUpdatedAfter=window()["LastUpdatedAfter"], fulfilledBy="MERCHANT")
    assert status == 200 and len(body["orders"]) >= 5
    for found in body["orders"][:5]:
        status, one = api(f"/orders/2026-01-01/orders/{found['orderId']}", includedData="FULFILLMENT,PACKAGES,CANCELLATION")
        assert status == 200 and one["order"]["orderId"] == found["orderId"]
        validator("orders_2026-01-01.json", "GetOrderResponse").validate(one)


def test_financial_events_match_the_finances_v0_model(api):
    status, body = api("/finances/v0/financialEvents", PostedAfter=format_instant(SCENARIO.start))
    assert status == 200
    validator("financesV0.json", "ListFinancialEventsResponse").validate(body)
    assert body["payload"]["FinancialEvents"]["GuaranteeClaimEventList"]


def test_errors_use_the_sp_api_errors_body(api):
    status, body = api("/orders/v0/orders", LastUpdatedAfter=format_instant(NOW), LastUpdatedBefore=format_instant(NOW),
                       MarketplaceIds="ATVPDKIKX0DER")
    assert status == 400
    validator("ordersV0.json", "GetOrdersResponse").validate(body)
    assert body["errors"][0]["code"] == "InvalidInput"


def test_the_report_lifecycle_through_the_real_client_ends_in_a_gzip_document(server):
    reports = clients(server).reports
    created = reports.create_report(reportType="GET_V2_SELLER_PERFORMANCE_REPORT", marketplaceIds=["ATVPDKIKX0DER"])
    validator("reports_2021-06-30.json", "CreateReportResponse").validate(created.payload)
    report_id = created.payload["reportId"]
    assert reports.get_report(report_id).payload["processingStatus"] == "IN_QUEUE"
    validator("reports_2021-06-30.json", "Report").validate(reports.get_report(report_id).payload)
    server.clock.advance(seconds=31)
    done = reports.get_report(report_id).payload
    assert done["processingStatus"] == "DONE"
    validator("reports_2021-06-30.json", "Report").validate(done)
    validator("reports_2021-06-30.json", "ReportDocument").validate(reports.get_report_document(done["reportDocumentId"]).payload)
    document = reports.get_report_document(done["reportDocumentId"], download=True).payload
    report = json.loads(document["document"])
    assert report["performanceMetrics"][0]["orderDefectRate"]["mfn"]["orderCount"] > 0
    raw = httpx.get(server.url + f"/download/{done['reportDocumentId']}")
    assert gzip.decompress(raw.content)  # served compressed, without Content-Encoding (PITFALLS #9)
    assert "content-encoding" not in raw.headers


def test_the_performance_report_follows_the_account_health_schema():
    schema = json.loads((MODELS / "accountHealthReport-2020-11-18.json").read_text(encoding="utf-8"))
    schema.pop("examples", None)
    report = performance_report(SCENARIO, NOW, ["ATVPDKIKX0DER"])
    # The published schema's accountHealthRating declares accountHealthRatingStatus but requires ahrStatus (SPAPI_NOTES §6).
    for block in report["performanceMetrics"]:
        block["accountHealthRating"]["accountHealthRatingStatus"] = block["accountHealthRating"]["ahrStatus"]
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(report), key=str)
    assert [e.message for e in errors if "ahrScore" not in e.message and "lateShipmentRateList" not in e.message] == []
