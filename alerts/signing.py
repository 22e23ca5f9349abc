"""Webhook signatures in the Standard Webhooks style: HMAC-SHA256 over "id.timestamp.body". Pure.

Receiver recipe (alerts/templates/WEBHOOK.md): recompute the signature with the shared secret, compare in
constant time against every "v1,<base64>" in `webhook-signature`, and reject a `webhook-timestamp` more
than five minutes from your clock, so a captured delivery cannot be replayed.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """A delivery whose signature or timestamp does not verify."""


def secret_bytes(secret: str) -> bytes:
    """A `whsec_`-prefixed base64 secret as its bytes; any other string as UTF-8."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one delivery."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance_seconds: int = TOLERANCE_SECONDS) -> None:
    """Raise SignatureError unless the headers sign this body with `secret` within the time tolerance."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        signatures = lowered["webhook-signature"].split()
    except (KeyError, ValueError):
        raise SignatureError("missing or malformed webhook headers") from None
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError("timestamp outside the tolerance: a replayed or delayed delivery")
    expected = sign(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures if candidate.startswith("v1,")):
        raise SignatureError("no signature matches")
