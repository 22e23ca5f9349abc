"""Jira Cloud (REST API v3): an issue per incident in a project, found again by its marker label.

Bodies are Atlassian Document Format, where text is only ever text: no markup in an alert can make a link, a mention
or a macro. A comment's once key is a comment property, which Jira keeps and does not show. Closing and reopening
are workflow transitions, chosen by name because every project's workflow has its own ids.
"""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime
from typing import Any

import httpx

from alerts.channels.base import DeliveryError, redact, retry_after_seconds
from alerts.channels.trackers.base import Note, TicketRef, TicketView, refusal, send
from daemon.clock import Clock

API = "/rest/api/3"
LEVEL_LABEL = "sentinel-level-"  # sentinel-level-warning, ...: Jira labels hold no spaces
ONCE_PROPERTY = "seller-sentinel"
SUMMARY_CHARS = 255
VIEW_FIELDS = "status,labels,resolution"
# Resolutions a person sets to say the issue will not be worked on: such an issue is not reopened.
DECLINED_RESOLUTIONS = ("won't do", "won't fix", "declined", "duplicate", "cannot reproduce")


def adf(note: Note, follows: str | None = None) -> dict[str, Any]:
    """A note as an Atlassian Document Format document; links only to http(s) addresses."""
    content: list[dict[str, Any]] = [_paragraph(_text(p)) for p in note.paragraphs if p.strip()]
    for heading, lines in note.bullets:
        if lines:
            content.append(_paragraph(_text(heading, [{"type": "strong"}])))
            content.append({"type": "bulletList", "content": [
                {"type": "listItem", "content": [_paragraph(_text(line))]} for line in lines if line.strip()]})
    links: list[dict[str, Any]] = []
    for words, url in note.links:
        if _safe_url(url) and words.strip():
            links += ([_text(" · ")] if links else []) + [_text(words, [_link(url)])]
    if links:
        content.append({"type": "paragraph", "content": links})
    if follows and _safe_url(follows):
        content.append({"type": "paragraph", "content": [_text("This follows "),
                                                         _text("the earlier incident", [_link(follows)]), _text(".")]})
    return {"type": "doc", "version": 1, "content": content}


def once_marker(once_key: str) -> str:
    return hashlib.sha256(once_key.encode("utf-8")).hexdigest()[:24]


def _paragraph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(nodes)}


def _text(text: str, marks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": " ".join(text.split()) or " "}
    if marks:
        node["marks"] = marks
    return node


def _link(url: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": url}}


def _safe_url(url: str) -> bool:
    return bool(re.fullmatch(r"https?://[^\s<>\"]+", url))


class JiraIssues:
    kind = "jira"

    def __init__(self, site_url: str, project: str, email: str, token: str, http: httpx.Client, clock: Clock, *,
                 issue_type: str = "Task", labels: tuple[str, ...] = (), assignee: str = "",
                 priorities: dict[str, str] | None = None, close_transition: str = "Done",
                 reopen_transition: str = "To Do") -> None:
        self._site = site_url.rstrip("/")
        self._host = redact(site_url)
        self._http, self._clock = http, clock
        basic = base64.b64encode(f"{email}:{token}".encode()).decode()  # Cloud's API tokens: Basic with the email
        self._headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        self._project, self._issue_type, self._labels, self._assignee = project, issue_type, labels, assignee
        self._priorities = priorities or {}
        self._close, self._reopen = close_transition, reopen_transition

    def find(self, marker: str) -> TicketView | None:
        # Jira's search is eventually consistent: an issue opened a moment ago may not be found yet. The ledger's
        # ticket covers the common case; the marker covers a crash, found on the next retry minutes later.
        found = self._call("GET", "/search/jql", params={
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
            "summary": " ".join(note.title.split())[:SUMMARY_CHARS], "description": adf(note, follows),
            "labels": [marker, LEVEL_LABEL + level, *self._labels]}
        if level in self._priorities:
            fields["priority"] = {"name": self._priorities[level]}
        if self._assignee:
            fields["assignee"] = {"accountId": self._assignee}
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
            "body": adf(note), "properties": [{"key": ONCE_PROPERTY, "value": {"once": marker}}]})

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
        response = send(self._http, self._host, method, f"{self._site}{API}{path}", params=params, json=json,
                        headers=self._headers)
        if missing_ok and response.status_code == 404:
            return None  # deleted, or moved where this token cannot see it
        if response.is_success:
            return response.json() if response.content else {}
        raise self._failure(response)

    def _failure(self, response: httpx.Response) -> DeliveryError:
        """Jira Cloud's rate limits (docs: "Rate limiting"): 429, with Retry-After or X-RateLimit-Reset; 5xx and 408
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
