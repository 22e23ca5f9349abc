"""The simulator through the real python-amazon-sp-api client: paging, the 2-minute rule, reports, finances, usage plans, faults."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import httpx
import pytest
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
)

from daemon.clock import ManualClock, format_instant
from daemon.simulator import payloads
from daemon.simulator.server import Faults
from tests.daemon.simulator.conftest import (
    DAY0,
    MP,
    clients,
    event,
    order,
    order_id,
    scenario_of,
    ship,
)

H = timedelta(hours=1)
D = timedelta(days=1)
FILLERS = range(100, 350)
SCENARIO = scenario_of(
    order(1, DAY0), ship(1, DAY0 + 20 * H), event("deliver", 1, DAY0 + 4 * D),
    event("feedback", 1, DAY0 + 5 * D, rating=1, comment="broke\tin two\nsad"),
    order(2, DAY0 + H), ship(2, DAY0 + 21 * H, valid=False), event("deliver", 2, DAY0 + 4 * D),
    order(3, DAY0 + 2 * H), event("cancel", 3, DAY0 + 3 * H, by="buyer", reason="Found cheaper somewhere else."),
    order(4, DAY0 + 2 * H), event("cancel", 4, DAY0 + 5 * H, by="seller", reason="NoInventory"),
    order(5, DAY0 + 3 * H, channel="AFN", quantity=2), ship(5, DAY0 + 10 * H),
    event("feedback", 5, DAY0 + 6 * D, rating=5),
    order(6, DAY0 + 3 * H), ship(6, DAY0 + D), event("feedback", 6, DAY0 + 6 * D, rating=2),
    event("feedback_removed", 6, DAY0 + 8 * D),
    order(7, DAY0 + 4 * H), ship(7, DAY0 + D), event("claim", 7, DAY0 + 7 * D, claim_id="C7", status="open"),
    event("claim", 7, DAY0 + 9 * D, claim_id="C7", status="granted"),
    event("claim", 7, DAY0 + 12 * D, claim_id="C7", status="denied"),
    order(8, DAY0 + 4 * H), ship(8, DAY0 + D),
    event("chargeback", 8, DAY0 + 8 * D, chargeback_id="K8", status="open", amount=12.0, currency="USD"),
    event("chargeback", 8, DAY0 + 10 * D, chargeback_id="K8", status="granted", amount=12.0, currency="USD"),
    order(9, DAY0 + 5 * H), event("feedback", 9, DAY0 + 7 * D, rating=3),
    *(order(n, DAY0 + D + (n - 100) * 5 * timedelta(minutes=1)) for n in FILLERS),
    *(ship(n, DAY0 + 2 * D + (n - 100) * 5 * timedelta(minutes=1)) for n in FILLERS if n % 2),
)
NOW = DAY0 + 20 * D
SINCE = format_instant(DAY0 - D)


@pytest.fixture
def server(simulator):
    return simulator(SCENARIO, ManualClock(NOW))


@pytest.fixture
def api(server):
    return clients(server)


def all_orders(api, token: str | None = None, **query):
    """Every page of getOrders, the NextToken resent with the same filters."""
    pages = []
    while True:
        payload = api.orders.get_orders(**query, **({"NextToken": token} if token else {})).payload
        pages.append(payload)
        token = payload.get("NextToken")
        if not token:
            return pages


def test_get_orders_pages_with_next_token_and_serves_each_order_once_by_update_then_id(server, api):
    pages = all_orders(api, LastUpdatedAfter=SINCE, MarketplaceIds=[MP], MaxResultsPerPage=40)
    orders = [o for page in pages for o in page["Orders"]]
    assert len(pages) == 7 and [len(p["Orders"]) for p in pages][-1] == 259 - 6 * 40
    assert sorted(o["AmazonOrderId"] for o in orders) == sorted(SCENARIO.orders)
    keys = [(o["LastUpdateDate"], o["AmazonOrderId"]) for o in orders]
    assert keys == sorted(keys)
    assert {p["LastUpdatedBefore"] for p in pages} == {format_instant(NOW - 2 * timedelta(minutes=1))}
    # The client adds MarketplaceId, marketplace_ids... which the simulator ignores.
    assert all(c.status == 200 for c in server.calls if c.operation == "getOrders")


def test_later_pages_answer_the_first_pages_question_while_the_clock_moves(simulator):
    late = DAY0 + 3 * D
    scenario = scenario_of(*(order(n, DAY0 + n * H) for n in range(1, 9)), ship(1, late + H), ship(2, late + 2 * H))
    clock = ManualClock(late)
    api = clients(simulator(scenario, clock))
    first = api.orders.get_orders(LastUpdatedAfter=SINCE, MarketplaceIds=[MP], MaxResultsPerPage=3).payload
    clock.advance(days=1)  # orders 1 and 2 ship meanwhile: they must not jump pages and push others out
    rest = all_orders(api, LastUpdatedAfter=SINCE, MarketplaceIds=[MP], MaxResultsPerPage=3, token=first["NextToken"])
    seen = [o["AmazonOrderId"] for page in [first, *rest] for o in page["Orders"]]
    assert seen == [order_id(n) for n in range(1, 9)]
    assert {o["OrderStatus"] for page in [first, *rest] for o in page["Orders"]} == {"Unshipped"}


def test_a_bound_inside_the_last_two_minutes_is_refused_and_two_minutes_is_accepted(api):
    with pytest.raises(SellingApiBadRequestException) as refused:
        api.orders.get_orders(LastUpdatedAfter=SINCE, LastUpdatedBefore=format_instant(NOW - timedelta(seconds=119)),
                              MarketplaceIds=[MP])
    assert refused.value.amzn_code == "InvalidInput"
    bound = format_instant(NOW - timedelta(minutes=2))
    accepted = api.orders.get_orders(LastUpdatedAfter=SINCE, LastUpdatedBefore=bound, MarketplaceIds=[MP]).payload
    assert accepted["LastUpdatedBefore"] == bound
    with pytest.raises(SellingApiBadRequestException):
        api.orders26.search_orders(createdAfter=SINCE, createdBefore=format_instant(NOW), marketplaceIds=[MP])
    with pytest.raises(SellingApiBadRequestException):
        api.finances.list_financial_events(PostedAfter=SINCE, PostedBefore=format_instant(NOW - timedelta(minutes=1)))


@pytest.mark.parametrize("query", [
    {"MarketplaceIds": [MP]},
    {"CreatedAfter": SINCE, "LastUpdatedAfter": SINCE, "MarketplaceIds": [MP]},
    {"LastUpdatedAfter": SINCE, "MarketplaceIds": [MP], "MaxResultsPerPage": 101},
])
def test_get_orders_wants_exactly_one_lower_bound_and_a_sane_page_size(api, query):
    with pytest.raises(SellingApiBadRequestException):
        api.orders.get_orders(**query)


def test_orders_carry_amazons_fields_for_each_status_and_channel(api):
    pages = all_orders(api, CreatedAfter=SINCE, MarketplaceIds=[MP])
    assert "CreatedBefore" in pages[0]
    by_id = {o["AmazonOrderId"]: o for page in pages for o in page["Orders"]}
    shipped, cancelled, afn, unshipped = (by_id[order_id(n)] for n in (1, 4, 5, 9))
    assert (shipped["OrderStatus"], shipped["NumberOfItemsShipped"], shipped["NumberOfItemsUnshipped"]) == ("Shipped", 1, 0)
    assert shipped["LastUpdateDate"] == format_instant(DAY0 + 20 * H)  # the ship, not the later delivery
    assert shipped["LatestShipDate"] == format_instant(DAY0 + 2 * D) and "LatestDeliveryDate" in shipped
    assert cancelled["OrderStatus"] == "Canceled" and "LatestDeliveryDate" not in cancelled and "LatestShipDate" in cancelled
    assert afn["FulfillmentChannel"] == "AFN" and "LatestShipDate" not in afn and "EarliestDeliveryDate" not in afn
    assert afn["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "20.50"}
    assert (unshipped["OrderStatus"], unshipped["NumberOfItemsUnshipped"]) == ("Unshipped", 1)
    assert unshipped["IsReplacementOrder"] is False and unshipped["IsBusinessOrder"] is False


def test_status_and_channel_filters_narrow_the_list(api):
    cancelled = all_orders(api, LastUpdatedAfter=SINCE, MarketplaceIds=[MP], OrderStatuses=["Canceled"])
    assert sorted(o["AmazonOrderId"] for p in cancelled for o in p["Orders"]) == [order_id(3), order_id(4)]
    afn = all_orders(api, LastUpdatedAfter=SINCE, MarketplaceIds=[MP], FulfillmentChannels=["AFN"])
    assert [o["AmazonOrderId"] for p in afn for o in p["Orders"]] == [order_id(5)]


def test_only_a_buyer_cancellation_carries_buyer_requested_cancel_on_the_items(api):
    buyer = api.orders.get_order_items(order_id(3)).payload["OrderItems"][0]
    seller = api.orders.get_order_items(order_id(4)).payload["OrderItems"][0]
    assert buyer["BuyerRequestedCancel"] == {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": "Found cheaper somewhere else."}
    assert "BuyerRequestedCancel" not in seller
    assert (seller["QuantityOrdered"], seller["QuantityShipped"]) == (1, 0)
    assert seller["ASIN"] and seller["SellerSKU"] and seller["OrderItemId"]


def test_a_package_is_delivered_only_with_valid_tracking_and_delivery_updates_only_the_2026_order(simulator):
    clock = ManualClock(DAY0 + 2 * D)
    api = clients(simulator(SCENARIO, clock))

    def package(n: int) -> dict:
        got = api.orders26.get_order(order_id(n), includedData=["PACKAGES"]).payload["order"]
        return got["packages"][0] | {"lastUpdatedTime": got["lastUpdatedTime"]}

    assert package(1)["packageStatus"]["status"] == "IN_TRANSIT" and package(2)["packageStatus"]["status"] == "SHIPPED"
    assert package(1)["shipTime"] == package(1)["createdTime"] == format_instant(DAY0 + 20 * H)
    assert (package(1)["carrier"], package(1)["trackingNumber"]) == ("UPS", "1Z000000001")
    clock.advance(days=3)
    assert package(1)["packageStatus"]["status"] == "DELIVERED" and package(2)["packageStatus"]["status"] == "SHIPPED"
    assert package(1)["lastUpdatedTime"] == format_instant(DAY0 + 4 * D)
    v0 = api.orders.get_orders(LastUpdatedAfter=SINCE, MarketplaceIds=[MP], FulfillmentChannels=["MFN"]).payload["Orders"]
    assert next(o for o in v0 if o["AmazonOrderId"] == order_id(1))["LastUpdateDate"] == format_instant(DAY0 + 20 * H)
    no_packages = api.orders26.get_order(order_id(1)).payload["order"]
    assert "packages" not in no_packages and "fulfillment" not in no_packages  # both are includedData
    shipped = api.orders26.get_order(order_id(1), includedData=["FULFILLMENT"]).payload["order"]
    assert shipped["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    afn = api.orders26.get_order(order_id(5), includedData=["PACKAGES", "FULFILLMENT"]).payload["order"]
    assert "packages" not in afn and afn["fulfillment"]["fulfilledBy"] == "AMAZON"


def test_search_orders_says_who_cancelled_and_pages_with_a_pagination_token(api):
    found, token = [], None
    while True:
        response = api.orders26.search_orders(lastUpdatedAfter=SINCE, marketplaceIds=[MP], fulfilledBy=["MERCHANT"],
                                              fulfillmentStatuses=["CANCELLED", "UNSHIPPED"], includedData=["CANCELLATION", "FULFILLMENT"],
                                              maxResultsPerPage=50, **({"paginationToken": token} if token else {}))
        found += response.payload["orders"]
        token = (response.pagination or {}).get("nextToken")
        if not token:
            break
    assert len(found) == 3 + len([n for n in FILLERS if n % 2 == 0])  # two cancels, order 9, the unshipped fillers
    cancels = {o["orderId"]: o["orderItems"][0]["cancellation"] for o in found if o["fulfillment"]["fulfillmentStatus"] == "CANCELLED"}
    assert cancels[order_id(3)] == {
        "cancellationExecution": {"cancelledBy": "BUYER", "cancelReason": "Found cheaper somewhere else."},
        "cancellationRequest": {"requester": "BUYER", "cancelReason": "Found cheaper somewhere else."}}
    assert cancels[order_id(4)] == {"cancellationExecution": {"cancelledBy": "MERCHANT", "cancelReason": "NoInventory"}}
    unshipped = next(o for o in found if o["orderId"] == order_id(9))
    assert unshipped["salesChannel"]["marketplaceId"] == MP and "cancellation" not in unshipped["orderItems"][0]
    assert unshipped["fulfillment"]["shipByWindow"]["latestDateTime"] == format_instant(DAY0 + 5 * H + 2 * D)


def test_a_feedback_report_goes_through_its_lifecycle_and_downloads_as_gzip_text(server, api):
    created = api.reports.create_report(reportType="GET_SELLER_FEEDBACK_DATA", marketplaceIds=[MP],
                                        dataStartTime=format_instant(DAY0), dataEndTime=format_instant(NOW - D))
    report_id = created.payload["reportId"]
    statuses = []
    for seconds in (0, 10, 19, 11):
        server.clock.advance(seconds=seconds)
        statuses.append(api.reports.get_report(report_id).payload["processingStatus"])
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "DONE"]
    document_id = api.reports.get_report(report_id).payload["reportDocumentId"]
    document = api.reports.get_report_document(document_id, download=True).payload
    assert document["compressionAlgorithm"] == "GZIP" and document["url"] == f"{server.url}/download/{document_id}"
    lines = document["document"].splitlines()
    assert lines[0] == "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email"
    rows = [line.split("\t") for line in lines[1:]]
    # 1 and 3 stars are listed; 5 stars never; the removed 2 stars no longer.
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [("3/6/26", "1", "broke in two sad", order_id(1)),
                                                       ("3/8/26", "3", "", order_id(9))]
    download = httpx.get(document["url"])
    assert download.headers["content-type"] == "text/plain; charset=UTF-8" and "content-encoding" not in download.headers


def test_a_feedback_report_without_rows_is_cancelled_and_has_no_document(server, api):
    report_id = api.reports.create_report(reportType="GET_SELLER_FEEDBACK_DATA", marketplaceIds=[MP],
                                          dataStartTime=format_instant(DAY0 + 14 * D)).payload["reportId"]
    server.clock.advance(seconds=30)
    report = api.reports.get_report(report_id).payload
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report


def test_a_report_holds_the_data_of_the_instant_it_was_requested(simulator):
    clock = ManualClock(DAY0 + 10 * D - timedelta(seconds=10))
    server = simulator(SCENARIO, clock)
    api = clients(server)
    report_id = api.reports.create_report(reportType="GET_V2_SELLER_PERFORMANCE_REPORT", marketplaceIds=[MP]).payload["reportId"]
    clock.advance(seconds=40)  # past midnight: a newer publication exists, but this report was made before it
    document_id = api.reports.get_report(report_id).payload["reportDocumentId"]
    report = json.loads(api.reports.get_report_document(document_id, download=True).payload["document"])
    block = report["performanceMetrics"][0]
    assert block["lateShipmentRate"]["reportingDateRange"]["reportingDateTo"] == format_instant(DAY0 + 9 * D)


@pytest.mark.parametrize("marketplace_id, text", [
    ("ATVPDKIKX0DER", "3/7/26"), ("A1F83G8C2ARO7P", "7/3/26"), ("A13V1IB3VIYZZH", "7/3/26"),
    ("A1PA6795UKMFR9", "7.3.26"), ("A1VC38T7YXB528", "26/3/7"), ("A2EUQ1WTGCTBG2", "7/3/26"),
])
def test_feedback_dates_are_written_the_marketplaces_way(marketplace_id, text):
    assert payloads.feedback_date(DAY0 + 6 * D, marketplace_id) == text


def test_granted_claims_and_chargebacks_are_financial_events_and_a_denial_reverses_the_claim(api):
    events = api.finances.list_financial_events(PostedAfter=SINCE).payload["FinancialEvents"]
    claims = [(e["PostedDate"], e["ShipmentItemAdjustmentList"][0]["OrderAdjustmentItemId"],
               e["ShipmentItemAdjustmentList"][0]["ItemChargeAdjustmentList"][0]["ChargeAmount"]["CurrencyAmount"])
              for e in events["GuaranteeClaimEventList"]]
    assert claims == [(format_instant(DAY0 + 9 * D), "C7", -20.5), (format_instant(DAY0 + 12 * D), "C7-R", 20.5)]
    [chargeback] = events["ChargebackEventList"]
    assert chargeback["AmazonOrderId"] == order_id(8) and chargeback["MarketplaceName"] == "Amazon.com"
    item = chargeback["ShipmentItemAdjustmentList"][0]
    assert item["ItemChargeAdjustmentList"] == [{"ChargeType": "Principal", "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -12.0}}]


def test_financial_events_page_with_next_token_within_the_first_pages_bound(server, api):
    first = api.finances.list_financial_events(PostedAfter=SINCE, MaxResultsPerPage=2).payload
    server.clock.advance(days=1)
    second = api.finances.list_financial_events(PostedAfter=SINCE, MaxResultsPerPage=2, NextToken=first["NextToken"]).payload
    assert "NextToken" not in second
    counts = [sum(len(v) for v in page["FinancialEvents"].values()) for page in (first, second)]
    assert counts == [2, 1]


def test_refused_credentials_answer_as_lwa_does(simulator):
    faults = Faults(refused_refresh_tokens=frozenset({"Atzr|refused"}), expired_client_secrets=frozenset({"old-secret"}))
    server = simulator(SCENARIO, ManualClock(NOW), faults)
    with pytest.raises(AuthorizationError) as refused:
        clients(server, refresh_token="Atzr|refused").orders.get_orders(LastUpdatedAfter=SINCE, MarketplaceIds=[MP])
    assert (refused.value.status_code, refused.value.error_code) == (400, "invalid_grant")
    with pytest.raises(AuthorizationError) as expired:
        clients(server, client_secret="old-secret").orders.get_orders(LastUpdatedAfter=SINCE, MarketplaceIds=[MP])
    assert (expired.value.status_code, expired.value.error_code) == (401, "invalid_client")
    assert expired.value.message == "The LWA secret token you provided has expired"
    token = httpx.post(server.url + "/auth/o2/token", data={"grant_type": "refresh_token", "client_id": "c", "client_secret": "s",
                                                           "refresh_token": "Atzr|fine"}).json()
    assert token["expires_in"] == 3600 and token["token_type"] and token["access_token"]
    stranger = httpx.get(server.url + "/orders/v0/orders", params={"LastUpdatedAfter": SINCE, "MarketplaceIds": MP},
                         headers={"x-amz-access-token": "Atza|made-up"})
    assert stranger.status_code == 403 and stranger.json()["errors"][0]["code"] == "Unauthorized"


def test_the_burst_runs_out_on_the_virtual_clock_per_access_token_and_refills_with_it(server, api):
    query = {"LastUpdatedAfter": format_instant(NOW - D), "MarketplaceIds": [MP]}
    first = api.orders.get_orders(**query)
    assert first.rate_limit == "0.0167" and first.headers["x-amzn-RequestId"]
    for _ in range(19):
        api.orders.get_orders(**query)
    with pytest.raises(SellingApiRequestThrottledException) as throttled:
        api.orders.get_orders(**query)
    assert (throttled.value.amzn_code, throttled.value.message) == ("QuotaExceeded", "You exceeded your quota for the requested resource.")
    assert clients(server).orders.get_orders(**query).payload["Orders"] is not None  # another seller's token has its own bucket
    server.clock.advance(seconds=30)
    with pytest.raises(SellingApiRequestThrottledException):
        api.orders.get_orders(**query)
    server.clock.advance(seconds=31)
    assert api.orders.get_orders(**query).payload["Orders"] is not None
    assert [c.status for c in server.calls if c.operation == "getOrders"][-5:] == [200, 429, 200, 429, 200]


def test_every_nth_call_is_throttled_or_fails_when_asked(simulator):
    server = simulator(SCENARIO, ManualClock(NOW), Faults(throttle_every=3, server_error_every=4))
    api = clients(server)
    outcomes = []
    for _ in range(8):
        try:
            api.orders.get_order_items(order_id(1))
            outcomes.append("ok")
        except SellingApiRequestThrottledException:
            outcomes.append(429)
        except SellingApiServerException as exc:
            outcomes.append(exc.amzn_code)
    assert outcomes == ["ok", "ok", 429, "InternalFailure", "ok", 429, "ok", "InternalFailure"]
    assert [c.status for c in server.calls if c.operation == "getOrderItems"] == [200, 200, 429, 500, 200, 429, 200, 500]


def test_every_nth_order_feedback_row_and_financial_event_is_served_malformed(simulator):
    clock = ManualClock(NOW)
    server = simulator(SCENARIO, clock, Faults(malformed_every=2))
    api = clients(server)
    orders = api.orders.get_orders(LastUpdatedAfter=SINCE, MarketplaceIds=[MP], MaxResultsPerPage=10).payload["Orders"]
    broken = [o for o in orders if "AmazonOrderId" not in o or "not-a-date" in o.values() or "OrderStatus" not in o]
    assert broken == orders[1::2]
    searched = api.orders26.search_orders(lastUpdatedAfter=SINCE, maxResultsPerPage=4).payload["orders"]
    assert ["orderId" in o and o["createdTime"] != "not-a-date" for o in searched] == [True, False, True, False]
    report_id = api.reports.create_report(reportType="GET_SELLER_FEEDBACK_DATA", marketplaceIds=[MP],
                                          dataStartTime=format_instant(DAY0)).payload["reportId"]
    clock.advance(seconds=30)
    document_id = api.reports.get_report(report_id).payload["reportDocumentId"]
    rows = api.reports.get_report_document(document_id, download=True).payload["document"].splitlines()[1:]
    assert [row.split("\t")[1] for row in rows] == ["1", "five"]
    events = api.finances.list_financial_events(PostedAfter=SINCE).payload["FinancialEvents"]
    served = events["GuaranteeClaimEventList"] + events["ChargebackEventList"]
    assert sum(1 for e in served if "AmazonOrderId" not in e or e.get("PostedDate") == "not-a-date") == 1


def test_a_held_call_waits_for_release_before_answering(simulator):
    faults = Faults(hold_call=("getOrderItems", 2))
    server = simulator(SCENARIO, ManualClock(NOW), faults)
    api = clients(server)
    api.orders.get_order_items(order_id(1))
    answered = threading.Event()

    def second_call() -> None:
        api.orders.get_order_items(order_id(2))
        answered.set()

    worker = threading.Thread(target=second_call, daemon=True)
    worker.start()
    assert faults.held.wait(10)
    assert not answered.is_set() and [c.operation for c in server.calls].count("getOrderItems") == 1
    faults.release.set()
    assert answered.wait(10)
    worker.join(10)
    assert [c.status for c in server.calls if c.operation == "getOrderItems"] == [200, 200]


def test_the_url_exists_only_once_started_and_stop_closes_the_port(simulator):
    from daemon.simulator.server import SimulatorServer

    unstarted = SimulatorServer(SCENARIO, ManualClock(NOW))
    with pytest.raises(RuntimeError):
        _ = unstarted.url
    with SimulatorServer(SCENARIO, ManualClock(NOW)) as running:
        url = running.url
        assert url.startswith("http://127.0.0.1:") and httpx.get(url + "/nowhere").status_code == 404
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/nowhere")


def test_an_unknown_order_is_not_found(api):
    with pytest.raises(SellingApiNotFoundException):
        api.orders.get_order_items("999-9999999-9999999")
    with pytest.raises(SellingApiNotFoundException):
        api.orders26.get_order("999-9999999-9999999")


def test_forbidden_is_what_a_client_without_a_token_gets(server):
    response = httpx.get(server.url + "/finances/v0/financialEvents", params={"PostedAfter": SINCE})
    assert response.status_code == 403
    assert response.json() == {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]}
