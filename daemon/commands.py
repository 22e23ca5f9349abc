"""The one-shot commands: status, test-alert, silence. Each reads the config's database or channels and prints what happened."""
from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any


from alerts.breach import chance_text
from alerts.model import Alert, AlertKey, Level, NotifyReason
from alerts.render import render
from daemon.app import build_channel, open_store
from daemon.clock import SystemClock, format_instant, parse_instant
from daemon.config import DATABASE_FILE, RUN_STATE_DIR, ChannelConfig, Config, default_config
from daemon.dbhealth import probe_writable
from daemon.errors import ConfigError, DeliveryError
from daemon.silences import create_silence, silence_problem
from daemon.status import chance_of_crossing, status_report
from daemon.status_client import daemon_url, report_from_daemon
from storage import alerts_repo
from storage.db import sqlite_url
from storage.repo import Store
from storage.tickets_repo import TicketLedger


def _chance(row: dict) -> str:
    """'62% in 14d' for a metric inside its limit; '-' otherwise."""
    chance = chance_of_crossing(row)
    return f"{chance_text(chance[0])} in {chance[1]}d" if chance else "-"


SWEEPING_NOTE = ("first start: the order history is still being read; until it is, the metrics whose windows it "
                 "covers are judged on Amazon's report")


def print_status(config: Config, out: IO[str]) -> int:
    """`seller-sentinel status`: every metric with value, limit, defects to breach, the chance of a breach, the likely
    crossing day and Amazon's figure; open alerts."""
    store = open_store(config.daemon.database_url)
    problem = probe_writable(store.engine)
    out.write(f"database {config.daemon.database_place}: " + ("writable\n" if problem is None else
              f"CANNOT BE WRITTEN ({problem}); the daemon stores nothing new until this is fixed\n"))
    report = report_from_daemon(config)
    if report is not None:
        out.write(f"as the running daemon last evaluated each account ({daemon_url(config)})\n")
    else:
        with store.sessions() as session:
            report = status_report(session, config, SystemClock().now(), history=False)
    for account in report["accounts"]:
        if account["as_of"] is None:
            out.write(f"{account['name']}: no data yet in {config.daemon.database_place} (the daemon has not completed a sync there)\n")
            continue
        out.write(f"{account['name']} ({account['seller_id']}) as of {account['as_of']}\n")
        out.write(f"{'marketplace':14} {'metric':9} {'ff':4} {'value':>8} {'limit':>8} {'to breach':>9} {'chance':>13} {'likely':>11} {'Amazon':>8}  level\n")
        for row in account["metrics"]:
            out.write(f"{row['marketplace']:14} {row['metric']:9} {row['fulfillment']:4} {_pct(row['value']):>8} "
                      f"{_pct(row['limit']):>8} {'' if row['defects_to_breach'] is None else row['defects_to_breach']:>9} "
                      f"{_chance(row):>13} {(row['forecast_breach_at'] or '-')[:10]:>11} {_pct(row['amazon_value']):>8}  "
                      f"{row['level']}\n")
        lines = [SWEEPING_NOTE if account["sweeping"] else None,
                 feedback_note(account["feedback_last_clean_at"], parse_instant(account["synced_at"]),
                               2 * config.daemon.feedback_poll_hours)]
        lines += [feed_line(feed) for feed in account["feeds"]] + [quarantine_line(account["quarantined"])]
        out.writelines(line + "\n" for line in lines if line)
        out.write(f"open alerts: {len(account['open_alerts'])}\n")
        for alert in account["open_alerts"]:
            out.write(f"  [{alert['level']}] {alert['marketplace']} {alert['metric']} {alert['fulfillment']} since "
                      f"{alert['since']}: {alert['headline']}\n")
    return 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


DEMO_STATE_DIR = Path("demo-state")  # `seller-sentinel demo`'s default


def state_config(state_dir: Path | None, err: IO[str]) -> Config:
    """The built-in config over a state directory: the one given, else `run`'s, else the demo's, whichever has data."""
    if state_dir is None:
        found = [d for d in (RUN_STATE_DIR, DEMO_STATE_DIR) if (d / DATABASE_FILE).exists()]
        state_dir = found[0] if found else RUN_STATE_DIR
        if state_dir == DEMO_STATE_DIR:
            err.write(f"(no --config: using the demo's state in {DEMO_STATE_DIR}/)\n")
    return default_config(state_dir)


def backup_database(config: Config, target: Path, out: IO[str]) -> int:
    """`seller-sentinel backup --to FILE`: SQLite's online backup, a consistent copy even while the daemon writes."""
    url = config.daemon.database_url
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"backup copies SQLite databases; for {config.daemon.database_place} use pg_dump.")
    source_path = Path(url[len("sqlite:///"):])
    if not source_path.exists():
        raise ConfigError(f"there is no database at {source_path} yet; check --config or state_dir.")
    if target.exists():
        raise ConfigError(f"{target} already exists; give a new file name so no backup is overwritten.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
    source.close()
    copy.close()
    out.write(f"backed up {source_path} to {target} ({target.stat().st_size} bytes, integrity {check})\n")
    return 0 if check == "ok" else 1


def quarantine_line(quarantined: dict[str, int]) -> str | None:
    """How many records did not parse and are still waiting to be read cleanly (the quarantine table keeps them)."""
    if not quarantined:
        return None
    return "quarantine: " + ", ".join(f"{count} {source}" for source, count in sorted(quarantined.items())) + \
        " record(s) did not parse and wait to be read again (table quarantine)"


def feed_line(feed: dict[str, Any]) -> str:
    """One feed's health for a person: when it last succeeded, and since when and why it fails."""
    last = feed["last_success_at"] or "never"
    if feed["failing_since"] is None:
        return f"feed {feed['source']}: ok, last success {last}"
    return f"feed {feed['source']}: FAILING since {feed['failing_since']} (last success {last}): {feed['last_error']}"


def feedback_note(last_clean: str | None, now: datetime, overdue_hours: float) -> str | None:
    """A line when the feedback feed has had no clean report for a while: removals wait for two clean reports."""
    if last_clean is None:
        return "feedback: no clean feedback report yet, so no removal has been inferred (Amazon may answer CANCELLED)"
    age_hours = (now - parse_instant(last_clean)).total_seconds() / 3600
    if age_hours <= overdue_hours:
        return None
    return (f"feedback: no clean feedback report for {age_hours:.0f} hours (last {last_clean}); "
            "removed feedback still counts until two clean reports agree")


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
    """`seller-sentinel test-alert`: one sample alert through one channel, once, and what happened. A ticket channel
    opens a test ticket and closes it again, keeping nothing in the daemon's database."""
    channel_config = next((c for c in config.channels if c.name == channel_name), None)
    if channel_config is None:
        out.write(f"no channel named {channel_name!r}; configured: {', '.join(c.name for c in config.channels) or 'none'}\n")
        return 2
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as scratch:
        store = open_store(sqlite_url(Path(scratch) / DATABASE_FILE))
        try:
            return _send_samples(config, channel_config, build_channel(channel_config, clock, store, out), store, clock,
                                 out)
        finally:
            store.engine.dispose()


def _send_samples(config: Config, channel_config: ChannelConfig, channel: Any, store: Store, clock: SystemClock,
                  out: IO[str]) -> int:
    """The sample alert (and, for a ticket channel, its resolution), and what happened."""
    alert = sample_alert(config, clock.now())
    name = channel_config.name
    sent = [alert] if channel_config.kind != "ticket" else [alert, resolved_sample(alert)]
    try:
        for each in sent:
            channel.send(render(each), f"{each.alert_id}:{name}")
    except DeliveryError as exc:
        kind = "permanent: fix the channel's config" if exc.permanent else "transient: the daemon would retry"
        out.write(f"{name} ({channel_config.kind}): FAILED, {exc.reason} ({kind})\n")
        return 1
    if channel_config.kind == "ticket":
        ticket = TicketLedger(store).latest(name, alert.key.dedup_key)
        out.write(f"{name} ({channel_config.kind}): opened and closed a test ticket, {ticket.url}\n")
    else:
        out.write(f"{name} ({channel_config.kind}): sent\n")
    return 0


def resolved_sample(alert: Alert) -> Alert:
    """The sample alert's resolution: what closes a test ticket."""
    return replace(alert, alert_id=f"{alert.alert_id}/resolved", level=Level.RESOLVED, reason=NotifyReason.RESOLVED,
                   headline="Test alert resolved: nothing changed, the channel works.")


def add_silence(config: Config, account: str, marketplace: str | None, metric: str | None, until: datetime,
                reason: str, out: IO[str]) -> int:
    """`seller-sentinel silence`: mute an account, marketplace or metric until a given time."""
    now = SystemClock().now()
    problem = silence_problem(config, account, marketplace, metric, until, reason, now)
    if problem:
        out.write(problem + "\n")
        return 2
    silence_id = create_silence(open_store(config.daemon.database_url), account, marketplace, metric, until, reason, now)
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
