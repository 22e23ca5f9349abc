"""Scenario lines built in code, the simulator on loopback, and the feeds wired to it through the real client."""
from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from daemon.clock import Clock, format_instant
from daemon.simulator.scenario import Scenario, parse_scenario
from daemon.simulator.server import Faults, SimulatorServer
from daemon.sources.feedback import FeedbackSource
from daemon.sources.finances import FinancesSource
from daemon.sources.orders import OrdersSource
from daemon.sources.orders_2026 import SearchOrdersSource
from daemon.sources.performance import PerformanceSource
from daemon.sources.records import Batch, Cursor
from daemon.sources.throttle import RateLimiter
from daemon.sources.spapi import AccountEndpoint, SpApiCaller, SpApiClients

SHARED_DIR = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[3].parent / "shared"))
MP = "ATVPDKIKX0DER"


def order_id(n: int) -> str:
    return f"111-{n:07d}-0000001"


def header(start: datetime, end: datetime, marketplaces: tuple[str, ...] = (MP,)) -> str:
    return json.dumps({"type": "scenario", "version": 1, "name": "t", "seller_id": "A2TEST",
                       "marketplaces": list(marketplaces), "start": format_instant(start), "end": format_instant(end)})


def order(n: int, purchase: datetime, channel: str = "MFN", quantity: int = 1, marketplace: str = MP) -> str:
    """An order shipping within two days and arriving within a week."""
    return json.dumps({
        "type": "order", "at": format_instant(purchase), "order_id": order_id(n), "marketplace_id": marketplace,
        "channel": channel, "purchase_date": format_instant(purchase),
        "earliest_ship_date": format_instant(purchase), "latest_ship_date": format_instant(purchase + timedelta(days=2)),
        "earliest_delivery_date": format_instant(purchase + timedelta(days=3)),
        "latest_delivery_date": format_instant(purchase + timedelta(days=7)),
        "quantity": quantity, "total": 20.5, "currency": "USD",
    })


def event(kind: str, n: int, at: datetime, **extra: Any) -> str:
    return json.dumps({"type": kind, "at": format_instant(at), "order_id": order_id(n), **extra})


def scenario(lines: list[str]) -> Scenario:
    return parse_scenario(lines, "t")


@dataclass
class Feeds:
    """Every feed of one account sharing one caller, as the daemon wires them."""

    caller: SpApiCaller
    orders: SearchOrdersSource  # Orders 2026-01-01, the order feed
    orders_v0: OrdersSource  # the fallback
    feedback: FeedbackSource
    finances: FinancesSource
    performance: PerformanceSource


def feeds_for(api_url: str, clock: Clock, *, refresh_token: str | None = None, secret: str = "client-secret",
              token_url: str | None = None, page_size: int = 100, backfill_days: int = 30,
              budget_seconds: float | None = None) -> Feeds:
    """The feeds pointed at `api_url`; a fresh refresh token by default, since the library caches access tokens by it."""
    endpoint = AccountEndpoint(
        "main", (MP,), "amzn1.application-oa2-client.test", secret, refresh_token or f"Atzr|{uuid.uuid4().hex}",
        api_url=api_url, token_url=token_url or api_url + "/auth/o2/token", timeout_seconds=5,
    )
    clients = SpApiClients(endpoint)
    caller = SpApiCaller(endpoint.account, clock, RateLimiter(clock, max_wait_seconds=budget_seconds))
    marketplaces = endpoint.marketplace_ids
    return Feeds(
        caller=caller,
        orders=SearchOrdersSource(clients, caller, marketplaces, clock, backfill_days, page_size),
        orders_v0=OrdersSource(clients, caller, marketplaces, clock, backfill_days, page_size),
        feedback=FeedbackSource(clients, caller, marketplaces, clock),
        finances=FinancesSource(clients, caller, clock, backfill_days, page_size),
        performance=PerformanceSource(clients, caller, marketplaces, clock),
    )


def drain(source: Any, until: datetime, cursor: Cursor | None = None) -> tuple[list[Batch], Cursor | None]:
    """Every batch of one poll, and the cursor the pipeline would hold after committing them all."""
    batches = list(source.pages(cursor, until))
    return batches, (batches[-1].next_cursor if batches else cursor)


def records_of(batches: list[Batch], kind: type) -> list[Any]:
    return [r for b in batches for r in b.records if isinstance(r, kind)]


@pytest.fixture
def simulator() -> Iterator[Any]:
    """Start a SimulatorServer on 127.0.0.1 port 0: `simulator(scenario, clock, faults=...)`; stopped after the test."""
    started: list[SimulatorServer] = []

    def start(scenario_: Scenario, clock: Clock, faults: Faults | None = None) -> SimulatorServer:
        server = SimulatorServer(scenario_, clock, faults=faults).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def static_server() -> Iterator[Any]:
    """A loopback HTTP server answering every GET with one fixed reply: `static_server(body, headers)` returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(body: bytes, headers: dict[str, str]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        host, port = httpd.server_address[:2]
        return f"http://{host}:{port}/document"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()
