"""Zendesk Support (REST API v2, API token): a ticket per incident, found again by its external id.

A ticket's first comment and later ones are internal notes in HTML (alerts/channels/trackers/html_format.py), so no
e-mail goes to a customer. A comment's once key rides in the update's audit metadata, which Zendesk keeps with the
audit and does not show. Zendesk solves only an assigned ticket, so a ticket without a configured assignee is
assigned to the account the token belongs to. A solved ticket is reopened; one Zendesk has since closed (solved
tickets close after a few days) takes no more changes, so a new ticket follows it.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from alerts.channels.base import DeliveryError, redact, retry_after_seconds
from alerts.channels.trackers.base import Note, TicketRef, TicketView, refusal, send
from alerts.channels.trackers.html_format import html

LEVEL_TAG = "sentinel_level_"  # sentinel_level_warning, ...: Zendesk tags hold no spaces
ONCE_METADATA = "seller_sentinel"
SUBJECT_CHARS = 255
PRIORITIES = ("low", "normal", "high", "urgent")
DEFAULT_PRIORITIES = {"warning": "normal", "critical": "high", "breach": "urgent"}
# Tags a person adds when solving a ticket to say it will not be worked on: such a ticket is not reopened.
DECLINED_TAGS = ("wont_fix", "not_planned")


def once_marker(once_key: str) -> str:
    return hashlib.sha256(once_key.encode("utf-8")).hexdigest()[:24]


class ZendeskTickets:
    kind = "zendesk"

    def __init__(self, site_url: str, email: str, token: str, http: httpx.Client, *, tags: tuple[str, ...] = (),
                 assignee_email: str = "", group_id: int | None = None,
                 priorities: dict[str, str] | None = None) -> None:
        self._site = site_url.rstrip("/")
        self._host = redact(site_url)
        self._http = http
        credentials = base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}
        self._tags, self._group_id = tags, group_id
        self._assignee = assignee_email or email
        self._priorities = DEFAULT_PRIORITIES if priorities is None else priorities

    def find(self, marker: str) -> TicketView | None:
        tickets = self._call("GET", "/tickets", params={"external_id": marker}).get("tickets") or []
        return self._view(min(tickets, key=lambda t: t["id"])) if tickets else None

    def get(self, ref: TicketRef) -> TicketView | None:
        found = self._call("GET", f"/tickets/{ref.ticket_id}", missing_ok=True)
        return None if found is None else self._view(found["ticket"])

    def open(self, marker: str, note: Note, level: str, follows: str | None) -> TicketRef:
        ticket: dict[str, Any] = {
            "subject": " ".join(note.title.split())[:SUBJECT_CHARS], "external_id": marker,
            "comment": {"html_body": html(note, follows), "public": False},
            "tags": [marker, LEVEL_TAG + level, *self._tags], "assignee_email": self._assignee}
        if level in self._priorities:
            ticket["priority"] = self._priorities[level]
        if self._group_id is not None:
            ticket["group_id"] = self._group_id
        created = self._call("POST", "/tickets", json={"ticket": ticket})["ticket"]
        return self._ref(created)

    def comment(self, ref: TicketRef, note: Note, once_key: str, look_first: bool) -> None:
        marker = once_marker(once_key)
        if look_first:
            audits = self._call("GET", f"/tickets/{ref.ticket_id}/audits",
                                params={"sort_order": "desc", "per_page": 100}).get("audits") or []
            if any(((a.get("metadata") or {}).get("custom") or {}).get(ONCE_METADATA) == marker for a in audits):
                return
        self._call("PUT", f"/tickets/{ref.ticket_id}", json={"ticket": {
            "comment": {"html_body": html(note), "public": False}, "metadata": {ONCE_METADATA: marker}}})

    def set_level(self, view: TicketView, level: str) -> None:
        ticket: dict[str, Any] = {
            "tags": [tag for tag in view.labels if not tag.startswith(LEVEL_TAG)] + [LEVEL_TAG + level]}
        if level in self._priorities:
            ticket["priority"] = self._priorities[level]
        self._call("PUT", f"/tickets/{view.ref.ticket_id}", json={"ticket": ticket})

    def close(self, ref: TicketRef) -> None:
        self._call("PUT", f"/tickets/{ref.ticket_id}", json={"ticket": {"status": "solved"}})

    def reopen(self, ref: TicketRef) -> None:
        self._call("PUT", f"/tickets/{ref.ticket_id}", json={"ticket": {"status": "open"}})

    def _ref(self, ticket: dict[str, Any]) -> TicketRef:
        return TicketRef(str(ticket["id"]), f"{self._site}/agent/tickets/{ticket['id']}")

    def _view(self, ticket: dict[str, Any]) -> TicketView:
        status = ticket.get("status")
        tags = tuple(ticket.get("tags") or ())
        closed = status in ("solved", "closed")
        return TicketView(self._ref(ticket), closed, closed and any(tag in DECLINED_TAGS for tag in tags), tags,
                          final=status == "closed")

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
              missing_ok: bool = False) -> Any:
        response = send(self._http, self._host, method, f"{self._site}/api/v2{path}", params=params, json=json,
                        headers=self._headers)
        if missing_ok and response.status_code == 404:
            return None  # deleted
        if response.is_success:
            return response.json() if response.content else {}
        raise self._failure(response)

    def _failure(self, response: httpx.Response) -> DeliveryError:
        """Zendesk's rate limits (docs: "Rate limits"): 429 with Retry-After; 409 is two updates of one ticket at
        once, and 5xx and 408 are transient; any other 4xx is dead, with Zendesk's own message."""
        status, reason = response.status_code, refusal(self._host, response)
        if status in (408, 409, 429) or status >= 500:
            return DeliveryError(reason, permanent=False,
                                 retry_after=retry_after_seconds(response.headers.get("retry-after")))
        return DeliveryError(reason, permanent=True)
