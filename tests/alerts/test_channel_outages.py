"""Hours of channel failure: SMTP refusing connections for three hours, Slack answering 429 for an hour, a webhook
receiver that times out. Deliveries wait, /healthz and /metrics say so, and then everything arrives once, in the
order it was raised."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts.channels.email import EmailChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.webhook import WebhookChannel
from alerts.model import Level
from alerts.outbox import deliver_due, enqueue
from alerts.render import render
from daemon.exposition import StatusCollector, metrics_text, outbox_figures
from daemon.healthz import _failing_channels
from storage.alerts_repo import delivery_statuses
from tests.alerts.samples import odr_warning
from tests.support.receivers import Reply, SmtpServer, free_port

STEP = timedelta(minutes=5)


def raise_three(store, clock, channels: dict) -> list[str]:
    """A warning, its escalation an hour later and the breach an hour after that, for one account, on one channel
    that is failing: each is tried as it is raised."""
    [name] = channels
    ids = []
    for sequence, level in enumerate((Level.WARNING, Level.CRITICAL, Level.BREACH), start=1):
        alert = replace(odr_warning(sequence, level), raised_at=clock.now())
        with store.transaction() as session:
            ids += enqueue(session, alert, [name], clock.now())
        deliver_due(store, channels, render, clock)
        clock.advance(hours=1)
    return ids


def run_for(store, clock, channels, duration: timedelta) -> None:
    end = clock.now() + duration
    while clock.now() < end:
        deliver_due(store, channels, render, clock)
        clock.advance(minutes=STEP.total_seconds() / 60)


def outbox_metrics(store, clock) -> dict[tuple[str, str], float]:
    with store.sessions() as session:
        figures = outbox_figures(session, clock.now())
    collector = StatusCollector(lambda: {"accounts": []}, lambda: figures, "test")
    out = {}
    for family in text_string_to_metric_families(metrics_text(collector).decode()):
        for sample in family.samples:
            if sample.name == "seller_sentinel_deliveries":
                out[(sample.labels["channel"], sample.labels["status"])] = sample.value
    return out


def failing(store, clock) -> list[str]:
    with store.sessions() as session:
        return _failing_channels(session, clock.now())


@pytest.fixture
def http():
    with httpx.Client(timeout=0.3, trust_env=False) as client:
        yield client


def test_smtp_refusing_connections_for_three_hours(store, clock, caplog):
    caplog.set_level(logging.INFO, logger="alerts.outbox")
    port = free_port()  # nobody listens: every attempt is a refused connection
    channels = {"email": EmailChannel("email", "127.0.0.1", port, "none", None, None, "a@example.com",
                                      ("b@example.com",), 2, clock)}
    ids = raise_three(store, clock, channels)
    assert failing(store, clock) and failing(store, clock)[0].startswith("channel email failing: 3 deliveries waiting")
    assert outbox_metrics(store, clock)[("email", "pending")] == 3
    assert "delivery retry" in caplog.text and "ConnectionRefusedError" in caplog.text
    server = SmtpServer(port)
    try:
        run_for(store, clock, channels, timedelta(hours=2))
        subjects = [m["Subject"] for m in server.messages]
    finally:
        server.close()
    assert [s.split()[1] for s in subjects] == ["WARNING", "CRITICAL", "BREACH"]  # once each, in order
    with store.sessions() as session:
        assert delivery_statuses(session) == {i: "sent" for i in ids}
    assert failing(store, clock) == []


def test_slack_answering_429_for_an_hour(store, clock, receiver, http):
    receiver.standing = Reply(429, "rate_limited", {"Retry-After": "120"})
    channels = {"slack": SlackChannel("slack", receiver.url, http)}
    raise_three(store, clock, channels)
    assert outbox_metrics(store, clock)[("slack", "pending")] == 3
    assert failing(store, clock)[0].startswith("channel slack failing: 3 deliveries waiting")
    tried = len(receiver.requests)
    receiver.standing = Reply()
    run_for(store, clock, channels, timedelta(hours=2))
    delivered = [json.loads(r.body)["blocks"][0]["text"]["text"].split()[0] for r in receiver.requests[tried:]]
    assert delivered == ["WARNING", "CRITICAL", "BREACH"]
    assert outbox_metrics(store, clock)[("slack", "sent")] == 3


def test_a_webhook_receiver_that_times_out(store, clock, receiver, http):
    receiver.standing = Reply(200, "ok", delay=0.6)  # longer than the client's 0.3 s
    channels = {"tickets": WebhookChannel("tickets", receiver.url, "secret", http, clock)}
    raise_three(store, clock, channels)
    assert failing(store, clock)[0].startswith("channel tickets failing: 3 deliveries waiting")
    receiver.standing = Reply()
    run_for(store, clock, channels, timedelta(hours=2))
    # The receiver saw the timed-out attempts too: it dedupes on webhook-id; each alert's first successful
    # delivery comes in the order raised, and nothing is sent after it was recorded as sent.
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    firsts = sorted(set(ids), key=ids.index)
    assert [json.loads(next(r.body for r in receiver.requests if r.headers["webhook-id"] == i))["status"]
            for i in firsts] == ["warning", "critical", "breach"]
    with store.sessions() as session:
        assert set(delivery_statuses(session).values()) == {"sent"}
    assert failing(store, clock) == []
