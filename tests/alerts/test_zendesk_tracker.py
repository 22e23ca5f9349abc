"""The ticket channel against a loopback Zendesk built from Zendesk's published description: one ticket per incident,
kept in step with the alert, exactly once, with every request and answer valid against the description."""
from __future__ import annotations

import base64
import re
from dataclasses import replace
from html.parser import HTMLParser

import httpx
import pytest

from alerts.channels.ticket import TicketChannel
from alerts.channels.trackers.base import Note
from alerts.channels.trackers.html_format import html
from alerts.channels.trackers.zendesk import ZendeskTickets
from alerts.model import Level, NotifyReason
from daemon.errors import DeliveryError
from storage.tickets_repo import TicketLedger
from tests.alerts.samples import HOSTILE
from tests.alerts.ticket_notices import raised, resolved, say
from tests.support.tracker_fake import Faults
from tests.support.vendor_api import zendesk_openapi
from tests.support.zendesk_fake import FakeZendesk

EMAIL, TOKEN = "bot@acme.example", "zd-token"


@pytest.fixture
def zendesk():
    fake = FakeZendesk(zendesk_openapi(), EMAIL, TOKEN)
    yield fake
    fake.close()
    assert fake.violations == []


def tracker(zendesk, http, token=TOKEN, **options) -> ZendeskTickets:
    return ZendeskTickets(zendesk.url, EMAIL, token, http, tags=("amazon",), **options)


@pytest.fixture
def channel(zendesk, http, store):
    return TicketChannel("tickets", tracker(zendesk, http), TicketLedger(store))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [value for name, value in attrs if name == "href"]

    def handle_data(self, data):
        self.parts.append(data)


def shown(body: str) -> _Text:
    """What a browser makes of an HTML body: its text, its elements and its links."""
    parser = _Text()
    parser.feed(body)
    parser.close()
    return parser


def test_an_incident_opens_one_ticket_comments_on_each_change_and_solves_it_when_resolved(channel, zendesk, clock):
    say(channel, clock, raised(), 1)
    [(ticket_id, record)] = zendesk.records.items()
    assert record["subject"].startswith("[WARNING] main · Amazon.com: ODR 0.82% of 1.00%")
    assert {"sentinel_level_warning", "amazon"} <= set(record["tags"])
    assert record["external_id"] in record["tags"] and re.fullmatch(r"sentinel-[0-9a-f]{16}", record["external_id"])
    assert record["priority"] == "normal"
    assert record["assignee_id"] == zendesk.agents[EMAIL]  # Zendesk solves only an assigned ticket
    first = zendesk.comments[ticket_id][0]
    assert first["public"] is False  # an internal note: no e-mail to anyone outside the team
    assert "2 more defective orders in the window breach the limit" in "".join(shown(first["body"]).parts)

    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    assert record["priority"] == "high"
    clock.advance(days=1)
    say(channel, clock, resolved(), 3)

    assert len(zendesk.records) == 1
    later = ["".join(shown(c["body"]).parts) for c in zendesk.comments[ticket_id][1:]]
    assert len(later) == 2 and later[0].startswith("Now critical (was warning).") and later[1].startswith("Resolved.")
    assert "sentinel_level_critical" in record["tags"] and "sentinel_level_warning" not in record["tags"]
    assert record["status"] == "solved"
    assert zendesk.tickets() == {"1": (2, "closed")}


def test_raised_again_a_solved_ticket_reopens_and_one_zendesk_closed_for_good_is_followed_by_a_new_one(
        channel, zendesk, clock):
    say(channel, clock, raised(), 1)
    say(channel, clock, resolved(), 2)
    clock.advance(days=2)
    say(channel, clock, raised(), 3)
    assert list(zendesk.records) == [1] and zendesk.records[1]["status"] == "open"
    assert "".join(shown(zendesk.comments[1][-1]["body"]).parts).startswith("Raised again: warning.")

    say(channel, clock, resolved(), 4)
    zendesk.close_for_good(1)  # solved tickets close after a few days, whatever our reopen window says
    clock.advance(days=2)
    say(channel, clock, raised(), 5)
    assert list(zendesk.records) == [1, 2]
    assert shown(zendesk.comments[2][0]["body"]).hrefs[-1] == f"{zendesk.url}/agent/tickets/1"
    say(channel, clock, resolved(), 6)
    assert zendesk.tickets() == {"1": (3, "closed"), "2": (1, "closed")}


def test_a_ticket_a_person_solved_as_wont_fix_is_not_reopened(channel, zendesk, clock):
    say(channel, clock, raised(), 1)
    zendesk.solve_by_person(1, "wont_fix")
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    say(channel, clock, resolved(), 3)
    clock.advance(days=2)
    say(channel, clock, raised(), 4)
    assert list(zendesk.records) == [1] and zendesk.records[1]["status"] == "solved"
    assert len(zendesk.comments[1]) == 1


def test_a_ticket_deleted_in_zendesk_is_opened_anew_at_the_next_notice(channel, zendesk, clock):
    say(channel, clock, raised(), 1)
    zendesk.delete(1)
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    assert list(zendesk.records) == [1, 2]
    assert "sentinel_level_critical" in zendesk.records[2]["tags"]


def test_an_answer_lost_after_the_change_never_makes_a_second_ticket_or_comment(channel, zendesk, clock):
    zendesk.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError) as lost:
        say(channel, clock, raised(), 1)
    assert not lost.value.permanent
    zendesk.faults = Faults()
    say(channel, clock, raised(), 1)  # the outbox's retry: the ticket is found by its external id
    assert len(zendesk.records) == 1

    clock.advance(days=1)
    zendesk.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError):
        say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    zendesk.faults = Faults()
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)  # found in the audit's metadata
    assert len(zendesk.records) == 1 and len(zendesk.comments[1]) == 2


def test_rate_limits_are_transient_with_zendesks_wait_and_refusals_are_dead_with_zendesks_words(zendesk, http, store,
                                                                                                 clock):
    zendesk.faults = Faults(refused=1.0, seed=3)
    waits = set()
    for _ in range(6):
        with pytest.raises(DeliveryError) as refused:
            say(TicketChannel("tickets", tracker(zendesk, http), TicketLedger(store)), clock, raised(), 1)
        assert not refused.value.permanent
        waits.add(refused.value.retry_after)
    assert 1.0 in waits  # 429 with Retry-After: 1
    zendesk.faults = Faults()
    with pytest.raises(DeliveryError) as dead:
        say(TicketChannel("tickets", tracker(zendesk, http, token="wrong"), TicketLedger(store)), clock, raised(), 1)
    assert dead.value.permanent and dead.value.reason.endswith("HTTP 401: Couldn't authenticate you")
    assert "wrong" not in dead.value.reason
    with pytest.raises(DeliveryError) as not_an_agent:
        say(TicketChannel("tickets", tracker(zendesk, http, assignee_email="someone@else.example"),
                          TicketLedger(store)), clock, raised(), 1)
    assert not_an_agent.value.permanent and "HTTP 422: assignee: Assignee is not an agent" in not_an_agent.value.reason


def test_hostile_text_stays_text_in_the_html(channel, zendesk, clock):
    alert = replace(raised(), headline=f"{HOSTILE} <a href='javascript:alert(1)'>click</a> <img src=x onerror=y>",
                    advice=("<iframe src='https://evil.example'></iframe>",))
    say(channel, clock, alert, 1)
    body = shown(zendesk.comments[1][0]["body"])
    assert HOSTILE in "".join(body.parts) and "<img src=x onerror=y>" in "".join(body.parts)
    assert set(body.tags) <= {"p", "strong", "ul", "li", "a"}
    assert body.hrefs == []  # the sample has no status page: no link at all


def test_only_web_addresses_become_links():
    note = Note("t", ("a",), (), (("status page", "https://sentinel.example/s?a=1&b=2"),
                                  ("bad", "javascript:alert(1)"), ("quote", 'https://x.example/"onclick="y')))
    assert shown(html(note)).hrefs == ["https://sentinel.example/s?a=1&b=2"]
    assert 'href="https://sentinel.example/s?a=1&amp;b=2"' in html(note)


def test_the_fake_refuses_what_the_description_does_not_allow(zendesk):
    """The checks above every test here can fail: outside Zendesk's description, a request is a recorded
    violation."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()}
    with httpx.Client(trust_env=False) as client:
        client.post(f"{zendesk.url}/api/v2/tickets", json={"ticket": {"subject": "s", "priority": "ASAP",
                                                                      "comment": {"html_body": "<p>x</p>"}}},
                    headers=auth)
        answer = client.get(f"{zendesk.url}/api/v2/tickets/1/audits", params={"sort_order": "newest"}, headers=auth)
    assert answer.status_code == 400
    assert len(zendesk.violations) == 2
    assert "ASAP" in zendesk.violations[0] and "sort_order" in zendesk.violations[1]
    zendesk.violations.clear()
