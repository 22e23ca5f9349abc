"""An incident's notices as the outbox hands them to a ticket channel, shared by each tracker's tests."""
from __future__ import annotations

from dataclasses import replace

from alerts.model import Alert, Level, NotifyReason
from alerts.render import render
from tests.alerts.samples import odr_warning


def say(channel, clock, alert: Alert, sequence: int) -> None:
    """Send one alert as the outbox would, at the clock's time, with its delivery id."""
    alert = replace(alert, alert_id=f"{alert.key.dedup_key}#{sequence}", raised_at=clock.now())
    channel.send(render(alert), f"{alert.alert_id}:{channel.name}")


def raised(level: Level = Level.WARNING, reason: NotifyReason = NotifyReason.FIRST) -> Alert:
    return odr_warning(level=level, reason=reason)


def resolved() -> Alert:
    return replace(odr_warning(), level=Level.RESOLVED, reason=NotifyReason.RESOLVED, headline="ODR back to 0.40%")
