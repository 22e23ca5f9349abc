"""Composition root: config + clock -> App. The only module that names concrete classes."""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx

from alerts.channels.console import ConsoleChannel
from alerts.channels.email import EmailChannel
from alerts.channels.file import FileChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.ticket import TicketChannel
from alerts.channels.trackers.base import Tracker
from alerts.channels.trackers.freshdesk import FreshdeskTickets
from alerts.channels.trackers.github import GitHubIssues
from alerts.channels.trackers.jira import JiraIssues
from alerts.channels.trackers.zendesk import ZendeskTickets
from alerts.channels.webhook import WebhookChannel
from alerts.actions import DUE_SOON
from alerts.decide import Policy
from alerts.evaluate import Thresholds
from alerts.model import Level
from alerts.render import render
from daemon.clock import Clock
from daemon.config import AccountConfig, AlertsConfig, ChannelConfig, Config, DaemonConfig, Margins, default_config
from daemon.lock import DaemonLock
from daemon.notify import Route
from daemon.runtime import AccountRuntime, App
from daemon.signals import SignalRules
from daemon.simulator.generator import builtin_profile, generate
from daemon.simulator.scenario import Scenario, load_scenario, parse_scenario
from daemon.sources.feedback import FeedbackSource
from daemon.sources.finances import FinancesSource
from daemon.sources.orders import OrdersSource
from daemon.sources.order_history import OrderHistorySource
from daemon.sources.orders_2026 import DeliveryLookupSource, SearchOrdersSource
from daemon.sources.performance import PerformanceSource
from daemon.sources.quarantine import QuarantineRetrySource
from daemon.sources.records import Source
from daemon.sources.spapi import AccountEndpoint, SpApiCaller, SpApiClients
from daemon.sources.throttle import RateLimiter
from storage import alerts_repo
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store
from storage.tickets_repo import TicketLedger

USER_AGENT = "seller-sentinel/0.1"
QUARANTINE_RETRY = timedelta(days=7)  # a record still malformed after a week is left for a person to look at


def build_sources(endpoint: AccountEndpoint, clock: Clock, store: Store, daemon: DaemonConfig,
                  budget_wait_seconds: float | None = None) -> dict[str, Source]:
    """Every feed of one account, sharing one caller so usage plans are counted per account."""
    clients = SpApiClients(endpoint)
    caller = SpApiCaller(endpoint.account, clock, RateLimiter(clock, max_wait_seconds=budget_wait_seconds))
    marketplaces = endpoint.marketplace_ids
    lookup_every = timedelta(hours=daemon.delivery_lookup_hours)

    def in_transit(until: datetime) -> list[str]:
        # Promised from the start of the OTDR window (METRICS.md §5: 21 to 7 days ago) to two days ahead: what
        # matters is whether a package arrived by its promise, and the to-do asks the seller to check every package
        # not seen delivered from 48 hours before it (alerts/actions.py), so each is first looked up then.
        return store.orders_in_transit(endpoint.account, until - timedelta(days=21), until + DUE_SOON,
                                       until - lookup_every)

    def quarantined(until: datetime) -> list[str]:
        return store.quarantine_waiting(endpoint.account, until - QUARANTINE_RETRY)

    api_days = daemon.backfill_days
    history: dict[str, Source] = {}
    if daemon.reads_order_reports:
        # searchOrders reads 100 orders every three minutes: the history comes from order reports, a month a
        # request, and searchOrders reads only the days the ship, tracking and delivery windows need.
        api_days = daemon.api_history_days
        history["order_history"] = OrderHistorySource(clients, caller, marketplaces, clock, daemon.backfill_days)
    search = SearchOrdersSource(clients, caller, marketplaces, clock, api_days)
    sources: dict[str, Source] = {
        "orders": search,
        **history,
        "deliveries": DeliveryLookupSource(clients, caller, clock, in_transit),
        "quarantine": QuarantineRetrySource(clients, caller, clock, search, quarantined),
        "finances": FinancesSource(clients, caller, clock, daemon.backfill_days),
        "feedback": FeedbackSource(clients, caller, marketplaces, clock),
        "performance": PerformanceSource(clients, caller, marketplaces, clock),
    }
    if daemon.orders_v0:
        sources["orders_v0"] = OrdersSource(clients, caller, marketplaces, clock, daemon.backfill_days)
    return sources


def open_store(database_url: str, lock: DaemonLock | None = None, busy_timeout_seconds: float = 30.0) -> Store:
    """The database at `database_url`, migrated to the newest schema; taken by `lock` first when one is given."""
    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url, busy_timeout_seconds)
    if lock is not None:
        lock.acquire(engine)  # before migrating: two daemons never migrate one database at once
    upgrade(engine)
    if lock is not None:
        lock.migrated()
    return Store(engine)


def thresholds_of(margins: Margins) -> Thresholds:
    return Thresholds(margins.warning, margins.critical, margins.warning_defects_left, margins.critical_defects_left)


def build_channels(config: Config, clock: Clock, store: Store, stream: IO[str] = sys.stderr) -> dict[str, Any]:
    """One channel object per enabled channel of the config."""
    channels: dict[str, Any] = {}
    for c in config.channels:
        if c.enabled:
            channels[c.name] = build_channel(c, clock, store, stream)
    return channels


def build_channel(c: ChannelConfig, clock: Clock, store: Store, stream: IO[str] = sys.stderr) -> Any:
    """The channel object for one channel config; `store` keeps a ticket channel's tickets."""
    if c.kind == "console":
        return ConsoleChannel(c.name, sys.stdout if c.stream == "stdout" else stream)
    if c.kind == "file":
        return FileChannel(c.name, c.directory or Path("alerts"), clock)
    if c.kind == "email":
        return EmailChannel(c.name, c.host, c.port, c.security, c.username or None,
                            c.password.reveal() if c.password else None, c.sender, c.recipients, c.timeout_seconds, clock,
                            c.ca_file)
    http = httpx.Client(timeout=c.timeout_seconds, headers={"User-Agent": USER_AGENT}, trust_env=False)
    if c.kind == "slack":
        return SlackChannel(c.name, c.webhook_url.reveal(), http)
    if c.kind == "ticket":
        return TicketChannel(c.name, _tracker(c, http, clock), TicketLedger(store), c.reopen_days,
                             c.close_on_resolve)
    return WebhookChannel(c.name, c.url, c.signing_secret.reveal(), http, clock, c.mode,
                          c.routing_key.reveal() if c.routing_key else None)


def _tracker(c: ChannelConfig, http: httpx.Client, clock: Clock) -> Tracker:
    """The tracker a ticket channel keeps its tickets on."""
    assignee = c.assignees[0] if c.assignees else ""
    if c.tracker == "jira":
        return JiraIssues(c.url, c.project, c.email, c.token.reveal(), http, clock, edition=c.edition,
                          issue_type=c.issue_type, labels=c.labels, assignee=assignee,
                          priorities=dict(c.priorities), close_transition=c.close_transition,
                          reopen_transition=c.reopen_transition)
    if c.tracker == "zendesk":
        return ZendeskTickets(c.url, c.email, c.token.reveal(), http, tags=c.labels, assignee_email=assignee,
                              group_id=c.group_id, priorities=dict(c.priorities) or None)
    if c.tracker == "freshdesk":
        return FreshdeskTickets(c.url, c.token.reveal(), c.email, http, tags=c.labels, group_id=c.group_id,
                                priorities=dict(c.priorities) or None)
    return GitHubIssues(c.url, c.repository, c.token.reveal(), http, clock, c.labels, c.assignees)


def routes_of(config: Config) -> tuple[Route, ...]:
    return tuple(Route(c.name, Level(c.min_level), frozenset(c.accounts)) for c in config.channels if c.enabled)


def digest_routes_of(config: Config) -> tuple[Route, ...]:
    return tuple(Route(c.name, Level.OK, frozenset(c.accounts)) for c in config.channels if c.enabled and c.digests)


def build(config: Config, clock: Clock, api_url: str = "", stream: IO[str] = sys.stderr,
          lock: DaemonLock | None = None, budget_wait_seconds: float | None = None) -> App:
    """The App for a config: every account's feeds, the database, the channels and the alert policy.

    `budget_wait_seconds`: how long a poll may wait for a usage-plan token before leaving the rest to the account's
    next turn (the daemon, where waits are real); None waits as long as needed (replays, where waits are virtual).
    """
    store = open_store(config.daemon.database_url, lock, config.daemon.busy_timeout_seconds)
    accounts = []
    for account in config.accounts:
        endpoint = endpoint_of(account, config, api_url)
        accounts.append(AccountRuntime(
            name=account.name, seller_id=account.seller_id, marketplaces=account.marketplaces,
            sources=build_sources(endpoint, clock, store, config.daemon, budget_wait_seconds), otdr_enforced=frozenset(account.otdr_enforced),
            ship_together=account.marketplaces_ship_together,
            thresholds=lambda mp, metric, name=account.name: thresholds_of(config.alerts.margins_for(name, mp, metric)),
        ))
    apply_config_silences(store, config, clock.now())
    return App(store=store, clock=clock, accounts=accounts, routes=routes_of(config),
               channels=build_channels(config, clock, store, stream), render=render, policy=policy_of(config.alerts),
               horizon_days=config.alerts.forecast_horizon_days, chances=config.alerts.chances,
               hysteresis=config.alerts.hysteresis,
               signal_rules=SignalRules(config.alerts.ahr_floor, config.alerts.ahr_drop_step),
               page_url=config.http.page_url if config.http.enabled else "")


def policy_of(alerts: AlertsConfig) -> Policy:
    """When the configured alerts notify, repeat and resolve."""
    return Policy(timedelta(hours=alerts.repeat_interval_hours), alerts.pending_evaluations,
                  timedelta(hours=alerts.settle_hours), timedelta(days=alerts.margin_clear_days),
                  timedelta(hours=alerts.worse_hold_hours))


def endpoint_of(account: AccountConfig, config: Config, api_url: str = "") -> AccountEndpoint:
    base = api_url or account.api_url
    return AccountEndpoint(
        account=account.name, marketplace_ids=account.marketplaces, lwa_app_id=account.lwa_client_id.reveal(),
        lwa_client_secret=account.lwa_client_secret.reveal(), refresh_token=account.refresh_token.reveal(),
        region=account.region, api_url=base, token_url=(base + "/auth/o2/token") if api_url else account.token_url,
        timeout_seconds=config.daemon.http_timeout_seconds,
    )


def apply_config_silences(store: Store, config: Config, now: datetime) -> None:
    """Silences written in the config become rows once (the CLI adds others)."""
    with store.transaction() as session:
        existing = {(s.account, s.marketplace_id, s.metric, s.until, s.reason) for s in alerts_repo.active_silences(session, now)}
        for s in config.silences:
            if (s.account, s.marketplace, s.metric, s.until, s.reason) not in existing and s.until > now:
                alerts_repo.add_silence(session, s.account, s.marketplace, s.metric, s.until, s.reason, now)


def build_for_scenario(scenario: Scenario, server_url: str, clock: Clock, db_path: Path, config: Config | None = None) -> App:
    """An App reading a simulated account through the real client, for `replay` (no channels: replay writes files)."""
    base = config or default_config(db_path.parent)
    base = replace(base, daemon=replace(base.daemon, database_url=sqlite_url(db_path)), channels=())
    accounts = tuple(replace(a, seller_id=scenario.seller_id, marketplaces=scenario.marketplaces) for a in base.accounts[:1])
    return build(replace(base, accounts=accounts), clock, api_url=server_url)


def load_builtin_or_file(spec: str, seed: int) -> Scenario:
    """`builtin:NAME` generates a built-in seller; anything else is a scenario file path."""
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        return parse_scenario(generate(builtin_profile(name), seed), f"builtin:{name}")
    return load_scenario(Path(spec))
