"""Small helpers every feed shares: the request upper bound, instants in Amazon's format, rejects."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from daemon.clock import format_instant, parse_instant
from daemon.errors import MalformedPayload
from daemon.sources.records import Reject

TWO_MINUTES = timedelta(minutes=2)


def request_bound(until: datetime, now: datetime) -> datetime:
    """The newest instant Amazon accepts as an upper bound: never closer than two minutes to now (PITFALLS #5)."""
    return min(until, now - TWO_MINUTES)


def iso(value: datetime) -> str:
    return format_instant(value)


def instant(record: dict[str, Any], key: str, required: bool = True) -> datetime | None:
    """A date-time field of a payload, or MalformedPayload naming the field."""
    value = record.get(key)
    if value in (None, ""):
        if required:
            raise MalformedPayload(f"{key} is missing")
        return None
    try:
        return parse_instant(str(value))
    except ValueError:
        raise MalformedPayload(f"{key} is not a date-time: {str(value)[:40]!r}") from None


def text(record: dict[str, Any], key: str) -> str:
    """A required string field of a payload."""
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{key} is missing")
    return value


def reject(source: str, raw: Any, error: Exception) -> Reject:
    """A Reject keeping the raw payload as JSON text."""
    raw_text = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str)
    return Reject(source, raw_text, str(error))
