"""At-least-once delivery through the outbox, with real channels against loopback receivers."""

import httpx
import pytest
from sqlalchemy import select

from alerts.channels.slack import SlackChannel
from alerts.channels.webhook import WebhookChannel
from alerts.outbox import deliver_due, enqueue
from alerts.render import render
from storage import models as m
from storage.alerts_repo import delivery_statuses
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store
from tests.alerts.samples import odr_warning
from tests.support.receivers import Reply

SECRET = "test-secret"


@pytest.fixture
def http():
    with httpx.Client(timeout=0.5, trust_env=False) as client:
        yield client


def queue_alert(store, clock, channels=("tickets",), sequence=1):
    alert = odr_warning(sequence)
    with store.transaction() as session:
        return enqueue(session, alert, list(channels), clock.now())


def statuses(store):
    with store.sessions() as session:
        return delivery_statuses(session)


def test_enqueuing_the_same_alert_twice_makes_one_delivery_per_channel(store, clock):
    queue_alert(store, clock, ("tickets", "slack"))
    queue_alert(store, clock, ("tickets", "slack"))
    assert sorted(statuses(store).values()) == ["pending", "pending"]


@pytest.mark.parametrize("failure", [Reply(500, "oops"), Reply(200, "late", delay=1.2)])
def test_a_failed_delivery_arrives_later_exactly_once(store, clock, receiver, http, failure):
    receiver.respond(failure)
    channels = {"tickets": WebhookChannel("tickets", receiver.url, SECRET, http, clock)}
    [delivery_id] = queue_alert(store, clock)
    first = deliver_due(store, channels, render, clock)
    assert (first.sent, first.retried) == (0, 1)
    assert deliver_due(store, channels, render, clock).sent == 0  # not due yet: backoff
    clock.advance(minutes=2)
    assert deliver_due(store, channels, render, clock).sent == 1
    clock.advance(hours=6)
    deliver_due(store, channels, render, clock)
    assert statuses(store) == {delivery_id: "sent"}
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [delivery_id, delivery_id]


def test_retry_after_is_honoured(store, clock, receiver, http):
    receiver.respond(Reply(429, "slow down", {"Retry-After": "120"}))
    channels = {"slack": SlackChannel("slack", receiver.url, http)}
    queue_alert(store, clock, ("slack",))
    deliver_due(store, channels, render, clock)
    clock.advance(seconds=100)
    deliver_due(store, channels, render, clock)
    assert len(receiver.requests) == 1
    clock.advance(seconds=30)
    assert deliver_due(store, channels, render, clock).sent == 1
    assert len(receiver.requests) == 2


def test_a_receiver_saying_when_to_come_back_does_not_use_up_the_attempts(store, clock, receiver, http):
    """Twenty-five 429s with Retry-After in a row (the policy gives up after 20 failed attempts): still sent."""
    receiver.respond(*[Reply(429, "slow down", {"Retry-After": "60"})] * 25)
    channels = {"slack": SlackChannel("slack", receiver.url, http)}
    queue_alert(store, clock, ("slack",))
    for _ in range(26):
        deliver_due(store, channels, render, clock)
        clock.advance(seconds=61)
    assert statuses(store) == {"main/ATVPDKIKX0DER/MFN/odr#1:slack": "sent"}
    assert len(receiver.requests) == 26


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_endpoint_marks_the_delivery_dead_without_retrying(store, clock, receiver, http, status):
    receiver.respond(Reply(status, "gone"))
    channels = {"tickets": WebhookChannel("tickets", receiver.url, SECRET, http, clock)}
    queue_alert(store, clock)
    assert deliver_due(store, channels, render, clock).dead == 1
    clock.advance(hours=6)
    deliver_due(store, channels, render, clock)
    assert len(receiver.requests) == 1
    assert list(statuses(store).values()) == ["dead"]
    with store.sessions() as session:
        assert f"HTTP {status}" in session.scalars(select(m.Delivery.last_error)).one()


def test_a_daemon_killed_between_send_and_commit_resends_with_the_same_id(tmp_path, clock, receiver, http):
    url = sqlite_url(tmp_path / "sentinel.db")
    engine = make_engine(url)
    upgrade(engine)
    first_run = Store(engine)
    [delivery_id] = queue_alert(first_run, clock)
    channel = WebhookChannel("tickets", receiver.url, SECRET, http, clock)
    # The first run claims the row and sends it, then dies before recording the outcome.
    with first_run.transaction() as session:
        session.execute(m.Delivery.__table__.update().values(status="sending", claimed_at=clock.now()))
    with first_run.sessions() as session:
        alert_json = session.scalars(select(m.AlertRecord.payload)).one()
    from alerts.serialize import alert_from_json

    channel.send(render(alert_from_json(alert_json)), delivery_id)
    engine.dispose()
    restarted = Store(make_engine(url))
    clock.advance(minutes=10)
    assert deliver_due(restarted, {"tickets": channel}, render, clock).sent == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery_id, delivery_id]
    assert statuses(restarted) == {delivery_id: "sent"}


def test_a_delivery_is_given_up_after_the_maximum_age(store, clock, receiver, http):
    channels = {"tickets": WebhookChannel("tickets", receiver.url, SECRET, http, clock)}
    queue_alert(store, clock)
    for _ in range(30):
        receiver.respond(Reply(503, "down"))
    for _ in range(12):
        deliver_due(store, channels, render, clock)
        clock.advance(hours=8)
    assert list(statuses(store).values()) == ["dead"]


@pytest.mark.postgres
def test_the_outbox_works_the_same_on_postgresql(pg_store, clock, receiver, http):
    channels = {"tickets": WebhookChannel("tickets", receiver.url, SECRET, http, clock)}
    queue_alert(pg_store, clock)
    queue_alert(pg_store, clock)
    assert deliver_due(pg_store, channels, render, clock).sent == 1
    assert len(receiver.requests) == 1
