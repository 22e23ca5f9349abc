"""Several alerts of one account raised together, as one message: the worst first. Pure."""
from __future__ import annotations

from collections.abc import Sequence

from alerts.model import Alert, AlertKey
from alerts.serialize import alert_from_json, alert_to_json

GROUP = "group"  # the metric id of a group's key and its kind


def severity(alert: Alert) -> tuple[int, float, int]:
    """Higher is worse: the level, then the chance of a breach, then the fewest defects left."""
    return (alert.level.rank, alert.breach_probability or 0.0, -(alert.defects_to_breach or 0))


def group(alerts: Sequence[Alert], channel: str) -> Alert:
    """One alert standing for `alerts` on `channel`; its members travel in details["members"], worst first."""
    ordered = sorted(alerts, key=severity, reverse=True)
    worst = ordered[0]
    account = worst.key.account
    return Alert(
        alert_id=f"{account}/{GROUP}@{worst.raised_at.isoformat()}/{channel}",
        key=AlertKey(account, worst.key.marketplace_id, GROUP, worst.key.fulfillment), kind=GROUP,
        level=worst.level, reason=worst.reason, raised_at=worst.raised_at,
        headline=f"{len(ordered)} changes for {account}. {worst.headline}", seller_id=worst.seller_id,
        details={"members": [alert_to_json(a) for a in ordered]},
    )


def members(alert: Alert) -> list[Alert]:
    """The alerts a group stands for, worst first."""
    return [alert_from_json(text) for text in alert.details["members"]]
