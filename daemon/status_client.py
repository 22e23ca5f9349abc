"""`status` asks the running daemon first: it keeps every account's evaluation from its last poll, so an agency's
status costs a lookup instead of re-running the breach model for hundreds of accounts in the command's own process."""
from __future__ import annotations

import logging
from typing import Any

import httpx

from daemon.config import Config

logger = logging.getLogger(__name__)
CONNECT_SECONDS = 2.0  # nothing listening answers at once; a daemon busy at start may take a while to report
READ_SECONDS = 60.0
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def daemon_url(config: Config) -> str:
    """Where this config's daemon serves /api/status, reached from this machine."""
    host = WILDCARD_HOSTS.get(config.http.host, config.http.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.http.port}/api/status"


def report_from_daemon(config: Config) -> dict[str, Any] | None:
    """The status report of the daemon serving this config's database, or None when none answers for it."""
    if not config.http.enabled or config.http.port == 0:
        return None
    headers = {"Authorization": f"Bearer {config.http.token.reveal()}"} if config.http.token else {}
    try:
        response = httpx.get(daemon_url(config), params={"history": "0"}, headers=headers,
                             timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS))
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        logger.debug("no running daemon answered at %s: %s", daemon_url(config), exc)
        return None
    # Another config's daemon may hold the port: its report is not this database's.
    if not isinstance(body, dict) or body.get("database") != config.daemon.database_place:
        return None
    return body
