"""The one-shot commands: status, test-alert, silence. Each reads the config's database or channels and prints what happened."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import func, select

from alerts.evaluate import evaluate
from alerts.marketplaces import marketplace_name
from alerts.model import Alert, AlertKey, Level, NotifyReason
from alerts.render import render
from alerts.serialize import alert_from_json
from daemon.app import build_channel, open_store, thresholds_of
from daemon.clock import SystemClock, format_instant, parse_instant
from daemon.config import DATABASE_FILE, RUN_STATE_DIR, Config, default_config
from daemon.dbhealth import probe_writable
from daemon.errors import ConfigError, DeliveryError
from daemon.observe import observations
from daemon.pipeline import evaluation_instant
from daemon.silences import create_silence, silence_problem
from storage import alerts_repo, models as m


def print_status(config: Config, out: IO[str]) -> int:
    """`seller-sentinel status`: every metric with value, limit, defects to breach, forecast and Amazon's figure; open alerts."""
    store = open_store(config.daemon.database_url)
    problem = probe_writable(store.engine)
    out.write(f"database {_where(config)}: " + ("writable\n" if problem is None else
              f"CANNOT BE WRITTEN ({problem}); the daemon stores nothing new until this is fixed\n"))
    with store.sessions() as session:
        for account in config.accounts:
            synced = session.get(m.SourceCursor, (account.name, "orders"))
            if synced is None:
                out.write(f"{account.name}: no data yet in {_where(config)} (the daemon has not completed a sync there)\n")
                continue
            at = evaluation_instant(parse_instant(json.loads(synced.value)["after"]))
            out.write(f"{account.name} ({account.seller_id}) as of {format_instant(at)}\n")
            out.write(f"{'marketplace':14} {'metric':9} {'ff':4} {'value':>8} {'limit':>8} {'to breach':>9} {'forecast':>11} {'Amazon':>8}  level\n")
            for obs in observations(session, account.name, account.marketplaces, at, frozenset(account.otdr_enforced)):
                d = obs.definition
                ev = evaluate(obs, thresholds_of(config.alerts.margins_for(account.name, obs.marketplace_id, d.id)),
                              config.alerts.forecast_horizon_days)
                pct = lambda v: "n/a" if v is None else f"{v * 100:.2f}%"  # noqa: E731
                out.write(f"{marketplace_name(obs.marketplace_id):14} {d.id:9} {d.fulfillment:4} {pct(ev.value):>8} {pct(ev.limit):>8} "
                          f"{'' if ev.defects_to_breach is None else ev.defects_to_breach:>9} "
                          f"{ev.forecast_breach_at.strftime('%Y-%m-%d') if ev.forecast_breach_at else '-':>11} "
                          f"{pct(ev.amazon_value):>8}  {ev.level.value}\n")
            synced_at = parse_instant(json.loads(synced.value)["after"])
            note = feedback_note(session.get(m.SourceCursor, (account.name, "feedback")), synced_at,
                                 2 * config.daemon.feedback_poll_hours)
            if note:
                out.write(note + "\n")
            for row in session.scalars(select(m.FeedHealth).where(m.FeedHealth.account == account.name)
                                       .order_by(m.FeedHealth.source)):
                out.write(feed_line(row) + "\n")
            waiting = quarantine_line(session, account.name)
            if waiting:
                out.write(waiting + "\n")
            opened = alerts_repo.open_states(session, account.name)
            out.write(f"open alerts: {len(opened)}\n")
            for state in opened:
                latest = alerts_repo.latest_alert(session, AlertKey(state.account, state.marketplace_id, state.metric, state.fulfillment))
                headline = _headline(latest)
                out.write(f"  [{state.level}] {marketplace_name(state.marketplace_id)} {state.metric} {state.fulfillment} since "
                          f"{format_instant(state.since)}: {headline}\n")
    return 0


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
        raise ConfigError(f"backup copies SQLite databases; for {_where(config)} use pg_dump.")
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


def quarantine_line(session, account: str) -> str | None:
    """How many records did not parse and are still waiting to be read cleanly (the quarantine table keeps them)."""
    q = m.QuarantinedPayload
    rows = session.execute(select(q.source, func.count()).where(q.account == account, q.resolved_at.is_(None))
                           .group_by(q.source).order_by(q.source)).all()
    if not rows:
        return None
    return "quarantine: " + ", ".join(f"{count} {source}" for source, count in rows) + \
        " record(s) did not parse and wait to be read again (table quarantine)"


def feed_line(row: m.FeedHealth) -> str:
    """One feed's health for a person: when it last succeeded, and since when and why it fails."""
    last = format_instant(row.last_success_at) if row.last_success_at else "never"
    if row.failing_since is None:
        return f"feed {row.source}: ok, last success {last}"
    return f"feed {row.source}: FAILING since {format_instant(row.failing_since)} (last success {last}): {row.last_error}"


def _where(config: Config) -> str:
    """The database a command reads, for a person: the SQLite file, or the PostgreSQL host without credentials."""
    url = config.daemon.database_url
    return url[len("sqlite:///"):] if url.startswith("sqlite:///") else url.split("@")[-1]


def feedback_note(cursor: m.SourceCursor | None, now: datetime, overdue_hours: float) -> str | None:
    """A line when the feedback feed has had no clean report for a while: removals wait for two clean reports."""
    last_clean = json.loads(cursor.value).get("last_clean_at") if cursor is not None else None
    if last_clean is None:
        return "feedback: no clean feedback report yet, so no removal has been inferred (Amazon may answer CANCELLED)"
    age_hours = (now - parse_instant(last_clean)).total_seconds() / 3600
    if age_hours <= overdue_hours:
        return None
    return (f"feedback: no clean feedback report for {age_hours:.0f} hours (last {last_clean}); "
            "removed feedback still counts until two clean reports agree")


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
