"""The outbox at its limits: exact retry times up to the cap and to max_attempts, a channel removed from the config,
a channel that raises something unexpected, and two workers claiming the same delivery on PostgreSQL."""
from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from alerts.channels.webhook import WebhookChannel
from alerts.outbox import RetryPolicy, deliver_due
from alerts.render import render
from storage import models as m
from tests.alerts.test_outbox import SECRET, queue_alert, statuses
from tests.support.receivers import Reply


def delivery(store, delivery_id):
    with store.sessions() as session:
        return session.get(m.Delivery, delivery_id)


class ExplodingChannel:
    """A channel with a bug: it raises something that is not a DeliveryError."""

    kind, name = "webhook", "tickets"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message, delivery_id) -> None:
        self.calls += 1
        raise KeyError("template field")


def test_retries_back_off_exactly_to_the_cap_and_stop_at_max_attempts(store, clock):
    policy = RetryPolicy(base_seconds=30, factor=2, cap_seconds=300, max_attempts=6, max_age=timedelta(days=30))
    channel = ExplodingChannel()
    [delivery_id] = queue_alert(store, clock)
    waits = []
    for attempt in range(1, 7):
        before = clock.now()
        report = deliver_due(store, {"tickets": channel}, render, clock, policy)
        row = delivery(store, delivery_id)
        assert row.attempts == attempt and channel.calls == attempt
        if attempt < 6:
            assert (report.retried, row.status) == (1, "pending")
            waits.append((row.next_attempt_at - before).total_seconds())
            assert deliver_due(store, {"tickets": channel}, render, clock, policy).retried == 0  # not due before its time
            clock.set(row.next_attempt_at)
        else:
            assert (report.dead, row.status) == (1, "dead")
            assert row.last_error == "gave up after 6 attempts: KeyError"
    expected = [policy.backoff(delivery_id, n, None) for n in range(1, 6)]
    assert waits == pytest.approx(expected)
    assert all(1.0 <= w / b <= 1.2 for w, b in zip(waits, (30, 60, 120, 240, 300)))  # base doubling, cap 300, jitter <= 20%


def test_a_channel_removed_from_the_config_ends_in_a_visible_dead_delivery(store, clock):
    [delivery_id] = queue_alert(store, clock, ("gone",))
    report = deliver_due(store, {}, render, clock)
    row = delivery(store, delivery_id)
    assert (report.dead, row.status, row.last_error) == (1, "dead", "channel removed from the config")


def test_an_unexpected_exception_in_a_channel_is_retried_not_fatal_and_the_other_channels_still_send(
        store, clock, receiver):
    receiver.respond(Reply(200, "ok"))
    with httpx.Client(timeout=2, trust_env=False) as http:
        channels = {"broken": ExplodingChannel(), "tickets": WebhookChannel("tickets", receiver.url, SECRET, http, clock)}
        ids = queue_alert(store, clock, ("broken", "tickets"))
        report = deliver_due(store, channels, render, clock)
    assert (report.sent, report.retried) == (1, 1)
    assert statuses(store) == {ids[0]: "pending", ids[1]: "sent"}
    assert delivery(store, ids[0]).last_error == "KeyError"


@pytest.mark.postgres
def test_two_workers_claiming_at_once_on_postgresql_send_each_delivery_exactly_once(pg_store, clock):
    sent: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    class CountingChannel:
        kind, name = "webhook", "tickets"

        def send(self, message, delivery_id) -> None:
            with lock:
                sent.append(delivery_id)

    ids = [d for n in range(1, 31) for d in queue_alert(pg_store, clock, ("tickets",), sequence=n)]
    channel = CountingChannel()

    def worker() -> None:
        barrier.wait()
        deliver_due(pg_store, {"tickets": channel}, render, clock)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(sent) == sorted(ids)  # every one sent, none twice
    with pg_store.sessions() as session:
        assert set(session.scalars(select(m.Delivery.status))) == {"sent"}
