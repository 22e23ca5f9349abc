"""Placeholder until the templates land."""
from alerts.model import Alert, RenderedMessage


def render_alert(alert: Alert) -> RenderedMessage:
    return RenderedMessage(alert.headline, alert.headline, alert.headline, {}, {})
