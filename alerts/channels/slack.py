"""Slack incoming webhooks: the message's Block Kit payload, one POST."""
from __future__ import annotations

import json

import httpx

from alerts.channels.base import classify_http, post_json, redact
from alerts.model import RenderedMessage
from daemon.errors import DeliveryError


class SlackChannel:
    kind = "slack"

    def __init__(self, name: str, webhook_url: str, http: httpx.Client) -> None:
        self.name, self._url, self._http = name, webhook_url, http

    def send(self, message: RenderedMessage, delivery_id: str) -> None:
        host = redact(self._url)
        response = post_json(self._http, self._url, json.dumps(message.slack).encode("utf-8"), {})
        if response.status_code == 404 or "invalid_token" in response.text:
            raise DeliveryError(f"{host}: the webhook is gone ({response.status_code})", permanent=True)
        classify_http(response, host)
        if response.text.strip() != "ok":  # incoming webhooks answer a plain "ok"
            raise DeliveryError(f"{host} answered {response.text.strip()[:80]!r}", permanent=True)
