"""Real loopback servers standing in for Slack, webhook receivers and an SMTP relay."""
from __future__ import annotations

import email
import email.policy
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering, to make a client time out


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    """Records every request and answers from a script of replies, then with the standing reply (200 "ok")."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._script: queue.Queue[Reply] = queue.Queue()
        self.standing = Reply()  # an outage: set it to a failing reply, and back to Reply() when it ends
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                try:
                    reply = receiver._script.get_nowait()
                except queue.Empty:
                    reply = receiver.standing
                if reply.delay:
                    threading.Event().wait(reply.delay)
                payload = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook/T000SECRETPATH"

    def respond(self, *replies: Reply) -> None:
        for reply in replies:
            self._script.put(reply)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Collector:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse_with: str | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse_with:
            return self.refuse_with
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default))
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 at a free port, collecting parsed messages."""

    def __init__(self, port: int | None = None) -> None:
        self.collector = Collector()
        self.port = port or free_port()
        self._controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    @property
    def messages(self) -> list[Message]:
        return self.collector.messages

    def refuse(self, reply: str) -> None:
        self.collector.refuse_with = reply

    def close(self) -> None:
        self._controller.stop()


def free_port() -> int:
    """A loopback port nobody listens on (aiosmtpd's Controller wants a number, not port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, seconds: float = 5.0) -> bool:
    """Readiness poll with a deadline: the only real wait the tests do."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        threading.Event().wait(0.01)
    return predicate()
