"""Where each account stands, as data: what `status` prints and the status page and /api/status show.

One gathering for every reader, so the terminal, the page and the JSON never disagree.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.evaluate import evaluate
from alerts.marketplaces import marketplace_name
from alerts.model import AlertKey, Level
from alerts.serialize import alert_from_json
from daemon.app import thresholds_of
from daemon.clock import format_instant, parse_instant
from daemon.config import Config
from daemon.evaluated import EvaluatedMetrics, cursors_of, metric_row, version_of
from daemon.observe import observations, still_reading
from daemon.orders_behind import account_todo
from daemon.pipeline import evaluation_instant
from storage import alerts_repo, models as m
from storage.repo import orders_sweeping

HISTORY_DAYS = 90


def status_report(session: Session, config: Config, now: datetime, cache: EvaluatedMetrics | None = None,
                  only: str | None = None, history: bool = True, todos: EvaluatedMetrics | None = None) -> dict[str, Any]:
    """Every account (or `only` the one named): metrics with their limits, margins, chance of a breach and 90-day
    history (unless `history` is False); the to-do as of the last sync (when `todos` keeps it); feeds; alerts;
    silences. Each table is read once for all accounts."""
    accounts = [a for a in config.accounts if only is None or a.name == only]
    names = [a.name for a in accounts]
    gathered = _Gathered(session, names)
    cache = cache or EvaluatedMetrics()
    return {
        "generated_at": format_instant(now),
        "accounts": [_account(session, config, account, gathered, cache, history, todos) for account in accounts],
        "silences": [_silence(s) for s in alerts_repo.active_silences(session, now)
                     if only is None or s.account == only],
        "deliveries": _recent_deliveries(session),
    }


def badness(row: dict[str, Any]) -> tuple[int, float, float]:
    """How bad one metric stands, to sort by: its level, its chance of a breach, then how far toward (or past) the
    limit it is, as a share of the room the limit allows."""
    value, limit = row["value"], row["limit"]
    if value is None:
        spent = 0.0
    elif row["direction"] == "upper":
        spent = value / limit
    else:
        spent = (1 - value) / (1 - limit)
    return Level(row["level"]).rank, row["breach_probability"] or 0.0, spent


def chance_of_crossing(row: dict[str, Any] | None) -> tuple[float, int] | None:
    """(chance of a breach, within days) of a metric inside its limit; None when it is over the limit or has no chance
    evaluated: a chance of crossing is only worth saying before the crossing."""
    if row is None or row["breach_probability"] is None or not row["defects_to_breach"]:
        return None
    return row["breach_probability"], row["breach_probability_days"]


def overview(account: dict[str, Any]) -> dict[str, Any]:
    """One account's report in a line: its worst metric, and what needs a look."""
    worst = max(account["metrics"], key=badness, default=None)
    return {"name": account["name"], "seller_id": account["seller_id"], "as_of": account["as_of"],
            "level": worst["level"] if worst else "ok", "worst": worst,
            "failing_feeds": [f["source"] for f in account["feeds"] if f["failing_since"]],
            "open_alerts": len(account["open_alerts"]), "quarantined": sum(account["quarantined"].values())}


class _Gathered:
    """The per-account tables, one query each for every account of the report."""

    def __init__(self, session: Session, names: list[str]) -> None:
        self.cursors = cursors_of(session, names)
        self.feeds: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for feed in session.scalars(select(m.FeedHealth).where(m.FeedHealth.account.in_(names))
                                    .order_by(m.FeedHealth.account, m.FeedHealth.source)):
            self.feeds[feed.account].append(_feed(feed))
        self.quarantined = quarantined_counts(session, names)
        self.open_alerts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        wanted = set(names)
        for state in alerts_repo.open_states(session):
            if state.account in wanted:
                self.open_alerts[state.account].append(_open_alert(session, state))


def _account(session: Session, config: Config, account: Any, gathered: _Gathered, cache: EvaluatedMetrics,
             history: bool, todos: EvaluatedMetrics | None) -> dict[str, Any]:
    cursors = gathered.cursors.get(account.name, {})
    out: dict[str, Any] = {"name": account.name, "seller_id": account.seller_id, "as_of": None, "synced_at": None,
                           "metrics": [], "feeds": gathered.feeds.get(account.name, []),
                           "open_alerts": gathered.open_alerts.get(account.name, []),
                           "quarantined": gathered.quarantined.get(account.name, {}),
                           "feedback_last_clean_at": None, "sweeping": False, "todo": []}
    if "feedback" in cursors:
        out["feedback_last_clean_at"] = json.loads(cursors["feedback"]).get("last_clean_at")
    if "orders" not in cursors:
        return out
    orders = json.loads(cursors["orders"])
    # As the alerting does: while a first start's searchOrders sweep runs, what reports do not make exact is judged on
    # Amazon's report, as of the bound the sweep reads toward (its lower bound is weeks back).
    out["sweeping"] = orders_sweeping(orders)
    synced_at = parse_instant(orders["before"] if out["sweeping"] else orders["after"])
    at = evaluation_instant(synced_at)
    out["as_of"], out["synced_at"] = format_instant(at), format_instant(synced_at)
    reading = still_reading(out["sweeping"], config.daemon.reads_order_reports)
    rows = cache.get(account.name, version_of(at, cursors), lambda: _evaluated(session, config, account, at, reading))
    out["metrics"] = [dict(row) for row in rows]
    if todos is not None:
        out["todo"] = todos.get(account.name, version_of(at, cursors), lambda: [
            item.described(synced_at) for item in account_todo(session, account.name, account.marketplaces, at, synced_at)])
    if history:
        series = _histories(session, account.name, at)
        for row in out["metrics"]:
            row["history"] = series.get((row["marketplace_id"], row["metric"], row["fulfillment"]), [])
    return out


def _evaluated(session: Session, config: Config, account: Any, at: datetime,
               reading: frozenset[str]) -> list[dict[str, Any]]:
    rows = []
    enforced = frozenset(account.otdr_enforced)
    for obs in observations(session, account.name, account.marketplaces, at, enforced, reading,
                            account.marketplaces_ship_together):
        thresholds = thresholds_of(config.alerts.margins_for(account.name, obs.marketplace_id, obs.definition.id))
        rows.append(metric_row(obs, evaluate(obs, thresholds, config.alerts.forecast_horizon_days,
                                             config.alerts.chances), thresholds))
    return rows


def _histories(session: Session, account: str, at: datetime) -> dict[tuple[str, str, str], list[list[Any]]]:
    h = m.MetricHistory
    out: dict[tuple[str, str, str], list[list[Any]]] = defaultdict(list)
    for row in session.execute(select(h.marketplace_id, h.metric, h.fulfillment, h.day, h.numerator, h.denominator)
                               .where(h.account == account, h.day > (at - timedelta(days=HISTORY_DAYS)).date())
                               .order_by(h.day)):
        out[(row.marketplace_id, row.metric, row.fulfillment)].append(
            [row.day.isoformat(), row.numerator / row.denominator if row.denominator else None])
    return out


def _feed(row: m.FeedHealth) -> dict[str, Any]:
    return {"source": row.source, "last_success_at": _instant(row.last_success_at),
            "failing_since": _instant(row.failing_since), "last_error": row.last_error,
            "credentials_refused": bool(row.credentials_refused)}


def _open_alert(session: Session, state: m.AlertState) -> dict[str, Any]:
    latest = alerts_repo.latest_alert(session, AlertKey(state.account, state.marketplace_id, state.metric, state.fulfillment))
    return {"level": state.level, "marketplace": marketplace_name(state.marketplace_id), "metric": state.metric,
            "fulfillment": state.fulfillment, "since": _instant(state.since),
            "headline": alert_from_json(latest.payload).headline if latest is not None else ""}


def quarantined_counts(session: Session, accounts: list[str]) -> dict[str, dict[str, int]]:
    """Per account, records per source that did not parse and still wait to be read again."""
    q = m.QuarantinedPayload
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for account, source, count in session.execute(
            select(q.account, q.source, func.count()).where(q.account.in_(accounts), q.resolved_at.is_(None))
            .group_by(q.account, q.source).order_by(q.account, q.source)):
        out[account][source] = count
    return out


def _recent_deliveries(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    d = m.Delivery
    rows = session.scalars(select(d).order_by(d.created_at.desc(), d.delivery_id).limit(limit)).all()
    return [{"delivery_id": r.delivery_id, "channel": r.channel, "status": r.status, "attempts": r.attempts,
             "last_error": r.last_error, "created_at": _instant(r.created_at), "sent_at": _instant(r.sent_at)} for r in rows]


def _silence(s: m.Silence) -> dict[str, Any]:
    return {"id": s.id, "account": s.account, "marketplace_id": s.marketplace_id, "metric": s.metric,
            "until": _instant(s.until), "reason": s.reason}


def _instant(value: datetime | None) -> str | None:
    return format_instant(value) if value is not None else None
