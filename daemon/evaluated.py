"""Each account's evaluated metrics as the status readers show them, kept until the account's data moves.

The breach model is too dear to run again for hundreds of accounts on every page load and Prometheus scrape. The
evaluation after each poll hands its results here, and the status readers take them while the account's cursors
(every commit of data moves one) and the evaluation day are those they were computed at.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.evaluate import Evaluation, Observation, Thresholds
from alerts.marketplaces import marketplace_name
from daemon.clock import format_instant
from storage import models as m

Rows = list[dict[str, Any]]


class EvaluatedMetrics:
    """Thread-safe: the web server's threads and the poll workers share one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Hashable, Rows]] = {}

    def put(self, account: str, version: Hashable, rows: Rows) -> None:
        with self._lock:
            self._entries[account] = (version, rows)

    def get(self, account: str, version: Hashable, compute: Callable[[], Rows]) -> Rows:
        """The rows kept for this version, else computed (and kept)."""
        with self._lock:
            entry = self._entries.get(account)
        if entry is not None and entry[0] == version:
            return entry[1]
        rows = compute()
        self.put(account, version, rows)
        return rows


def version_of(at: datetime, cursors: dict[str, str]) -> Hashable:
    """What an account's evaluation depends on besides the config: its evaluation instant and every cursor."""
    return at, tuple(sorted(cursors.items()))


def cursors_of(session: Session, accounts: list[str]) -> dict[str, dict[str, str]]:
    """Every cursor of the given accounts, by account and source."""
    c = m.SourceCursor
    out: dict[str, dict[str, str]] = {}
    for row in session.execute(select(c.account, c.source, c.value).where(c.account.in_(accounts))):
        out.setdefault(row.account, {})[row.source] = row.value
    return out


def metric_row(obs: Observation, ev: Evaluation, thresholds: Thresholds) -> dict[str, Any]:
    """One metric as `status`, the page, /api/status and /metrics show it."""
    d = obs.definition
    return {
        "marketplace_id": obs.marketplace_id, "marketplace": marketplace_name(obs.marketplace_id), "metric": d.id,
        "fulfillment": d.fulfillment, "value": ev.value, "limit": ev.limit, "direction": d.limit.direction,
        "warning": thresholds.warning_rate, "critical": thresholds.critical_rate, "numerator": ev.numerator,
        "denominator": ev.denominator, "defects_to_breach": ev.defects_to_breach,
        "forecast_breach_at": format_instant(ev.forecast_breach_at) if ev.forecast_breach_at else None,
        "breach_probability": ev.breach_probability, "breach_probability_days": ev.probability_days,
        "amazon_value": ev.amazon_value, "level": ev.level.value, "headline": ev.headline,
    }
