"""The Reports 2021-06-30 lifecycle: create, wait with a deadline through the clock, download once (PITFALLS #9, #10)."""
from __future__ import annotations

import zlib
from datetime import datetime, timedelta

import httpx

from daemon.clock import Clock
from daemon.errors import MalformedPayload, SourceUnavailable
from daemon.sources.common import iso
from daemon.sources.spapi import SpApiCaller, SpApiClients

POLL_SECONDS = 30
DEADLINE_SECONDS = 30 * 60
PENDING_REPORT_MAX_AGE = timedelta(hours=6)  # an older request is dropped and made again (reports can stall for hours)


def create_report(clients: SpApiClients, caller: SpApiCaller, report_type: str, marketplace_ids: list[str],
                  start: datetime | None = None, end: datetime | None = None) -> str:
    """Request a report; returns its id."""
    body: dict[str, object] = {"reportType": report_type, "marketplaceIds": marketplace_ids}
    if start is not None:
        body["dataStartTime"] = iso(start)
    if end is not None:
        body["dataEndTime"] = iso(end)
    response = caller.call("createReport", clients.reports.create_report, **body)
    report_id = (response.payload or {}).get("reportId")
    if not report_id:
        raise SourceUnavailable(f"createReport for {report_type} returned no reportId")
    return str(report_id)


def wait_for_document(clients: SpApiClients, caller: SpApiCaller, clock: Clock, report_id: str) -> str | None:
    """The report's text once DONE; None when Amazon cancelled it (no data in range).

    Raises SourceUnavailable when the report fails or stalls past the deadline (the next poll tries again),
    MalformedPayload when its document cannot be decompressed or decoded, BudgetSpent when the daemon would rather
    free its worker than wait (the caller keeps the report id to take it up at the next turn).
    """
    waited = 0
    while True:
        report = caller.call("getReport", clients.reports.get_report, report_id).payload or {}
        status = report.get("processingStatus")
        if status == "DONE":
            document_id = report.get("reportDocumentId")
            # Metadata through the client, bytes by ourselves: the library's download lets httpx undo a
            # Content-Encoding: gzip and then gunzips again, which fails (PITFALLS #9).
            document = caller.call("getReportDocument", clients.reports.get_report_document, document_id).payload or {}
            return download_document(document, clients.downloads)
        if status == "CANCELLED":
            return None
        if status == "FATAL":
            raise SourceUnavailable(f"report {report_id} failed (FATAL)")
        if waited >= DEADLINE_SECONDS:
            raise SourceUnavailable(f"report {report_id} still {status} after {waited // 60} minutes")
        caller.pause(POLL_SECONDS, f"report {report_id} still {status}")
        waited += POLL_SECONDS


def download_document(document: dict[str, object], http: httpx.Client) -> str:
    """The text behind a ReportDocument: raw bytes, decompressed once by compressionAlgorithm, decoded by charset."""
    url = document.get("url")
    if not isinstance(url, str) or not url:
        raise SourceUnavailable(f"report document {document.get('reportDocumentId')} has no url")
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise SourceUnavailable(f"report document download answered {response.status_code}")
            body = b"".join(response.iter_raw())  # raw: no Content-Encoding decoding behind our back
            charset = response.charset_encoding
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"report document download failed: {type(exc).__name__}") from None
    if document.get("compressionAlgorithm") or body[:2] == b"\x1f\x8b":
        try:
            body = zlib.decompress(body, 15 + 32)  # gzip or zlib header, detected
        except zlib.error as exc:
            raise MalformedPayload(f"report document does not decompress: {exc}") from None
    for encoding in (charset or "utf-8", "cp1252"):  # some flat files come in Cp1252 (SPAPI_NOTES §4)
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise MalformedPayload("report document is neither UTF-8 nor Cp1252")
