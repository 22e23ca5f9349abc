"""Jira Cloud (REST API v3) and Jira Data Center (REST API v2): an issue per incident in a project, found again by its
marker label.

Cloud's bodies are Atlassian Document Format, Data Center's wiki markup, escaped (alerts/channels/trackers/
jira_formats.py). A comment's once key is a comment property, which Jira keeps and does not show. Closing and
reopening are workflow transitions, chosen by name because every project's workflow has its own ids.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

import httpx

from alerts.channels.base import DeliveryError, redact, retry_after_seconds
from alerts.channels.trackers.base import Note, TicketRef, TicketView, refusal, send
from alerts.channels.trackers.jira_formats import adf, wiki
from daemon.clock import Clock

EDITIONS = ("cloud", "data_center")
LEVEL_LABEL = "sentinel-level-"  # sentinel-level-warning, ...: Jira labels hold no spaces
ONCE_PROPERTY = "seller-sentinel"
SUMMARY_CHARS = 255
VIEW_FIELDS = "status,labels,resolution"
# Resolutions a person sets to say the issue will not be worked on: such an issue is not reopened.
DECLINED_RESOLUTIONS = ("won't do", "won't fix", "declined", "duplicate", "cannot reproduce")


def once_marker(once_key: str) -> str:
    return hashlib.sha256(once_key.encode("utf-8")).hexdigest()[:24]


class JiraIssues:
    kind = "jira"

    def __init__(self, site_url: str, project: str, email: str, token: str, http: httpx.Client, clock: Clock, *,
                 edition: str = "cloud", issue_type: str = "Task", labels: tuple[str, ...] = (), assignee: str = "",
                 priorities: dict[str, str] | None = None, close_transition: str = "Done",
                 reopen_transition: str = "To Do") -> None:
        self._site = site_url.rstrip("/")
        self._host = redact(site_url)
        self._http, self._clock = http, clock
        self._cloud = edition == "cloud"
        if self._cloud:  # an API token goes with its account's e-mail address; Data Center takes a personal token
            credentials = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        else:
            credentials = f"Bearer {token}"
        self._headers = {"Authorization": credentials, "Accept": "application/json"}
        self._api = "/rest/api/3" if self._cloud else "/rest/api/2"
        self._body = adf if self._cloud else wiki
        self._project, self._issue_type, self._labels, self._assignee = project, issue_type, labels, assignee
        self._priorities = priorities or {}
        self._close, self._reopen = close_transition, reopen_transition

    def find(self, marker: str) -> TicketView | None:
        # Cloud's search is eventually consistent: an issue opened a moment ago may not be found yet. The ledger's
        # ticket covers the common case; the marker covers a crash, found on the next retry minutes later.
        found = self._call("GET", "/search/jql" if self._cloud else "/search", params={
            "jql": f'project = "{self._project}" AND labels = "{marker}" ORDER BY created ASC',
            "fields": VIEW_FIELDS, "maxResults": 10})
        issues = found.get("issues") or []
        return self._view(issues[0]) if issues else None

    def get(self, ref: TicketRef) -> TicketView | None:
        issue = self._call("GET", f"/issue/{ref.ticket_id}", params={"fields": VIEW_FIELDS}, missing_ok=True)
        return None if issue is None else self._view(issue)

    def open(self, marker: str, note: Note, level: str, follows: str | None) -> TicketRef:
        fields: dict[str, Any] = {
            "project": {"key": self._project}, "issuetype": {"name": self._issue_type},
            "summary": " ".join(note.title.split())[:SUMMARY_CHARS], "description": self._body(note, follows),
            "labels": [marker, LEVEL_LABEL + level, *self._labels]}
        if level in self._priorities:
            fields["priority"] = {"name": self._priorities[level]}
        if self._assignee:
            fields["assignee"] = {"accountId": self._assignee} if self._cloud else {"name": self._assignee}
        issue = self._call("POST", "/issue", json={"fields": fields})
        return TicketRef(issue["key"], f"{self._site}/browse/{issue['key']}")

    def comment(self, ref: TicketRef, note: Note, once_key: str, look_first: bool) -> None:
        marker = once_marker(once_key)
        if look_first:
            page = self._call("GET", f"/issue/{ref.ticket_id}/comment",
                              params={"expand": "properties", "maxResults": 100, "orderBy": "-created"})
            for comment in page.get("comments") or []:
                if any(p.get("key") == ONCE_PROPERTY and (p.get("value") or {}).get("once") == marker
                       for p in comment.get("properties") or []):
                    return
        self._call("POST", f"/issue/{ref.ticket_id}/comment", json={
            "body": self._body(note), "properties": [{"key": ONCE_PROPERTY, "value": {"once": marker}}]})

    def set_level(self, view: TicketView, level: str) -> None:
        fields: dict[str, Any] = {
            "labels": [label for label in view.labels if not label.startswith(LEVEL_LABEL)] + [LEVEL_LABEL + level]}
        if level in self._priorities:
            fields["priority"] = {"name": self._priorities[level]}
        self._call("PUT", f"/issue/{view.ref.ticket_id}", json={"fields": fields})

    def close(self, ref: TicketRef) -> None:
        self._transition(ref, self._close)

    def reopen(self, ref: TicketRef) -> None:
        self._transition(ref, self._reopen)

    def _transition(self, ref: TicketRef, name: str) -> None:
        """The project's transition of that name, or to a status of that name: a workflow without it is the
        seller's to fix, so the delivery is dead with the names there are."""
        offered = self._call("GET", f"/issue/{ref.ticket_id}/transitions").get("transitions") or []
        wanted = name.casefold()
        chosen = next((t for t in offered if str(t.get("name", "")).casefold() == wanted
                       or str((t.get("to") or {}).get("name", "")).casefold() == wanted), None)
        if chosen is None:
            names = ", ".join(repr(t.get("name")) for t in offered) or "none"
            raise DeliveryError(f"{self._host}: issue {ref.ticket_id} has no transition {name!r} (it has {names}); "
                                f"set close_transition / reopen_transition to one of them", permanent=True)
        self._call("POST", f"/issue/{ref.ticket_id}/transitions", json={"transition": {"id": str(chosen["id"])}})

    def _view(self, issue: dict[str, Any]) -> TicketView:
        fields = issue.get("fields") or {}
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        closed = category == "done"
        resolution = str((fields.get("resolution") or {}).get("name", "")).casefold()
        return TicketView(TicketRef(issue["key"], f"{self._site}/browse/{issue['key']}"), closed,
                          closed and resolution in DECLINED_RESOLUTIONS, tuple(fields.get("labels") or ()))

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
              missing_ok: bool = False) -> Any:
        response = send(self._http, self._host, method, f"{self._site}{self._api}{path}", params=params, json=json,
                        headers=self._headers)
        if missing_ok and response.status_code == 404:
            return None  # deleted, or moved where this token cannot see it
        if response.is_success:
            return response.json() if response.content else {}
        raise self._failure(response)

    def _failure(self, response: httpx.Response) -> DeliveryError:
        """Jira's rate limits (Cloud's docs: "Rate limiting"; Data Center's, when an admin turns them on): 429, with Retry-After or X-RateLimit-Reset; 5xx and 408
        are transient; any other 4xx is dead, with Jira's own message."""
        status, reason = response.status_code, refusal(self._host, response)
        if status in (408, 429) or status >= 500:
            return DeliveryError(reason, permanent=False, retry_after=self._wait(response))
        return DeliveryError(reason, permanent=True)

    def _wait(self, response: httpx.Response) -> float | None:
        waited = retry_after_seconds(response.headers.get("retry-after"))
        if waited is None and "x-ratelimit-reset" in response.headers:
            try:
                reset = datetime.fromisoformat(response.headers["x-ratelimit-reset"].replace("Z", "+00:00"))
            except ValueError:
                return None
            waited = max(0.0, (reset - self._clock.now()).total_seconds())
        return waited
