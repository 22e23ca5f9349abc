"""Each channel against a real loopback peer: SMTP (aiosmtpd), Slack and webhook receivers, files."""
import email
import email.policy
import json
import ssl
import subprocess

import httpx
import pytest

from alerts.channels.console import ConsoleChannel
from alerts.channels.email import EmailChannel
from alerts.channels.file import FileChannel
from alerts.channels.slack import SlackChannel
from alerts.channels.webhook import WebhookChannel
from alerts.model import Level, NotifyReason
from alerts.render import render
from alerts.signing import SignatureError, verify
from daemon.errors import DeliveryError
from tests.alerts.samples import HOSTILE, odr_warning
from aiosmtpd.controller import Controller

from tests.support.receivers import Reply, Collector, free_port

SECRET = "whsec_c2VsbGVyLXNlbnRpbmVsLXRlc3Qtc2VjcmV0LTMyYnl0ZXM="


@pytest.fixture
def http():
    with httpx.Client(timeout=0.5, trust_env=False) as client:
        yield client


def test_an_email_reaches_the_smtp_server_with_text_and_escaped_html(smtp_server, clock):
    channel = EmailChannel("email", "127.0.0.1", smtp_server.port, "none", None, None, "alerts@example.com",
                           ("ops@example.com",), 5, clock)
    channel.send(render(odr_warning()), "main/ATVPDKIKX0DER/MFN/odr#1:email")
    [message] = smtp_server.messages
    assert message["Subject"] == "[seller-sentinel] WARNING main Amazon.com: ODR (MFN) 0.82% of 1.00%"
    assert message["Message-ID"] == "<main.ATVPDKIKX0DER.MFN.odr.1.email@seller-sentinel>"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if part.get_content_type() in ("text/plain", "text/html")}
    assert "0.82% of 1.00% (7 of 854)" in parts["text/plain"]
    assert "2 more" in parts["text/plain"] and "7 March 2026" in parts["text/plain"]
    assert "<script>" not in parts["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in parts["text/html"]
    assert HOSTILE in parts["text/plain"]


def test_an_smtp_5xx_is_permanent_and_a_4xx_transient(smtp_server, clock):
    channel = EmailChannel("email", "127.0.0.1", smtp_server.port, "none", None, None, "a@example.com", ("b@example.com",), 5, clock)
    smtp_server.refuse("554 5.7.1 rejected")
    with pytest.raises(DeliveryError) as permanent:
        channel.send(render(odr_warning()), "d1")
    smtp_server.refuse("451 4.3.0 try later")
    with pytest.raises(DeliveryError) as transient:
        channel.send(render(odr_warning()), "d2")
    assert permanent.value.permanent and not transient.value.permanent


def test_slack_gets_block_kit_with_slack_escaping(receiver, http):
    SlackChannel("slack", receiver.url, http).send(render(odr_warning()), "d1")
    body = json.loads(receiver.requests[0].body)
    assert body["text"].startswith("WARNING: main Amazon.com")
    assert body["blocks"][0]["type"] == "header"
    fields = [f["text"] for f in body["blocks"][2]["fields"]]
    assert "*Value*\n0.82% of 1.00%" in fields and "*Defects to breach*\n2" in fields
    explanation = body["blocks"][3]["text"]["text"]
    assert "&lt;script&gt;" in explanation and "<script>" not in explanation and "&amp;" in explanation


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_slack_webhook_is_permanent(receiver, http, status):
    receiver.respond(Reply(status, "no_service"))
    with pytest.raises(DeliveryError) as failure:
        SlackChannel("slack", receiver.url, http).send(render(odr_warning()), "d1")
    assert failure.value.permanent
    assert "SECRETPATH" not in failure.value.reason


def test_a_webhook_is_signed_and_the_documented_recipe_verifies_it(receiver, http, clock):
    WebhookChannel("tickets", receiver.url, SECRET, http, clock).send(render(odr_warning()), "main/odr#1:tickets")
    request = receiver.requests[0]
    assert request.headers["webhook-id"] == "main/odr#1:tickets"
    verify(SECRET, request.headers, request.body, now=clock.now().timestamp())
    body = json.loads(request.body)
    assert body["version"] == "1" and body["dedup_key"] == "main/ATVPDKIKX0DER/MFN/odr"
    assert (body["value"], body["limit"], body["defects_to_breach"]) == (0.0082, 0.01, 2)


def test_a_replayed_or_tampered_webhook_is_rejected(receiver, http, clock):
    WebhookChannel("tickets", receiver.url, SECRET, http, clock).send(render(odr_warning()), "d1")
    request = receiver.requests[0]
    with pytest.raises(SignatureError, match="timestamp"):
        verify(SECRET, request.headers, request.body, now=clock.now().timestamp() + 3600)
    with pytest.raises(SignatureError, match="no signature"):
        verify(SECRET, request.headers, request.body.replace(b"0.0082", b"0.0001"), now=clock.now().timestamp())


def test_pagerduty_mode_opens_and_resolves_the_same_incident(receiver, http, clock):
    channel = WebhookChannel("pd", receiver.url, SECRET, http, clock, mode="pagerduty", routing_key="R0UTINGKEY")
    channel.send(render(odr_warning()), "d1")
    channel.send(render(odr_warning(2, Level.RESOLVED, NotifyReason.RESOLVED)), "d2")
    trigger, resolve = (json.loads(r.body) for r in receiver.requests)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == "main/ATVPDKIKX0DER/MFN/odr"
    assert trigger["payload"]["severity"] == "warning" and trigger["routing_key"] == "R0UTINGKEY"


@pytest.mark.parametrize(("reply", "retry_after"), [(Reply(500, "oops"), None), (Reply(429, "slow", {"Retry-After": "120"}), 120.0),
                                                    (Reply(200, "ok", delay=1.5), None)])
def test_server_errors_throttling_and_timeouts_are_transient(receiver, http, clock, reply, retry_after):
    receiver.respond(reply)
    with pytest.raises(DeliveryError) as failure:
        WebhookChannel("tickets", receiver.url, SECRET, http, clock).send(render(odr_warning()), "d1")
    assert not failure.value.permanent and failure.value.retry_after == retry_after


def test_the_file_channel_writes_an_email_a_person_can_open_once_per_delivery(tmp_path, clock):
    channel = FileChannel("files", tmp_path, clock)
    for _ in range(2):
        channel.send(render(odr_warning()), "main/odr#1:files")
    [eml] = list(tmp_path.glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("[seller-sentinel] WARNING main Amazon.com: ODR")
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 1


def test_the_console_prints_one_line(capsys):
    import sys

    ConsoleChannel("console", sys.stdout).send(render(odr_warning()), "d1")
    assert capsys.readouterr().out.startswith("ALERT WARNING  main Amazon.com odr: ODR 0.82% of 1.00%")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, standing in for a private CA."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


def _server_context(certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def _accept(user: str, password: str):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    return authenticator


def test_starttls_with_authentication_delivers_and_a_wrong_password_is_permanent(certificate, clock):
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, tls_context=_server_context(certificate),
                            require_starttls=True, authenticator=_accept("alerts", "right-password"))
    controller.start()
    try:
        def channel(password):
            return EmailChannel("email", "127.0.0.1", port, "starttls", "alerts", password, "a@example.com",
                                ("b@example.com",), 5, clock, ca_file=certificate[0])
        channel("right-password").send(render(odr_warning()), "d1")
        assert len(collector.messages) == 1
        with pytest.raises(DeliveryError) as refused:
            channel("wrong-password").send(render(odr_warning()), "d2")
        assert refused.value.permanent and "wrong-password" not in refused.value.reason
    finally:
        controller.stop()


def test_implicit_tls_delivers_and_an_untrusted_certificate_is_refused(certificate, clock):
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, ssl_context=_server_context(certificate))
    controller.start()
    try:
        EmailChannel("email", "127.0.0.1", port, "tls", None, None, "a@example.com", ("b@example.com",), 5, clock,
                     ca_file=certificate[0]).send(render(odr_warning()), "d1")
        assert len(collector.messages) == 1
        with pytest.raises(DeliveryError):
            EmailChannel("email", "127.0.0.1", port, "tls", None, None, "a@example.com", ("b@example.com",), 5,
                         clock).send(render(odr_warning()), "d2")
        assert len(collector.messages) == 1
    finally:
        controller.stop()


def test_counts_and_marketplaces_read_as_a_seller_says_them():
    from alerts.marketplaces import marketplace_name
    from alerts.render import count

    assert (count(1, "open alert"), count(2, "open alert"), count(0, "open alert")) == (
        "1 open alert", "2 open alerts", "0 open alerts")
    assert (marketplace_name("ATVPDKIKX0DER"), marketplace_name("A1PA6795UKMFR9"), marketplace_name("XNEW")) == (
        "Amazon.com", "Amazon.de", "XNEW")
