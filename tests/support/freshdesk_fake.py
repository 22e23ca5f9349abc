"""Freshdesk on loopback, built from Freshdesk's API v2 documentation: Freshdesk publishes no machine-readable
description, so what its docs say of each request is checked here (the fields each operation takes, those it
requires, the values of status and priority, a search query in double quotes), and a request outside them is a
recorded violation answered 400 with Freshdesk's "Validation failed" body.

Faults as Freshdesk gives them: 429 with Retry-After, 503 pages, answers lost after the change, 401 for a bad key,
a deleted ticket shown with `deleted: true` while it is in the trash and 404 once it is gone.
"""
from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from html import unescape
from typing import Any

from tests.support.tracker_fake import Answer, Faults, LoopbackTracker

CREATE_FIELDS = {"name", "requester_id", "email", "facebook_id", "phone", "twitter_id", "unique_external_id",
                 "subject", "type", "status", "priority", "description", "responder_id", "attachments", "cc_emails",
                 "custom_fields", "due_by", "email_config_id", "fr_due_by", "group_id", "parent_id", "product_id",
                 "source", "tags", "company_id"}
UPDATE_FIELDS = CREATE_FIELDS - {"cc_emails", "parent_id"}
NOTE_FIELDS = {"body", "attachments", "incoming", "notify_emails", "private", "user_id"}
STATUSES, PRIORITIES = (2, 3, 4, 5), (1, 2, 3, 4)
TAG_CHARS = 32


def validation_failed(field: str, message: str, code: str = "invalid_value") -> dict[str, Any]:
    return {"description": "Validation failed", "errors": [{"field": field, "message": message, "code": code}]}


class FakeFreshdesk(LoopbackTracker):
    api = "https://acme.freshdesk.com"

    def __init__(self, api_key: str = "fd-key", faults: Faults | None = None) -> None:
        self._auth = "Basic " + base64.b64encode(f"{api_key}:X".encode()).decode()
        self.records: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.purged: set[int] = set()
        self._next_note = 7000
        super().__init__(None, faults)

    # What a person does.
    def resolve_by_person(self, ticket_id: int, *tags: str) -> None:
        with self.lock:
            record = self.records[ticket_id]
            record["status"] = 4
            record["tags"] = record["tags"] + [t for t in tags if t not in record["tags"]]

    def delete(self, ticket_id: int, purge: bool = False) -> None:
        """To the trash, or (`purge`) for good."""
        with self.lock:
            self.records[ticket_id]["deleted"] = True
            if purge:
                self.purged.add(ticket_id)

    def tickets(self) -> dict[str, tuple[int, str]]:
        return {str(i): (len(self.notes[i]), "closed" if r["status"] in (4, 5) else "open")
                for i, r in self.records.items()}

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == self._auth

    def unauthorised(self) -> Any:
        return {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}

    def rate_limited(self) -> Answer:
        return 429, {"retry-after": "1", "x-ratelimit-total": "200", "x-ratelimit-remaining": "0",
                     "content-type": "application/json"}, b'{"message": "You have exceeded the limit of requests"}'

    def invalid(self, exc: Exception) -> tuple[int, Any]:
        return 400, validation_failed("request", str(exc)[:300])

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/api/v2/search/tickets" and method == "GET":
            return self._search(query.get("query", ""))
        if path == "/api/v2/tickets" and method == "POST":
            return self._create(body)
        match = re.fullmatch(r"/api/v2/tickets/(\d+)(/notes|/conversations)?", path)
        if match is None:
            return self._refused("path", f"{method} {path} is not an operation of the API", "invalid_endpoint", 404)
        ticket_id = int(match.group(1))
        if ticket_id not in self.records or ticket_id in self.purged:
            return 404, {}
        if match.group(2) == "/conversations" and method == "GET":
            return 200, self.notes[ticket_id][:int(query.get("per_page", 30))]
        if match.group(2) == "/notes" and method == "POST":
            return self._note(ticket_id, body)
        if method == "GET":
            return 200, self.records[ticket_id]
        return self._update(ticket_id, body)

    def _search(self, query: str) -> tuple[int, Any]:
        match = re.fullmatch(r"\"tag:'([^']+)'\"", query)
        if match is None:
            return self._refused("query", "It should be a quoted query like \"tag:'x'\"", "invalid_value")
        found = [r for r in self.records.values() if not r.get("deleted") and match.group(1) in r["tags"]]
        return 200, {"results": found, "total": len(found)}

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        refused = self._check(body, CREATE_FIELDS, required=("email", "subject", "description", "status", "priority"))
        if refused:
            return refused
        ticket_id = len(self.records) + 1
        self.records[ticket_id] = {
            "id": ticket_id, "subject": body["subject"], "description": body["description"],
            "description_text": _text(body["description"]), "status": body["status"], "priority": body["priority"],
            "tags": list(body.get("tags", [])), "group_id": body.get("group_id"), "requester_id": 80001,
            "responder_id": None, "source": body.get("source", 2), "deleted": False, "created_at": _now(),
            "updated_at": _now()}
        self.notes[ticket_id] = []
        return 201, self.records[ticket_id]

    def _update(self, ticket_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        refused = self._check(body, UPDATE_FIELDS)
        if refused:
            return refused
        record = self.records[ticket_id]
        for name in ("status", "priority", "tags"):
            if name in body:
                record[name] = body[name]
        record["updated_at"] = _now()
        return 200, record

    def _note(self, ticket_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        refused = self._check(body, NOTE_FIELDS, required=("body",))
        if refused:
            return refused
        self._next_note += 1
        note = {"id": self._next_note, "ticket_id": ticket_id, "body": body["body"], "body_text": _text(body["body"]),
                "private": body.get("private", True), "incoming": False, "user_id": 80001, "created_at": _now(),
                "updated_at": _now()}
        self.notes[ticket_id].append(note)
        return 201, note

    def _check(self, body: dict[str, Any], allowed: set[str], required: tuple[str, ...] = ()) -> tuple[int, Any] | None:
        """What Freshdesk's docs say of a ticket or note request; a request outside it is a violation."""
        for field in body:
            if field not in allowed:
                return self._refused(field, "Unexpected/invalid field in request", "invalid_field")
        for field in required:
            if not body.get(field):
                return self._refused(field, "It should not be blank as this is a mandatory field", "missing_field")
        if "status" in body and body["status"] not in STATUSES:
            return self._refused("status", "It should be one of these values: '2,3,4,5'")
        if "priority" in body and body["priority"] not in PRIORITIES:
            return self._refused("priority", "It should be one of these values: '1,2,3,4'")
        tags = body.get("tags", [])
        if not isinstance(tags, list) or any(not isinstance(t, str) or len(t) > TAG_CHARS for t in tags):
            return self._refused("tags", f"It should be an array of strings of at most {TAG_CHARS} characters")
        if "private" in body and not isinstance(body["private"], bool):
            return self._refused("private", "It should be a boolean value")
        return None

    def _refused(self, field: str, message: str, code: str = "invalid_value", status: int = 400) -> tuple[int, Any]:
        self.violations.append(f"{field}: {message}")
        return status, validation_failed(field, message, code)


def _text(body: str) -> str:
    """What Freshdesk keeps as a body's text: the HTML without its tags, entities read."""
    return unescape(re.sub(r"<[^>]+>", " ", body)).strip()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
