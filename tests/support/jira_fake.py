"""Jira Cloud and Jira Data Center on loopback, built from Atlassian's published descriptions and checked against
them.

Cloud: requests and answers are validated against Jira Cloud's OpenAPI description (tests/support/vendor_api.py),
and every document body (an issue's description, a comment) against Atlassian's ADF JSON schema. Search is the
exception the registries leave: Atlassian replaced `GET /rest/api/3/search` by `GET /rest/api/3/search/jql`, which
the kept description predates; a search request is checked against the older operation, whose query parameters
(jql, fields, maxResults) are the same, and its answer's issues against the older answer, to which the new one adds
`isLast`. Data Center: requests are validated against Jira Server 7.6.1's description (REST API v2), which names
paths, methods and query parameters but no bodies; a body that is not wiki markup text is recorded as a violation.
The project's workflow is Jira's simplified one: To Do, In Progress, Done, a transition of each name from anywhere.
Faults as Jira gives them: 429 with Retry-After and X-RateLimit-Reset, 503 pages, answers lost after the change,
401 for a bad token, 404 for a deleted issue.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from jsonschema import Draft4Validator
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest

from tests.support.tracker_fake import Answer, Faults, LoopbackTracker

CLOUD_API = "https://your-domain.atlassian.net"  # the servers the descriptions name
SERVER_API, SERVER_CONTEXT = "http://jira.local:8080", "/jira"
SEARCH, OLD_SEARCH = "/rest/api/3/search/jql", "/rest/api/3/search"
STATUSES = {"To Do": ("new", "11"), "In Progress": ("indeterminate", "21"), "Done": ("done", "31")}
NOT_FOUND = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}


class FakeJira(LoopbackTracker):
    def __init__(self, openapi: OpenAPI, adf_schema: dict[str, Any], project: str = "OPS",
                 email: str = "bot@acme.example", token: str = "ATATT-TEST", faults: Faults | None = None,
                 edition: str = "cloud") -> None:
        self.project, self.cloud = project, edition == "cloud"
        self.api = CLOUD_API if self.cloud else SERVER_API
        self._prefix = "/rest/api/3" if self.cloud else "/rest/api/2"
        self._auth = ("Basic " + base64.b64encode(f"{email}:{token}".encode()).decode() if self.cloud
                      else f"Bearer {token}")
        self._adf = Draft4Validator(adf_schema)
        self.issues: dict[str, dict[str, Any]] = {}  # by key, in the order opened
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.deleted: set[str] = set()
        self._next_comment = 10000
        super().__init__(openapi, faults)

    # What a person does in Jira.
    def close_by_person(self, key: str, resolution: str) -> None:
        with self.lock:
            self._move(key, "Done", resolution)

    def delete(self, key: str) -> None:
        with self.lock:
            self.deleted.add(key)

    def tickets(self) -> dict[str, tuple[int, str]]:
        return {key: (len(self.comments[key]), "closed" if self._category(key) == "done" else "open")
                for key in self.issues}

    def described_path(self, path: str) -> str:
        if not self.cloud:
            return SERVER_CONTEXT + path
        return OLD_SEARCH if path == SEARCH else path

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == self._auth

    def unauthorised(self) -> Any:
        return {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}}

    def rate_limited(self) -> Answer:
        reset = (datetime.now(timezone.utc) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%MZ")
        return 429, {"retry-after": "1", "x-ratelimit-reset": reset, "content-type": "application/json"}, json.dumps(
            {"errorMessages": ["Rate limit exceeded."], "errors": {}}).encode()

    def invalid(self, exc: Exception) -> tuple[int, Any]:
        return 400, {"errorMessages": [str(exc)[:300]], "errors": {}}

    def answer(self, request: MockRequest, status: int, payload: Any) -> Answer:
        status, headers, data = super().answer(request, status, payload)
        if request.path == OLD_SEARCH and status == 200:
            data = json.dumps({**payload, "isLast": True}).encode()  # what /search/jql adds to the older answer
        return status, headers, data

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == (SEARCH if self.cloud else f"{self._prefix}/search") and method == "GET":
            return self._search(query.get("jql", ""))
        if path == f"{self._prefix}/issue" and method == "POST":
            return self._create(body)
        match = re.fullmatch(re.escape(self._prefix) + r"/issue/([A-Z][A-Z0-9]*-\d+)(/comment|/transitions)?", path)
        if match is None:
            return 404, {"errorMessages": ["Not found"], "errors": {}}
        key, sub = match.groups()
        if key in self.deleted or key not in self.issues:
            return 404, NOT_FOUND
        if sub == "/comment":
            return (200, self._comments(key, query)) if method == "GET" else self._comment(key, body)
        if sub == "/transitions":
            return (200, {"transitions": _transitions()}) if method == "GET" else self._transition(key, body)
        if method == "GET":
            return 200, self._issue(key)
        return self._edit(key, body)

    def _search(self, jql: str) -> tuple[int, Any]:
        labels = re.findall(r'labels\s*=\s*"([^"]+)"', jql)
        found = [self._issue(key) for key in self.issues
                 if key not in self.deleted and set(labels) <= set(self.issues[key]["fields"]["labels"])]
        if self.cloud:
            return 200, {"issues": found}
        return 200, {"issues": found, "startAt": 0, "maxResults": 50, "total": len(found)}

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        fields = body["fields"]
        if fields.get("project", {}).get("key") != self.project:
            return 400, {"errorMessages": [], "errors": {"project": "valid project is required"}}
        if not isinstance(fields.get("summary"), str) or not fields["summary"].strip():
            return 400, {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}
        self._check_document("description", fields.get("description"))
        number = len(self.issues) + 1
        key = f"{self.project}-{number}"
        self.issues[key] = {"id": str(10000 + number), "key": key, "self": f"{self.api}{self._prefix}/issue/{10000 + number}",
                            "fields": {"summary": fields["summary"], "description": fields.get("description"),
                                       "labels": list(fields.get("labels", [])),
                                       "priority": fields.get("priority"), "resolution": None}}
        self.comments[key] = []
        self._move(key, "To Do", None)
        return 201, {"id": self.issues[key]["id"], "key": key, "self": self.issues[key]["self"]}

    def _edit(self, key: str, body: dict[str, Any]) -> tuple[int, Any]:
        fields = self.issues[key]["fields"]
        for name in ("labels", "priority"):
            if name in body.get("fields", {}):
                fields[name] = body["fields"][name]
        return 204, None

    def _comment(self, key: str, body: dict[str, Any]) -> tuple[int, Any]:
        self._check_document("comment", body.get("body"))
        self._next_comment += 1
        comment = {"id": str(self._next_comment), "self": f"{self.api}{self._prefix}/issue/{key}/comment/{self._next_comment}",
                   "body": body["body"], "created": _now(), "updated": _now(),
                   "properties": list(body.get("properties", []))}
        self.comments[key].append(comment)
        return 201, {k: v for k, v in comment.items() if k != "properties"}

    def _comments(self, key: str, query: dict[str, str]) -> dict[str, Any]:
        shown = self.comments[key][::-1] if query.get("orderBy") == "-created" else self.comments[key]
        with_properties = "properties" in query.get("expand", "")
        page = [c if with_properties else {k: v for k, v in c.items() if k != "properties"}
                for c in shown[:int(query.get("maxResults", 50))]]
        return {"comments": page, "startAt": 0, "maxResults": int(query.get("maxResults", 50)),
                "total": len(self.comments[key])}

    def _transition(self, key: str, body: dict[str, Any]) -> tuple[int, Any]:
        wanted = str(body.get("transition", {}).get("id"))
        name = next((n for n, (_, ident) in STATUSES.items() if ident == wanted), None)
        if name is None:
            return 400, {"errorMessages": [f"Transition id '{wanted}' is not valid for this issue."], "errors": {}}
        self._move(key, name, "Done" if name == "Done" else None)
        return 204, None

    def _move(self, key: str, status: str, resolution: str | None) -> None:
        category, ident = STATUSES[status]
        fields = self.issues[key]["fields"]
        fields["status"] = {"name": status, "id": ident, "statusCategory": {"key": category, "name": status}}
        fields["resolution"] = {"name": resolution} if resolution else None

    def _category(self, key: str) -> str:
        return self.issues[key]["fields"]["status"]["statusCategory"]["key"]

    def _issue(self, key: str) -> dict[str, Any]:
        issue = self.issues[key]
        fields = {name: issue["fields"][name] for name in ("status", "labels", "resolution")}
        return {"id": issue["id"], "key": key, "self": issue["self"], "fields": fields}

    def _check_document(self, where: str, document: Any) -> None:
        if not self.cloud:
            if not isinstance(document, str):
                self.violations.append(f"{where} is not wiki markup text: {type(document).__name__}")
            return
        for error in self._adf.iter_errors(document):
            self.violations.append(f"{where} is not Atlassian Document Format: {error.message[:300]}")


def _transitions() -> list[dict[str, Any]]:
    return [{"id": ident, "name": name, "to": {"name": name, "statusCategory": {"key": category}}}
            for name, (category, ident) in STATUSES.items()]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
