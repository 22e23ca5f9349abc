"""The tickets a ticket channel keeps per incident. No tracker protocol, no alert rules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage import models as m
from storage.upsert import upsert


@dataclass(frozen=True)
class TicketRow:
    channel: str
    incident: str
    dedup_key: str
    ticket_id: str
    url: str
    level: str
    state: str  # open | closed
    opened_at: datetime
    closed_at: datetime | None = None
    commenting: str | None = None  # the latest delivery that commented: its retry looks for the comment first


class TicketLedger:
    """Where a ticket channel finds the ticket of an alert key's latest incident and records what it did to it."""

    def __init__(self, store) -> None:
        self._store = store

    def latest(self, channel: str, dedup_key: str) -> TicketRow | None:
        t = m.Ticket
        with self._store.transaction() as session:
            row = session.scalars(select(t).where(t.channel == channel, t.dedup_key == dedup_key)
                                  .order_by(t.opened_at.desc(), t.incident.desc()).limit(1)).first()
            return None if row is None else TicketRow(
                row.channel, row.incident, row.dedup_key, row.ticket_id, row.url, row.level, row.state, row.opened_at,
                row.closed_at, row.commenting)

    def save(self, row: TicketRow) -> None:
        with self._store.transaction() as session:
            upsert(session, m.Ticket.__table__, [row.__dict__], ("channel", "incident"),
                   lambda ex: {k: getattr(ex, k) for k in ("ticket_id", "url", "level", "state", "closed_at",
                                                             "commenting")})
