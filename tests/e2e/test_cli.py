"""The command line as a seller uses it: run stops cleanly on SIGTERM, demo shows a forecast before the breach,
status prints every metric, test-alert says what happened, silences mute."""
from __future__ import annotations

import email
import email.policy
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.freshdesk_fake import FakeFreshdesk
from tests.support.github_fake import FakeGitHub
from tests.support.jira_fake import FakeJira
from tests.support.receivers import HttpReceiver, Reply, wait_until
from tests.support.vendor_api import adf_schema, github_openapi, jira_openapi, zendesk_openapi
from tests.support.zendesk_fake import FakeZendesk

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
        cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={"PATH": os.environ["PATH"], **(env or {})})


def simulated_config(tmp_path: Path, extra: str = "", scenario: str = "builtin:demo", speed: float = 43200) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'''
[daemon]
state_dir = "state"
poll_interval_minutes = 240
deliver_interval_seconds = 3600

[simulator]
enabled = true
scenario = "{scenario}"
speed = {speed}

[http]
port = 0

[[channels]]
name = "files"
kind = "file"
{extra}''', encoding="utf-8")
    return path


def test_run_polls_the_simulator_and_stops_cleanly_on_sigterm(tmp_path):
    config = simulated_config(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "daemon.cli", "run", "--config", str(config)], cwd=ROOT,
                               stderr=subprocess.PIPE, text=True, env={"PATH": os.environ["PATH"]})
    lines: list[str] = []
    incoming: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # a thread reads, so every wait for the next line has a deadline instead of blocking forever
        for line in iter(process.stderr.readline, ""):
            incoming.put(line)
        incoming.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        while len([line for line in lines if " poll account=sim " in line]) < 3:
            lines.append(incoming.get(timeout=120))
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        process.kill()
    rest = "".join(iter(lambda: incoming.get(timeout=30), None))
    process.stderr.close()
    assert process.returncode == 0
    assert "stopped cleanly" in rest
    assert "Traceback" not in "".join(lines) + rest
    status = cli("status", "--config", str(config))
    assert status.returncode == 0
    assert "odr" in status.stdout and "lsr_10d" in status.stdout and "1.00%" in status.stdout


def test_the_demo_shows_the_chance_of_a_breach_before_the_breach_in_the_console_and_as_email_files(tmp_path):
    # The demo runs in scaled real time: a poll costs about a real second on two busy cores, so a day must last
    # longer than that or the days the warning is raised on pass between two polls.
    result = cli("demo", "--seconds-per-day", "1.5", "--days", "20", timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    alerts = [line for line in result.stderr.splitlines() if line.startswith(("ALERT", "  "))]
    odr = [line.removeprefix("ALERT").split() for line in alerts if " odr:" in line]
    levels = [words[0] for words in odr]
    assert "BREACH" in levels
    first_breach = levels.index("BREACH")
    assert any(level in ("WARNING", "CRITICAL") for level in levels[:first_breach])
    assert any("chance of a breach by" in " ".join(words) for words in odr[:first_breach])
    # Said again only when worse, saying what: never the same level twice in a row without a reason.
    for before, after in zip(odr, odr[1:]):
        assert before[0] != after[0] or "Worse since the last notice" in " ".join(after), (before, after)
    # A fast demo polls hours apart in virtual time: that is not a stale feed.
    assert not [line for line in alerts if "feed_stale" in line]
    emails = sorted((tmp_path / "demo-state" / "alerts").glob("*odr*.eml"))
    assert emails
    message = email.message_from_bytes(emails[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("[seller-sentinel]") and message.get_body(("html",)) is not None
    # Marketplaces as a seller knows them, counts in correct English, in every e-mail the demo wrote.
    subjects = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Subject"]
                for path in (tmp_path / "demo-state" / "alerts").glob("*.eml")]
    assert all("ATVPDKIKX0DER" not in subject for subject in subjects)
    assert any("Amazon.com" in subject for subject in subjects)
    assert not any(" 1 open alerts" in subject for subject in subjects)
    # Right after the demo, `status` with no arguments finds the demo's state.
    status = cli("status", cwd=tmp_path)
    assert status.returncode == 0 and "using the demo's state in demo-state/" in status.stderr
    assert "Amazon.com" in status.stdout and "odr" in status.stdout and "no data yet" not in status.stdout


def test_test_alert_reports_success_and_a_permanent_failure(tmp_path):
    receiver = HttpReceiver()
    try:
        config = simulated_config(tmp_path, '''
[[channels]]
name = "slack"
kind = "slack"
webhook_url_env = "SLACK_URL"
''')
        ok = cli("test-alert", "--config", str(config), "--channel", "slack", env={"SLACK_URL": receiver.url})
        assert ok.returncode == 0 and "slack (slack): sent" in ok.stdout
        assert wait_until(lambda: len(receiver.requests) == 1)
        receiver.respond(Reply(404, "no_service"))
        failed = cli("test-alert", "--config", str(config), "--channel", "slack", env={"SLACK_URL": receiver.url})
        assert failed.returncode == 1 and "FAILED" in failed.stdout and "permanent" in failed.stdout
        assert "SECRETPATH" not in failed.stdout + failed.stderr
    finally:
        receiver.close()


def test_test_alert_opens_and_closes_a_test_issue_and_names_githubs_refusal(tmp_path):
    github = FakeGitHub(github_openapi(), "acme/seller-ops", "github_pat_TEST")
    try:
        config = simulated_config(tmp_path, f'''
[[channels]]
name = "github"
kind = "ticket"
tracker = "github"
repository = "acme/seller-ops"
url = "{github.url}"
token_env = "GITHUB_TOKEN"
''')
        ok = cli("test-alert", "--config", str(config), "--channel", "github", env={"GITHUB_TOKEN": "github_pat_TEST"})
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "github (ticket): opened and closed a test ticket, https://github.com/acme/seller-ops/issues/1" in ok.stdout
        assert github.issues[1]["state"] == "closed" and len(github.comments[1]) == 1
        refused = cli("test-alert", "--config", str(config), "--channel", "github", env={"GITHUB_TOKEN": "wrong"})
        assert refused.returncode == 1 and "HTTP 401: Bad credentials (permanent" in refused.stdout
        assert "wrong" not in refused.stdout + refused.stderr
        assert github.violations == []
    finally:
        github.close()


HELPDESKS = {  # tracker -> (its fake, its config keys, the test ticket's address, its words for a bad token)
    "jira": (lambda: FakeJira(jira_openapi(), adf_schema(), "OPS", "bot@acme.example", "ATATT-TEST"),
             'project = "OPS"\nemail = "bot@acme.example"', "/browse/OPS-1", "HTTP 401: Client must be authenticated"),
    "zendesk": (lambda: FakeZendesk(zendesk_openapi(), "bot@acme.example", "ATATT-TEST"), 'email = "bot@acme.example"',
                "/agent/tickets/1", "HTTP 401: Couldn't authenticate you"),
    "freshdesk": (lambda: FakeFreshdesk("ATATT-TEST"), 'email = "bot@acme.example"', "/a/tickets/1",
                  "HTTP 401: You have to be logged in to perform this action."),
}


@pytest.mark.parametrize("kind", HELPDESKS)
def test_test_alert_opens_and_closes_a_test_ticket_and_names_the_trackers_refusal(tmp_path, kind):
    make, keys, address, refusal = HELPDESKS[kind]
    fake = make()
    try:
        config = simulated_config(tmp_path, f'''
[[channels]]
name = "{kind}"
kind = "ticket"
tracker = "{kind}"
url = "{fake.url}"
token_env = "TRACKER_TOKEN"
{keys}
''')
        ok = cli("test-alert", "--config", str(config), "--channel", kind, env={"TRACKER_TOKEN": "ATATT-TEST"})
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert f"{kind} (ticket): opened and closed a test ticket, {fake.url}{address}" in ok.stdout
        assert list(fake.tickets().values()) == [(1, "closed")]
        refused = cli("test-alert", "--config", str(config), "--channel", kind, env={"TRACKER_TOKEN": "wrong"})
        assert refused.returncode == 1 and refusal in refused.stdout
        assert "wrong" not in refused.stdout + refused.stderr
        assert fake.violations == []
    finally:
        fake.close()


def test_a_silence_is_stored_and_listed(tmp_path):
    config = simulated_config(tmp_path)
    added = cli("silence", "--config", str(config), "--account", "sim", "--metric", "lsr_10d",
                "--until", "2099-01-01T00:00:00Z", "--reason", "carrier strike")
    assert added.returncode == 0 and "muted until 2099-01-01T00:00:00Z" in added.stdout
    listed = cli("silence", "--config", str(config), "--list")
    assert "sim * lsr_10d until 2099-01-01T00:00:00Z: carrier strike" in listed.stdout
