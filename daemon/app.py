"""Composition root: config + clock -> App. The only module that names concrete classes."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from alerts.evaluate import Thresholds
from alerts.render import render_alert
from daemon.clock import Clock
from daemon.runtime import AccountRuntime, App
from daemon.simulator.scenario import Scenario
from daemon.sources.feedback import FeedbackSource
from daemon.sources.finances import FinancesSource
from daemon.sources.orders import OrdersSource
from daemon.sources.packages import PackagesSource
from daemon.sources.performance import PerformanceSource
from daemon.sources.spapi import AccountEndpoint, SpApiCaller, SpApiClients
from daemon.sources.records import Source
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store

US = "ATVPDKIKX0DER"


def build_sources(endpoint: AccountEndpoint, clock: Clock, backfill_days: int = 90) -> dict[str, Source]:
    """Every feed of one account, sharing one caller so usage plans are counted per account."""
    clients = SpApiClients(endpoint)
    caller = SpApiCaller(endpoint.account, clock)
    marketplaces = endpoint.marketplace_ids
    return {
        "orders": OrdersSource(clients, caller, marketplaces, clock, backfill_days),
        "packages": PackagesSource(clients, caller, marketplaces, clock, backfill_days),
        "finances": FinancesSource(clients, caller, clock, backfill_days),
        "feedback": FeedbackSource(clients, caller, marketplaces, clock),
        "performance": PerformanceSource(clients, caller, marketplaces, clock),
    }


def open_store(database_url: str) -> Store:
    """The database at `database_url`, migrated to the newest schema."""
    engine = make_engine(database_url)
    upgrade(engine)
    return Store(engine)


def build_for_scenario(scenario: Scenario, server_url: str, clock: Clock, db_path: Path, config: Any = None) -> App:
    """An App reading a simulated account through the real client, for `replay`."""
    endpoint = AccountEndpoint(
        account="sim", marketplace_ids=scenario.marketplaces, lwa_app_id="amzn1.application-oa2-client.simulator",
        lwa_client_secret="simulator-secret", refresh_token=f"Atzr|simulator-{scenario.name}",
        api_url=server_url, token_url=server_url + "/auth/o2/token",
    )
    account = AccountRuntime(
        name="sim", seller_id=scenario.seller_id, marketplaces=scenario.marketplaces,
        sources=build_sources(endpoint, clock), otdr_enforced=frozenset({US}),
        thresholds=lambda marketplace, metric: Thresholds(),
    )
    return App(store=open_store(sqlite_url(db_path)), clock=clock, accounts=[account], routes=(), channels={},
               render=render_alert)
