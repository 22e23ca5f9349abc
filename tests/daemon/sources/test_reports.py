"""The report lifecycle: performance snapshots, document downloads, and reports that stall or cannot be read."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from daemon.clock import ManualClock
from daemon.errors import MalformedPayload, SourceUnavailable
from daemon.simulator.server import Faults
from daemon.sources.performance import POLICY_BLOCKS, parse_performance
from daemon.sources.records import AmazonFigure, FeedbackRecord, PerformanceSnapshot
from daemon.sources.reports import download_document
from tests.daemon.sources.conftest import MP, SHARED_DIR, drain, event, feeds_for, header, order, order_id, records_of, scenario

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
END = datetime(2026, 3, 20, tzinfo=timezone.utc)
FEB_10 = datetime(2026, 2, 10, 9, tzinfo=timezone.utc)
SCENARIO = scenario([
    header(START, END),
    order(1, FEB_10), order(2, FEB_10), order(3, FEB_10), order(4, FEB_10, channel="AFN"),
    event("feedback", 1, FEB_10 + timedelta(days=2), rating=1, comment="never arrived"),
    event("claim", 2, FEB_10 + timedelta(days=3), claim_id="C2", status="granted", amount=20.5, currency="USD"),
])


def figure(figures: tuple[AmazonFigure, ...] | list[AmazonFigure], metric: str, fulfillment: str) -> AmazonFigure:
    return next(f for f in figures if f.metric == metric and f.fulfillment == fulfillment)


def test_the_performance_report_becomes_a_snapshot_of_amazons_figures(simulator):
    clock = ManualClock(END + timedelta(hours=6))
    server = simulator(SCENARIO, clock)
    batches, cursor = drain(feeds_for(server.url, clock).performance, END)
    [snapshot] = records_of(batches, PerformanceSnapshot)
    assert json.loads(snapshot.document)["performanceMetrics"][0]["marketplaceId"] == MP
    assert snapshot.fetched_at == clock.now() and cursor == {"fetched_at": "2026-03-20T06:00:30Z"}
    mfn = figure(snapshot.figures, "odr", "MFN")
    assert (mfn.numerator, mfn.denominator, mfn.value) == (2, 3, pytest.approx(2 / 3))
    assert (mfn.details["claims"], mfn.details["chargebacks"], mfn.details["negative_feedback"]) == (1, 0, 1)
    assert mfn.details["status"] == "BAD" and mfn.window_to == END - timedelta(days=14)
    afn = figure(snapshot.figures, "odr", "AFN")
    assert (afn.numerator, afn.denominator) == (0, 1)
    ahr = figure(snapshot.figures, "ahr", "ALL")
    assert ahr.value == 250.0 and ahr.details == {"ahr_status": "GREAT", "account_status": "NORMAL"}
    assert {(f.metric, f.fulfillment) for f in snapshot.figures} == {
        ("odr", "MFN"), ("odr", "AFN"), ("lsr_30d", "MFN"), ("lsr_10d", "MFN"), ("cr_7d", "MFN"),
        ("vtr_30d", "MFN"), ("otdr_14d", "MFN"), ("otdr_30d", "MFN"), ("idr_7d", "ALL"), ("ahr", "ALL"),
        ("warnings", "ALL"), ("report", "ALL")} | {(f"policy:{name}", "ALL") for name in POLICY_BLOCKS}
    assert figure(snapshot.figures, "report", "ALL").details == {"missing": []}
    lsr_10d = figure(snapshot.figures, "lsr_10d", "MFN")
    assert lsr_10d.window_to - lsr_10d.window_from == timedelta(days=10)
    assert [c.operation for c in server.calls if c.operation != "token"] == [
        "createReport", "getReport", "getReport", "getReportDocument", "download"]


def test_amazons_own_example_parses_with_its_spelling_and_date_quirks():
    document = (SHARED_DIR / "spapi" / "samples" / "GET_V2_SELLER_PERFORMANCE_REPORT.example.json").read_text()
    figures, rejects = parse_performance(document, "performance")
    assert rejects == []
    us = [f for f in figures if f.marketplace_id == "ATVPDKIKX0DER"]
    cancel = figure(us, "cr_7d", "MFN")  # spelled prefulfillmentCancelRate in the example
    assert (cancel.numerator, cancel.denominator) == (551, 17197)
    assert cancel.window_from == datetime(2020, 11, 12, tzinfo=timezone.utc)
    invoice = figure(us, "idr_7d", "ALL")
    assert (invoice.numerator, invoice.denominator) == (315, 9001)
    delivery = figure(us, "otdr_14d", "MFN")
    assert (delivery.numerator, delivery.denominator) == (146, 165)
    ahr = figure(us, "ahr", "ALL")
    assert ahr.value is None and ahr.details == {"ahr_status": "WARNED", "account_status": "AT_RISK"}


def test_a_block_that_does_not_parse_is_rejected_and_the_others_kept():
    report = {"accountStatuses": [{"marketplaceId": MP, "status": "NORMAL"}], "performanceMetrics": [{
        "marketplaceId": MP,
        "orderDefectRate": {"mfn": {"orderCount": "many", "orderWithDefects": {"count": 1}}},
        "lateShipmentRate": {"orderCount": 50, "lateShipmentCount": 3, "rate": 0.06,
                             "reportingDateRange": {"reportingDateFrom": "2026-02-01T00:00:00Z",
                                                    "reportingDateTo": "2026-03-03T00:00Z"}},
    }]}
    figures, rejects = parse_performance(json.dumps(report), "performance")
    assert [(f.metric, f.numerator, f.denominator, f.value) for f in figures if f.metric not in ("warnings", "report")] == [
        ("lsr_30d", 3, 50, 0.06)]
    assert len(rejects) == 1 and rejects[0].error.startswith("_odr:") and "many" in rejects[0].raw
    missing = next(f for f in figures if f.metric == "report").details["missing"]
    assert missing[:3] == ["preFulfillmentCancellationRate", "validTrackingRate", "accountHealthRating"]


def test_a_performance_report_that_is_not_json_is_a_reject():
    figures, rejects = parse_performance("<html>Service Unavailable</html>", "performance")
    assert figures == [] and len(rejects) == 1
    assert rejects[0].error.startswith("report is not JSON") and rejects[0].raw == "<html>Service Unavailable</html>"


def test_a_gzip_document_served_with_content_encoding_is_decompressed_once(static_server):
    text = "Date\tRating\tComments\n3/7/26\t1\tcafé\n"
    url = static_server(gzip.compress(text.encode("utf-8")),
                        {"Content-Type": "text/plain; charset=UTF-8", "Content-Encoding": "gzip"})
    assert download_document({"url": url, "compressionAlgorithm": "GZIP"}, httpx.Client(timeout=5)) == text


def test_an_uncompressed_document_without_charset_falls_back_to_cp1252(static_server):
    url = static_server("Größe – ok".encode("cp1252"), {"Content-Type": "text/plain"})
    assert download_document({"url": url}, httpx.Client(timeout=5)) == "Größe – ok"


@pytest.mark.parametrize("body", [b"plain text, not gzip",
                                  gzip.compress(("Date\tRating\tComments\n" + "3/7/26\t1\tok\n" * 200).encode())[:-40]],
                         ids=["not-gzip", "truncated-gzip"])
def test_a_document_that_does_not_decompress_is_malformed(static_server, body):
    url = static_server(body, {"Content-Type": "text/plain; charset=UTF-8"})
    with pytest.raises(MalformedPayload, match="does not decompress"):
        download_document({"url": url, "compressionAlgorithm": "GZIP"}, httpx.Client(timeout=5))


def test_a_stalled_report_is_picked_up_by_the_next_poll_instead_of_requested_twice(simulator):
    clock = ManualClock(END)
    faults = Faults(report_seconds=7200)  # longer than one poll waits (30 virtual minutes)
    server = simulator(SCENARIO, clock, faults)
    source = feeds_for(server.url, clock).feedback
    pages = source.pages(None, END - timedelta(hours=1))
    requested = next(pages)
    assert requested.records == () and requested.next_cursor["pending"][MP]["report_id"]
    with pytest.raises(SourceUnavailable, match="still IN_PROGRESS"):
        next(pages)
    assert timedelta(minutes=30) <= clock.now() - END <= timedelta(minutes=31)
    faults.report_seconds = 30
    batches, cursor = drain(source, END - timedelta(hours=1), requested.next_cursor)
    assert [r.order_id for r in records_of(batches, FeedbackRecord)] == [order_id(1), order_id(1)]
    # The stalled report is read, not requested again; the one other request is its confirmation.
    assert len([c for c in server.calls if c.operation == "createReport"]) == 2
    assert cursor["last_until"] == "2026-03-19T23:00:00Z" and cursor["pending"] == {} and "last_clean_at" in cursor


def test_an_empty_feedback_report_is_cancelled_and_means_no_rows(simulator):
    clock = ManualClock(END)
    server = simulator(SCENARIO, clock)
    batches, cursor = drain(feeds_for(server.url, clock).feedback, datetime(2026, 2, 1, tzinfo=timezone.utc))
    assert records_of(batches, FeedbackRecord) == [] and batches[-1].rejects == ()
    assert "download" not in [c.operation for c in server.calls]
    assert cursor == {"last_until": "2026-02-01T00:00:00Z", "pending": {}}
