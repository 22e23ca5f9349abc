"""Amazon's own signals reach every channel in the next poll: a new intellectual-property complaint (and then one
more), and an Account Health Rating that drops to AT_RISK, from the simulator's performance report through the
daemon to aiosmtpd, a Slack stand-in, a webhook receiver and files."""
from __future__ import annotations

import json
from datetime import timedelta

from alerts.model import Level
from daemon.app import build
from daemon.clock import ManualClock, format_instant
from daemon.config import load_config
from daemon.signals import section_name
from daemon.simulator.amazon import AccountSignals
from daemon.simulator.server import SimulatorServer
from storage.repo import set_cursor
from tests.daemon.scenarios import small_account
from tests.support.receivers import HttpReceiver, Reply, SmtpServer

SCENARIO = small_account()
DAY = timedelta(days=1)
T0 = SCENARIO.end - 4 * DAY  # midnight: the simulator publishes its report daily at 00:00
IP = "receivedIntellectualPropertyComplaints"
SIGNALS = AccountSignals(violations=((T0 + DAY, IP), (T0 + 3 * DAY, IP)), ahr=((T0 + 2 * DAY, "AT_RISK", 180),))


def config_for(tmp_path, smtp: SmtpServer, slack: HttpReceiver, webhook: HttpReceiver):
    path = tmp_path / "config.toml"
    path.write_text(f'''
[daemon]
state_dir = "state"

[simulator]
enabled = true

[[channels]]
name = "files"
kind = "file"

[[channels]]
name = "email"
kind = "email"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
sender = "sentinel@example.com"
recipients = ["seller@example.com"]

[[channels]]
name = "slack"
kind = "slack"
webhook_url_env = "SLACK_URL"

[[channels]]
name = "tickets"
kind = "webhook"
url = "{webhook.url}"
signing_secret_env = "SIGNING"
''', encoding="utf-8")
    return load_config(path, {"SLACK_URL": slack.url, "SIGNING": "whsec"})


def test_a_new_ip_complaint_and_an_ahr_drop_each_reach_every_channel_in_the_next_poll(tmp_path):
    smtp, slack, webhook = SmtpServer(), HttpReceiver(), HttpReceiver()
    slack.respond(Reply(200, "ok"))
    webhook.respond(Reply(200, "ok"))
    try:
        clock = ManualClock(T0 + timedelta(minutes=3))
        with SimulatorServer(SCENARIO, clock, signals=SIGNALS) as server:
            app = build(config_for(tmp_path, smtp, slack, webhook), clock, api_url=server.url)
            account = app.accounts[0]
            # No order is read here: with the order feed taken as read, no metric has data and only the signals speak
            # (a first start's sweep would judge the metrics on Amazon's report, which shows this seller over limits).
            with app.store.transaction() as session:
                set_cursor(session, "sim", "orders", {"after": format_instant(T0)}, T0)
            heard = []
            for day in range(5):
                clock.set(T0 + day * DAY + timedelta(minutes=3))
                app.sync(account, until=T0 + day * DAY, feeds=("performance",))
                raised = [a for a in app.evaluate(account, T0 + day * DAY, clock.now()).alerts if a.kind == "amazon"]
                app.deliver()
                heard.append([(a.key.metric, a.level, a.reason.value, a.headline) for a in raised])
    finally:
        smtp.close()
        slack.close()
        webhook.close()
    assert heard[0] == []  # a clean account says nothing
    assert heard[1] == [(f"policy:{IP}", Level.CRITICAL, "first",
                         "Amazon.com: 1 received intellectual property complaint in Amazon's report (1 new)")]
    assert heard[2] == [("ahr", Level.CRITICAL, "first", "Account Health Rating 180 (AT_RISK) on Amazon.com")]
    assert heard[3] == [(f"policy:{IP}", Level.CRITICAL, "worse",
                         "Amazon.com: 2 received intellectual property complaints in Amazon's report (1 new)")]
    assert heard[4] == []
    subjects = [message["Subject"] for message in smtp.messages]
    assert len(subjects) == 3 and "intellectual property" in subjects[0] and "Account Health Rating 180" in subjects[1]
    bodies = [json.loads(r.body) for r in webhook.requests]
    assert [(b["metric"], b["status"], b["reason"]) for b in bodies] == [
        (f"policy:{IP}", "critical", "first"), ("ahr", "critical", "first"), (f"policy:{IP}", "critical", "worse")]
    assert len(slack.requests) == 3 and "intellectual property" in json.loads(slack.requests[0].body)["text"]
    files = sorted(p.name for p in (tmp_path / "state" / "alerts").glob("*.eml"))
    assert len(files) == 3


def test_section_names_read_as_words():
    assert section_name(IP) == "Received intellectual property complaints"
    assert section_name("foodAndProductSafetyIssues") == "Food and product safety issues"
