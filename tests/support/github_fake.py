"""GitHub Issues on loopback, built from GitHub's published OpenAPI description and checked against it.

Every request is validated against its operation in the description (openapi-core) before it is answered, and every
answer against the documented response; what does not validate is recorded in `violations`, which a test asserts
empty. Faults as GitHub gives them: 429 and 403 rate limits with their headers, 503 pages, answers lost after the
change was made, 401 for a bad token, 410 for a deleted issue.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from openapi_core import OpenAPI

from tests.support.tracker_fake import Answer, Faults, LoopbackTracker

API = "https://api.github.com"
USER = {key: f"https://api.github.com/users/sentinel-bot/{key}" for key in (
    "avatar_url", "events_url", "followers_url", "following_url", "gists_url", "html_url", "organizations_url",
    "received_events_url", "repos_url", "starred_url", "subscriptions_url", "url")}
USER.update({"login": "sentinel-bot", "id": 1, "node_id": "U_1", "gravatar_id": "", "site_admin": False, "type": "Bot"})
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


class FakeGitHub(LoopbackTracker):
    api = API

    def __init__(self, openapi: OpenAPI, repository: str = "acme/seller-ops", token: str = "github_pat_TEST",
                 faults: Faults | None = None) -> None:
        self.repository, self.token = repository, token
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.deleted: set[int] = set()
        self._next_comment = 1
        super().__init__(openapi, faults)

    # What a person does on GitHub.
    def close_by_person(self, number: int, reason: str) -> None:
        with self.lock:
            self.issues[number].update(state="closed", state_reason=reason, closed_at=_now())

    def delete(self, number: int) -> None:
        with self.lock:
            self.deleted.add(number)

    def tickets(self) -> dict[str, tuple[int, str]]:
        return {str(n): (len(self.comments[n]), issue["state"]) for n, issue in self.issues.items()}

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def unauthorised(self) -> Any:
        return {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}

    def rate_limited(self) -> Answer:
        return 429, {"retry-after": "1", "content-type": "application/json"}, json.dumps(
            {"message": "You have exceeded a secondary rate limit."}).encode()

    def unavailable(self) -> Answer:
        return 503, {"content-type": "text/html"}, b"<html><body><h1>Unicorn!</h1></body></html>"

    def invalid(self, exc: Exception) -> tuple[int, Any]:
        return 422, {"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest"}

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repository}/issues"
        if not path.startswith(prefix):
            return 404, NOT_FOUND
        match = re.fullmatch(r"/(\d+)(/comments)?", path[len(prefix):] or "/")
        if path == prefix:
            return self._list(query) if method == "GET" else self._create(body)
        if match is None:
            return 404, NOT_FOUND
        number = int(match.group(1))
        if number in self.deleted:
            return 410, {"message": "This issue was deleted", "documentation_url": "https://docs.github.com/rest"}
        if number not in self.issues:
            return 404, NOT_FOUND
        if match.group(2):
            return (200, self.comments[number]) if method == "GET" else self._comment(number, body)
        if method == "GET":
            return 200, self.issues[number]
        return self._update(number, body)

    def _list(self, query: dict[str, str]) -> tuple[int, Any]:
        wanted = set(filter(None, query.get("labels", "").split(",")))
        state = query.get("state", "open")
        found = [issue for number, issue in sorted(self.issues.items(), reverse=True)
                 if number not in self.deleted and wanted <= {label["name"] for label in issue["labels"]}
                 and state in ("all", issue["state"])]
        return 200, found[:int(query.get("per_page", 30))]

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        number = max(self.issues, default=0) + 1
        base = f"{API}/repos/{self.repository}"
        now = _now()
        self.issues[number] = {
            "id": 1000 + number, "node_id": f"I_{number}", "url": f"{base}/issues/{number}", "repository_url": base,
            "labels_url": f"{base}/issues/{number}/labels{{/name}}", "comments_url": f"{base}/issues/{number}/comments",
            "events_url": f"{base}/issues/{number}/events",
            "html_url": f"https://github.com/{self.repository}/issues/{number}", "number": number, "state": "open",
            "title": str(body["title"]), "body": body.get("body"), "user": USER,
            "labels": [_label(name) for name in body.get("labels", [])], "assignee": None, "assignees": [],
            "milestone": None, "locked": False, "comments": 0, "closed_at": None, "created_at": now,
            "updated_at": now, "author_association": "NONE",
        }
        self.comments[number] = []
        return 201, self.issues[number]

    def _update(self, number: int, body: dict[str, Any]) -> tuple[int, Any]:
        issue = self.issues[number]
        if "labels" in body:
            issue["labels"] = [_label(name) for name in body["labels"]]
        if "state" in body:
            issue["state"] = body["state"]
            # GitHub answers null for no reason, which its description's enum does not list: left out instead.
            issue.pop("state_reason", None)
            if body.get("state_reason"):
                issue["state_reason"] = body["state_reason"]
            issue["closed_at"] = _now() if body["state"] == "closed" else None
        issue["updated_at"] = _now()
        return 200, issue

    def _comment(self, number: int, body: dict[str, Any]) -> tuple[int, Any]:
        comment_id = self._next_comment
        self._next_comment += 1
        base = f"{API}/repos/{self.repository}"
        comment = {"id": comment_id, "node_id": f"IC_{comment_id}", "url": f"{base}/issues/comments/{comment_id}",
                   "html_url": f"https://github.com/{self.repository}/issues/{number}#issuecomment-{comment_id}",
                   "issue_url": f"{base}/issues/{number}", "body": body["body"], "user": USER,
                   "created_at": _now(), "updated_at": _now(), "author_association": "NONE"}
        self.comments[number].append(comment)
        self.issues[number]["comments"] += 1
        return 201, comment


def _label(name: str) -> dict[str, Any]:
    return {"id": abs(hash(name)) % 10**9, "node_id": f"LA_{name}", "url": f"{API}/labels/{name}", "name": name,
            "description": None, "color": "ededed", "default": False}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
