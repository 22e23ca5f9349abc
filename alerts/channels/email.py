"""E-mail over SMTP (STARTTLS, implicit TLS or plain), multipart text + HTML, one message per delivery."""
from __future__ import annotations

import smtplib
import ssl
from pathlib import Path
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from alerts.model import RenderedMessage
from daemon.clock import Clock
from daemon.errors import DeliveryError


# Long subjects stay on one line: folded ones come back with a leading space in some clients.
UNFOLDED = SMTP.clone(max_line_length=998)


def build_email(message: RenderedMessage, delivery_id: str, sender: str, recipients: tuple[str, ...], clock: Clock) -> EmailMessage:
    """The MIME message: text and HTML alternatives, inline images, a Message-ID receivers dedupe on."""
    mail = EmailMessage(policy=UNFOLDED)
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = f"<{delivery_id.replace('/', '.').replace('#', '.').replace(':', '.')}@seller-sentinel>"
    mail["X-Seller-Sentinel-Delivery"] = delivery_id
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    if message.inline_images:
        html_part = mail.get_payload()[1]
        for content_id, png in message.inline_images:
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{content_id}>")
    return mail


class EmailChannel:
    kind = "email"

    def __init__(self, name: str, host: str, port: int, security: str, username: str | None, password: str | None,
                 sender: str, recipients: tuple[str, ...], timeout_seconds: float, clock: Clock,
                 ca_file: Path | None = None) -> None:
        self.name, self._host, self._port, self._security = name, host, port, security
        self._ca_file = ca_file
        self._username, self._password = username, password
        self._sender, self._recipients, self._timeout, self._clock = sender, recipients, timeout_seconds, clock

    def send(self, message: RenderedMessage, delivery_id: str) -> None:
        mail = build_email(message, delivery_id, self._sender, self._recipients, self._clock)
        try:
            # Certificates are always verified: against the system store, or a private CA's bundle.
            context = ssl.create_default_context(cafile=str(self._ca_file) if self._ca_file else None)
            if self._security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=context)
            else:
                smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            with smtp:
                if self._security == "starttls":
                    smtp.starttls(context=context)
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            # SMTP: 4xx replies are transient, 5xx permanent.
            raise DeliveryError(f"{self._host} refused the message: {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"{self._host} refused the recipients: {codes}", permanent=all(c >= 500 for c in codes)) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{self._host} unreachable ({type(exc).__name__})", permanent=False) from None
