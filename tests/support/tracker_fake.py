"""What the loopback trackers share: an HTTP server, faults as trackers give them, and every request and answer
validated against the vendor's published description (openapi-core) where the vendor publishes one; what does not
validate is recorded in `violations`, which the tests assert empty. Each tracker routes its own paths, words its own
errors, and checks what its vendor documents only in prose."""
from __future__ import annotations

import json
import random
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse

Answer = tuple[int, dict[str, str], bytes]


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


class LoopbackTracker(ABC):
    """A tracker's API on 127.0.0.1. Subclasses give the vendor's address (`api`), and answer `authorised`,
    `rate_limited`, `unavailable`, `invalid` and `route`."""

    api = ""

    def __init__(self, openapi: OpenAPI | None, faults: Faults | None = None) -> None:
        self.openapi = openapi
        self.faults = faults or Faults()
        self.violations: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.refused = self.lost = 0  # the faults given
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the client died mid-request: nothing arrived that a tracker would act on
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

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

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

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer | None:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        request = MockRequest(self.api, method.lower(), self.described_path(parts.path), args=query, headers=headers,
                              data=body or None, content_type=headers.get("content-type", "application/json"))
        with self.lock:
            self.calls.append((method, parts.path))
            if not self.authorised(headers):
                return self.answer(request, 401, self.unauthorised())
            draw = self.faults.draw()
            self.refused += draw < self.faults.refused
            if draw < self.faults.refused / 2:
                return self.rate_limited()
            if draw < self.faults.refused:
                return self.unavailable()
            try:
                if self.openapi is not None:
                    self.openapi.validate_request(request)
            except Exception as exc:  # the description's own words say what is wrong
                self.violations.append(f"{method} {parts.path}: {exc}")
                return self.answer(request, *self.invalid(exc))
            status, payload = self.route(method, parts.path, query, json.loads(body) if body else None)
            if method != "GET" and status < 300 and self.faults.draw() < self.faults.lost:
                self.lost += 1
                return None
            return self.answer(request, status, payload)

    def answer(self, request: MockRequest, status: int, payload: Any) -> Answer:
        if status == 204:
            return status, {}, b""  # no content (RFC 9110), whatever a description's media type says
        data = json.dumps(payload).encode()
        if self.openapi is None:
            return status, {"content-type": "application/json; charset=utf-8"}, data
        try:
            self.openapi.validate_response(request, MockResponse(data, status_code=status,
                                                                 content_type="application/json"))
        except ResponseNotFound:
            pass  # 401 and the like: trackers answer them to every operation, their descriptions list them for few
        except Exception as exc:
            self.violations.append(f"answer {status} to {request.method.upper()} {request.path}: {exc}")
        return status, {"content-type": "application/json; charset=utf-8"}, data

    def described_path(self, path: str) -> str:
        """The path whose operation in the description a request is checked against: its own, unless a subclass
        says otherwise."""
        return path

    # What each tracker answers in its own words.
    @abstractmethod
    def authorised(self, headers: dict[str, str]) -> bool:
        ...

    @abstractmethod
    def unauthorised(self) -> Any:
        ...

    @abstractmethod
    def rate_limited(self) -> Answer:
        ...

    def unavailable(self) -> Answer:
        return 503, {"content-type": "text/html"}, b"<html><body><h1>Service unavailable</h1></body></html>"

    @abstractmethod
    def invalid(self, exc: Exception) -> tuple[int, Any]:
        ...

    @abstractmethod
    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        ...

    @abstractmethod
    def tickets(self) -> dict[str, tuple[int, str]]:
        """Ticket id -> (comments, "open" or "closed"): what the replay tests compare with the alert history."""
        ...


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request resets its connection: expected here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)
