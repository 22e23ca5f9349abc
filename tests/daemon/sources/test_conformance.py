"""Amazon's own example answers from the models, served on loopback through the real client, parse with nothing
quarantined: the feeds read what Amazon documents, not only what our simulator says (issue: real Amazon)."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from daemon.clock import ManualClock
from daemon.sources.finances import FinancesSource
from daemon.sources.orders import OrdersSource
from daemon.sources.orders_2026 import SearchOrdersSource
from daemon.sources.records import FinancialEventRecord, OrderRecord, PackageRecord
from daemon.sources.spapi import AccountEndpoint, SpApiCaller, SpApiClients
from tests.daemon.sources.conftest import SHARED_DIR, drain

MODELS = SHARED_DIR / "spapi" / "models"
NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


def examples(model: str, path: str) -> list[tuple[str, Any]]:
    """Every 200 answer a model gives for a GET path: its `examples` and its sandbox responses, named."""
    operation = json.loads((MODELS / model).read_text())["paths"][path]["get"]
    answer = operation["responses"]["200"]
    found = [(f"{operation['operationId']} example", body) for body in answer.get("examples", {}).values()]
    for n, case in enumerate(answer.get("x-amzn-api-sandbox", {}).get("static", [])):
        found.append((f"{operation['operationId']} sandbox {n}", case["response"]))
    return found


def without_tokens(body: Any) -> Any:
    """The example without its next-page token, so one page is one answer (paging is tested on the simulator)."""
    body = json.loads(json.dumps(body))
    payload = body.get("payload", body)
    for key in ("NextToken", "pagination"):
        payload.pop(key, None)
        body.pop(key, None)
    return body


class ExampleServer:
    """Answers the LWA token call, and every GET under a prefix with the body set for it."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._reply(json.dumps({"access_token": "Atza|" + "0" * 64, "token_type": "bearer",
                                        "expires_in": 3600}).encode())

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                prefix = max((p for p in server.bodies if path.startswith(p)), key=len)
                self._reply(server.bodies[prefix])

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = "http://%s:%d" % self.httpd.server_address[:2]

    def serve(self, prefix: str, body: Any) -> None:
        self.bodies[prefix] = json.dumps(body).encode()


@pytest.fixture
def amazon() -> Iterator[tuple[ExampleServer, SpApiClients, SpApiCaller, ManualClock]]:
    server = ExampleServer()
    clock = ManualClock(NOW)
    endpoint = AccountEndpoint("main", ("ATVPDKIKX0DER",), "amzn1.application-oa2-client.test", "secret",
                               f"Atzr|{uuid.uuid4().hex}", api_url=server.url, token_url=server.url + "/auth/o2/token",
                               timeout_seconds=5)
    yield server, SpApiClients(endpoint), SpApiCaller("main", clock), clock
    server.httpd.shutdown()
    server.httpd.server_close()


SEARCH = examples("orders_2026-01-01.json", "/orders/2026-01-01/orders")
GET_ORDER = examples("orders_2026-01-01.json", "/orders/2026-01-01/orders/{orderId}")
GET_ORDERS = examples("ordersV0.json", "/orders/v0/orders")
ITEMS = examples("ordersV0.json", "/orders/v0/orders/{orderId}/orderItems")
FINANCES = examples("financesV0.json", "/finances/v0/financialEvents")


def test_the_models_have_the_examples_this_test_reads():
    assert [len(x) for x in (SEARCH, GET_ORDER, GET_ORDERS, ITEMS, FINANCES)] == [4, 4, 4, 2, 1]


@pytest.mark.parametrize(("name", "body"), SEARCH + [(n, {"orders": [b["order"]]}) for n, b in GET_ORDER],
                         ids=[n for n, _ in SEARCH + GET_ORDER])
def test_every_2026_example_order_parses(amazon, name, body):
    server, clients, caller, clock = amazon
    server.serve("/orders/2026-01-01/orders", without_tokens(body))
    source = SearchOrdersSource(clients, caller, ("ATVPDKIKX0DER",), clock)
    batches, cursor = drain(source, NOW)
    orders = [r for b in batches for r in b.records if isinstance(r, OrderRecord)]
    assert [b.rejects for b in batches] == [()] and len(orders) == len(body["orders"]) > 0
    assert cursor is not None and "after" in cursor
    for order in orders:
        packages = [r for b in batches for r in b.records if isinstance(r, PackageRecord) and r.order_id == order.order_id]
        assert len(packages) == (order.channel == "MFN")


@pytest.mark.parametrize(("name", "body"), GET_ORDERS, ids=[n for n, _ in GET_ORDERS])
def test_every_v0_example_order_parses_and_a_non_iso_bound_never_reaches_the_cursor(amazon, name, body):
    server, clients, caller, clock = amazon
    server.serve("/orders/v0/orders", without_tokens(body))
    server.serve("/orders/v0/orders/", ITEMS[0][1])
    batches, cursor = drain(OrdersSource(clients, caller, ("ATVPDKIKX0DER",), clock), NOW)
    assert [b.rejects for b in batches] == [()]
    assert len([r for r in batches[0].records if isinstance(r, OrderRecord)]) == len(body["payload"]["Orders"])
    assert cursor == {"after": "2026-02-28T23:58:00Z"}  # the asked bound, whatever Amazon echoed


def test_the_v0_items_example_is_a_buyer_requested_cancel(amazon):
    server, clients, caller, clock = amazon
    cancelled = {"payload": {"Orders": [dict(GET_ORDERS[0][1]["payload"]["Orders"][0], OrderStatus="Canceled")]}}
    server.serve("/orders/v0/orders", cancelled)
    server.serve("/orders/v0/orders/", ITEMS[0][1])
    batches, _ = drain(OrdersSource(clients, caller, ("ATVPDKIKX0DER",), clock), NOW)
    assert [(r.by, r.reason) for r in batches[0].records if type(r).__name__ == "CancellationRecord"] == [
        ("buyer", "Found cheaper somewhere else.")]


@pytest.mark.parametrize(("name", "body"), FINANCES, ids=[n for n, _ in FINANCES])
def test_every_finances_example_parses(amazon, name, body):
    server, clients, caller, clock = amazon
    server.serve("/finances/v0/financialEvents", without_tokens(body))
    batches, _ = drain(FinancesSource(clients, caller, clock), NOW)
    assert [b.rejects for b in batches] == [()]
    events = body["payload"]["FinancialEvents"]
    expected = len(events.get("GuaranteeClaimEventList") or []) + len(events.get("ChargebackEventList") or [])
    assert len([r for r in batches[0].records if isinstance(r, FinancialEventRecord)]) == expected


def _cancel_rate_of(tmp_path: Path, order: dict[str, Any]) -> tuple[int, int]:
    """cr_7d numerator and denominator after storing one 2026 order in a real SQLite store."""
    from daemon.app import open_store
    from daemon.sources.orders_2026 import parse_order
    from daemon.sources.records import Batch
    from storage.db import sqlite_url
    from storage.repo import store_batch

    store = open_store(sqlite_url(tmp_path / "cancel.db"))
    with store.transaction() as session:
        store_batch(session, "main", Batch("orders", tuple(parse_order(order)), (), None), NOW)
    placed = datetime.fromisoformat(order["createdTime"].replace("Z", "+00:00")).date()
    return store.window_counts("main", order["salesChannel"]["marketplaceId"], "cr_7d", "MFN", placed, placed.replace(year=placed.year + 1))


def test_amazons_example_cancel_asked_by_the_buyer_and_executed_by_the_merchant_is_not_the_sellers(tmp_path):
    order = next(o for _, body in SEARCH for o in body["orders"]
                 if any((i.get("cancellation") or {}).get("cancellationRequest") for i in o["orderItems"]))
    assert _cancel_rate_of(tmp_path, order) == (0, 1)


def test_the_same_cancel_without_the_buyers_request_is_the_sellers(tmp_path):
    order = json.loads(json.dumps(next(o for _, body in SEARCH for o in body["orders"]
                                       if any(i.get("cancellation") for i in o["orderItems"]))))
    for item in order["orderItems"]:
        (item.get("cancellation") or {}).pop("cancellationRequest", None)
    assert _cancel_rate_of(tmp_path, order) == (1, 1)


def test_amazons_performance_report_sample_is_read_block_by_block():
    from daemon.sources.performance import POLICY_BLOCKS, parse_performance

    sample = (SHARED_DIR / "spapi" / "samples" / "GET_V2_SELLER_PERFORMANCE_REPORT.example.json").read_text()
    figures, rejects = parse_performance(sample, "performance")
    assert rejects == []
    by_metric = {f.metric: f for f in figures}
    assert (by_metric["otdr_30d"].numerator, by_metric["otdr_30d"].denominator) == (847987, 808046)
    assert by_metric["otdr_30d"].details["target"] == 0.95 and by_metric["otdr_14d"].details["target"] == 0.9
    assert by_metric["policy:receivedIntellectualPropertyComplaints"].numerator == 75
    policies = {m.split(":", 1)[1] for m in by_metric if m.startswith("policy:")}
    report = json.loads(sample)["performanceMetrics"][0]
    assert policies == {name for name in POLICY_BLOCKS if name in report or (name == "documentRequests" and "documentRequest" in report)}
    assert by_metric["warnings"].details == {"states": [{"type": "spammingSellerMessaging", "status": "BAD"}]}
    assert by_metric["report"].details == {"missing": []}


def test_a_performance_report_missing_blocks_and_counts_says_which():
    from daemon.sources.performance import parse_performance

    report = json.loads((SHARED_DIR / "spapi" / "samples" / "GET_V2_SELLER_PERFORMANCE_REPORT.example.json").read_text())
    block = report["performanceMetrics"][0]
    del block["lateShipmentRate"]
    del block["orderDefectRate"]["mfn"]["claims"]
    figures, rejects = parse_performance(json.dumps(report), "performance")
    missing = next(f for f in figures if f.metric == "report").details["missing"]
    assert rejects == [] and missing == ["lateShipmentRate", "orderDefectRate.mfn.claims"]
    odr = next(f for f in figures if f.metric == "odr" and f.fulfillment == "MFN")
    assert odr.details["claims"] is None  # unknown, not zero


@pytest.mark.parametrize(("echoed", "expected"), [
    ("1.569521782042E9", "2026-02-28T23:58:00Z"),  # Amazon's sandbox: not ISO 8601
    ("2026-02-28T12:00:00Z", "2026-02-28T12:00:00Z"),  # a bound inside the window is Amazon's word
    ("2027-01-01T00:00:00Z", "2026-02-28T23:58:00Z"),  # beyond what was asked: never trusted
    (None, "2026-02-28T23:58:00Z"),
])
def test_an_echoed_upper_bound_reaches_the_cursor_only_when_it_is_an_instant_inside_the_window(echoed, expected):
    from daemon.clock import format_instant, parse_instant
    from daemon.sources.common import Window, echoed_bound

    window = Window(parse_instant("2026-02-01T00:00:00Z"), parse_instant("2026-02-28T23:58:00Z"))
    assert format_instant(echoed_bound(echoed, window)) == expected


@pytest.mark.parametrize(("operation", "path", "verb"), [
    ("createReport", "/reports/2021-06-30/reports", "post"),
    ("getReport", "/reports/2021-06-30/reports/{reportId}", "get"),
    ("getReportDocument", "/reports/2021-06-30/documents/{reportDocumentId}", "get"),
])
def test_amazons_report_examples_are_well_formed_answers(operation, path, verb):
    from daemon.sources.answers import check_payload

    answers = json.loads((MODELS / "reports_2021-06-30.json").read_text())["paths"][path][verb]["responses"]
    cases = [case["response"] for status in ("200", "202") for case in
             (answers.get(status) or {}).get("x-amzn-api-sandbox", {}).get("static", [])]
    assert cases
    for body in cases:
        check_payload(operation, body)  # raises UnreadableAnswer when the key the feed needs is missing
