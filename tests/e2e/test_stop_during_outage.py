"""SIGTERM while Amazon is down: every call answered by the edge's HTML 504 (REALITY.md), the daemon in the middle
of its backoff, stops cleanly within seconds instead of sleeping out minutes of waits."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_TIMEOUT = b"<html><head><title>504 Gateway Time-out</title></head><body>504 Gateway Time-out</body></html>"


class Edge(BaseHTTPRequestHandler):
    """LWA hands out tokens; the SP-API endpoint answers every call with the edge's HTML page."""

    protocol_version = "HTTP/1.1"
    calls = 0

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/auth/o2/token"):
            status, body, kind = 200, json.dumps({"access_token": "Atza|x", "expires_in": 3600}).encode(), "application/json"
        else:
            Edge.calls += 1
            status, body, kind = 504, GATEWAY_TIMEOUT, "text/html"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_sigterm_during_an_edge_outage_stops_within_five_seconds(tmp_path):
    edge = ThreadingHTTPServer(("127.0.0.1", 0), Edge)
    threading.Thread(target=edge.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{edge.server_address[1]}"
    (tmp_path / "secret").write_text("x", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'''
[daemon]
state_dir = "state"

[http]
port = 0

[[accounts]]
name = "main"
seller_id = "A2EXAMPLESELLER"
marketplaces = ["ATVPDKIKX0DER"]
api_url = "{url}"
token_url = "{url}/auth/o2/token"
lwa_client_id_file = "secret"
lwa_client_secret_file = "secret"
refresh_token_file = "secret"

[[channels]]
name = "files"
kind = "file"
''', encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "daemon.cli", "run", "--config", str(config)], cwd=ROOT,
                               stderr=subprocess.PIPE, text=True, env={"PATH": os.environ["PATH"]})
    try:
        deadline = time.monotonic() + 60
        while Edge.calls < 1 and time.monotonic() < deadline:  # the polls have met the outage
            time.sleep(0.2)
        assert Edge.calls >= 1
        time.sleep(1)
        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        took = time.monotonic() - asked
    finally:
        process.kill()
        edge.shutdown()
    log = process.stderr.read()
    process.stderr.close()
    assert process.returncode == 0, log[-2000:]
    assert took < 5, f"stopped after {took:.1f} s"
    assert "stopped cleanly" in log and "Traceback" not in log
