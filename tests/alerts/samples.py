"""Alerts for tests."""
from datetime import datetime, timezone

from alerts.model import Alert, AlertKey, Level, NotifyReason

RAISED = datetime(2026, 3, 1, tzinfo=timezone.utc)
HOSTILE = '<script>alert(1)</script> "broken" & <b>bold</b>'


def odr_warning(sequence: int = 1, level: Level = Level.WARNING, reason: NotifyReason = NotifyReason.FIRST) -> Alert:
    key = AlertKey("main", "ATVPDKIKX0DER", "odr", "MFN")
    return Alert(
        alert_id=f"{key.dedup_key}#{sequence}", key=key, kind="metric", level=level, reason=reason, raised_at=RAISED,
        headline="ODR 0.82% of 1.00%; 2 more defective orders in the window and you breach",
        explanation=(f"Negative feedback: {HOSTILE}", "3 defects on orders from the last 14 days will enter the window by 12 March."),
        advice=("Answer open A-to-z claims today.",), value=0.0082, limit=0.01, numerator=7, denominator=854,
        defects_to_breach=2, forecast_breach_at=datetime(2026, 3, 7, tzinfo=timezone.utc), amazon_value=0.0079,
        seller_id="A2EXAMPLESELLER",
    )
