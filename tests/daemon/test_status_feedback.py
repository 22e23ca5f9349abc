"""`status` says when the feedback feed has had no clean report for a while: removals wait for two clean ones."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from daemon.commands import feedback_note
from storage import models as m

NOW = datetime(2026, 3, 20, 12, tzinfo=timezone.utc)


def cursor(**value: object) -> m.SourceCursor:
    return m.SourceCursor(account="main", source="feedback", value=json.dumps(value), updated_at=NOW)


def test_a_recent_clean_report_needs_no_word():
    assert feedback_note(cursor(last_clean_at="2026-03-20T06:00:00Z", pending={}), NOW, 12) is None


def test_no_clean_report_for_longer_than_two_polls_is_said_with_its_age():
    note = feedback_note(cursor(last_clean_at="2026-03-18T12:00:00Z", pending={}), NOW, 12)
    assert note == ("feedback: no clean feedback report for 48 hours (last 2026-03-18T12:00:00Z); "
                    "removed feedback still counts until two clean reports agree")


def test_never_a_clean_report_is_said_too():
    assert feedback_note(cursor(pending={}), NOW, 12).startswith("feedback: no clean feedback report yet")
    assert feedback_note(None, NOW + timedelta(days=1), 12).startswith("feedback: no clean feedback report yet")


def test_status_counts_what_waits_in_quarantine(store):
    from daemon.commands import quarantine_line
    from daemon.sources.records import Reject
    from storage.repo import heal, quarantine

    with store.transaction() as session:
        quarantine(session, "main", [Reject("orders", "{}", "createdTime is missing", "order:1"),
                                     Reject("orders", "{}", "createdTime is missing", "order:1"),  # the same, again
                                     Reject("finances", "{}", "PostedDate is missing", "finance:2"),
                                     Reject("performance", "<html>", "report is not JSON")], NOW)
        heal(session, "main", ["finance:2"], NOW)
    with store.sessions() as session:
        assert quarantine_line(session, "main") == (
            "quarantine: 1 orders, 1 performance record(s) did not parse and wait to be read again (table quarantine)")
        assert quarantine_line(session, "other") is None
