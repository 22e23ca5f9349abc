"""Zendesk Support on loopback, built from Zendesk's published OpenAPI description and checked against it.

Requests and answers are validated against the description's ticket, update and audit operations
(tests/support/vendor). What the description leaves to the prose of Zendesk's docs is kept as Zendesk does it:
an update's comment becomes a comment and an audit whose metadata keeps the update's `metadata` as `custom`; a ticket
is solved only with an assignee, and the assignee must be an agent; a closed ticket takes no more updates (422).
Faults as Zendesk gives them: 429 with Retry-After, 503 pages, answers lost after the change, 401 for a bad token,
404 for a deleted ticket.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any

from openapi_core import OpenAPI

from tests.support.tracker_fake import Answer, Faults, LoopbackTracker

API = "https://example.zendesk.com"  # the server the description names, with its default variables
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
PREFIX = "/api/v2/tickets"


def invalid_record(field: str, words: str) -> dict[str, Any]:
    return {"error": "RecordInvalid", "description": "Record validation errors",
            "details": {field: [{"description": words, "error": "InvalidValue"}]}}


class FakeZendesk(LoopbackTracker):
    api = API

    def __init__(self, openapi: OpenAPI, email: str = "bot@acme.example", token: str = "zd-token",
                 agents: tuple[str, ...] = ("oncall@acme.example",), faults: Faults | None = None) -> None:
        self._auth = "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self.agents = {address: 900 + n for n, address in enumerate((email, *agents))}  # e-mail -> user id
        self._me = self.agents[email]
        self.records: dict[int, dict[str, Any]] = {}  # by id, in the order opened
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.audits: dict[int, list[dict[str, Any]]] = {}
        self.deleted: set[int] = set()
        self._next_event = 5000
        super().__init__(openapi, faults)

    # What a person (or Zendesk itself) does.
    def solve_by_person(self, ticket_id: int, *tags: str) -> None:
        with self.lock:
            record = self.records[ticket_id]
            record["status"] = "solved"
            record["tags"] = record["tags"] + [t for t in tags if t not in record["tags"]]

    def close_for_good(self, ticket_id: int) -> None:
        """What Zendesk's automation does to a ticket solved a few days ago."""
        with self.lock:
            self.records[ticket_id]["status"] = "closed"

    def delete(self, ticket_id: int) -> None:
        with self.lock:
            self.deleted.add(ticket_id)

    def tickets(self) -> dict[str, tuple[int, str]]:
        """The first comment is the ticket's description: the comments counted are the ones after it."""
        return {str(i): (len(self.comments[i]) - 1, "closed" if r["status"] in ("solved", "closed") else "open")
                for i, r in self.records.items()}

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == self._auth

    def unauthorised(self) -> Any:
        return {"error": "Couldn't authenticate you"}

    def rate_limited(self) -> Answer:
        return 429, {"retry-after": "1", "content-type": "application/json"}, json.dumps(
            {"error": "TooManyRequests", "description": "Rate limit exceeded"}).encode()

    def invalid(self, exc: Exception) -> tuple[int, Any]:
        return 400, {"error": "InvalidRequest", "description": str(exc)[:300]}

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == PREFIX:
            if method == "GET":
                found = [self._shown(i) for i, r in self.records.items()
                         if i not in self.deleted and r["external_id"] == query.get("external_id")]
                return 200, {"tickets": found, "next_page": None, "previous_page": None, "count": len(found)}
            return self._create(body["ticket"])
        match = re.fullmatch(re.escape(PREFIX) + r"/(\d+)(/audits)?", path)
        if match is None:
            return 404, {"error": "InvalidEndpoint", "description": "Not found"}
        ticket_id = int(match.group(1))
        if ticket_id in self.deleted or ticket_id not in self.records:
            return 404, NOT_FOUND
        if match.group(2):
            shown = self.audits[ticket_id][::-1] if query.get("sort_order") == "desc" else self.audits[ticket_id]
            page = shown[:int(query.get("per_page", 100))]
            return 200, {"audits": page, "next_page": None, "previous_page": None, "count": len(shown)}
        if method == "GET":
            return 200, {"ticket": self._shown(ticket_id)}
        return self._update(ticket_id, body["ticket"])

    def _create(self, ticket: dict[str, Any]) -> tuple[int, Any]:
        if not (ticket.get("comment") or {}).get("html_body"):
            return 422, invalid_record("description", "Description: cannot be blank")
        assignee = self.agents.get(ticket.get("assignee_email", ""))
        if assignee is None:
            return 422, invalid_record("assignee", "Assignee is not an agent")
        ticket_id = len(self.records) + 1
        now = _now()
        self.records[ticket_id] = {
            "id": ticket_id, "url": f"{API}{PREFIX}/{ticket_id}.json", "subject": ticket.get("subject"),
            "external_id": ticket.get("external_id"), "status": "open", "priority": ticket.get("priority"),
            "tags": list(ticket.get("tags") or []), "assignee_id": assignee, "group_id": ticket.get("group_id"),
            "requester_id": self._me, "submitter_id": self._me, "created_at": now, "updated_at": now,
            "description": ticket["comment"]["html_body"]}
        self.comments[ticket_id], self.audits[ticket_id] = [], []
        self._audit(ticket_id, ticket)
        return 201, {"ticket": self._shown(ticket_id)}

    def _update(self, ticket_id: int, change: dict[str, Any]) -> tuple[int, Any]:
        record = self.records[ticket_id]
        if record["status"] == "closed":
            return 422, invalid_record("status", "Status: closed prevents ticket update")
        if change.get("status") == "solved" and record["assignee_id"] is None:
            return 422, invalid_record("assignee", "Assignee is required to solve a ticket")
        for name in ("status", "priority", "tags"):
            if name in change:
                record[name] = change[name]
        record["updated_at"] = _now()
        audit = self._audit(ticket_id, change)
        return 200, {"ticket": self._shown(ticket_id), "audit": audit}

    def _audit(self, ticket_id: int, change: dict[str, Any]) -> dict[str, Any]:
        """An update's audit: its comment as an event, and its metadata kept as `custom`."""
        self._next_event += 1
        events = []
        if change.get("comment"):
            comment = {"id": self._next_event, "type": "Comment", "body": change["comment"]["html_body"]}
            self.comments[ticket_id].append({**comment, "public": change["comment"].get("public", True)})
            events.append(comment)
        audit = {"id": self._next_event, "ticket_id": ticket_id, "created_at": _now(), "author_id": self._me,
                 "events": events, "metadata": {"system": {}, "custom": change.get("metadata") or {}}}
        self.audits[ticket_id].append(audit)
        return audit

    def _shown(self, ticket_id: int) -> dict[str, Any]:
        return dict(self.records[ticket_id])


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
