"""The Reports 2021-06-30 lifecycle: create, wait with a deadline through the clock, download once (PITFALLS #9, #10)."""
from __future__ import annotations

from datetime import datetime

from daemon.clock import Clock
from daemon.errors import SourceUnavailable
from daemon.sources.common import iso
from daemon.sources.spapi import SpApiCaller, SpApiClients

POLL_SECONDS = 30
DEADLINE_SECONDS = 30 * 60


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
    """The report's text once DONE; None when Amazon cancelled it (no data in range); raises when it fails or stalls."""
    waited = 0
    while True:
        report = caller.call("getReport", clients.reports.get_report, report_id).payload or {}
        status = report.get("processingStatus")
        if status == "DONE":
            document_id = report.get("reportDocumentId")
            document = caller.call("getReportDocument", clients.reports.get_report_document, document_id, download=True)
            return str((document.payload or {}).get("document") or "")
        if status == "CANCELLED":
            return None
        if status == "FATAL":
            raise SourceUnavailable(f"report {report_id} failed (FATAL)")
        if waited >= DEADLINE_SECONDS:
            raise SourceUnavailable(f"report {report_id} still {status} after {waited // 60} minutes")
        clock.sleep(POLL_SECONDS)
        waited += POLL_SECONDS
