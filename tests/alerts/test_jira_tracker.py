"""The ticket channel against a loopback Jira, Cloud and Data Center, built from Atlassian's published descriptions:
one issue per incident, kept in step with the alert, exactly once, with every request valid against the REST
description and every Cloud body against the Atlassian Document Format schema."""
from __future__ import annotations

import base64
import json
import re
from dataclasses import replace

import httpx
import pytest

from alerts.channels.ticket import TicketChannel
from alerts.channels.trackers.jira import EDITIONS, JiraIssues
from alerts.channels.trackers.jira_formats import adf, wiki
from alerts.channels.trackers.base import Note
from alerts.model import Level, NotifyReason
from daemon.errors import DeliveryError
from storage.tickets_repo import TicketLedger
from tests.alerts.samples import HOSTILE
from tests.alerts.ticket_notices import raised, resolved, say
from tests.support.jira_fake import FakeJira
from tests.support.tracker_fake import Faults
from tests.support.vendor_api import adf_schema, jira_data_center_openapi, jira_openapi

EMAIL, TOKEN = "bot@acme.example", "ATATT-TEST"
PRIORITIES = {"warning": "Medium", "critical": "High", "breach": "Highest"}


@pytest.fixture(params=EDITIONS)
def edition(request):
    return request.param


def fake_jira(edition: str, faults: Faults | None = None) -> FakeJira:
    openapi = jira_openapi() if edition == "cloud" else jira_data_center_openapi()
    return FakeJira(openapi, adf_schema(), "OPS", EMAIL, TOKEN, faults, edition)


@pytest.fixture
def jira(edition):
    fake = fake_jira(edition)
    yield fake
    fake.close()
    assert fake.violations == []


def tracker(jira, http, clock, token=TOKEN, **options) -> JiraIssues:
    return JiraIssues(jira.url, "OPS", EMAIL, token, http, clock, edition="cloud" if jira.cloud else "data_center",
                      labels=("amazon",), priorities=PRIORITIES, **options)


@pytest.fixture
def channel(jira, http, store, clock):
    return TicketChannel("tickets", tracker(jira, http, clock), TicketLedger(store))


def texts(body) -> str:
    """What a body shows as text: a document's text nodes in order, or wiki markup without its escapes."""
    if isinstance(body, str):
        return re.sub(r"\\(.)", r"\1", body).replace("&#92;", "\\")
    if isinstance(body, dict):
        return (body.get("text", "") + " " + " ".join(texts(c) for c in body.get("content", []))).strip()
    return ""


def test_an_incident_opens_one_issue_comments_on_each_change_and_closes_when_resolved(channel, jira, clock):
    say(channel, clock, raised(), 1)
    [(key, issue)] = jira.issues.items()
    fields = issue["fields"]
    assert fields["summary"].startswith("[WARNING] main · Amazon.com: ODR 0.82% of 1.00%")
    assert {"sentinel-level-warning", "amazon"} <= set(fields["labels"])
    assert any(label.startswith("sentinel-") and len(label) == 25 for label in fields["labels"])
    assert fields["priority"] == {"name": "Medium"}
    assert "2 more defective orders in the window breach the limit" in texts(fields["description"])

    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    assert fields["priority"] == {"name": "High"}
    clock.advance(days=1)
    say(channel, clock, resolved(), 3)

    assert len(jira.issues) == 1
    comments = [texts(c["body"]) for c in jira.comments[key]]
    assert len(comments) == 2
    assert comments[0].startswith("Now critical (was warning).")
    assert comments[1].startswith("Resolved.")
    assert "sentinel-level-critical" in fields["labels"] and "sentinel-level-warning" not in fields["labels"]
    assert fields["status"]["name"] == "Done" and fields["resolution"] == {"name": "Done"}


def test_raised_again_within_the_reopen_days_the_same_issue_reopens_and_later_a_new_one_follows(channel, jira, clock):
    say(channel, clock, raised(), 1)
    say(channel, clock, resolved(), 2)
    clock.advance(days=3)
    say(channel, clock, raised(), 3)
    assert list(jira.issues) == ["OPS-1"]
    assert jira.issues["OPS-1"]["fields"]["status"]["name"] == "To Do"
    assert texts(jira.comments["OPS-1"][-1]["body"]).startswith("Raised again: warning.")

    say(channel, clock, resolved(), 4)
    clock.advance(days=8)
    say(channel, clock, raised(), 5)
    assert list(jira.issues) == ["OPS-1", "OPS-2"]
    assert jira.tickets()["OPS-1"][1] == "closed"
    description = jira.issues["OPS-2"]["fields"]["description"]
    if jira.cloud:
        before, follows, after = description["content"][-1]["content"]
        assert (before["text"], follows["text"], after["text"]) == ("This follows ", "the earlier incident", ".")
        assert follows["marks"] == [{"type": "link", "attrs": {"href": f"{jira.url}/browse/OPS-1"}}]
    else:
        assert description.endswith(f"This follows [the earlier incident|{jira.url}/browse/OPS-1].")


def test_an_issue_a_person_resolved_as_wont_do_is_not_reopened(channel, jira, clock):
    say(channel, clock, raised(), 1)
    jira.close_by_person("OPS-1", "Won't Do")
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    say(channel, clock, resolved(), 3)
    clock.advance(days=2)
    say(channel, clock, raised(), 4)
    assert list(jira.issues) == ["OPS-1"]
    assert jira.issues["OPS-1"]["fields"]["resolution"] == {"name": "Won't Do"}
    assert jira.comments["OPS-1"] == []


def test_an_issue_deleted_in_jira_is_opened_anew_at_the_next_notice(channel, jira, clock):
    say(channel, clock, raised(), 1)
    jira.delete("OPS-1")
    clock.advance(days=1)
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    assert list(jira.issues) == ["OPS-1", "OPS-2"]
    assert "sentinel-level-critical" in jira.issues["OPS-2"]["fields"]["labels"]


def test_an_answer_lost_after_the_change_never_makes_a_second_issue_or_comment(channel, jira, clock):
    jira.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError) as lost:
        say(channel, clock, raised(), 1)
    assert not lost.value.permanent
    jira.faults = Faults()
    say(channel, clock, raised(), 1)  # the outbox's retry: the issue is found by its marker label
    assert len(jira.issues) == 1

    clock.advance(days=1)
    jira.faults = Faults(lost=1.0)
    with pytest.raises(DeliveryError):
        say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)
    jira.faults = Faults()
    say(channel, clock, raised(Level.CRITICAL, NotifyReason.ESCALATED), 2)  # found by its comment property
    assert len(jira.issues) == 1 and len(jira.comments["OPS-1"]) == 1


def test_rate_limits_are_transient_with_jiras_wait_and_a_bad_token_is_dead_with_jiras_words(jira, http, store,
                                                                                             clock):
    jira.faults = Faults(refused=1.0, seed=3)
    waits = set()
    for _ in range(6):
        with pytest.raises(DeliveryError) as refused:
            say(TicketChannel("tickets", tracker(jira, http, clock), TicketLedger(store)), clock, raised(), 1)
        assert not refused.value.permanent
        waits.add(refused.value.retry_after)
    assert 1.0 in waits  # 429 with Retry-After: 1
    jira.faults = Faults()
    with pytest.raises(DeliveryError) as dead:
        say(TicketChannel("tickets", tracker(jira, http, clock, token="wrong"), TicketLedger(store)), clock,
            raised(), 1)
    assert dead.value.permanent and "HTTP 401: Client must be authenticated to access this resource." in dead.value.reason
    assert "wrong" not in dead.value.reason


def test_a_workflow_without_the_configured_transition_is_dead_with_the_names_it_has(jira, http, store, clock):
    channel = TicketChannel("tickets", tracker(jira, http, clock, close_transition="Resolve Issue"),
                            TicketLedger(store))
    say(channel, clock, raised(), 1)
    with pytest.raises(DeliveryError) as dead:
        say(channel, clock, resolved(), 2)
    assert dead.value.permanent
    assert "no transition 'Resolve Issue' (it has 'To Do', 'In Progress', 'Done')" in dead.value.reason


def test_hostile_text_stays_text_in_the_document(store, clock, http):
    jira = fake_jira("cloud")
    channel = TicketChannel("tickets", tracker(jira, http, clock), TicketLedger(store))
    alert = replace(raised(), headline=f"{HOSTILE} [click|javascript:alert(1)] @everyone",
                    advice=("{code}x{code} [~admin] !https://evil.example/p.png!",))
    try:
        say(channel, clock, alert, 1)
        document = jira.issues["OPS-1"]["fields"]["description"]
        serialised = json.dumps(document)
        assert HOSTILE in texts(document) and "[click|javascript:alert(1)]" in texts(document)
        assert "javascript:" not in json.dumps(_marks(document))
        assert all(m["type"] in ("strong", "link") for m in _marks(document))
        assert all(m["attrs"]["href"].startswith("https://") for m in _marks(document) if m["type"] == "link")
        assert '"type": "mention"' not in serialised and '"type": "extension"' not in serialised
        assert jira.violations == []
    finally:
        jira.close()


def test_hostile_text_is_escaped_in_wiki_markup():
    hostile = f"{HOSTILE} [click|javascript:alert(1)] [~admin] \\ {{code}}x{{code}}"
    shown = wiki(Note("t", (hostile, "h1. big", "!https://evil.example/p.png! *b* _i_ -x- +u+ ^s^ ~s~ ??c?? |t| # n"),
                      (("Orders", ("- not a list",)),), ()))
    assert r"\[click\|javascript:alert(1)\] \[\~admin\] &#92; \{code\}x\{code\}" in shown
    assert "\n\nh1\\. big\n\n" in shown
    assert r"\!https://evil.example/p.png\! \*b\* \_i\_ \-x\- \+u\+ \^s\^ \~s\~ \?\?c\?\? \|t\| \# n" in shown
    assert "*Orders*\n* \\- not a list" in shown
    assert texts(shown).startswith(hostile)


def test_only_web_addresses_become_links():
    note = Note("t", ("a",), (), (("status page", "https://sentinel.example/s"), ("bad", "javascript:alert(1)"),
                                  ("closer", "https://x.example/a|b]")))
    assert [m["attrs"]["href"] for m in _marks(adf(note))] == ["https://sentinel.example/s"]
    assert wiki(note).endswith("\n\n[status page|https://sentinel.example/s]")


@pytest.mark.parametrize(("edition", "document"), [("cloud", "plain text, not a document"),
                                                   ("data_center", {"type": "doc", "version": 1, "content": []})])
def test_the_fake_refuses_what_the_descriptions_do_not_allow(edition, document):
    """The checks above every test here can fail: outside the REST description or the body's format, a request is
    a recorded violation."""
    fake = fake_jira(edition)
    version, search = ("3", "search/jql") if edition == "cloud" else ("2", "search")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode() if fake.cloud
            else f"Bearer {TOKEN}"}
    try:
        with httpx.Client(trust_env=False) as client:
            client.post(f"{fake.url}/rest/api/{version}/issue", json={"fields": {
                "project": {"key": "OPS"}, "summary": "s", "description": document}}, headers=auth)
            answer = client.get(f"{fake.url}/rest/api/{version}/{search}", params={"jql": "x", "maxResults": "many"},
                                headers=auth)
        assert answer.status_code == 400
        assert len(fake.violations) == 2
        assert "description is not" in fake.violations[0] and "maxResults" in fake.violations[1]
    finally:
        fake.close()


def _marks(document) -> list[dict]:
    found = list(document.get("marks", [])) if isinstance(document, dict) else []
    for child in document.get("content", []) if isinstance(document, dict) else []:
        found += _marks(child)
    return found
