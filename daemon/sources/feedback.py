"""GET_SELLER_FEEDBACK_DATA feed: 1-3 star feedback over an overlapping window, so removals can be seen (SPAPI_NOTES §5)."""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from daemon.clock import Clock, parse_instant
from daemon.errors import InvalidRequest, MalformedPayload
from daemon.sources.common import iso, reject, request_bound
from daemon.sources.records import Batch, Cursor, FeedbackCoverage, FeedbackRecord, Reject
from daemon.sources.reports import PENDING_REPORT_MAX_AGE, create_report, wait_for_document
from daemon.sources.spapi import SpApiCaller, SpApiClients

logger = logging.getLogger(__name__)
REPORT_TYPE = "GET_SELLER_FEEDBACK_DATA"
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
        """Batches per marketplace: each report's rows, and the days two clean reports in a row both covered.

        A removal is inferred only when two DONE reports with rows and nothing rejected, requested one after the
        other over the same range, both lack a stored feedback: a CANCELLED, FATAL or empty report proves nothing,
        and Amazon returns CANCELLED while 1-3 star feedback exists (REALITY.md). A requested report's id is
        committed before waiting, so a failed poll or a restart picks the same report up.
        """
        state: dict[str, Any] = dict(cursor or {})
        pending: dict[str, dict[str, Any]] = dict(state.get("pending") or {})
        for marketplace_id in self.marketplace_ids:
            calls_before = self.caller.calls
            entry = pending.get(marketplace_id)
            if entry is None or self.clock.now() - parse_instant(entry["requested_at"]) > PENDING_REPORT_MAX_AGE:
                end = request_bound(until, self.clock.now())
                entry = self._request(marketplace_id, until - self.window, end, first_ids=None)
                pending[marketplace_id] = entry
                yield Batch(self.name, (), (), _cursor(state, pending), self.caller.calls - calls_before)
                calls_before = self.caller.calls
            while entry is not None:
                start, end = parse_instant(entry["start"]), parse_instant(entry["end"])
                try:
                    document = wait_for_document(self.clients, self.caller, self.clock, entry["report_id"])
                except InvalidRequest:  # Amazon no longer knows the report (expired): ask for it again now
                    logger.info("feedback report %s is gone; requesting a new one", entry["report_id"])
                    entry = pending[marketplace_id] = self._request(marketplace_id, start, end, first_ids=None)
                    yield Batch(self.name, (), (), _cursor(state, pending), self.caller.calls - calls_before)
                    calls_before = self.caller.calls
                    continue
                except MalformedPayload as exc:  # the document will not change: quarantine it, request anew next time
                    del pending[marketplace_id]
                    yield Batch(self.name, (), (reject(self.name, f"report {entry['report_id']}", exc),),
                                _cursor(state, pending), self.caller.calls - calls_before)
                    break
                records, rejects = parse_feedback(document or "", marketplace_id, self.name)
                clean = document is not None and bool(records) and not rejects
                del pending[marketplace_id]
                coverage: tuple[FeedbackCoverage, ...] = ()
                first_day, last_day = covered_days(start, end)
                if clean and entry.get("first_ids") is None and first_day <= last_day:
                    # One clean report: keep its rows, and ask again before believing what it lacks.
                    entry = self._request(marketplace_id, start, end, first_ids=sorted({r.order_id for r in records}))
                    pending[marketplace_id] = entry
                elif clean and first_day <= last_day:
                    coverage = (FeedbackCoverage(marketplace_id, first_day, last_day, tuple(entry["first_ids"])),)
                    state["last_clean_at"] = iso(self.clock.now())
                    entry = None
                else:
                    if not clean:
                        logger.info("feedback report %s proves nothing: %s", entry["report_id"],
                                    "CANCELLED" if document is None else "rows rejected" if rejects else "no rows")
                    entry = None
                state["last_until"] = iso(end)
                yield Batch(self.name, tuple(records) + coverage, tuple(rejects), _cursor(state, pending),
                            self.caller.calls - calls_before)
                calls_before = self.caller.calls

    def _request(self, marketplace_id: str, start: datetime, end: datetime, first_ids: list[str] | None) -> dict[str, Any]:
        """Ask for a report over [start, end); `first_ids` are the rows of the clean report it is to confirm."""
        report_id = create_report(self.clients, self.caller, REPORT_TYPE, [marketplace_id], start, end)
        entry: dict[str, Any] = {"report_id": report_id, "start": iso(start), "end": iso(end),
                                 "requested_at": iso(self.clock.now())}
        if first_ids is not None:
            entry["first_ids"] = first_ids
        return entry


def _cursor(state: dict[str, Any], pending: dict[str, dict[str, Any]]) -> Cursor:
    """The feed's state: the end of the last report read, the last clean confirmation, the reports awaited."""
    cursor: Cursor = {key: value for key, value in state.items() if key in ("last_until", "last_clean_at")}
    cursor["pending"] = {mp: dict(entry) for mp, entry in pending.items()}
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
        except (ValueError, MalformedPayload) as exc:
            error = exc if isinstance(exc, MalformedPayload) else MalformedPayload(f"bad feedback row: {exc}")
            # The next report re-reads the row; it is healed when its order's feedback is stored.
            order_id = row[4].strip() if len(row) > 4 else ""
            rejects.append(reject(source, "\t".join(row), error, f"feedback:{order_id}" if order_id else None))
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
