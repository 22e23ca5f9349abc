"""Alerts of one account raised in one evaluation reach each channel as one message, worst first."""
import json
from dataclasses import replace

import httpx

from alerts.channels.email import EmailChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.webhook import WebhookChannel
from alerts.model import AlertKey, Level
from alerts.outbox import deliver_due, enqueue_grouped
from alerts.render import render
from storage.alerts_repo import delivery_statuses
from tests.alerts.samples import odr_warning


def three_alerts():
    warning = replace(odr_warning(1), breach_probability=0.3, breach_probability_days=14)
    critical = replace(odr_warning(1), alert_id="main/ATVPDKIKX0DER/MFN/lsr_10d#1", level=Level.CRITICAL,
                       key=AlertKey("main", "ATVPDKIKX0DER", "lsr_10d", "MFN"), headline="LSR 10d 3.80% of 4.00%",
                       breach_probability=0.7, breach_probability_days=3)
    breach = replace(odr_warning(1), alert_id="main/ATVPDKIKX0DER/MFN/cr_7d#1", level=Level.BREACH,
                     key=AlertKey("main", "ATVPDKIKX0DER", "cr_7d", "MFN"), headline="Cancel rate 3.00% of 2.50%: over the limit",
                     defects_to_breach=0)
    return warning, critical, breach


def test_one_message_per_channel_holds_every_alert_worst_first(store, clock, receiver, smtp_server):
    warning, critical, breach = three_alerts()
    with httpx.Client(timeout=2, trust_env=False) as http:
        channels = {
            "tickets": WebhookChannel("tickets", receiver.url, "secret", http, clock),
            "slack": SlackChannel("slack", receiver.url, http),
            "email": EmailChannel("email", "127.0.0.1", smtp_server.port, "none", None, None, "a@example.com",
                                  ("b@example.com",), 5, clock),
        }
        with store.transaction() as session:
            # The email channel only takes critical and worse: it gets two of the three.
            enqueue_grouped(session, [(warning, ["tickets", "slack"]), (critical, ["tickets", "slack", "email"]),
                                      (breach, ["tickets", "slack", "email"])], clock.now())
        report = deliver_due(store, channels, render, clock)
    assert report.sent == 3
    with store.sessions() as session:
        assert sorted(delivery_statuses(session).values()) == ["sent"] * 3
    bodies = [json.loads(r.body) for r in receiver.requests]
    webhook = next(b for b in bodies if "version" in b)
    assert [m["metric"] for m in webhook["group"]] == ["cr_7d", "lsr_10d", "odr"]  # breach, critical, warning
    assert webhook["metric"] == "cr_7d" and webhook["status"] == "breach"  # a single-alert reader sees the worst
    assert webhook["group"][1]["breach_probability"] == 0.7
    slack = next(b for b in bodies if "blocks" in b)
    headers = [b["text"]["text"] for b in slack["blocks"] if b["type"] == "header"]
    assert headers[0] == "3 changes for main, worst first" and len(headers) == 4
    [mail] = smtp_server.messages
    assert "(+1 more)" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert text.index("Cancel rate 3.00%") < text.index("LSR 10d 3.80%")
    assert "odr" not in mail["Subject"].lower() and "ODR 0.82%" not in text  # below the email channel's level


def test_an_alert_alone_on_a_channel_is_sent_as_itself(store, clock, receiver):
    warning, critical, _ = three_alerts()
    with httpx.Client(timeout=2, trust_env=False) as http:
        channels = {"tickets": WebhookChannel("tickets", receiver.url, "secret", http, clock)}
        with store.transaction() as session:
            enqueue_grouped(session, [(warning, []), (critical, ["tickets"])], clock.now())
        deliver_due(store, channels, render, clock)
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["alert_id"] == critical.alert_id and "group" not in body


def test_a_ticket_channel_gets_each_alert_on_its_own_while_others_get_the_group(store, clock):
    """One ticket per incident: grouping three alerts into one message would make one ticket of three incidents."""
    warning, critical, breach = three_alerts()
    with store.transaction() as session:
        enqueue_grouped(session, [(warning, ["github", "slack"]), (critical, ["github", "slack"]),
                                  (breach, ["github", "slack"])], clock.now(), one_by_one={"github"})
    with store.sessions() as session:
        ids = sorted(delivery_statuses(session))
    assert [i for i in ids if i.endswith(":github")] == sorted(f"{a.alert_id}:github" for a in (warning, critical, breach))
    assert len([i for i in ids if i.endswith(":slack")]) == 1
