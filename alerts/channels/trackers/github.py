"""GitHub Issues (REST API, version 2022-11-28): an issue per incident, found again by its marker label."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import httpx

from alerts.channels.base import DeliveryError, redact, retry_after_seconds
from alerts.channels.trackers.base import Note, TicketRef, TicketView, refusal, send
from daemon.clock import Clock

API_VERSION = "2022-11-28"
LEVEL_LABEL = "sentinel:"  # sentinel:warning, sentinel:critical, sentinel:breach
TITLE_CHARS = 256
# CommonMark lets any ASCII punctuation be escaped with a backslash: these are the ones that make links, images,
# HTML, entities, emphasis, code, tables or strikethrough anywhere in a line; @ and # too, so no one is mentioned and
# nothing is cross-linked. A line's start can also make a list, a quote or a heading.
_INLINE = re.compile(r"([\\`*_\[\]()<>#!|~@&])")
_LIST_START = re.compile(r"^([-+]|\d+[.)])")


def markdown_text(text: str) -> str:
    """Plain text as Markdown that shows exactly that text on one line."""
    escaped = _INLINE.sub(r"\\\1", " ".join(text.split()))
    return _LIST_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], escaped)


def markdown(note: Note, once_key: str | None = None) -> str:
    """A note as GitHub-flavoured Markdown; the once key goes in a comment GitHub does not show."""
    parts = [markdown_text(p) for p in note.paragraphs]
    for heading, lines in note.bullets:
        if lines:
            parts.append(f"**{markdown_text(heading)}**\n\n" + "\n".join(f"- {markdown_text(line)}" for line in lines))
    links = [f"[{markdown_text(words)}]({url})" for words, url in note.links if _safe_url(url)]
    if links:
        parts.append(" · ".join(links))
    if once_key is not None:
        parts.append(f"<!-- seller-sentinel:{once_marker(once_key)} -->")
    return "\n\n".join(parts)


def once_marker(once_key: str) -> str:
    return hashlib.sha256(once_key.encode("utf-8")).hexdigest()[:24]


def _safe_url(url: str) -> bool:
    return bool(re.fullmatch(r"https?://[^\s()<>]+", url))


class GitHubIssues:
    kind = "github"

    def __init__(self, api_url: str, repository: str, token: str, http: httpx.Client, clock: Clock,
                 labels: tuple[str, ...] = (), assignees: tuple[str, ...] = ()) -> None:
        self._base = f"{api_url.rstrip('/')}/repos/{repository}"
        self._host = redact(api_url)
        self._http, self._clock = http, clock
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                         "X-GitHub-Api-Version": API_VERSION}
        self._labels, self._assignees = labels, assignees

    def find(self, marker: str) -> TicketView | None:
        issues = self._call("GET", "/issues", params={"labels": marker, "state": "all", "per_page": 10})
        found = [i for i in issues if "pull_request" not in i]
        return self._view(min(found, key=lambda i: i["number"])) if found else None

    def get(self, ref: TicketRef) -> TicketView | None:
        issue = self._call("GET", f"/issues/{ref.ticket_id}", missing_ok=True)
        return None if issue is None else self._view(issue)

    def open(self, marker: str, note: Note, level: str, follows: str | None) -> TicketRef:
        body = markdown(note)
        if follows and _safe_url(follows):
            body += f"\n\nThis follows [the earlier incident]({follows})."
        issue = self._call("POST", "/issues", json={
            "title": " ".join(note.title.split())[:TITLE_CHARS], "body": body,
            "labels": [marker, LEVEL_LABEL + level, *self._labels], "assignees": list(self._assignees)})
        return TicketRef(str(issue["number"]), issue["html_url"])

    def comment(self, ref: TicketRef, note: Note, once_key: str, look_first: bool) -> None:
        if look_first:
            hidden = f"seller-sentinel:{once_marker(once_key)}"
            comments = self._call("GET", f"/issues/{ref.ticket_id}/comments", params={"per_page": 100})
            if any(hidden in (c.get("body") or "") for c in comments):
                return
        self._call("POST", f"/issues/{ref.ticket_id}/comments", json={"body": markdown(note, once_key)})

    def set_level(self, view: TicketView, level: str) -> None:
        kept = [label for label in view.labels if not label.startswith(LEVEL_LABEL)]
        self._call("PATCH", f"/issues/{view.ref.ticket_id}", json={"labels": kept + [LEVEL_LABEL + level]})

    def close(self, ref: TicketRef) -> None:
        self._call("PATCH", f"/issues/{ref.ticket_id}", json={"state": "closed", "state_reason": "completed"})

    def reopen(self, ref: TicketRef) -> None:
        self._call("PATCH", f"/issues/{ref.ticket_id}", json={"state": "open", "state_reason": "reopened"})

    @staticmethod
    def _view(issue: dict[str, Any]) -> TicketView:
        closed = issue.get("state") == "closed"
        return TicketView(TicketRef(str(issue["number"]), issue["html_url"]), closed,
                          closed and issue.get("state_reason") in ("not_planned", "duplicate"),
                          tuple(label["name"] for label in issue.get("labels", [])))

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
              missing_ok: bool = False) -> Any:
        response = send(self._http, self._host, method, self._base + path, params=params, json=json,
                        headers=self._headers)
        if missing_ok and response.status_code in (404, 410):
            return None  # deleted or transferred away
        if response.is_success:
            return response.json() if response.content else None
        raise self._failure(response)

    def _failure(self, response: httpx.Response) -> DeliveryError:
        """GitHub's rate limits (docs: "Rate limits for the REST API"): 429, or 403 with no requests remaining, wait
        for retry-after or until x-ratelimit-reset; 5xx and 408 are transient; any other 4xx is dead, with GitHub's
        own message."""
        status, reason = response.status_code, refusal(self._host, response)
        limited = status == 429 or (status == 403 and (response.headers.get("x-ratelimit-remaining") == "0"
                                                       or "retry-after" in response.headers))
        if limited or status == 408 or status >= 500:
            return DeliveryError(reason, permanent=False, retry_after=self._wait(response))
        return DeliveryError(reason, permanent=True)

    def _wait(self, response: httpx.Response) -> float | None:
        waited = retry_after_seconds(response.headers.get("retry-after"))
        if waited is None and response.headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = datetime.fromtimestamp(int(response.headers["x-ratelimit-reset"]), self._clock.now().tzinfo)
            except (KeyError, ValueError):
                return None
            waited = max(0.0, (reset - self._clock.now()).total_seconds())
        return waited
