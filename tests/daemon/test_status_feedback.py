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
