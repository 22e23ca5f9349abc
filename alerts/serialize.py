"""Alert <-> JSON for the alerts.payload column; the round trip is exact."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from alerts.model import Alert, AlertKey, Level, NotifyReason
from daemon.clock import parse_instant


def alert_to_json(alert: Alert) -> str:
    """A stable JSON text of an alert (sorted keys, ISO instants with offset)."""
    data = {
        "alert_id": alert.alert_id, "key": [alert.key.account, alert.key.marketplace_id, alert.key.metric, alert.key.fulfillment],
        "kind": alert.kind, "level": alert.level.value, "reason": alert.reason.value,
        "raised_at": alert.raised_at.isoformat(), "headline": alert.headline, "explanation": list(alert.explanation),
        "advice": list(alert.advice), "value": alert.value, "limit": alert.limit, "direction": alert.direction,
        "numerator": alert.numerator, "denominator": alert.denominator, "defects_to_breach": alert.defects_to_breach,
        "forecast_breach_at": alert.forecast_breach_at.isoformat() if alert.forecast_breach_at else None,
        "breach_probability": alert.breach_probability, "breach_probability_days": alert.breach_probability_days,
        "amazon_value": alert.amazon_value, "seller_id": alert.seller_id, "details": alert.details,
    }
    return json.dumps(data, sort_keys=True, default=_default)


def alert_from_json(text: str) -> Alert:
    """The Alert stored by alert_to_json."""
    data: dict[str, Any] = json.loads(text)
    return Alert(
        alert_id=data["alert_id"], key=AlertKey(*data["key"]), kind=data["kind"], level=Level(data["level"]),
        reason=NotifyReason(data["reason"]), raised_at=parse_instant(data["raised_at"]), headline=data["headline"],
        explanation=tuple(data["explanation"]), advice=tuple(data["advice"]), value=data["value"], limit=data["limit"],
        direction=data["direction"], numerator=data["numerator"], denominator=data["denominator"],
        defects_to_breach=data["defects_to_breach"],
        forecast_breach_at=parse_instant(data["forecast_breach_at"]) if data["forecast_breach_at"] else None,
        breach_probability=data.get("breach_probability"), breach_probability_days=data.get("breach_probability_days"),
        amazon_value=data["amazon_value"], seller_id=data["seller_id"], details=data["details"],
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
