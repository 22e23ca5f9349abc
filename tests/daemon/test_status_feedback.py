"""`status` says when the feedback feed has had no clean report for a while (removals wait for two clean ones),
and how many records wait in quarantine."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from daemon.commands import feedback_note, quarantine_line
from daemon.sources.records import Reject
from daemon.status import quarantined_counts
from storage.repo import heal, quarantine

NOW = datetime(2026, 3, 20, 12, tzinfo=timezone.utc)


def test_a_recent_clean_report_needs_no_word():
    assert feedback_note("2026-03-20T06:00:00Z", NOW, 12) is None


def test_no_clean_report_for_longer_than_two_polls_is_said_with_its_age():
    assert feedback_note("2026-03-18T12:00:00Z", NOW, 12) == (
        "feedback: no clean feedback report for 48 hours (last 2026-03-18T12:00:00Z); "
        "removed feedback still counts until two clean reports agree")


def test_never_a_clean_report_is_said_too():
    assert feedback_note(None, NOW + timedelta(days=1), 12).startswith("feedback: no clean feedback report yet")


def test_status_counts_what_waits_in_quarantine(store):
    with store.transaction() as session:
        quarantine(session, "main", [Reject("orders", "{}", "createdTime is missing", "order:1"),
                                     Reject("orders", "{}", "createdTime is missing", "order:1"),  # the same, again
                                     Reject("finances", "{}", "PostedDate is missing", "finance:2"),
                                     Reject("performance", "<html>", "report is not JSON")], NOW)
        heal(session, "main", ["finance:2"], NOW)
    with store.sessions() as session:
        counts = quarantined_counts(session, ["main", "other"])
    waiting, other = counts["main"], counts["other"]
    assert quarantine_line(waiting) == (
        "quarantine: 1 orders, 1 performance record(s) did not parse and wait to be read again (table quarantine)")
    assert quarantine_line(other) is None
