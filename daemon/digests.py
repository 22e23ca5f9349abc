"""Daily and weekly digests: every metric with its trend, open alerts, what to do today, defects in and out of the
window, Amazon's figures beside ours.

A digest travels through the outbox like an alert (kind "digest"), so it is delivered at least once
and never twice for the same period (digest_runs).
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.metrics.definitions import METRICS
from alerts.model import Alert, AlertKey, Level, NotifyReason
from alerts.outbox import enqueue
from alerts.serialize import alert_from_json
from daemon.clock import format_instant
from daemon.config import WEEKDAYS, DigestsConfig
from daemon.notify import Route
from daemon.orders_behind import account_todo
from daemon.pipeline import evaluation_instant
from daemon.runtime import AccountRuntime, App
from storage import alerts_repo, models as m

TREND_DAYS = 30
TODO_IN_DIGEST = 20  # the rest is on the page


def enqueue_due_digests(app: App, config: DigestsConfig, routes: tuple[Route, ...], now: datetime) -> list[str]:
    """Enqueue each digest whose time has come and that was not enqueued yet; returns their alert ids."""
    if not routes:
        return []
    due = []
    if config.daily and now.strftime("%H:%M") >= config.daily_at:
        due.append(("daily", now.date().isoformat(), 1))
    if config.weekly and WEEKDAYS[now.weekday()] == config.weekly_day and now.strftime("%H:%M") >= config.weekly_at:
        due.append(("weekly", f"{now.isocalendar().year}-W{now.isocalendar().week:02d}", 7))
    ids = []
    for account in app.accounts:
        for period, period_key, days in due:
            with app.store.transaction() as session:
                if not alerts_repo.claim_digest_run(session, account.name, period, period_key, now):
                    continue
                alert = digest_alert(session, account, period, period_key, days, now)
                enqueue(session, alert, [r.channel for r in routes if r.accepts(account.name, Level.OK)], now)
                ids.append(alert.alert_id)
    return ids


def digest_alert(session: Session, account: AccountRuntime, period: str, period_key: str, days: int, now: datetime) -> Alert:
    """The digest of one account as an Alert whose details carry the content."""
    today = now.date()
    content = {
        "period": period, "generated_at": format_instant(now),
        "rows": [row for mp in sorted(account.marketplaces) for row in _rows(session, account.name, mp, today)],
        "open_alerts": _open_alerts(session, account.name),
        "entered": _entered(session, account.name, now - timedelta(days=days), now),
        "left": _left(session, account.name, today, days),
        **_todo_today(session, account, now),
    }
    return Alert(
        alert_id=f"{account.name}/digest/{period}/{period_key}", key=AlertKey(account.name, "ALL", f"digest:{period}", "ALL"),
        kind="digest", level=Level.OK, reason=NotifyReason.FIRST, raised_at=now,
        headline=f"{period.capitalize()} digest for {account.name}", seller_id=account.seller_id, details={"digest": content},
    )


def _todo_today(session: Session, account: AccountRuntime, now: datetime) -> dict[str, Any]:
    """What is due by the end of today (past due first), capped for a message, and how much more waits."""
    items = account_todo(session, account.name, account.marketplaces, evaluation_instant(now), now)
    end_of_today = evaluation_instant(now) + timedelta(days=1)
    today = [item.described(now) for item in items if item.due_at is not None and item.due_at < end_of_today]
    return {"todo_today": today[:TODO_IN_DIGEST], "todo_today_total": len(today), "todo_total": len(items)}


def _rows(session: Session, account: str, marketplace_id: str, today: date) -> list[dict[str, Any]]:
    h, a = m.MetricHistory, m.AmazonFigure
    rows = []
    for d in METRICS:
        history = session.execute(select(h.day, h.numerator, h.denominator).where(
            h.account == account, h.marketplace_id == marketplace_id, h.metric == d.id, h.fulfillment == d.fulfillment,
            h.day > today - timedelta(days=TREND_DAYS), h.day <= today).order_by(h.day)).all()
        by_day = {r.day: (r.numerator / r.denominator if r.denominator else None) for r in history}
        trend = [((today - timedelta(days=i)).isoformat(), by_day.get(today - timedelta(days=i)))
                 for i in range(TREND_DAYS - 1, -1, -1)]
        last = history[-1] if history else None
        amazon = session.scalars(select(a.value).where(
            a.account == account, a.marketplace_id == marketplace_id, a.metric == d.id, a.fulfillment == d.fulfillment,
        ).order_by(a.fetched_at.desc()).limit(1)).first()
        rows.append({
            "marketplace_id": marketplace_id, "metric": d.id, "fulfillment": d.fulfillment, "limit": d.limit.value,
            "direction": d.limit.direction, "value": (last.numerator / last.denominator) if last and last.denominator else None,
            "numerator": last.numerator if last else None, "denominator": last.denominator if last else None,
            "defects_to_breach": d.limit.defects_to_breach(last.numerator, last.denominator) if last and last.denominator else None,
            "amazon_value": amazon, "trend": trend,
        })
    return rows


def _open_alerts(session: Session, account: str) -> list[dict[str, Any]]:
    out = []
    for state in alerts_repo.open_states(session, account):
        latest = alerts_repo.latest_alert(session, AlertKey(state.account, state.marketplace_id, state.metric, state.fulfillment))
        out.append({"level": state.level, "metric": state.metric, "marketplace_id": state.marketplace_id,
                    "headline": _headline(latest) if latest else state.metric})
    return out


def _headline(record: m.AlertRecord) -> str:
    return alert_from_json(record.payload).headline


def _entered(session: Session, account: str, since: datetime, now: datetime) -> list[dict[str, Any]]:
    """Defects that appeared in the period: negative feedback first seen, claims and chargebacks granted."""
    f, e, o = m.Feedback, m.FinancialEvent, m.Order
    out = [{"marketplace_id": r.marketplace_id, "order_id": r.order_id, "kind": "negative feedback",
            "day": r.first_seen_at.date().isoformat()}
           for r in session.scalars(select(f).where(f.account == account, f.rating <= 2, f.first_seen_at >= since,
                                                    f.first_seen_at <= now))]
    for r in session.scalars(select(e).where(e.account == account, e.posted_at >= since, e.posted_at <= now)):
        order = session.get(o, (account, r.order_id))
        out.append({"marketplace_id": order.marketplace_id if order else "", "order_id": r.order_id,
                    "kind": f"{r.kind} {'granted' if r.direction > 0 else 'reversed'}", "day": r.posted_at.date().isoformat()})
    return sorted(out, key=lambda x: (x["day"], x["order_id"]))


def _left(session: Session, account: str, today: date, days: int) -> list[dict[str, Any]]:
    """Defective orders whose purchase day dropped out of the ODR window during the period."""
    odr = next(d for d in METRICS if d.id == "odr")
    first_now, _ = odr.window.days(today)
    first_then, _ = odr.window.days(today - timedelta(days=days))
    o = m.Order
    rows = session.scalars(select(o).where(o.account == account, o.purchase_at >= _midnight(first_then),
                                           o.purchase_at < _midnight(first_now))).all()
    return [{"marketplace_id": r.marketplace_id, "order_id": r.order_id, "kind": "defective order",
             "day": r.purchase_at.date().isoformat()} for r in rows if _is_defective(r.contributions)]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _is_defective(encoded: str) -> bool:
    return any(item[0] == "odr" and item[3] == 1 for item in json.loads(encoded))
