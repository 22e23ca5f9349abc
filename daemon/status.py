"""Where each account stands, as data: what `status` prints and the status page and /api/status show.

One gathering for every reader, so the terminal, the page and the JSON never disagree.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.evaluate import evaluate
from alerts.marketplaces import marketplace_name
from alerts.model import AlertKey
from alerts.serialize import alert_from_json
from daemon.app import thresholds_of
from daemon.clock import format_instant, parse_instant
from daemon.config import Config
from daemon.observe import observations
from daemon.pipeline import evaluation_instant
from storage import alerts_repo, models as m

HISTORY_DAYS = 90


def status_report(session: Session, config: Config, now: datetime) -> dict[str, Any]:
    """Every account: metrics with their limits, margins, forecast and 90-day history; feeds; alerts; silences."""
    return {
        "generated_at": format_instant(now),
        "accounts": [_account(session, config, account, now) for account in config.accounts],
        "silences": [_silence(s) for s in alerts_repo.active_silences(session, now)],
        "deliveries": _recent_deliveries(session),
    }


def _account(session: Session, config: Config, account: Any, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"name": account.name, "seller_id": account.seller_id, "as_of": None, "synced_at": None,
                           "metrics": [],
                           "feeds": [_feed(row) for row in session.scalars(
                               select(m.FeedHealth).where(m.FeedHealth.account == account.name).order_by(m.FeedHealth.source))],
                           "open_alerts": _open_alerts(session, account.name),
                           "quarantined": quarantined_counts(session, account.name),
                           "feedback_last_clean_at": None}
    synced = session.get(m.SourceCursor, (account.name, "orders"))
    feedback = session.get(m.SourceCursor, (account.name, "feedback"))
    if feedback is not None:
        out["feedback_last_clean_at"] = json.loads(feedback.value).get("last_clean_at")
    if synced is None:
        return out
    synced_at = parse_instant(json.loads(synced.value)["after"])
    at = evaluation_instant(synced_at)
    out["as_of"], out["synced_at"] = format_instant(at), format_instant(synced_at)
    for obs in observations(session, account.name, account.marketplaces, at, frozenset(account.otdr_enforced)):
        d = obs.definition
        thresholds = thresholds_of(config.alerts.margins_for(account.name, obs.marketplace_id, d.id))
        ev = evaluate(obs, thresholds, config.alerts.forecast_horizon_days, config.alerts.chances)
        out["metrics"].append({
            "marketplace_id": obs.marketplace_id, "marketplace": marketplace_name(obs.marketplace_id), "metric": d.id,
            "fulfillment": d.fulfillment, "value": ev.value, "limit": ev.limit, "direction": d.limit.direction,
            "warning": thresholds.warning_rate, "critical": thresholds.critical_rate, "numerator": ev.numerator,
            "denominator": ev.denominator, "defects_to_breach": ev.defects_to_breach,
            "forecast_breach_at": format_instant(ev.forecast_breach_at) if ev.forecast_breach_at else None,
            "breach_probability": ev.breach_probability, "breach_probability_days": ev.probability_days,
            "amazon_value": ev.amazon_value, "level": ev.level.value, "headline": ev.headline,
            "history": _history(session, account.name, obs.marketplace_id, d.id, d.fulfillment, at),
        })
    return out


def _history(session: Session, account: str, marketplace_id: str, metric: str, fulfillment: str,
             at: datetime) -> list[list[Any]]:
    h = m.MetricHistory
    rows = session.execute(select(h.day, h.numerator, h.denominator).where(
        h.account == account, h.marketplace_id == marketplace_id, h.metric == metric, h.fulfillment == fulfillment,
        h.day > (at - timedelta(days=HISTORY_DAYS)).date()).order_by(h.day)).all()
    return [[row.day.isoformat(), row.numerator / row.denominator if row.denominator else None] for row in rows]


def _feed(row: m.FeedHealth) -> dict[str, Any]:
    return {"source": row.source, "last_success_at": _instant(row.last_success_at),
            "failing_since": _instant(row.failing_since), "last_error": row.last_error,
            "credentials_refused": bool(row.credentials_refused)}


def _open_alerts(session: Session, account: str) -> list[dict[str, Any]]:
    out = []
    for state in alerts_repo.open_states(session, account):
        latest = alerts_repo.latest_alert(session, AlertKey(state.account, state.marketplace_id, state.metric, state.fulfillment))
        out.append({"level": state.level, "marketplace": marketplace_name(state.marketplace_id), "metric": state.metric,
                    "fulfillment": state.fulfillment, "since": _instant(state.since),
                    "headline": alert_from_json(latest.payload).headline if latest is not None else ""})
    return out


def quarantined_counts(session: Session, account: str) -> dict[str, int]:
    """Records per source that did not parse and still wait to be read again."""
    q = m.QuarantinedPayload
    rows = session.execute(select(q.source, func.count()).where(q.account == account, q.resolved_at.is_(None))
                           .group_by(q.source).order_by(q.source)).all()
    return {source: count for source, count in rows}


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
