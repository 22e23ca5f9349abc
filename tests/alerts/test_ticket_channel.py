"""The ticket channel against a loopback GitHub built from GitHub's published OpenAPI description: one issue per
incident, kept in step with the alert, exactly once, with every request and answer valid against the description;
and two daemons on one PostgreSQL database against each tracker."""
from __future__ import annotations

from dataclasses import replace

import threading

import httpx
import pytest

from alerts.channels.ticket import TicketChannel, opening_note
from alerts.channels.trackers.base import marker_of
from alerts.channels.trackers.github import GitHubIssues, markdown_text
from alerts.model import Level, NotifyReason
from alerts.outbox import deliver_due, enqueue
from alerts.render import render
from daemon.errors import DeliveryError
from storage.alerts_repo import delivery_statuses
from storage.tickets_repo import TicketLedger
from tests.support import ticket_replay
from tests.alerts.samples import HOSTILE
from tests.alerts.ticket_notices import raised, resolved, say
from tests.support.fake_trackers import TRACKERS, fake_tracker
from tests.support.github_fake import FakeGitHub
from tests.support.tracker_fake import Faults
from tests.support.vendor_api import github_openapi

REPO = "acme/seller-ops"
TOKEN = "github_pat_TEST"


@pytest.fixture(scope="module")
def openapi():
    return github_openapi()


@pytest.fixture
def github(openapi):
    fake = FakeGitHub(openapi, REPO, TOKEN)
    yield fake
    fake.close()
    assert fake.violations == []


@pytest.fixture
def channel(github, store, clock):
    http = httpx.Client(timeout=5, trust_env=False)
    yield TicketChannel("tickets", GitHubIssues(github.url, REPO, TOKEN, http, clock, labels=("amazon",)),
                        TicketLedger(store))
    http.close()


def label_names(issue) -> set[str]:
    return {label["name"] for label in issue["labels"]}


def test_an_incident_opens_one_issue_comments_on_each_change_and_closes_when_resolved(channel, github, clock):
    say(channel, clock, raised(), 1)
    [issue] = github.issues.values()
    assert issue["title"].startswith("[WARNING] main · Amazon.com: ODR 0.82% of 1.00%")
    assert {"sentinel:warning", "amazon"} <= label_names(issue)
    assert any(name.startswith("sentinel-") for name in label_names(issue))
    assert "2 more defective orders in the window breach the limit" in issue["body"]

    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    clock.advance(days=1)
    say(channel, clock, resolved(), 3)

    assert len(github.issues) == 1
    comments = [c["body"] for c in github.comments[issue["number"]]]
    assert len(comments) == 2
    assert comments[0].startswith("Now critical \\(was warning\\).")
    assert comments[1].startswith("Resolved.")
    assert "sentinel:critical" in label_names(issue) and "sentinel:warning" not in label_names(issue)
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"


def test_raised_again_within_the_reopen_days_the_same_issue_reopens_and_later_a_new_one_follows(channel, github, clock):
    say(channel, clock, raised(), 1)
    say(channel, clock, resolved(), 2)
    clock.advance(days=3)
    say(channel, clock, raised(), 3)
    [issue] = github.issues.values()
    assert issue["state"] == "open" and issue["state_reason"] == "reopened"
    assert github.comments[1][-1]["body"].startswith("Raised again: warning.")

    say(channel, clock, resolved(), 4)
    clock.advance(days=8)
    say(channel, clock, raised(), 5)
    assert sorted(github.issues) == [1, 2]
    assert github.issues[1]["state"] == "closed"
    assert "[the earlier incident](https://github.com/acme/seller-ops/issues/1)" in github.issues[2]["body"]


def test_an_issue_a_person_closed_as_not_planned_is_not_reopened(channel, github, clock):
    say(channel, clock, raised(), 1)
    github.close_by_person(1, "not_planned")
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    say(channel, clock, resolved(), 3)
    clock.advance(days=2)
    say(channel, clock, raised(), 4)
    assert list(github.issues) == [1]
    assert github.issues[1]["state"] == "closed" and github.issues[1]["state_reason"] == "not_planned"
    assert github.comments[1] == []


def test_an_issue_deleted_on_github_is_opened_anew_at_the_next_notice(channel, github, clock):
    say(channel, clock, raised(), 1)
    github.delete(1)
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    assert sorted(github.issues) == [1, 2]
    assert "sentinel:critical" in label_names(github.issues[2])


def test_an_answer_lost_after_the_change_never_makes_a_second_issue_or_comment(channel, github, clock):
    github.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError) as lost:
        say(channel, clock, raised(), 1)
    assert not lost.value.permanent
    github.faults = Faults()
    say(channel, clock, raised(), 1)  # the outbox's retry: same alert, same delivery
    assert len(github.issues) == 1

    clock.advance(days=1)
    github.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError):
        say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    github.faults = Faults()
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    assert len(github.issues) == 1 and len(github.comments[1]) == 1


def test_a_notice_sent_again_after_it_took_effect_changes_nothing(channel, github, clock):
    """The process died after the tracker and the ledger had the change but before the outbox recorded the delivery:
    the outbox sends the same delivery again."""
    for sequence, alert in enumerate((raised(), raised(Level.CRITICAL, NotifyReason.ESCALATED), resolved()), start=1):
        say(channel, clock, alert, sequence)
        say(channel, clock, alert, sequence)
        clock.advance(days=1)
    [issue] = github.issues.values()
    assert [c["body"].split(".")[0] for c in github.comments[issue["number"]]] == ["Now critical \\(was warning\\)",
                                                                               "Resolved"]
    assert issue["state"] == "closed"


def test_the_ticket_is_found_by_its_marker_when_the_ledger_never_heard_of_it(github, store, clock, openapi):
    """A crash between GitHub's answer and the ledger's commit: the next try finds the issue by its label."""
    http = httpx.Client(timeout=5, trust_env=False)
    tracker = GitHubIssues(github.url, REPO, TOKEN, http, clock)
    alert = replace(raised(), raised_at=clock.now())
    data = render(alert).data
    tracker.open(marker_of(f"{data['dedup_key']}@{data['raised_at']}"), opening_note(data), "warning", None)
    TicketChannel("tickets", tracker, TicketLedger(store)).send(render(alert), "x:tickets")
    assert len(github.issues) == 1
    http.close()


def test_rate_limits_are_transient_with_githubs_wait_and_a_bad_token_is_dead_with_githubs_words(github, store, clock):
    http = httpx.Client(timeout=5, trust_env=False)
    github.faults = Faults(refused=1.0, seed=3)
    waits = set()
    for _ in range(6):
        with pytest.raises(DeliveryError) as refused:
            say(TicketChannel("tickets", GitHubIssues(github.url, REPO, TOKEN, http, clock), TicketLedger(store)),
                clock, raised(), 1)
        assert not refused.value.permanent
        waits.add(refused.value.retry_after)
    assert 1.0 in waits  # 429 with retry-after: 1
    github.faults = Faults()
    with pytest.raises(DeliveryError) as dead:
        say(TicketChannel("tickets", GitHubIssues(github.url, REPO, "wrong", http, clock), TicketLedger(store)),
            clock, raised(), 1)
    assert dead.value.permanent and "HTTP 401: Bad credentials" in dead.value.reason
    assert "wrong" not in dead.value.reason
    http.close()


def test_hostile_text_cannot_link_mention_or_inject_html_in_the_issue(channel, github, clock):
    alert = replace(raised(), headline=f"{HOSTILE} @everyone [click](javascript:alert(1)) #1",
                    advice=("![x](https://evil.example/p.png) | table |",))
    say(channel, clock, alert, 1)
    body = github.issues[1]["body"]
    assert "<script>" not in body and "<b>" not in body
    assert "\\@everyone" in body and "\\#1" in body
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in body
    assert "\\!\\[x\\]" in body
    assert markdown_text("a  b\nc") == "a b c"


def test_the_fake_refuses_what_githubs_description_does_not_allow(openapi):
    """The check above every test here can fail: a request outside the description is a recorded violation."""
    fake = FakeGitHub(openapi, REPO, TOKEN)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(trust_env=False) as http:
            assert http.post(f"{fake.url}/repos/{REPO}/issues", json={"body": "no title"}, headers=headers).status_code == 422
            assert http.get(f"{fake.url}/repos/{REPO}/issues", params={"state": "weird"}, headers=headers).status_code == 422
        assert len(fake.violations) == 2 and "'title' is a required property" in fake.violations[0]
    finally:
        fake.close()


@pytest.mark.postgres
@pytest.mark.parametrize("kind", TRACKERS)
def test_two_daemons_on_postgresql_never_open_two_tickets_for_one_incident(pg_store, kind, clock):
    """Two delivery loops on one PostgreSQL database, each with its own channel, against a tracker that refuses a
    third of the calls and loses one answer in ten: the tickets are the incidents, no more."""
    rows = ticket_replay.episodes()
    fake = fake_tracker(kind, Faults(refused=1 / 3, lost=0.1, seed=9))
    clients = [httpx.Client(timeout=5, trust_env=False) for _ in range(2)]
    channels = [{"tickets": TicketChannel("tickets", ticket_replay.tracker_for(kind, fake.url, http, clock),
                                          TicketLedger(pg_store))} for http in clients]
    try:
        for alert in ticket_replay.alerts_of(rows):
            clock.set(max(clock.now(), alert.raised_at))
            with pg_store.transaction() as session:
                enqueue(session, alert, ["tickets"], clock.now())
            for _ in range(200):
                daemons = [threading.Thread(target=deliver_due, args=(pg_store, c, render, clock)) for c in channels]
                for daemon in daemons:
                    daemon.start()
                for daemon in daemons:
                    daemon.join()
                with pg_store.sessions() as session:
                    if set(delivery_statuses(session).values()) <= {"sent"}:
                        break
                clock.advance(minutes=5)
        expected = ticket_replay.expected_tickets(rows)
        assert sorted(fake.tickets().values()) == sorted(t for tickets in expected.values() for t in tickets)
        assert len(fake.tickets()) == 6
        with pg_store.sessions() as session:
            assert set(delivery_statuses(session).values()) == {"sent"}
        assert fake.refused > 0 and fake.lost > 0 and fake.violations == []
    finally:
        for http in clients:
            http.close()
        fake.close()
