"""Signed webhooks for ticketing systems: Standard Webhooks headers, or a PagerDuty Events API v2 body."""
from __future__ import annotations

import json
from typing import Any

import httpx

from alerts.channels.base import classify_http, post_json, redact
from alerts.model import RenderedMessage
from alerts.signing import sign
from daemon.clock import Clock

SEVERITY = {"breach": "critical", "critical": "critical", "warning": "warning", "resolved": "info"}


class WebhookChannel:
    kind = "webhook"

    def __init__(self, name: str, url: str, secret: str, http: httpx.Client, clock: Clock, mode: str = "standard",
                 routing_key: str | None = None) -> None:
        self.name, self._url, self._secret, self._http, self._clock = name, url, secret, http, clock
        self._mode, self._routing_key = mode, routing_key

    def send(self, message: RenderedMessage, delivery_id: str) -> None:
        data = message.data if self._mode == "standard" else pagerduty_event(message.data, self._routing_key or "")
        body = json.dumps(data, sort_keys=True).encode("utf-8")
        timestamp = int(self._clock.now().timestamp())  # refreshed on every attempt, as the spec asks
        headers = {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(self._secret, delivery_id, timestamp, body)}
        classify_http(post_json(self._http, self._url, body, headers), redact(self._url))


def pagerduty_event(data: dict[str, Any], routing_key: str) -> dict[str, Any]:
    """PagerDuty Events API v2: the same dedup key opens the incident and, on resolution, closes it."""
    status = data.get("status", "warning")
    severity = "error" if data.get("type") == "operational" and status != "resolved" else SEVERITY.get(status, "warning")
    return {
        "routing_key": routing_key,
        "event_action": "resolve" if status == "resolved" else "trigger",
        "dedup_key": data.get("dedup_key"),
        "payload": {
            "summary": str(data.get("headline", ""))[:1024], "severity": severity, "source": "seller-sentinel",
            "timestamp": data.get("raised_at"), "component": data.get("metric"), "group": data.get("account"),
            "custom_details": {k: v for k, v in data.items() if k not in ("headline",)},
        },
    }
