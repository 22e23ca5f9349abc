"""A replay's alert history delivered to a ticket channel through the real outbox, in a process that may be killed.

`python -m tests.support.ticket_replay DATABASE TRACKER URL ALERTS_JSONL...` (TRACKER: github, jira, jira_data_center, zendesk or
freshdesk) enqueues each alert of the histories at
its instant on a virtual clock (each file one account, named after its folder) and delivers what is due (retries in
virtual time) before the next; started again after a kill it goes on from what the database holds.
`expected_tickets` says, from the same histories alone, what the tracker must hold at the end.
"""
from __future__ import annotations

import json
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select

from alerts.channels.ticket import TicketChannel
from alerts.channels.trackers.base import Tracker
from alerts.channels.trackers.freshdesk import FreshdeskTickets
from alerts.channels.trackers.github import GitHubIssues
from alerts.channels.trackers.jira import JiraIssues
from alerts.channels.trackers.zendesk import ZendeskTickets
from alerts.model import Alert, AlertKey, Level, NotifyReason
from alerts.outbox import deliver_due, enqueue
from alerts.render import render
from daemon.clock import ManualClock, parse_instant
from storage import models as m
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store
from storage.tickets_repo import TicketLedger

if TYPE_CHECKING:  # the delivering process has no use for openapi-core
    from tests.support.tracker_fake import LoopbackTracker

REPOSITORY = "acme/seller-ops"
TOKEN = "github_pat_TEST"
JIRA_PROJECT, JIRA_EMAIL, JIRA_TOKEN = "OPS", "bot@acme.example", "ATATT-TEST"
ZENDESK_EMAIL, ZENDESK_TOKEN = "bot@acme.example", "zd-token"
FRESHDESK_KEY = "fd-key"
CHANNEL = "tickets"
REOPEN_DAYS = 7


def episodes(account: str = "main") -> list[dict[str, Any]]:
    """A history in alerts.jsonl's shape with every turn an incident takes: three metrics, each warned, escalated,
    resolved, raised again two days later (the same ticket reopens), resolved, and breached nine days on (a new one)."""
    rows = [{"at": f"2026-03-{day:02d}T00:00:00Z", "account": account, "marketplace_id": "ATVPDKIKX0DER",
             "metric": metric, "fulfillment": "MFN", "level": level, "value": 0.009, "limit": 0.01,
             "defects_to_breach": 1, "breach_probability": 0.4, "breach_probability_days": 14, "orders": []}
            for metric in ("odr", "lsr_10d", "cr_7d")
            for day, level in ((1, "warning"), (2, "critical"), (4, "resolved"), (6, "warning"), (20, "resolved"),
                               (29, "breach"))]
    return sorted(rows, key=lambda row: row["at"])


def histories(files: list[Path]) -> list[dict[str, Any]]:
    """The rows of every file, each with its account, in the order they were raised."""
    rows = [{**json.loads(line), "account": path.parent.name}
            for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda row: row["at"])  # stable: one account's rows keep their order


def key_of(row: dict[str, Any]) -> AlertKey:
    return AlertKey(row["account"], row["marketplace_id"], row["metric"], row["fulfillment"])


def alerts_of(rows: list[dict[str, Any]]) -> list[Alert]:
    """Each alerts.jsonl row as the alert the daemon raised, its reason from the key's level before it."""
    before: dict[AlertKey, Level] = {}
    alerts = []
    for sequence, row in enumerate(rows, start=1):
        key, level = key_of(row), Level(row["level"])
        was = before.get(key, Level.OK)
        if level == Level.RESOLVED:
            reason = NotifyReason.RESOLVED
        elif was.rank == 0:
            reason = NotifyReason.FIRST
        else:
            reason = {1: NotifyReason.ESCALATED, -1: NotifyReason.DE_ESCALATED}.get(
                (level.rank > was.rank) - (level.rank < was.rank), NotifyReason.WORSE)
        before[key] = level
        alerts.append(Alert(
            alert_id=f"{key.dedup_key}#{sequence}", key=key, kind="metric", level=level, reason=reason,
            raised_at=parse_instant(row["at"]), headline=f"{row['metric']} ({row['fulfillment']}) is {level.value}",
            value=row["value"], limit=row["limit"], defects_to_breach=row["defects_to_breach"],
            breach_probability=row["breach_probability"], breach_probability_days=row["breach_probability_days"],
            details={"orders": row["orders"], "orders_total": len(row["orders"])},
        ))
    return alerts


def expected_tickets(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, str]]]:
    """dedup key -> [(comments, state)] per ticket in the order they were opened, from the history alone."""
    tickets: dict[str, list[list[Any]]] = {}
    for row in rows:
        key, at = key_of(row).dedup_key, parse_instant(row["at"])
        mine = tickets.setdefault(key, [])
        current = mine[-1] if mine else None  # [comments, state, closed_at]
        if row["level"] == Level.RESOLVED.value:
            if current and current[1] == "open":
                current[0], current[1], current[2] = current[0] + 1, "closed", at
        elif current and current[1] == "open":
            current[0] += 1
        elif current and at - current[2] <= timedelta(days=REOPEN_DAYS):
            current[0], current[1], current[2] = current[0] + 1, "open", None
        else:
            mine.append([0, "open", None])
    return {key: [(comments, state) for comments, state, _ in mine] for key, mine in tickets.items()}


def final_state(fake: LoopbackTracker, database: Path) -> dict[str, list[tuple[int, str]]]:
    """dedup key -> [(comments, state)] per ticket, in the order opened, as the fake tracker holds them."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT dedup_key, ticket_id FROM tickets ORDER BY opened_at, incident").fetchall()
    held = fake.tickets()
    state: dict[str, list[tuple[int, str]]] = {}
    for key, ticket_id in rows:
        state.setdefault(key, []).append(held[ticket_id])
    return state


def tracker_for(kind: str, url: str, http: httpx.Client, clock: ManualClock) -> Tracker:
    """github, jira (Cloud), jira_data_center, zendesk or freshdesk."""
    if kind == "zendesk":
        return ZendeskTickets(url, ZENDESK_EMAIL, ZENDESK_TOKEN, http)
    if kind == "freshdesk":
        return FreshdeskTickets(url, FRESHDESK_KEY, ZENDESK_EMAIL, http)
    if kind.startswith("jira"):
        return JiraIssues(url, JIRA_PROJECT, JIRA_EMAIL, JIRA_TOKEN, http, clock,
                          edition="data_center" if kind == "jira_data_center" else "cloud")
    return GitHubIssues(url, REPOSITORY, TOKEN, http, clock)


def deliver(database: Path, kind: str, tracker_url: str, files: list[Path]) -> None:
    rows = histories(files)
    engine = make_engine(sqlite_url(database))  # not daemon.app: each of the test's many starts stays light
    upgrade(engine)
    store = Store(engine)
    with store.transaction() as session:  # a restart goes on from the latest instant the database saw
        seen = session.scalar(select(func.max(func.coalesce(m.Delivery.claimed_at, m.Delivery.next_attempt_at))))
    clock = ManualClock(max(filter(None, (seen, parse_instant(rows[0]["at"])))))
    with httpx.Client(timeout=5, trust_env=False) as http:
        channel = TicketChannel(CHANNEL, tracker_for(kind, tracker_url, http, clock), TicketLedger(store), REOPEN_DAYS)
        for alert in alerts_of(rows):
            clock.set(max(clock.now(), alert.raised_at))
            with store.transaction() as session:
                enqueue(session, alert, [CHANNEL], clock.now())  # idempotent: a restart enqueues nothing twice
            while _undelivered(store):
                deliver_due(store, {CHANNEL: channel}, render, clock)
                clock.advance(minutes=5)  # retries back off in virtual time; a killed run's claim expires
    store.engine.dispose()


def _undelivered(store) -> bool:
    with store.transaction() as session:
        return session.scalar(select(func.count()).where(m.Delivery.status.in_(("pending", "sending")))) > 0


if __name__ == "__main__":
    deliver(Path(sys.argv[1]), sys.argv[2], sys.argv[3], [Path(arg) for arg in sys.argv[4:]])
