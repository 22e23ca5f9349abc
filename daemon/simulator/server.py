"""The fake Selling Partner API: serves a scenario on loopback, on a virtual clock, as Amazon's models describe.

Decisions (FORMAT.md leaves them open):
- Lists answer as of their upper bound (LastUpdatedBefore, lastUpdatedBefore, PostedBefore): a client asking
  about "up to T" sees the account as it was at T, even if the clock is a little later. A page token carries
  that bound, so later pages answer the same question even when the virtual clock has moved meanwhile.
- The feedback report answers as of its dataEndTime too: feedback left in [dataStartTime, dataEndTime) and not
  removed by then, so a report about a past range reads the same whenever it is requested.
- In Orders 2026-01-01, `lastUpdatedTime` also moves when a package is delivered, unless the fault profile
  freezes it there as Amazon's own examples do (REALITY.md).
- Reports: IN_QUEUE at creation, IN_PROGRESS after 10 virtual seconds, DONE (or CANCELLED when empty) after 30,
  order reports later by their size; their content is fixed when they are created.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from daemon.clock import Clock, format_instant, parse_instant
from daemon.simulator import payloads
from daemon.simulator.amazon import AccountSignals, performance_report
from daemon.simulator.scenario import Scenario
from daemon.simulator.state import order_state
from daemon.simulator.throttle import USAGE_PLANS, UsagePlans

TWO_MINUTES = timedelta(minutes=2)
ALL_ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
REPORT_TYPES = frozenset({"GET_SELLER_FEEDBACK_DATA", "GET_V2_SELLER_PERFORMANCE_REPORT", ALL_ORDERS_REPORT})
# Order reports: at most 30 days per request (the limit Amazon documents for its order and shipment reports), and
# made at a rate of rows rather than in fixed time: 100 rows a second, so a 90,000-row month takes 15 minutes.
ORDER_REPORT_MAX_RANGE = timedelta(days=30)
ORDER_REPORT_ROWS_PER_SECOND = 100
ACCESS_TOKEN = re.compile(r"^Atza\|[0-9a-f]{64}$")
DOCUMENT_PREFIX = "amzn1.spdoc.1.4"
QUOTA_EXCEEDED = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}]}


# Answers from Amazon's edge that are not SP-API JSON (REALITY.md): status, content type, body.
EDGE_ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "html_504": (504, "text/html", b"<html><head><title>504 Gateway Time-out</title></head>"
                                   b"<body><center><h1>504 Gateway Time-out</h1></center></body></html>"),
    "html_502": (502, "text/html", b"<html><head><title>502 Bad Gateway</title></head>"
                                   b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"),
    "json_503": (503, "application/json", b'{"message": "Service Unavailable"}'),
    "empty_200": (200, "application/json", b""),
    "blank_payload": (200, "application/json", b'{"payload": {}}'),
}


@dataclass
class Faults:
    """Misbehaviour on demand, for tests: throttling, server errors, malformed records, refused credentials, a held call,
    and the ruder habits of real Amazon (`Faults.realistic()`)."""

    throttle_every: int = 0
    server_error_every: int = 0
    malformed_every: int = 0
    always_malformed: frozenset[str] = frozenset()  # order ids served without their createdTime every time
    edge_every: int = 0  # every n-th API call answers with the next shape of `edge_answers`
    edge_answers: tuple[str, ...] = tuple(EDGE_ANSWERS)
    cancelled_feedback_every: int = 0  # every n-th feedback report is CANCELLED although rows exist
    fatal_reports_every: int = 0  # every n-th report of any type ends FATAL
    delivery_moves_last_update: bool = True  # False: 2026 lastUpdatedTime stays put when a package is delivered
    finance_delay_hours: float = 0  # financial events become visible this long after their PostedDate
    performance_missing_blocks: tuple[str, ...] = ()  # blocks left out of every performance report
    pending_minutes: float = 0  # new orders show Pending this long before they can be shipped
    refused_refresh_tokens: frozenset[str] = frozenset()
    expired_client_secrets: frozenset[str] = frozenset()
    report_seconds: float = 30  # how long a report takes to be DONE (PITFALLS #10: some take hours)
    hold_call: tuple[str, int] | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def realistic(cls, **overrides: Any) -> "Faults":
        """Amazon at its worst as REALITY.md documents it, at a rate that still lets a sync finish."""
        settings: dict[str, Any] = dict(
            edge_every=5, cancelled_feedback_every=3, delivery_moves_last_update=False, finance_delay_hours=36,
            performance_missing_blocks=("lateShipmentRateList", "claims_counts"), pending_minutes=30,
        )
        settings.update(overrides)
        return cls(**settings)


@dataclass(frozen=True)
class CallRecord:
    operation: str
    path: str
    query: dict[str, str]
    status: int


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Report:
    report_id: str
    report_type: str
    created_at: datetime
    marketplace_ids: list[str]
    data_start: datetime | None
    data_end: datetime | None
    content: bytes
    spurious_cancel: bool = False  # CANCELLED although the content has rows (REALITY.md)
    fatal: bool = False  # ends FATAL: Amazon could not make it
    size_seconds: float = 0  # how much longer than the fault profile's report_seconds its rows take to make


ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/auth/o2/token$"), "token"),
    ("GET", re.compile(r"^/orders/v0/orders$"), "getOrders"),
    ("GET", re.compile(r"^/orders/v0/orders/(?P<id>[^/]+)/orderItems$"), "getOrderItems"),
    ("GET", re.compile(r"^/orders/2026-01-01/orders$"), "searchOrders"),
    ("GET", re.compile(r"^/orders/2026-01-01/orders/(?P<id>[^/]+)$"), "getOrder"),
    ("POST", re.compile(r"^/reports/2021-06-30/reports$"), "createReport"),
    ("GET", re.compile(r"^/reports/2021-06-30/reports/(?P<id>[^/]+)$"), "getReport"),
    ("GET", re.compile(r"^/reports/2021-06-30/documents/(?P<id>[^/]+)$"), "getReportDocument"),
    ("GET", re.compile(r"^/download/(?P<id>[^/]+)$"), "download"),
    ("GET", re.compile(r"^/finances/v0/financialEvents$"), "listFinancialEvents"),
    ("GET", re.compile(r"^/finances/v0/orders/(?P<id>[^/]+)/financialEvents$"), "listFinancialEventsByOrderId"),
]


class _Loopback(ABC):
    """A ThreadingHTTPServer on a daemon thread answering through `handle`; `with ... as server:` starts and stops it."""

    _address: tuple[str, int]
    _httpd: ThreadingHTTPServer | None
    _thread: threading.Thread | None

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]: ...

    def _serve(self) -> None:
        self._httpd = ThreadingHTTPServer(self._address, _handler_for(self))  # listening once constructed
        self._httpd.daemon_threads = True
        # A short poll interval: stop() waits for the serving loop to notice, and tests start many simulators.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sp-api-simulator", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SimulatorServer(_Loopback):
    """A loopback HTTP server answering SP-API calls from a scenario; `with SimulatorServer(...) as server:`."""

    def __init__(self, scenario: Scenario, clock: Clock, *, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None, signals: AccountSignals | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self.faults = faults or Faults()
        self.signals = signals or AccountSignals()
        self.calls: list[CallRecord] = []
        self._plans = UsagePlans()
        self._reports: dict[str, _Report] = {}
        self._counts: dict[str, int] = {}
        self._served: dict[str, int] = {}  # records served per kind, for malformed_every
        self._listings: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()  # filtered ids per query, for paging
        self._lock = threading.Lock()
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.mounted_at: str | None = None  # the URL of this seller when a SimulatorHub serves it

    @property
    def url(self) -> str:
        if self.mounted_at is not None:
            return self.mounted_at
        if self._httpd is None:
            raise RuntimeError("the simulator has no address before start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        """Bind and serve in a daemon thread; connections are accepted as soon as this returns."""
        self._serve()
        return self

    def stop(self) -> None:
        """Release any held call, stop serving and close the socket."""
        self.faults.release.set()
        self._close()

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        for verb, pattern, operation in ROUTES:
            match = pattern.match(parts.path)
            if verb == method and match:
                break
        else:
            return self._record("unknown", parts.path, query, _json(404, {"errors": [{"code": "NotFound", "message": "no such resource"}]}))
        try:
            with self._lock:
                count = self._counts[operation] = self._counts.get(operation, 0) + 1
            if self.faults.hold_call == (operation, count):
                self.faults.held.set()
                self.faults.release.wait(60)
            if operation == "token":
                return self._record(operation, parts.path, query, self._token(body))
            if operation == "download":
                return self._record(operation, parts.path, query, self._download(match["id"]))
            edge = self._edge_answer()
            if edge is not None:
                return self._record(operation, parts.path, query, edge)
            token = headers.get("x-amz-access-token", "")
            # The client library caches access tokens across servers, so any token this simulator would issue is valid.
            if not ACCESS_TOKEN.match(token):
                raise ApiError(403, "Unauthorized", "Access to requested resource is denied.")
            self._inject_faults()
            if not self._plans.take(token, operation, self.clock.now()):
                return self._record(operation, parts.path, query, _json(429, QUOTA_EXCEEDED))
            result = getattr(self, "_op_" + operation)(query, body, match.groupdict())
            status, payload = result if isinstance(result, tuple) else (200, result)
            reply = _json(status, payload, {"x-amzn-RateLimit-Limit": str(USAGE_PLANS[operation][0])})
        except ApiError as exc:
            reply = _json(exc.status, {"errors": [{"code": exc.code, "message": exc.message, "details": ""}]})
        return self._record(operation, parts.path, query, reply)

    def _record(self, operation: str, path: str, query: dict[str, str], reply: tuple[int, dict[str, str], bytes]):
        with self._lock:
            self.calls.append(CallRecord(operation, path, query, reply[0]))
        return reply

    def _inject_faults(self) -> None:
        with self._lock:
            self._counts["_api"] = n = self._counts.get("_api", 0) + 1
        if self.faults.throttle_every and n % self.faults.throttle_every == 0:
            raise ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        if self.faults.server_error_every and n % self.faults.server_error_every == 0:
            raise ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.")

    def _edge_answer(self) -> tuple[int, dict[str, str], bytes] | None:
        """Every `edge_every`-th API call gets the next edge shape instead of an answer."""
        if not self.faults.edge_every:
            return None
        with self._lock:
            n = self._counts["_edge"] = self._counts.get("_edge", 0) + 1
        if n % self.faults.edge_every:
            return None
        status, content_type, body = EDGE_ANSWERS[self.faults.edge_answers[(n // self.faults.edge_every - 1)
                                                                          % len(self.faults.edge_answers)]]
        return status, {"Content-Type": content_type}, body

    def _breaks_next_record(self, kind: str) -> int:
        """0 for a record of this kind served intact, else the how-many-th malformed record of its kind this is."""
        if not self.faults.malformed_every:
            return 0
        with self._lock:
            n = self._served[kind] = self._served.get(kind, 0) + 1
        return 0 if n % self.faults.malformed_every else n // self.faults.malformed_every

    def _maybe_malformed(self, kind: str, record: dict[str, Any], breakers: tuple[str, ...]) -> dict[str, Any]:
        if record.get("orderId") in self.faults.always_malformed:
            return {k: v for k, v in record.items() if k != "createdTime"}
        nth = self._breaks_next_record(kind)
        if not nth:
            return record
        broken = dict(record)
        key = breakers[nth % len(breakers)]
        if key.endswith(("Date", "Time")):
            broken[key] = "not-a-date"
        else:
            broken.pop(key, None)
        return broken

    # -- auth -------------------------------------------------------------------------------------

    def _token(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        refresh = form.get("refresh_token", "")
        if form.get("grant_type") != "refresh_token" or not refresh or not form.get("client_id"):
            return _json(400, {"error": "invalid_request", "error_description": "grant_type, client_id and refresh_token are required"})
        if form.get("client_secret") in self.faults.expired_client_secrets:
            return _json(401, {"error": "invalid_client", "error_description": "The LWA secret token you provided has expired"})
        if refresh in self.faults.refused_refresh_tokens:
            return _json(400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"})
        access = "Atza|" + hashlib.sha256(refresh.encode()).hexdigest()
        return _json(200, {"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": 3600})

    # -- Orders v0 --------------------------------------------------------------------------------

    def _bounds(self, query: dict[str, str], after_keys: tuple[str, str], before_keys: tuple[str, str],
                token_key: str) -> tuple[str, datetime, datetime]:
        now = self.clock.now()
        given = [key for key in after_keys if query.get(key)]
        if len(given) != 1:
            raise ApiError(400, "InvalidInput", f"Exactly one of {' or '.join(after_keys)} must be specified")
        kind = given[0]
        before_key = before_keys[after_keys.index(kind)]
        other_before = before_keys[1 - after_keys.index(kind)]
        if query.get(other_before):
            raise ApiError(400, "InvalidInput", f"{other_before} cannot be used with {kind}")
        after = _instant(query[kind], kind)
        before = _instant(query[before_key], before_key) if query.get(before_key) else now - TWO_MINUTES
        if query.get(token_key):
            before = _read_token(query[token_key], token_key)[1]
        if before > now - TWO_MINUTES:
            raise ApiError(400, "InvalidInput", f"{before_key} must be at least 2 minutes before the current time")
        if before < after:
            raise ApiError(400, "InvalidInput", f"{before_key} must be after {kind}")
        return kind, after, before

    def _page(self, ids: list[str], query: dict[str, str], token_key: str, size_key: str,
              before: datetime) -> tuple[list[str], str | None]:
        try:
            size = int(query.get(size_key) or 100)
        except ValueError as exc:
            raise ApiError(400, "InvalidInput", f"{size_key} must be an integer") from exc
        if not 1 <= size <= 100:
            raise ApiError(400, "InvalidInput", f"{size_key} must be between 1 and 100")
        offset = _read_token(query[token_key], token_key)[0] if query.get(token_key) else 0
        page = ids[offset:offset + size]
        more = offset + size < len(ids)
        return page, _make_token(offset + size, before) if more else None

    def _listing(self, key: tuple[Any, ...], compute) -> list[str]:
        """The filtered, ordered ids of one list query; kept for a few queries so each page does not recount them."""
        with self._lock:
            if key in self._listings:
                self._listings.move_to_end(key)
                return self._listings[key]
        ids = compute()
        with self._lock:
            self._listings[key] = ids
            while len(self._listings) > 16:
                self._listings.popitem(last=False)
        return ids

    def _order_ids(self, created: bool, after: datetime, before: datetime, include_deliveries: bool) -> list[str]:
        """Orders visible at `before` created (or updated) in the range, in the API's page order."""
        if created:
            ids = self.scenario.orders_created(after, before)
            return [i for i in ids if self.scenario.orders[i].order.at <= before]
        return self.scenario.orders_updated(after, before, include_deliveries=include_deliveries)

    def _op_getOrders(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        if not query.get("MarketplaceIds"):
            raise ApiError(400, "InvalidInput", "MarketplaceIds is required")
        kind, after, before = self._bounds(query, ("CreatedAfter", "LastUpdatedAfter"), ("CreatedBefore", "LastUpdatedBefore"),
                                           "NextToken")
        marketplaces = frozenset(query["MarketplaceIds"].split(","))
        statuses = frozenset(query["OrderStatuses"].split(",")) if query.get("OrderStatuses") else None
        channels = frozenset(query["FulfillmentChannels"].split(",")) if query.get("FulfillmentChannels") else None

        def compute() -> list[str]:
            ids = self._order_ids(kind == "CreatedAfter", after, before, include_deliveries=False)
            orders = self.scenario.orders
            ids = [i for i in ids if orders[i].order.data["marketplace_id"] in marketplaces
                   and (channels is None or orders[i].order.data["channel"] in channels)]
            if statuses is not None:
                ids = [i for i in ids if self._state(orders[i], before).status in statuses]
            return ids

        ids = self._listing(("getOrders", kind, after, before, marketplaces, statuses, channels), compute)
        page_ids, token = self._page(ids, query, "NextToken", "MaxResultsPerPage", before)
        orders = [self._maybe_malformed("orders", payloads.order_v0(self._state(self.scenario.orders[i], before)),
                                        ("AmazonOrderId", "PurchaseDate", "OrderStatus")) for i in page_ids]
        payload: dict[str, Any] = {"Orders": orders}
        if token:
            payload["NextToken"] = token
        payload["CreatedBefore" if kind == "CreatedAfter" else "LastUpdatedBefore"] = format_instant(before)
        return {"payload": payload}

    def _state(self, timeline, as_of: datetime):
        """An order as the API shows it at `as_of`, with the fault profile's Pending spell and lastUpdatedTime habit."""
        return order_state(timeline, as_of, pending=timedelta(minutes=self.faults.pending_minutes),
                           delivery_moves_update=self.faults.delivery_moves_last_update)

    def _timeline(self, order_id: str):
        timeline = self.scenario.orders.get(order_id)
        if timeline is None or timeline.order.at > self.clock.now():
            raise ApiError(404, "NotFound", f"Order {order_id} not found")
        return timeline

    def _op_getOrderItems(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        return {"payload": payloads.order_items_v0(self._state(self._timeline(params["id"]), self.clock.now()))}

    # -- Orders 2026-01-01 ------------------------------------------------------------------------

    def _op_searchOrders(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        kind, after, before = self._bounds(query, ("createdAfter", "lastUpdatedAfter"), ("createdBefore", "lastUpdatedBefore"),
                                           "paginationToken")
        # marketplaceIds is optional in this version: without it, every marketplace of the seller.
        marketplaces = frozenset(query["marketplaceIds"].split(",") if query.get("marketplaceIds") else self.scenario.marketplaces)
        channels = frozenset({"MERCHANT": "MFN", "AMAZON": "AFN"}.get(v, v) for v in query["fulfilledBy"].split(",")) \
            if query.get("fulfilledBy") else None
        statuses = frozenset(query["fulfillmentStatuses"].split(",")) if query.get("fulfillmentStatuses") else None
        included = set(query.get("includedData", "").split(",")) - {""}

        def compute() -> list[str]:
            ids = self._order_ids(kind == "createdAfter", after, before,
                                  include_deliveries=self.faults.delivery_moves_last_update)
            orders = self.scenario.orders
            ids = [i for i in ids if orders[i].order.data["marketplace_id"] in marketplaces
                   and (channels is None or orders[i].order.data["channel"] in channels)]
            if statuses is not None:
                ids = [i for i in ids if payloads.FULFILLMENT_STATUS_2026[self._state(orders[i], before).status] in statuses]
            return ids

        ids = self._listing(("searchOrders", kind, after, before, marketplaces, channels, statuses), compute)
        page_ids, token = self._page(ids, query, "paginationToken", "maxResultsPerPage", before)
        orders = [self._maybe_malformed("orders", payloads.order_2026(self._state(self.scenario.orders[i], before), included),
                                        ("orderId", "createdTime")) for i in page_ids]
        payload: dict[str, Any] = {"orders": orders}
        if token:
            payload["pagination"] = {"nextToken": token}
        payload["createdBefore" if kind == "createdAfter" else "lastUpdatedBefore"] = format_instant(before)
        return payload

    def _op_getOrder(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        included = set(query.get("includedData", "").split(",")) - {""}
        order = payloads.order_2026(self._state(self._timeline(params["id"]), self.clock.now()), included)
        if order["orderId"] in self.faults.always_malformed:
            order = {k: v for k, v in order.items() if k != "createdTime"}
        return {"order": order}

    # -- Reports ----------------------------------------------------------------------------------

    def _op_createReport(self, query: dict[str, str], body: bytes, params: dict[str, str]):
        try:
            spec = json.loads(body or b"{}")
        except json.JSONDecodeError as exc:
            raise ApiError(400, "InvalidInput", "body is not JSON") from exc
        report_type = spec.get("reportType")
        marketplaces = spec.get("marketplaceIds") or []
        if report_type not in REPORT_TYPES or not marketplaces:
            raise ApiError(400, "InvalidInput", "reportType and marketplaceIds are required")
        now = self.clock.now()
        start = _instant(spec["dataStartTime"], "dataStartTime") if spec.get("dataStartTime") else None
        end = _instant(spec["dataEndTime"], "dataEndTime") if spec.get("dataEndTime") else now
        if end > now:
            raise ApiError(400, "InvalidInput", "dataEndTime must not be in the future")
        spurious = False
        size_seconds = 0.0
        if report_type == ALL_ORDERS_REPORT:
            if start is None or end - start > ORDER_REPORT_MAX_RANGE:
                raise ApiError(400, "InvalidInput", "dataStartTime is required and the range may not exceed 30 days")
            rows = self._all_orders_rows(marketplaces[0], start, end, now)
            content = "\n".join([ "\t".join(payloads.ALL_ORDERS_COLUMNS), *rows]).encode("utf-8") if rows else b""
            size_seconds = len(rows) / ORDER_REPORT_ROWS_PER_SECOND
        elif report_type == "GET_SELLER_FEEDBACK_DATA":
            content = self._feedback_report(marketplaces[0], start or end - timedelta(days=90), end)
            with self._lock:
                n = self._counts["_feedback_reports"] = self._counts.get("_feedback_reports", 0) + 1
            spurious = bool(self.faults.cancelled_feedback_every) and n % self.faults.cancelled_feedback_every == 0
        else:
            report = without_blocks(performance_report(self.scenario, now, marketplaces, signals=self.signals),
                                    self.faults.performance_missing_blocks)
            content = json.dumps(report, indent=1).encode("utf-8")
        with self._lock:
            report_id = str(50000 + len(self._reports))
            fatal = bool(self.faults.fatal_reports_every) and (len(self._reports) + 1) % self.faults.fatal_reports_every == 0
            self._reports[report_id] = _Report(report_id, report_type, now, marketplaces, start, end, content, spurious,
                                               fatal, size_seconds)
        return 202, {"reportId": report_id}

    def _all_orders_rows(self, marketplace_id: str, start: datetime, end: datetime, now: datetime) -> list[str]:
        """Orders placed in [start, end) in one marketplace, as they stand when the report is requested."""
        ids = [i for i in self.scenario.orders_created(start, end)
               if self.scenario.orders[i].order.at < end and self.scenario.orders[i].order.at <= now]
        return [payloads.all_orders_row(self._state(self.scenario.orders[i], now)) for i in ids
                if self.scenario.orders[i].order.data["marketplace_id"] == marketplace_id]

    def _feedback_report(self, marketplace_id: str, start: datetime, end: datetime) -> bytes:
        lines = ["Date\tRating\tComments\tYour Response\tOrder ID\tRater Email"]
        rows = []
        for event in self.scenario.events_between(frozenset({"feedback"}), start, end):
            order = self.scenario.orders[event.data["order_id"]]
            if order.order.data["marketplace_id"] != marketplace_id or int(event.data["rating"]) > 3:
                continue
            # An order carries one feedback: a later one replaces it, a removal takes it away.
            latest = order.last_of("feedback", end) or event
            removed = order.last_of("feedback_removed", end)
            if latest is not event or (removed is not None and removed.at >= event.at):
                continue
            comment = re.sub(r"[\t\r\n]+", " ", str(event.data.get("comment", "")))
            rating = "five" if self._breaks_next_record("feedback") else str(event.data["rating"])
            rows.append("\t".join([payloads.feedback_date(event.at, marketplace_id), rating, comment, "",
                                   event.data["order_id"], f"buyer{len(rows)}@marketplace.amazon.com"]))
        if not rows:
            return b""
        return ("\n".join(lines + rows) + "\n").encode("utf-8")

    def _report(self, report_id: str) -> _Report:
        report = self._reports.get(report_id)
        if report is None:
            raise ApiError(404, "NotFound", f"Report {report_id} not found")
        return report

    def _op_getReport(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        report = self._report(params["id"])
        age = (self.clock.now() - report.created_at).total_seconds()
        done_after = self.faults.report_seconds + report.size_seconds
        finished = "FATAL" if report.fatal else "DONE" if report.content and not report.spurious_cancel else "CANCELLED"
        status = "IN_QUEUE" if age < min(10, done_after) else "IN_PROGRESS" if age < done_after else finished
        body_: dict[str, Any] = {
            "reportId": report.report_id, "reportType": report.report_type, "createdTime": format_instant(report.created_at),
            "processingStatus": status, "marketplaceIds": report.marketplace_ids,
        }
        if report.data_start:
            body_["dataStartTime"] = format_instant(report.data_start)
        if report.data_end:
            body_["dataEndTime"] = format_instant(report.data_end)
        if status in ("DONE", "CANCELLED", "FATAL"):
            body_["processingStartTime"] = format_instant(report.created_at + timedelta(seconds=10))
            body_["processingEndTime"] = format_instant(report.created_at + timedelta(seconds=done_after))
        if status == "DONE":
            body_["reportDocumentId"] = f"{DOCUMENT_PREFIX}.{report.report_id}"
        return body_

    def _op_getReportDocument(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        report = self._document(params["id"])
        if report is None:
            raise ApiError(404, "NotFound", f"Report document {params['id']} not found")
        return {"reportDocumentId": params["id"], "url": f"{self.url}/download/{params['id']}", "compressionAlgorithm": "GZIP"}

    def _document(self, document_id: str) -> _Report | None:
        """The finished report behind a document id, if any."""
        prefix, _, report_id = document_id.rpartition(".")
        report = self._reports.get(report_id)
        if prefix != DOCUMENT_PREFIX or report is None or not report.content or report.spurious_cancel:
            return None
        return report

    def _download(self, document_id: str) -> tuple[int, dict[str, str], bytes]:
        report = self._document(document_id)
        if report is None:
            return 404, {"Content-Type": "text/plain"}, b"NoSuchKey"
        return 200, {"Content-Type": "text/plain; charset=UTF-8"}, gzip.compress(report.content, mtime=0)

    # -- Finances v0 ------------------------------------------------------------------------------

    def _op_listFinancialEvents(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        now = self.clock.now()
        if not query.get("PostedAfter"):
            raise ApiError(400, "InvalidInput", "PostedAfter is required")
        after = _instant(query["PostedAfter"], "PostedAfter")
        before = _instant(query["PostedBefore"], "PostedBefore") if query.get("PostedBefore") else now - TWO_MINUTES
        if query.get("NextToken"):
            before = _read_token(query["NextToken"], "NextToken")[1]
        if before > now - TWO_MINUTES:
            raise ApiError(400, "InvalidInput", "PostedBefore must be at least 2 minutes before the current time")
        entries = self._financial_entries(after, before, now) if before - after <= timedelta(days=180) else []
        ids = [str(i) for i in range(len(entries))]
        page, token = self._page(ids, query, "NextToken", "MaxResultsPerPage", before)
        payload: dict[str, Any] = {"FinancialEvents": self._event_lists([entries[int(i)] for i in page])}
        if token:
            payload["NextToken"] = token
        return {"payload": payload}

    def _op_listFinancialEventsByOrderId(self, query: dict[str, str], body: bytes, params: dict[str, str]) -> dict[str, Any]:
        now = self.clock.now()
        timeline = self._timeline(params["id"])
        entries = [e for e in self._financial_entries(timeline.order.at - timedelta(seconds=1), now - TWO_MINUTES, now)
                   if e[1]["AmazonOrderId"] == params["id"]]
        return {"payload": {"FinancialEvents": self._event_lists(entries)}}

    def _financial_entries(self, after: datetime, before: datetime, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        """Grants and reversals of claims and chargebacks posted in (after, before] and released by `now`."""
        entries: list[tuple[str, dict[str, Any]]] = []
        released_by = now - timedelta(hours=self.faults.finance_delay_hours)
        for event in self.scenario.events_between(frozenset({"claim", "chargeback"}), after, before):
            if event.at > released_by:
                continue  # deferred: Amazon lists it only once released (financesV0 model)
            status = event.data["status"]
            order = self.scenario.orders[event.data["order_id"]]
            id_key = "claim_id" if event.type == "claim" else "chargeback_id"
            granted_before = _was_granted(order, event, id_key)
            if status == "granted" and not granted_before:
                entries.append((event.type, payloads.financial_event(event, order.order.data, reversal=False)))
            elif status == "denied" and granted_before:
                entries.append((event.type, payloads.financial_event(event, order.order.data, reversal=True)))
        return entries

    def _event_lists(self, entries: list[tuple[str, dict[str, Any]]]) -> dict[str, list[Any]]:
        """The two ShipmentEvent lists the daemon reads, each entry perhaps served malformed."""
        events: dict[str, list[Any]] = {"GuaranteeClaimEventList": [], "ChargebackEventList": []}
        for kind, entry in entries:
            entry = self._maybe_malformed("financial events", entry, ("AmazonOrderId", "PostedDate"))
            events["GuaranteeClaimEventList" if kind == "claim" else "ChargebackEventList"].append(entry)
        return events


def without_blocks(report: dict[str, Any], missing: tuple[str, ...]) -> dict[str, Any]:
    """The performance report with whole blocks (or, for `claims_counts`, the ODR claim counts) left out, as real ones are."""
    for block in report.get("performanceMetrics", []):
        for name in missing:
            if name == "claims_counts":
                for odr in (block.get("orderDefectRate") or {}).values():
                    odr.pop("claims", None)
                    odr.pop("chargebacks", None)
            else:
                block.pop(name, None)
    return report


def _was_granted(order, event, id_key: str) -> bool:
    """Whether this claim stood granted just before `event` (grants and denials toggle it)."""
    granted = False
    for earlier in order.events:
        if earlier is event:
            break
        if earlier.type == event.type and earlier.data.get(id_key) == event.data[id_key]:
            if earlier.data["status"] == "granted":
                granted = True
            elif earlier.data["status"] == "denied":
                granted = False
    return granted


def _make_token(offset: int, before: datetime) -> str:
    """An opaque page token: where the next page starts and the upper bound the first page used."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset, "before": format_instant(before)}).encode()).decode()


def _read_token(token: str, key: str) -> tuple[int, datetime]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["offset"]), parse_instant(data["before"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "InvalidInput", f"Invalid {key}") from exc


def _instant(text: str, key: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ApiError(400, "InvalidInput", f"{key} is not an ISO 8601 date-time") from exc


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    out = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    out.update(headers or {})
    return status, out, json.dumps(body).encode("utf-8")


class SimulatorHub(_Loopback):
    """Many simulated sellers behind one loopback server, each under `/sellers/<name>`: an agency's accounts for
    tests and benchmarks, without a server and a thread per seller. Each seller keeps its own usage plans."""

    def __init__(self, scenarios: dict[str, Scenario], clock: Clock, *, faults: dict[str, Faults] | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.sellers = {name: SimulatorServer(scenario, clock, faults=(faults or {}).get(name))
                        for name, scenario in scenarios.items()}
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url_of(self, name: str) -> str:
        """The API base URL of one seller (its token URL is this + /auth/o2/token)."""
        if self._httpd is None:
            raise RuntimeError("the hub has no address before start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/sellers/{name}"

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        match = re.match(r"^/sellers/([^/]+)(/.*)$", raw_path)
        seller = self.sellers.get(match.group(1)) if match else None
        if seller is None:
            return _json(404, {"errors": [{"code": "NotFound", "message": "no such seller"}]})
        return seller.handle(method, match.group(2), headers, body)

    def start(self) -> Self:
        self._serve()
        for name, seller in self.sellers.items():
            seller.mounted_at = self.url_of(name)
        return self

    def stop(self) -> None:
        for seller in self.sellers.values():
            seller.faults.release.set()
        self._close()


def _handler_for(server: _Loopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: avoid the 40 ms delayed-ACK stall

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply_headers, payload = server.handle(method, self.path, headers, body)
            self.send_response(status, HTTPStatus(status).phrase)
            for key, value in reply_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # keep test and demo output quiet
            return

    return Handler
