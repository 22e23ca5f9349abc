"""GitHub Issues on loopback, built from GitHub's published OpenAPI description and checked against it.

Every request is validated against its operation in the description (openapi-core) before it is answered, and every
answer against the documented response; what does not validate is recorded in `violations`, which a test asserts
empty. Faults as GitHub gives them: 429 and 403 rate limits with their headers, 503 pages, answers lost after the
change was made, 401 for a bad token, 410 for a deleted issue.
"""
from __future__ import annotations

import json
import random
import re
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse

API = "https://api.github.com"
USER = {key: f"https://api.github.com/users/sentinel-bot/{key}" for key in (
    "avatar_url", "events_url", "followers_url", "following_url", "gists_url", "html_url", "organizations_url",
    "received_events_url", "repos_url", "starred_url", "subscriptions_url", "url")}
USER.update({"login": "sentinel-bot", "id": 1, "node_id": "U_1", "gravatar_id": "", "site_admin": False, "type": "Bot"})


@dataclass
class Faults:
    """A share of calls answered 429 or 503 before anything happens, and a share of changes made then left without
    an answer (the connection closes), chosen by a seeded generator; `latency` seconds before each answer."""

    refused: float = 0.0
    lost: float = 0.0
    seed: int = 1
    latency: float = 0.0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def draw(self) -> float:
        return self._random.random()


class FakeGitHub:
    def __init__(self, openapi: OpenAPI, repository: str = "acme/seller-ops", token: str = "github_pat_TEST",
                 faults: Faults | None = None) -> None:
        self.openapi, self.repository, self.token = openapi, repository, token
        self.faults = faults or Faults()
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.deleted: set[int] = set()
        self.violations: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.refused = self.lost = 0  # the faults given
        self._lock = threading.Lock()
        self._next_comment = 1
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the client died mid-request: nothing arrived that GitHub would act on
                    self.close_connection = True
                    return
                if fake.faults.latency:
                    threading.Event().wait(fake.faults.latency)
                answer = fake.handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if answer is None:  # the change is made, the answer lost
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, payload = answer
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, *args: object) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # What a person does on GitHub.
    def close_by_person(self, number: int, reason: str) -> None:
        with self._lock:
            self.issues[number].update(state="closed", state_reason=reason, closed_at=_now())

    def delete(self, number: int) -> None:
        with self._lock:
            self.deleted.add(number)

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        request = MockRequest(API, method.lower(), parts.path, args=query, headers=headers,
                              data=body or None, content_type=headers.get("content-type", "application/json"))
        with self._lock:
            self.calls.append((method, parts.path))
            if headers.get("authorization") != f"Bearer {self.token}":
                return self._answer(request, 401, {"message": "Bad credentials",
                                                   "documentation_url": "https://docs.github.com/rest"})
            draw = self.faults.draw()
            self.refused += draw < self.faults.refused
            if draw < self.faults.refused / 2:
                return 429, {"retry-after": "1", "content-type": "application/json"}, json.dumps(
                    {"message": "You have exceeded a secondary rate limit."}).encode()
            if draw < self.faults.refused:
                return 503, {"content-type": "text/html"}, b"<html><body><h1>Unicorn!</h1></body></html>"
            try:
                self.openapi.validate_request(request)
            except Exception as exc:  # the description's own words say what is wrong; GitHub answers 422
                self.violations.append(f"{method} {parts.path}: {exc}")
                return self._answer(request, 422, {"message": "Validation Failed",
                                                   "documentation_url": "https://docs.github.com/rest"})
            status, payload = self._route(method, parts.path, query, json.loads(body) if body else None)
            if method != "GET" and status < 300 and self.faults.draw() < self.faults.lost:
                self.lost += 1
                return None
            return self._answer(request, status, payload)

    def _answer(self, request: MockRequest, status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(payload).encode()
        try:
            self.openapi.validate_response(request, MockResponse(data, status_code=status,
                                                                 content_type="application/json"))
        except ResponseNotFound:
            pass  # 401 and the like: GitHub answers them to every operation, its description lists them for few
        except Exception as exc:
            self.violations.append(f"answer {status} to {request.method.upper()} {request.path}: {exc}")
        return status, {"content-type": "application/json; charset=utf-8"}, data

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repository}/issues"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        match = re.fullmatch(r"/(\d+)(/comments)?", path[len(prefix):] or "/")
        if path == prefix:
            return self._list(query) if method == "GET" else self._create(body)
        if match is None:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        number = int(match.group(1))
        if number in self.deleted:
            return 410, {"message": "This issue was deleted", "documentation_url": "https://docs.github.com/rest"}
        if number not in self.issues:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
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


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request resets its connection: expected here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def _label(name: str) -> dict[str, Any]:
    return {"id": abs(hash(name)) % 10**9, "node_id": f"LA_{name}", "url": f"{API}/labels/{name}", "name": name,
            "description": None, "color": "ededed", "default": False}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
