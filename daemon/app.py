"""Composition root: config + clock -> App, and the long-running commands built on it. The only module that names concrete classes."""
from __future__ import annotations

import json
import logging
import shutil
import signal
import sys
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx

from alerts.channels.console import ConsoleChannel
from alerts.channels.email import EmailChannel
from alerts.channels.file import FileChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.webhook import WebhookChannel
from alerts.decide import Policy
from alerts.evaluate import Thresholds, evaluate
from alerts.model import Alert, AlertKey, Level, NotifyReason
from alerts.outbox import deliver_due
from alerts.render import render
from alerts.serialize import alert_from_json
from daemon import sdnotify
from daemon.clock import Clock, ScaledClock, SystemClock, format_instant, parse_instant
from daemon.errors import DeliveryError
from daemon.config import AccountConfig, ChannelConfig, Config, Margins, default_config
from daemon.digests import enqueue_due_digests
from daemon.health import HealthRules, health_findings
from daemon.notify import Route, notify
from daemon.observe import observations
from daemon.pipeline import evaluation_instant, sync_bound
from daemon.runtime import AccountRuntime, App
from daemon.scheduler import Job, run_jobs
from daemon.simulator.generator import builtin_profile, generate
from daemon.simulator.scenario import Scenario, load_scenario, parse_scenario
from daemon.simulator.server import SimulatorServer
from daemon.sources.feedback import FeedbackSource
from daemon.sources.finances import FinancesSource
from daemon.sources.orders import OrdersSource
from daemon.sources.packages import PackagesSource
from daemon.sources.performance import PerformanceSource
from daemon.sources.records import Source
from daemon.sources.spapi import AccountEndpoint, SpApiCaller, SpApiClients
from storage import alerts_repo, models as m
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store

logger = logging.getLogger(__name__)
USER_AGENT = "seller-sentinel/0.1"
FAST_FEEDS = ("orders", "packages", "finances")
REPORT_FEEDS = ("feedback", "performance")


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
    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    upgrade(engine)
    return Store(engine)


def thresholds_of(margins: Margins) -> Thresholds:
    return Thresholds(margins.warning, margins.critical, margins.warning_defects_left, margins.critical_defects_left)


def build_channels(config: Config, clock: Clock, stream: IO[str] = sys.stderr) -> dict[str, Any]:
    """One channel object per enabled channel of the config."""
    channels: dict[str, Any] = {}
    for c in config.channels:
        if c.enabled:
            channels[c.name] = build_channel(c, clock, stream)
    return channels


def build_channel(c: ChannelConfig, clock: Clock, stream: IO[str] = sys.stderr) -> Any:
    """The channel object for one channel config."""
    if c.kind == "console":
        return ConsoleChannel(c.name, sys.stdout if c.stream == "stdout" else stream)
    if c.kind == "file":
        return FileChannel(c.name, c.directory or Path("alerts"), clock)
    if c.kind == "email":
        return EmailChannel(c.name, c.host, c.port, c.security, c.username or None,
                            c.password.reveal() if c.password else None, c.sender, c.recipients, c.timeout_seconds, clock)
    http = httpx.Client(timeout=c.timeout_seconds, headers={"User-Agent": USER_AGENT}, trust_env=False)
    if c.kind == "slack":
        return SlackChannel(c.name, c.webhook_url.reveal(), http)
    return WebhookChannel(c.name, c.url, c.signing_secret.reveal(), http, clock, c.mode,
                          c.routing_key.reveal() if c.routing_key else None)


def routes_of(config: Config) -> tuple[Route, ...]:
    return tuple(Route(c.name, Level(c.min_level), frozenset(c.accounts)) for c in config.channels if c.enabled)


def digest_routes_of(config: Config) -> tuple[Route, ...]:
    return tuple(Route(c.name, Level.OK, frozenset(c.accounts)) for c in config.channels if c.enabled and c.digests)


def build(config: Config, clock: Clock, api_url: str = "", stream: IO[str] = sys.stderr) -> App:
    """The App for a config: every account's feeds, the database, the channels and the alert policy."""
    accounts = []
    for account in config.accounts:
        endpoint = endpoint_of(account, config, api_url)
        accounts.append(AccountRuntime(
            name=account.name, seller_id=account.seller_id, marketplaces=account.marketplaces,
            sources=build_sources(endpoint, clock, config.daemon.backfill_days), otdr_enforced=frozenset(account.otdr_enforced),
            thresholds=lambda mp, metric, name=account.name: thresholds_of(config.alerts.margins_for(name, mp, metric)),
        ))
    store = open_store(config.daemon.database_url)
    apply_config_silences(store, config, clock.now())
    policy = Policy(timedelta(hours=config.alerts.repeat_interval_hours), config.alerts.pending_evaluations,
                    timedelta(hours=config.alerts.settle_hours))
    return App(store=store, clock=clock, accounts=accounts, routes=routes_of(config),
               channels=build_channels(config, clock, stream), render=render, policy=policy,
               horizon_days=config.alerts.forecast_horizon_days)


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


class Daemon:
    """The jobs of `run` over one App: poll, evaluate, deliver, watch itself, send digests."""

    def __init__(self, config: Config, app: App, started_at: datetime) -> None:
        self.config, self.app, self.started_at = config, app, started_at
        self.last_reports: dict[str, datetime] = {}

    def poll(self, account: AccountRuntime) -> None:
        now = self.app.clock.now()
        until = sync_bound(now)
        feeds = FAST_FEEDS
        last = self.last_reports.get(account.name)
        report_every = timedelta(hours=min(self.config.daemon.feedback_poll_hours, self.config.daemon.performance_poll_hours))
        if last is None or now - last >= report_every:
            feeds = FAST_FEEDS + REPORT_FEEDS
            self.last_reports[account.name] = now
        results = self.app.sync(account, until, feeds)
        stored = sum(r.records for r in results)
        failed = [r.source for r in results if r.error]
        at = evaluation_instant(until)
        self.app.metrics(account, at)
        alerts = self.app.evaluate(account, at, now)
        logger.info("poll account=%s virtual_time=%s records=%d quarantined=%d api_calls=%d alerts=%d%s", account.name,
                    format_instant(now), stored, sum(r.rejects for r in results), sum(r.api_calls for r in results),
                    len(alerts), f" failed={','.join(failed)}" if failed else "")

    def watch(self) -> None:
        """Operational alerts, digests, and the systemd watchdog ping."""
        now = self.app.clock.now()
        rules = HealthRules(
            stale_after={feed: timedelta(hours=h) for feed, h in self.config.alerts.feed_stale_hours.items()},
            failing_after=timedelta(minutes=self.config.alerts.poll_failure_minutes),
            secret_warning=timedelta(days=self.config.alerts.secret_expiry_warning_days),
        )
        with self.app.store.transaction() as session:
            for account, account_config in zip(self.app.accounts, self.config.accounts):
                for finding in health_findings(session, account.name, account.seller_id, now, rules, self.started_at,
                                               account_config.lwa_client_secret_rotated_on):
                    notify(session, finding, now, self.app.policy, self.app.routes)
        enqueue_due_digests(self.app, self.config.digests, digest_routes_of(self.config), now)
        sdnotify.notify("WATCHDOG=1")

    def deliver(self) -> None:
        deliver_due(self.app.store, self.app.channels, self.app.render, self.app.clock)

    def jobs(self, speed: float) -> list[Job]:
        """Intervals are virtual; `speed` turns them into the real seconds APScheduler counts."""
        poll_seconds = self.config.daemon.poll_interval_minutes * 60 / speed
        jobs = [Job(f"poll:{a.name}", max(0.5, poll_seconds), lambda a=a: self.poll(a)) for a in self.app.accounts]
        jobs.append(Job("deliver", max(0.5, self.config.daemon.deliver_interval_seconds / speed), self.deliver))
        jobs.append(Job("watch", max(0.5, min(60.0, 300 / speed)), self.watch))
        return jobs


def run_daemon(config: Config, stop: threading.Event | None = None, max_virtual: timedelta | None = None) -> int:
    """`seller-sentinel run`: jobs on APScheduler until SIGTERM (or Ctrl-C); against the simulator when the config says so."""
    stop = stop or threading.Event()
    server = None
    speed = 1.0
    clock: Clock = SystemClock()
    if config.simulator.enabled:
        scenario = load_builtin_or_file(config.simulator.scenario, config.simulator.seed)
        speed = config.simulator.speed
        clock = ScaledClock(scenario.monitor_from, speed)
        server = SimulatorServer(scenario, clock).start()
        logger.info("simulator serving scenario=%s from=%s speed=%gx", scenario.name, format_instant(scenario.monitor_from), speed)
    try:
        app = build(config, clock, api_url=server.url if server else "")
        daemon = Daemon(config, app, clock.now())
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        if max_virtual is not None:
            end = clock.now() + max_virtual
            watcher = Job("stop-at-end", 1.0, lambda: stop.set() if clock.now() >= end else None)
            jobs = daemon.jobs(speed) + [watcher]
        else:
            jobs = daemon.jobs(speed)
        run_jobs(jobs, stop, on_started=lambda: sdnotify.notify("READY=1"))
        sdnotify.notify("STOPPING=1")
        daemon.deliver()
        logger.info("stopped cleanly")
        return 0
    finally:
        if server is not None:
            server.stop()


def run_demo(state_dir: Path, seconds_per_day: float, days: int) -> int:
    """`seller-sentinel demo`: the breach-bound simulated seller in fast virtual time, alerts to the console and to .eml files."""
    shutil.rmtree(state_dir, ignore_errors=True)  # a demo starts from a fresh account every time
    base = default_config(state_dir)
    config = replace(
        base,
        simulator=replace(base.simulator, speed=86400 / seconds_per_day),
        daemon=replace(base.daemon, poll_interval_minutes=120, deliver_interval_seconds=600),
        channels=tuple(replace(c, digests=c.kind == "file") for c in base.channels),
    )
    print(f"seller-sentinel demo: one virtual day every {seconds_per_day:g} s; alerts below and as e-mail files in "
          f"{(state_dir / 'alerts').resolve()}; Ctrl-C stops.", file=sys.stderr)
    return run_daemon(config, max_virtual=timedelta(days=days))


def print_status(config: Config, out: IO[str]) -> int:
    """`seller-sentinel status`: every metric with value, limit, defects to breach, forecast and Amazon's figure; open alerts."""
    store = open_store(config.daemon.database_url)
    with store.sessions() as session:
        for account in config.accounts:
            synced = session.get(m.SourceCursor, (account.name, "orders"))
            if synced is None:
                out.write(f"{account.name}: no data yet (the daemon has not completed a sync)\n")
                continue
            at = evaluation_instant(parse_instant(json.loads(synced.value)["after"]))
            out.write(f"{account.name} ({account.seller_id}) as of {format_instant(at)}\n")
            out.write(f"{'marketplace':14} {'metric':9} {'ff':4} {'value':>8} {'limit':>8} {'to breach':>9} {'forecast':>11} {'Amazon':>8}  level\n")
            for obs in observations(session, account.name, account.marketplaces, at, frozenset(account.otdr_enforced)):
                d = obs.definition
                ev = evaluate(obs, thresholds_of(config.alerts.margins_for(account.name, obs.marketplace_id, d.id)),
                              config.alerts.forecast_horizon_days)
                pct = lambda v: "n/a" if v is None else f"{v * 100:.2f}%"  # noqa: E731
                out.write(f"{obs.marketplace_id:14} {d.id:9} {d.fulfillment:4} {pct(ev.value):>8} {pct(ev.limit):>8} "
                          f"{'' if ev.defects_to_breach is None else ev.defects_to_breach:>9} "
                          f"{ev.forecast_breach_at.strftime('%Y-%m-%d') if ev.forecast_breach_at else '-':>11} "
                          f"{pct(ev.amazon_value):>8}  {ev.level.value}\n")
            opened = alerts_repo.open_states(session, account.name)
            out.write(f"open alerts: {len(opened)}\n")
            for state in opened:
                latest = alerts_repo.latest_alert(session, AlertKey(state.account, state.marketplace_id, state.metric, state.fulfillment))
                headline = _headline(latest)
                out.write(f"  [{state.level}] {state.marketplace_id} {state.metric} {state.fulfillment} since "
                          f"{format_instant(state.since)}: {headline}\n")
    return 0


def _headline(record: m.AlertRecord | None) -> str:
    return alert_from_json(record.payload).headline if record is not None else ""


def sample_alert(config: Config, now: datetime) -> Alert:
    account = config.accounts[0]
    return Alert(
        alert_id=f"{account.name}/test/{format_instant(now)}", key=AlertKey(account.name, account.marketplaces[0], "odr", "MFN"),
        kind="metric", level=Level.WARNING, reason=NotifyReason.FIRST, raised_at=now,
        headline="Test alert: ODR 0.82% of 1.00%; 2 more defective orders in the window and you breach",
        explanation=("This is a test sent by `seller-sentinel test-alert`; no metric changed.",),
        advice=("Nothing to do: if you can read this, the channel works.",), value=0.0082, limit=0.01,
        numerator=7, denominator=854, defects_to_breach=2, seller_id=account.seller_id,
    )


def send_test_alert(config: Config, channel_name: str, out: IO[str]) -> int:
    """`seller-sentinel test-alert`: one sample alert through one channel, once, and what happened."""
    channel_config = next((c for c in config.channels if c.name == channel_name), None)
    if channel_config is None:
        out.write(f"no channel named {channel_name!r}; configured: {', '.join(c.name for c in config.channels) or 'none'}\n")
        return 2
    clock = SystemClock()
    channel = build_channel(channel_config, clock, out)
    alert = sample_alert(config, clock.now())
    try:
        channel.send(render(alert), f"{alert.alert_id}:{channel_name}")
    except DeliveryError as exc:
        kind = "permanent: fix the channel's config" if exc.permanent else "transient: the daemon would retry"
        out.write(f"{channel_name} ({channel_config.kind}): FAILED, {exc.reason} ({kind})\n")
        return 1
    out.write(f"{channel_name} ({channel_config.kind}): sent\n")
    return 0


def add_silence(config: Config, account: str, marketplace: str | None, metric: str | None, until: datetime,
                reason: str, out: IO[str]) -> int:
    """`seller-sentinel silence`: mute an account, marketplace or metric until a given time."""
    if account not in {a.name for a in config.accounts}:
        out.write(f"no account named {account!r}\n")
        return 2
    store = open_store(config.daemon.database_url)
    with store.transaction() as session:
        silence_id = alerts_repo.add_silence(session, account, marketplace, metric, until, reason, SystemClock().now())
    out.write(f"silence {silence_id}: {account} {marketplace or 'all marketplaces'} {metric or 'all metrics'} "
              f"muted until {format_instant(until)} ({reason})\n")
    return 0


def list_silences(config: Config, out: IO[str]) -> int:
    store = open_store(config.daemon.database_url)
    with store.sessions() as session:
        rows = alerts_repo.active_silences(session, SystemClock().now())
        for s in rows:
            out.write(f"{s.id}: {s.account} {s.marketplace_id or '*'} {s.metric or '*'} until {format_instant(s.until)}: {s.reason}\n")
        if not rows:
            out.write("no active silences\n")
    return 0
