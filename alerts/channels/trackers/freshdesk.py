"""Freshdesk (API v2, API key): a ticket per incident, found again by its marker tag.

A ticket's description and later notes are HTML (alerts/channels/trackers/html_format.py); notes are private, so no
e-mail goes to a customer. Freshdesk keeps nothing hidden on a note, so a note's once key is a short reference at its
foot ("seller-sentinel ref …"), which its retry looks for. A resolved incident resolves the ticket; raised again, it
is opened again. Freshdesk's search is eventually consistent, as Jira Cloud's is: a ticket opened a moment before a
crash may not be found at once, and the outbox's retry minutes later finds it.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from alerts.channels.base import DeliveryError, redact, retry_after_seconds
from alerts.channels.trackers.base import Note, TicketRef, TicketView, refusal, send
from alerts.channels.trackers.html_format import html

LEVEL_TAG = "sentinel_level_"
SUBJECT_CHARS = 255
PRIORITIES = {"low": 1, "medium": 2, "high": 3, "urgent": 4}
DEFAULT_PRIORITIES = {"warning": "medium", "critical": "high", "breach": "urgent"}
OPEN, RESOLVED, CLOSED = 2, 4, 5
# Tags a person adds when resolving a ticket to say it will not be worked on: such a ticket is not reopened.
DECLINED_TAGS = ("wont_fix", "not_planned")


def once_marker(once_key: str) -> str:
    return hashlib.sha256(once_key.encode("utf-8")).hexdigest()[:24]


def reference(once_key: str) -> str:
    return f"seller-sentinel ref {once_marker(once_key)}"


class FreshdeskTickets:
    kind = "freshdesk"

    def __init__(self, site_url: str, api_key: str, requester: str, http: httpx.Client, *,
                 tags: tuple[str, ...] = (), group_id: int | None = None,
                 priorities: dict[str, str] | None = None) -> None:
        self._site = site_url.rstrip("/")
        self._host = redact(site_url)
        self._http = http
        self._headers = {"Authorization": "Basic " + base64.b64encode(f"{api_key}:X".encode()).decode(),
                         "Accept": "application/json"}
        self._requester, self._tags, self._group_id = requester, tags, group_id
        self._priorities = DEFAULT_PRIORITIES if priorities is None else priorities

    def find(self, marker: str) -> TicketView | None:
        found = self._call("GET", "/search/tickets", params={"query": f"\"tag:'{marker}'\""}).get("results") or []
        return self._view(min(found, key=lambda t: t["id"])) if found else None

    def get(self, ref: TicketRef) -> TicketView | None:
        ticket = self._call("GET", f"/tickets/{ref.ticket_id}", missing_ok=True)
        return None if ticket is None or ticket.get("deleted") else self._view(ticket)

    def open(self, marker: str, note: Note, level: str, follows: str | None) -> TicketRef:
        ticket: dict[str, Any] = {
            "subject": " ".join(note.title.split())[:SUBJECT_CHARS], "description": html(note, follows),
            "email": self._requester, "status": OPEN, "priority": self._priority(level, 2),
            "tags": [marker, LEVEL_TAG + level, *self._tags]}
        if self._group_id is not None:
            ticket["group_id"] = self._group_id
        return self._ref(self._call("POST", "/tickets", json=ticket))

    def comment(self, ref: TicketRef, note: Note, once_key: str, look_first: bool) -> None:
        foot = reference(once_key)
        if look_first:
            notes = self._call("GET", f"/tickets/{ref.ticket_id}/conversations", params={"per_page": 100})
            if any(foot in (n.get("body_text") or n.get("body") or "") for n in notes or []):
                return
        self._call("POST", f"/tickets/{ref.ticket_id}/notes",
                   json={"body": f"{html(note)}\n<p><small>{foot}</small></p>", "private": True})

    def set_level(self, view: TicketView, level: str) -> None:
        tags = [tag for tag in view.labels if not tag.startswith(LEVEL_TAG)] + [LEVEL_TAG + level]
        change: dict[str, Any] = {"tags": tags}
        if level in self._priorities:
            change["priority"] = PRIORITIES[self._priorities[level]]
        self._call("PUT", f"/tickets/{view.ref.ticket_id}", json=change)

    def close(self, ref: TicketRef) -> None:
        self._call("PUT", f"/tickets/{ref.ticket_id}", json={"status": RESOLVED})

    def reopen(self, ref: TicketRef) -> None:
        self._call("PUT", f"/tickets/{ref.ticket_id}", json={"status": OPEN})

    def _priority(self, level: str, otherwise: int) -> int:
        return PRIORITIES[self._priorities[level]] if level in self._priorities else otherwise

    def _ref(self, ticket: dict[str, Any]) -> TicketRef:
        return TicketRef(str(ticket["id"]), f"{self._site}/a/tickets/{ticket['id']}")

    def _view(self, ticket: dict[str, Any]) -> TicketView:
        tags = tuple(ticket.get("tags") or ())
        closed = ticket.get("status") in (RESOLVED, CLOSED)
        return TicketView(self._ref(ticket), closed, closed and any(tag in DECLINED_TAGS for tag in tags), tags)

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
              missing_ok: bool = False) -> Any:
        response = send(self._http, self._host, method, f"{self._site}/api/v2{path}", params=params, json=json,
                        headers=self._headers)
        if missing_ok and response.status_code == 404:
            return None  # deleted for good
        if response.is_success:
            return response.json() if response.content else {}
        raise self._failure(response)

    def _failure(self, response: httpx.Response) -> DeliveryError:
        """Freshdesk's rate limits (docs: "Rate Limit"): 429 with Retry-After; 5xx and 408 are transient; any other
        4xx is dead, with Freshdesk's own message."""
        status, reason = response.status_code, refusal(self._host, response)
        if status in (408, 429) or status >= 500:
            return DeliveryError(reason, permanent=False,
                                 retry_after=retry_after_seconds(response.headers.get("retry-after")))
        return DeliveryError(reason, permanent=True)
