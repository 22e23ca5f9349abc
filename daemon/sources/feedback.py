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
        for marketplace_id in self.marketplace_ids:
            calls_before = self.caller.calls
            entry = pending.get(marketplace_id)
            if entry is None or self.clock.now() - parse_instant(entry["requested_at"]) > PENDING_REPORT_MAX_AGE:
                end = request_bound(until, self.clock.now())
                start = end - self.window
                report_id = create_report(self.clients, self.caller, REPORT_TYPE, [marketplace_id], start, end)
                entry = {"report_id": report_id, "start": iso(start), "end": iso(end), "requested_at": iso(self.clock.now())}
                pending[marketplace_id] = entry
                yield Batch(self.name, (), (), {"pending": dict(pending)}, self.caller.calls - calls_before)
                calls_before = self.caller.calls
            start, end = parse_instant(entry["start"]), parse_instant(entry["end"])
            document = wait_for_document(self.clients, self.caller, self.clock, entry["report_id"])
            del pending[marketplace_id]
            records, rejects = parse_feedback(document or "", marketplace_id, self.name)
            coverage: tuple[FeedbackCoverage, ...] = ()
            if not rejects:  # a row that did not parse is not a removal: only a clean report tells what is gone
                coverage = (FeedbackCoverage(marketplace_id, covered_first_day(start), (end - timedelta(microseconds=1)).date()),)
            yield Batch(self.name, tuple(records) + coverage, tuple(rejects), {"last_until": iso(end), "pending": dict(pending)},
                        self.caller.calls - calls_before)


def covered_first_day(start: datetime) -> date:
    """The first whole day of a report starting at `start` (a partial first day cannot show removals)."""
    midnight = start.hour == start.minute == start.second == start.microsecond == 0
    return start.date() if midnight else start.date() + timedelta(days=1)


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
