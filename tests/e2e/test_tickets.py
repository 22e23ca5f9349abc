"""Each shared example's alert history through a ticket channel to a loopback GitHub, Jira Cloud, Jira Data Center,
Zendesk and Freshdesk, each checked against its vendor's published description (Freshdesk's is its documentation,
which is not machine-readable): one ticket per incident, a comment per later notice, closed exactly when the
incident resolved; and the same final state when the tracker refuses a third of the calls, loses one answer in ten
after making the change, and the delivering process is SIGKILLed 20 times (the daemon's own `run` is killed with a
ticket channel in tests/e2e/test_kill_loop.py). Jira Data Center shares Cloud's code but for the body's format,
which its example replays check: the kills are not run against it too."""
from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import EXAMPLE_NAMES
from tests.support import ticket_replay
from tests.support.fake_trackers import TRACKERS, fake_tracker
from tests.support.tracker_fake import Faults, LoopbackTracker

KILLS = 20
KILLED_TRACKERS = ("github", "jira", "zendesk", "freshdesk")


def run(database, kind: str, fake: LoopbackTracker, files) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.support.ticket_replay", str(database), kind, fake.url,
                             *map(str, files)],
                            cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True, env={"PATH": os.environ["PATH"]})


@pytest.mark.parametrize("kind", TRACKERS)
@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_one_ticket_per_incident_with_a_comment_per_later_notice_closed_when_it_resolved(example_replays, name, kind,
                                                                                           tmp_path):
    files = [example_replays[name] / "alerts.jsonl"]
    fake = fake_tracker(kind)
    try:
        ticket_replay.deliver(tmp_path / "tickets.db", kind, fake.url, files)
        expected = ticket_replay.expected_tickets(ticket_replay.histories(files))
        assert ticket_replay.final_state(fake, tmp_path / "tickets.db") == expected
        assert len(fake.tickets()) == sum(len(tickets) for tickets in expected.values())
        assert fake.violations == []
    finally:
        fake.close()


@pytest.mark.parametrize("kind", KILLED_TRACKERS)
def test_refusals_lost_answers_and_kills_change_nothing_in_the_end(kind, tmp_path):
    """Every turn an incident takes (tests/support/ticket_replay.py: episodes). The tracker answers after 50 ms, as
    one far away does, so that the kills land while tickets are opened, commented on and closed. (Not read from
    the example replays, so that it runs while they are being made.)"""
    (tmp_path / "main").mkdir()
    files = [tmp_path / "main" / "alerts.jsonl"]
    files[0].write_text("".join(json.dumps(row) + "\n" for row in ticket_replay.episodes("main")))
    expected = ticket_replay.expected_tickets(ticket_replay.histories(files))
    fake = fake_tracker(kind, Faults(refused=1 / 3, lost=0.1, seed=5, latency=0.05))
    database = tmp_path / "tickets.db"
    rng = random.Random(11)
    try:
        for kill in range(KILLS):
            process = run(database, kind, fake, files)
            time.sleep(rng.uniform(0.5, 1.5))  # a random moment: starting, opening, commenting, closing
            process.kill()
            errors = process.communicate()[1]
            assert process.returncode == -9, f"kill {kill}: the run ended by itself: {errors[-2000:]}"
        last = run(database, kind, fake, files)
        errors = last.communicate(timeout=300)[1]
        assert last.returncode == 0, errors[-2000:]
        assert ticket_replay.final_state(fake, database) == expected
        assert len(fake.tickets()) == sum(len(tickets) for tickets in expected.values())
        assert fake.refused > len(fake.calls) / 4 and fake.lost > 0 and fake.violations == []
        with sqlite3.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM deliveries WHERE status != 'sent'").fetchone() == (0,)
    finally:
        fake.close()
