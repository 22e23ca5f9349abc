"""Alerts and digests as words: subject, text, HTML (jinja2, autoescaped), Slack Block Kit and the webhook JSON body.

Webhook body, version "1" (documented in alerts/templates/WEBHOOK.md):
  {"version": "1", "type": "alert" | "operational" | "digest", "alert_id", "status": level, "reason",
   "account", "seller_id", "marketplace_id", "metric", "fulfillment", "value", "limit", "numerator",
   "denominator", "defects_to_breach", "forecast_breach_at", "breach_probability", "breach_probability_days",
   "amazon_value", "headline", "explanation": [...], "advice": [...], "raised_at", "dedup_key",
   "orders": [...] (metric alerts: the orders behind it, at most ORDERS_IN_ALERT), "orders_total", "breakdown",
   "page_url", "plan_url" (breach notices: the draft plan of action)}; a group of alerts raised together is its
  worst alert's body with the group's alert_id and every member's body under "group", worst first.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from alerts.breach import chance_text
from alerts.grouping import GROUP, members
from alerts.marketplaces import marketplace_name
from alerts.model import Alert, RenderedMessage
from daemon.clock import format_instant, parse_instant

TEMPLATES = Path(__file__).resolve().parent / "templates"
METRIC_NAMES = {
    "odr": "Order Defect Rate", "lsr_10d": "Late Shipment Rate (10 days)", "lsr_30d": "Late Shipment Rate (30 days)",
    "cr_7d": "Pre-fulfillment Cancel Rate", "vtr_30d": "Valid Tracking Rate", "otdr_14d": "On-Time Delivery Rate",
    "idr_7d": "Invoice Defect Rate", "ahr": "Account Health Rating",
}
SHORT = {"odr": "ODR", "lsr_10d": "LSR 10d", "lsr_30d": "LSR 30d", "cr_7d": "Cancel rate", "vtr_30d": "VTR", "otdr_14d": "OTDR"}
COLOURS = {"breach": "#b00020", "critical": "#d35400", "warning": "#b8860b", "resolved": "#2e7d32", "ok": "#2e7d32"}
SLACK_SECTION_CHARS = 2500  # ALERTING.md §4: well below Slack's 3,000
SLACK_BLOCKS = 50  # Slack's limit per message
ORDERS_IN_EMAIL = 20
ORDERS_IN_SLACK = 10
KIND_WORDS = {"late_shipment": "late shipment", "cancelled_by_seller": "cancelled by you", "cancelled_by_amazon":
              "cancelled by Amazon (not confirmed in time)", "invalid_tracking": "no valid tracking", "late_delivery":
              "delivered late or not yet", "negative_feedback": "negative feedback", "a_to_z_claim": "A-to-z claim granted",
              "chargeback": "chargeback granted", "unshipped": "not yet shipped", "undelivered": "not yet delivered"}

_html = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined)
_text = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)


def count(n: int, noun: str) -> str:
    """'1 open alert', '2 open alerts'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def slack_escape(text: str) -> str:
    """Slack's three control characters (api.slack.com formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(alert: Alert) -> RenderedMessage:
    """Any stored alert: digests and groups have their own layout."""
    if alert.kind == "digest":
        return render_digest(alert)
    if alert.kind == GROUP:
        return render_group(alert)
    return render_alert(alert)


def render_alert(alert: Alert) -> RenderedMessage:
    """An alert in every shape the channels need."""
    c = _context(alert)
    return _message(c["subject"], "", [c], [alert], alert_data(alert))


def render_group(group_alert: Alert) -> RenderedMessage:
    """Several alerts of one account raised together: one message, worst first; the webhook body is the worst alert's
    (so readers of single alerts keep working) with every member under "group"."""
    alerts = members(group_alert)
    contexts = [_context(a) for a in alerts]
    title = f"{count(len(alerts), 'change')} for {group_alert.key.account}, worst first"
    subject = f"{contexts[0]['subject']} (+{len(alerts) - 1} more)"
    data = dict(alert_data(alerts[0]), alert_id=group_alert.alert_id, group=[alert_data(a) for a in alerts])
    return _message(subject, title, contexts, alerts, data)


def _message(subject: str, title: str, contexts: list[dict[str, Any]], alerts: list[Alert],
             data: dict[str, Any]) -> RenderedMessage:
    values = {"subject": subject, "title": title, "alerts": contexts}
    return RenderedMessage(
        subject=subject, text=_text.get_template("alert.txt.j2").render(values),
        html=_html.get_template("alert.html.j2").render(values), slack=_slack(title, contexts, alerts), data=data,
    )


def _context(alert: Alert) -> dict[str, Any]:
    key = alert.key
    is_metric = alert.kind == "metric"
    name = METRIC_NAMES.get(key.metric, key.metric)
    level = alert.level.value
    if is_metric:
        limit_text = pct(alert.limit) + (" minimum" if alert.direction == "lower" else "")
        subject = (f"[seller-sentinel] {level.upper()} {key.account} {marketplace_name(key.marketplace_id)}: "
                   f"{SHORT.get(key.metric, key.metric)} ({key.fulfillment}) {pct(alert.value)} of {limit_text}")
    else:
        subject = f"[seller-sentinel] {level.upper()} {key.account}: {alert.headline}"
    return {
        "subject": subject, "headline": alert.headline, "account": key.account, "seller_id": alert.seller_id,
        "marketplace": marketplace_name(key.marketplace_id), "metric": key.metric, "metric_name": name, "fulfillment": key.fulfillment,
        "is_metric": is_metric, "value": pct(alert.value), "limit": pct(alert.limit), "direction": alert.direction,
        "numerator": alert.numerator, "denominator": alert.denominator, "level": level, "level_label": level.upper(),
        "defects_to_breach": alert.defects_to_breach, "colour": COLOURS.get(level, "#555"),
        "chance": _chance(alert), "forecast": alert.forecast_breach_at.strftime("%-d %B %Y") if alert.forecast_breach_at else None,
        "amazon_value": pct(alert.amazon_value) if alert.amazon_value is not None else None,
        "explanation": list(alert.explanation), "advice": list(alert.advice), "alert_id": alert.alert_id,
        "reason": alert.reason.value, "raised_at": format_instant(alert.raised_at),
        "orders": [order_view(o, alert.raised_at) for o in alert.details.get("orders", [])[:ORDERS_IN_EMAIL]],
        "orders_total": alert.details.get("orders_total", 0), "page_url": alert.details.get("page_url", ""),
        "plan_url": alert.details.get("plan_url", ""),
    }


def order_view(o: dict[str, Any], now: datetime) -> dict[str, str]:
    """One order behind an alert in words: its id, why it is listed, its deadline (or that it has passed: an unshipped
    order is still worth shipping, a closed appeal window is not) and what identifies it."""
    facts = []
    if o.get("latest_ship_at") and ("late_shipment" in o["kinds"] or "unshipped" in o["kinds"]):
        facts.append(f"ship-by {_short(o['latest_ship_at'])}")
    if o.get("ship_confirmed_at") and "late_shipment" in o["kinds"]:
        facts.append(f"confirmed {_short(o['ship_confirmed_at'])}")
    if o.get("latest_delivery_at") and ("late_delivery" in o["kinds"] or "undelivered" in o["kinds"]):
        facts.append(f"promised {_short(o['latest_delivery_at'])}")
    if o.get("delivered_at") and "late_delivery" in o["kinds"]:
        facts.append(f"delivered by {_short(o['delivered_at'])}")
    if o.get("cancelled_at") and any(k.startswith("cancelled") for k in o["kinds"]):
        facts.append(f"cancelled {_short(o['cancelled_at'])}")
    if o.get("carrier") and o["kinds"] != ["negative_feedback"]:
        facts.append(" ".join(filter(None, (o["carrier"], o.get("tracking_number")))))
    if o.get("feedback_rating"):
        facts.append(f"{o['feedback_rating']}★ on {o['feedback_day']}" + (f": “{o['feedback_comment']}”" if o.get("feedback_comment") else ""))
    if o.get("claim_granted_at"):
        facts.append(f"claim granted {_short(o['claim_granted_at'])}")
    if o.get("chargeback_granted_at"):
        facts.append(f"chargeback granted {_short(o['chargeback_granted_at'])}")
    return {"order_id": o["order_id"], "role": o["role"], "why": ", ".join(KIND_WORDS.get(k, k) for k in o["kinds"]),
            "due": _due(o, now), "facts": "; ".join(facts)}


def _due(o: dict[str, Any], now: datetime) -> str:
    """The deadline in the words of what it is for, or that it has passed."""
    if not o.get("due_at"):
        return ""
    when = _short(o["due_at"])
    ahead = parse_instant(o["due_at"]) > now
    if "unshipped" in o["kinds"]:
        return f"ship by {when}" if ahead else f"past its ship-by, {when}"
    if "undelivered" in o["kinds"]:
        return f"promised by {when}" if ahead else f"promised by {when}, not delivered"
    if "a_to_z_claim" in o["kinds"]:
        return f"appeal by {when}" if ahead else f"appeal closed {when}"
    return f"by {when}" if ahead else f"closed {when}"


def _short(instant: str) -> str:
    """'17 May 23:59 UTC' from an ISO instant."""
    return parse_instant(instant).strftime("%-d %b %H:%M UTC")


def _chance(alert: Alert) -> str | None:
    """'62% within 14 days' for a metric still inside its limit."""
    if alert.breach_probability is None or not alert.defects_to_breach:
        return None
    return f"{chance_text(alert.breach_probability)} within {alert.breach_probability_days} days"


def alert_data(alert: Alert) -> dict[str, Any]:
    """The versioned webhook body of an alert."""
    key = alert.key
    return {
        "version": "1", "type": "alert" if alert.kind == "metric" else alert.kind, "alert_id": alert.alert_id,
        "status": alert.level.value, "reason": alert.reason.value, "account": key.account, "seller_id": alert.seller_id,
        "marketplace_id": key.marketplace_id, "metric": key.metric, "fulfillment": key.fulfillment, "value": alert.value,
        "limit": alert.limit, "numerator": alert.numerator, "denominator": alert.denominator,
        "defects_to_breach": alert.defects_to_breach,
        "forecast_breach_at": format_instant(alert.forecast_breach_at) if alert.forecast_breach_at else None,
        "breach_probability": alert.breach_probability, "breach_probability_days": alert.breach_probability_days,
        "amazon_value": alert.amazon_value, "headline": alert.headline, "explanation": list(alert.explanation),
        "advice": list(alert.advice), "raised_at": format_instant(alert.raised_at), "dedup_key": key.dedup_key,
        **({"orders": alert.details.get("orders", []), "orders_total": alert.details.get("orders_total", 0),
            "breakdown": alert.details.get("breakdown", {}), "page_url": alert.details.get("page_url", ""),
            "plan_url": alert.details.get("plan_url", "")}
           if alert.kind == "metric" else {}),
    }


def _slack(title: str, contexts: list[dict[str, Any]], alerts: list[Alert]) -> dict[str, Any]:
    def section(text: str) -> dict[str, Any]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SLACK_SECTION_CHARS]}}

    first = contexts[0]
    fallback = slack_escape(f"{first['level_label']}: {first['account']} {first['marketplace']} {alerts[0].headline}")
    blocks: list[dict[str, Any]] = []
    if title:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title[:150]}})
    for c, alert in zip(contexts, alerts):
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": f"{c['level_label']} · {c['metric_name']}"[:150]}})
        blocks.append(section(f"*{slack_escape(alert.headline)}*"))
        if c["is_metric"]:
            fields = [f"*Value*\n{c['value']} of {c['limit']}", f"*Account*\n{slack_escape(c['account'])} · {c['marketplace']}",
                      f"*Defects to breach*\n{c['defects_to_breach'] if c['defects_to_breach'] is not None else 'n/a'}",
                      f"*Chance of a breach*\n{c['chance'] or 'none foreseen'}"
                      + (f", most likely around {c['forecast']}" if c["forecast"] else "")]
            blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
        if alert.explanation:
            blocks.append(section("\n".join(f"• {slack_escape(line)}" for line in alert.explanation)))
        if alert.advice and len(alerts) == 1:
            blocks.append(section("*What to do next*\n" + "\n".join(f"• {slack_escape(line)}" for line in alert.advice)))
        if c["orders"]:
            blocks.append(section(_slack_orders(c)))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"alert `{slack_escape(alert.alert_id)}` · {c['raised_at']}"}]})
    return {"text": fallback, "blocks": blocks[:SLACK_BLOCKS]}


def _slack_orders(c: dict[str, Any]) -> str:
    """The first orders behind an alert, "and N more", and the link to the rest: one section, within its limit."""
    lines = [f"*Orders* ({c['orders_total']})"]
    for o in c["orders"][:ORDERS_IN_SLACK]:
        due = f" · {o['due']}" if o["due"] else ""
        lines.append(f"• `{slack_escape(o['order_id'])}` {slack_escape(o['why'])}{slack_escape(due)}")
    more = c["orders_total"] - min(len(c["orders"]), ORDERS_IN_SLACK)
    if more > 0:
        lines.append(f"and {more} more" + (f": <{c['page_url']}|the full list>" if c["page_url"] else ""))
    elif c["page_url"]:
        lines.append(f"<{c['page_url']}|Open the to-do>")
    if c["plan_url"]:
        lines.append(f"<{c['plan_url']}|Draft a plan of action>")
    text = "\n".join(lines)
    while len(text) > SLACK_SECTION_CHARS and len(lines) > 3:  # long ids or reasons: drop orders, never the link
        lines.pop(-2)
        text = "\n".join(lines)
    return text


def render_digest(alert: Alert) -> RenderedMessage:
    """A daily or weekly digest; its content travels in alert.details["digest"] (see daemon/digests.py)."""
    digest = alert.details["digest"]
    rows = [_digest_row(row) for row in digest["rows"]]
    subject = f"[seller-sentinel] {digest['period']} digest for {alert.key.account}: " + (
        count(len(digest["open_alerts"]), "open alert") if digest["open_alerts"] else "all metrics within limits")
    context = {"subject": subject, "period": digest["period"], "account": alert.key.account,
               "generated_at": digest["generated_at"], "rows": rows, "open_alerts": digest["open_alerts"],
               "entered": digest["entered"], "left": digest["left"], "todo_today": digest.get("todo_today", []),
               "todo_today_total": digest.get("todo_today_total", 0), "todo_total": digest.get("todo_total", 0)}
    text_blocks = [{"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
                   {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(
                       "\n".join(f"{r['label']}: {r['value']} (limit {r['limit']})" for r in rows))[:SLACK_SECTION_CHARS]}}]
    return RenderedMessage(
        subject=subject, text=_text.get_template("digest.txt.j2").render(context),
        html=_html.get_template("digest.html.j2").render(context), slack={"text": subject, "blocks": text_blocks},
        data={"version": "1", "type": "digest", "alert_id": alert.alert_id, "account": alert.key.account,
              "status": "ok", "headline": subject, **{k: digest[k] for k in ("period", "generated_at", "rows", "open_alerts")},
              "todo_today": digest.get("todo_today", []), "todo_today_total": digest.get("todo_today_total", 0)},
    )


def _digest_row(row: dict[str, Any]) -> dict[str, Any]:
    limit, value, amazon = row["limit"], row["value"], row.get("amazon_value")
    upper = row["direction"] == "upper"

    def level_of(v: float | None) -> str:
        if v is None:
            return "ok"
        breached = v >= limit if upper else v < limit
        return "breach" if breached else "warning" if (v >= 0.75 * limit if upper else v < limit + 0.3 * (1 - limit)) else "ok"

    bars = []
    for _, v in row["trend"]:
        share = 0.0 if v is None else (v / limit if upper else max(0.0, 1 - (v - limit) / max(1e-9, 1 - limit)))
        bars.append({"height": max(1, min(24, round(share * 16))), "colour": COLOURS[level_of(v)]})
    distance = "n/a"
    if value is not None:
        gap = (limit - value) if upper else (value - limit)
        distance = f"{abs(gap) * 100:.2f} points {'inside' if gap > 0 or (not upper and gap == 0) else 'over'} the limit"
        if row.get("defects_to_breach") is not None:
            distance += f"; {row['defects_to_breach']} to breach"
    disagree = amazon is not None and value is not None and (
        abs(amazon - value) > 0.001 or ((amazon >= limit) != (value >= limit) if upper else (amazon < limit) != (value < limit)))
    spark = "".join(" ▁▂▃▄▅▆▇█"[min(8, round(min(1.0, (b["height"] / 24)) * 8))] for b in bars)
    return {"label": f"{METRIC_NAMES.get(row['metric'], row['metric'])} ({row['fulfillment']}, {marketplace_name(row['marketplace_id'])})",
            "value": pct(value), "limit": pct(limit), "distance": distance, "amazon": pct(amazon) if amazon is not None else None,
            "disagree": disagree, "colour": COLOURS[level_of(value)], "bars": bars, "sparkline": spark}
