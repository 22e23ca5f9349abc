"""The ticket channel against a loopback Freshdesk built from Freshdesk's API documentation: one ticket per incident,
kept in step with the alert, exactly once, with every request within what the documentation allows."""
from __future__ import annotations

import base64

import httpx
import pytest

from alerts.channels.ticket import TicketChannel
from alerts.channels.trackers.freshdesk import FreshdeskTickets
from alerts.model import Level, NotifyReason
from daemon.errors import DeliveryError
from storage.tickets_repo import TicketLedger
from tests.alerts.ticket_notices import raised, resolved, say
from tests.support.freshdesk_fake import FakeFreshdesk
from tests.support.tracker_fake import Faults

KEY, REQUESTER = "fd-key", "bot@acme.example"


@pytest.fixture
def freshdesk():
    fake = FakeFreshdesk(KEY)
    yield fake
    fake.close()
    assert fake.violations == []


def tracker(freshdesk, http, key=KEY) -> FreshdeskTickets:
    return FreshdeskTickets(freshdesk.url, key, REQUESTER, http, tags=("amazon",))


@pytest.fixture
def channel(freshdesk, http, store):
    return TicketChannel("tickets", tracker(freshdesk, http), TicketLedger(store))


def test_an_incident_opens_one_ticket_adds_a_private_note_per_change_and_resolves_it(channel, freshdesk, clock):
    say(channel, clock, raised(), 1)
    [(ticket_id, record)] = freshdesk.records.items()
    assert record["subject"].startswith("[WARNING] main · Amazon.com: ODR 0.82% of 1.00%")
    assert {"sentinel_level_warning", "amazon"} <= set(record["tags"]) and record["priority"] == 2
    assert "2 more defective orders in the window breach the limit" in record["description_text"]
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    assert record["priority"] == 3 and "sentinel_level_critical" in record["tags"]
    clock.advance(days=1)
    say(channel, clock, resolved(), 3)
    notes = freshdesk.notes[ticket_id]
    assert [n["private"] for n in notes] == [True, True]
    assert notes[0]["body_text"].startswith("Now critical (was warning).")
    assert notes[1]["body_text"].startswith("Resolved.") and "seller-sentinel ref " in notes[1]["body_text"]
    assert freshdesk.tickets() == {"1": (2, "closed")}


def test_raised_again_the_ticket_reopens_and_later_a_new_one_links_it(channel, freshdesk, clock):
    say(channel, clock, raised(), 1)
    say(channel, clock, resolved(), 2)
    clock.advance(days=3)
    say(channel, clock, raised(), 3)
    assert freshdesk.tickets() == {"1": (2, "open")}
    say(channel, clock, resolved(), 4)
    clock.advance(days=8)
    say(channel, clock, raised(), 5)
    assert freshdesk.tickets() == {"1": (3, "closed"), "2": (0, "open")}
    assert f'href="{freshdesk.url}/a/tickets/1"' in freshdesk.records[2]["description"]


def test_a_wont_fix_resolution_is_respected_and_a_deleted_ticket_is_opened_anew(channel, freshdesk, clock):
    say(channel, clock, raised(), 1)
    freshdesk.resolve_by_person(1, "wont_fix")
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    say(channel, clock, resolved(), 3)
    clock.advance(days=2)
    say(channel, clock, raised(), 4)
    assert freshdesk.tickets() == {"1": (0, "closed")}

    clock.advance(days=30)
    say(channel, clock, raised(), 5)  # a new episode: a new ticket
    freshdesk.delete(2)  # to the trash
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 6)
    freshdesk.delete(3, purge=True)
    clock.advance(days=1)
    say(channel, clock, raised(Level.BREACH, NotifyReason.ESCALATED), 7)
    assert list(freshdesk.records) == [1, 2, 3, 4]
    assert "sentinel_level_breach" in freshdesk.records[4]["tags"]


def test_an_answer_lost_after_the_change_never_makes_a_second_ticket_or_note(channel, freshdesk, clock):
    freshdesk.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError):
        say(channel, clock, raised(), 1)
    freshdesk.faults = Faults()
    say(channel, clock, raised(), 1)  # found by its marker tag
    clock.advance(days=1)
    freshdesk.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError):
        say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    freshdesk.faults = Faults()
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)  # found by its reference
    assert freshdesk.tickets() == {"1": (1, "open")}


def test_rate_limits_are_transient_with_freshdesks_wait_and_a_bad_key_is_dead_with_freshdesks_words(
        freshdesk, http, store, clock):
    freshdesk.faults = Faults(refused=1.0, seed=3)
    waits = set()
    for _ in range(6):
        with pytest.raises(DeliveryError) as refused:
            say(TicketChannel("tickets", tracker(freshdesk, http), TicketLedger(store)), clock, raised(), 1)
        assert not refused.value.permanent
        waits.add(refused.value.retry_after)
    assert 1.0 in waits
    freshdesk.faults = Faults()
    with pytest.raises(DeliveryError) as dead:
        say(TicketChannel("tickets", tracker(freshdesk, http, key="wrong"), TicketLedger(store)), clock, raised(), 1)
    assert dead.value.permanent
    assert dead.value.reason.endswith("HTTP 401: You have to be logged in to perform this action.")


def test_the_fake_refuses_what_the_documentation_does_not_allow(freshdesk):
    """The checks above every test here can fail: outside what Freshdesk documents, a request is a violation."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:X".encode()).decode()}
    with httpx.Client(trust_env=False) as client:
        created = client.post(f"{freshdesk.url}/api/v2/tickets", headers=auth, json={
            "subject": "s", "description": "d", "email": REQUESTER, "status": 2, "priority": "high"})
        searched = client.get(f"{freshdesk.url}/api/v2/search/tickets", params={"query": "tag:x"}, headers=auth)
    assert (created.status_code, searched.status_code) == (400, 400)
    assert created.json()["errors"][0]["field"] == "priority"
    assert len(freshdesk.violations) == 2
    freshdesk.violations.clear()
