"""GET_SELLER_FEEDBACK_DATA feed: 1-3 star feedback over an overlapping window, so removals can be seen (SPAPI_NOTES §5)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from daemon.clock import Clock, parse_instant
from daemon.errors import MalformedPayload
from daemon.sources.common import iso, reject, request_bound
from daemon.sources.records import Batch, Cursor, FeedbackCoverage, FeedbackRecord, Reject
from daemon.sources.reports import create_report, wait_for_document
from daemon.sources.spapi import SpApiCaller, SpApiClients

REPORT_TYPE = "GET_SELLER_FEEDBACK_DATA"
PENDING_REPORT_MAX_AGE = timedelta(hours=6)  # an older request is dropped and made again (reports can stall for hours)
# Date column format per marketplace (SPAPI_NOTES §5); everything else is D/M/YY.
DATE_ORDER = {"ATVPDKIKX0DER": "MDY", "A1PA6795UKMFR9": "DMY", "A2NODRKZP88ZB9": "YMD", "A1VC38T7YXB528": "YMD"}


class FeedbackSource:
    name = "feedback"

    def __init__(self, clients: SpApiClients, caller: SpApiCaller, marketplace_ids: tuple[str, ...], clock: Clock,
                 window_days: int = 90) -> None:
        self.clients, self.caller, self.clock = clients, caller, clock
        self.marketplace_ids = marketplace_ids
        self.window = timedelta(days=window_days)

    def pages(self, cursor: Cursor | None, until: datetime) -> Iterator[Batch]:
        """One batch per marketplace: the report's rows plus the days it covered completely.

        A requested report's id is committed before waiting for it, so a poll that fails or a daemon that
        restarts picks the same report up instead of requesting another (createReport allows one a minute).
        """
        pending: dict[str, dict[str, str]] = dict((cursor or {}).get("pending") or {})
        last_until: str | None = (cursor or {}).get("last_until")
        for marketplace_id in self.marketplace_ids:
            calls_before = self.caller.calls
            entry = pending.get(marketplace_id)
            if entry is None or self.clock.now() - parse_instant(entry["requested_at"]) > PENDING_REPORT_MAX_AGE:
                end = request_bound(until, self.clock.now())
                start = until - self.window
                report_id = create_report(self.clients, self.caller, REPORT_TYPE, [marketplace_id], start, end)
                entry = {"report_id": report_id, "start": iso(start), "end": iso(end), "requested_at": iso(self.clock.now())}
                pending[marketplace_id] = entry
                yield Batch(self.name, (), (), _cursor(last_until, pending), self.caller.calls - calls_before)
                calls_before = self.caller.calls
            start, end = parse_instant(entry["start"]), parse_instant(entry["end"])
            try:
                document = wait_for_document(self.clients, self.caller, self.clock, entry["report_id"])
            except MalformedPayload as exc:  # the document will not change: quarantine it and request anew next time
                del pending[marketplace_id]
                yield Batch(self.name, (), (reject(self.name, f"report {entry['report_id']}", exc),),
                            _cursor(last_until, pending), self.caller.calls - calls_before)
                continue
            del pending[marketplace_id]
            records, rejects = parse_feedback(document or "", marketplace_id, self.name)
            coverage: tuple[FeedbackCoverage, ...] = ()
            first_day, last_day = covered_days(start, end)
            # A row that did not parse is not a removal: only a clean report tells what is gone.
            if not rejects and first_day <= last_day:
                coverage = (FeedbackCoverage(marketplace_id, first_day, last_day),)
            last_until = iso(end)
            yield Batch(self.name, tuple(records) + coverage, tuple(rejects), _cursor(last_until, pending),
                        self.caller.calls - calls_before)


def _cursor(last_until: str | None, pending: dict[str, dict[str, str]]) -> Cursor:
    """The feed's state: the end of the last report read, and the reports requested but not read yet."""
    cursor: Cursor = {"pending": dict(pending)}
    if last_until:
        cursor["last_until"] = last_until
    return cursor


def covered_days(start: datetime, end: datetime) -> tuple[date, date]:
    """The whole days inside [start, end): a partial first or last day cannot show removals."""
    first = start.date() if _is_midnight(start) else start.date() + timedelta(days=1)
    last = end.date() - timedelta(days=1)  # the end's own day is complete only up to `end`, whether midnight or not
    return first, last


def _is_midnight(value: datetime) -> bool:
    return value.hour == value.minute == value.second == value.microsecond == 0


def parse_feedback(document: str, marketplace_id: str, source: str) -> tuple[list[FeedbackRecord], list[Reject]]:
    """Rows by column position (headers are localised): Date, Rating, Comments, Your Response, Order ID, Rater Email."""
    records: list[FeedbackRecord] = []
    rejects: list[Reject] = []
    rows = list(csv.reader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) < 5:
                raise MalformedPayload(f"expected 6 columns, got {len(row)}")
            rating = int(row[1])
            if not 1 <= rating <= 5:
                raise MalformedPayload(f"rating {rating} is outside 1-5")
            order_id = row[4].strip()
            if not order_id:
                raise MalformedPayload("Order ID is missing")
            records.append(FeedbackRecord(order_id, marketplace_id, parse_day(row[0], marketplace_id), rating, row[2]))
        except ValueError as exc:
            rejects.append(reject(source, "\t".join(row), MalformedPayload(f"bad feedback row: {exc}")))
        except MalformedPayload as exc:
            rejects.append(reject(source, "\t".join(row), exc))
    return records, rejects


def parse_day(text: str, marketplace_id: str) -> date:
    """The report's Date column as a date, in the marketplace's field order."""
    order = DATE_ORDER.get(marketplace_id, "DMY")
    parts = [int(p) for p in text.replace(".", "/").replace("-", "/").split("/")]
    if len(parts) != 3:
        raise MalformedPayload(f"Date {text!r} is not a date")
    fields = dict(zip(order, parts))
    year = fields["Y"] + 2000 if fields["Y"] < 100 else fields["Y"]
    return date(year, fields["M"], fields["D"])
