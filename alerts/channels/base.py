"""What every channel is: one attempt per send(), failures classified as transient or permanent."""
from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

import httpx

from alerts.model import RenderedMessage
from daemon.errors import DeliveryError

__all__ = ["Channel", "DeliveryError", "classify_http", "redact"]


class Channel(Protocol):
    kind: str
    name: str

    def send(self, message: RenderedMessage, delivery_id: str) -> None: ...


def redact(url: str) -> str:
    """A URL reduced to its host: webhook paths are credentials."""
    return urlsplit(url).hostname or "?"


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (only the delta-seconds form; an HTTP date falls back to backoff)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def classify_http(response: httpx.Response, host: str) -> None:
    """Raise DeliveryError unless 2xx: 408, 429 and 5xx are transient, other 4xx permanent (STYLE.md §6)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"{host} answered HTTP {status}"
    if status in (408, 429) or status >= 500:
        raise DeliveryError(reason, permanent=False, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    raise DeliveryError(reason, permanent=True)


def post_json(http: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST with transport failures as transient DeliveryErrors that name only the host."""
    try:
        return http.post(url, content=body, headers={"content-type": "application/json", **headers})
    except httpx.TimeoutException:
        raise DeliveryError(f"{redact(url)} timed out", permanent=False) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"{redact(url)} unreachable ({type(exc).__name__})", permanent=False) from None
