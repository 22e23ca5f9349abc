"""Digests: built once per period from the history, rendered with a table-based trend chart."""
from datetime import timedelta

from alerts.render import render
from alerts.serialize import alert_from_json
from daemon.config import DigestsConfig
from daemon.digests import enqueue_due_digests
from daemon.notify import Route
from daemon.pipeline import MetricValue, record_history
from daemon.runtime import AccountRuntime, App
from alerts.metrics.definitions import METRICS
from alerts.model import Level
from storage import models as m


def test_a_daily_digest_is_enqueued_once_and_renders_every_metric_with_its_trend(store, clock):
    account = AccountRuntime("main", "A2", ("ATVPDKIKX0DER",), {}, frozenset(), lambda mp, metric: None)
    app = App(store=store, clock=clock, accounts=[account], routes=(), channels={}, render=render)
    for day in range(10):
        at = clock.now() - timedelta(days=10 - day)
        with store.transaction() as session:
            record_history(session, [MetricValue(at, "main", "ATVPDKIKX0DER", d, day, 1000) for d in METRICS])
    routes = (Route("email", Level.OK),)
    clock.advance(hours=8)
    config = DigestsConfig(daily=True, daily_at="07:00", weekly=False)
    assert enqueue_due_digests(app, config, routes, clock.now()) == ["main/digest/daily/2026-03-01"]
    assert enqueue_due_digests(app, config, routes, clock.now() + timedelta(hours=1)) == []
    with store.sessions() as session:
        alert = alert_from_json(session.get(m.AlertRecord, "main/digest/daily/2026-03-01").payload)
    message = render(alert)
    assert "daily digest for main" in message.subject
    assert message.html.count("Order Defect Rate") == 2 and "Valid Tracking Rate" in message.html
    assert message.html.count("vertical-align:bottom") == 7 * 30  # one bar per day per metric
    assert "Late Shipment Rate (10 days)" in message.text
