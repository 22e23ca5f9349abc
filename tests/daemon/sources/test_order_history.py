"""Order history from order reports on a first start: the same metrics as reading it all through searchOrders,
with a fraction of the searchOrders calls; the flat file read defensively."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from daemon.app import build_for_scenario
from daemon.clock import ManualClock, format_instant
from daemon.config import default_config
from daemon.pipeline import local_metrics
from daemon.simulator.payloads import ALL_ORDERS_COLUMNS
from daemon.simulator.server import SimulatorServer
from daemon.status import status_report
from daemon.sources.order_history import parse_all_orders
from storage.repo import set_cursor
from tests.daemon.scenarios import small_account

SCENARIO = small_account(days=120, orders_per_day=12)
END = SCENARIO.end
MP = "ATVPDKIKX0DER"


def first_start(tmp_path, from_reports: bool):
    clock = ManualClock(END + timedelta(minutes=3))
    base = default_config(tmp_path)
    config = replace(base, daemon=replace(base.daemon, history_from_reports=from_reports))
    with SimulatorServer(SCENARIO, clock) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "sentinel.db", config)
        results = app.sync(app.accounts[0], until=END)
        calls = list(server.calls)
    assert all(r.error is None for r in results), [r.error for r in results]
    metrics = [(v.metric, v.fulfillment, v.numerator, v.denominator) for v in local_metrics(app.store, "sim", (MP,), END)]
    return metrics, calls


def test_a_first_start_from_order_reports_computes_every_metric_as_searchorders_alone_does(tmp_path):
    by_api, api_calls = first_start(tmp_path / "api", from_reports=False)
    by_reports, report_calls = first_start(tmp_path / "reports", from_reports=True)
    assert by_reports == by_api
    assert any(d > 0 for _, _, _, d in by_api)
    searches = [len([c for c in calls if c.operation == "searchOrders"]) for calls in (api_calls, report_calls)]
    assert searches[1] < searches[0] * 0.6  # the recent 45 of 90 days, not all of them
    # Beside what the API path asks (two feedback reports, one confirming the other, and the performance report):
    # one order report per 30-day slice of the 90 days, each asked once.
    created = [len([c for c in calls if c.operation == "createReport"]) for calls in (api_calls, report_calls)]
    assert created[1] - created[0] == 3


def _flat_file(*rows: dict[str, str]) -> str:
    lines = ["\t".join(ALL_ORDERS_COLUMNS)]
    lines += ["\t".join(row.get(column, "") for column in ALL_ORDERS_COLUMNS) for row in rows]
    return "\n".join(lines)


ROW = {"amazon-order-id": "111-0000001-0000001", "purchase-date": "2026-06-01T10:00:00+00:00",
       "last-updated-date": "2026-06-03T08:00:00+00:00", "order-status": "Shipped", "fulfillment-channel": "Merchant",
       "quantity": "2", "is-business-order": "true"}


def test_item_lines_make_one_order_and_a_bad_line_is_a_reject_with_its_order_id():
    document = _flat_file(ROW, dict(ROW, quantity="1"),
                          dict(ROW, **{"amazon-order-id": "111-0000002-0000002", "order-status": "Cancelled",
                                       "fulfillment-channel": "Amazon"}),
                          dict(ROW, **{"amazon-order-id": "111-0000003-0000003", "purchase-date": "yesterday"}))
    records, rejects = parse_all_orders(document, MP, "order_history")
    first, second = records
    assert (first.quantity, first.channel, first.status, first.is_business) == (3, "MFN", "Shipped", True)
    assert first.latest_ship_at is None and first.from_report and first.left_pending
    assert (second.channel, second.status) == ("AFN", "Canceled")
    assert [r.retry_key for r in rejects] == ["order:111-0000003-0000003"] and "date-time" in rejects[0].error


def test_a_flat_file_without_its_columns_is_one_reject_not_a_crash():
    records, rejects = parse_all_orders("order id\tdate\n1\t2", MP, "order_history")
    assert records == [] and len(rejects) == 1 and "lacks columns" in rejects[0].error
    assert parse_all_orders("", MP, "order_history") == ([], [])


def shown(store, tmp_path) -> tuple[bool, dict[str, str]]:
    """What `status` and the status page show of the account: whether it is sweeping, and each metric's headline."""
    with store.sessions() as session:
        account = status_report(session, default_config(tmp_path), END)["accounts"][0]
    return account["sweeping"], {row["metric"]: row["headline"] for row in account["metrics"]}


def test_while_searchorders_still_sweeps_every_metric_but_the_odr_is_judged_on_amazons_report(tmp_path):
    clock = ManualClock(END + timedelta(minutes=3))
    with SimulatorServer(SCENARIO, clock) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "sentinel.db")
        account = app.accounts[0]
        for feed in ("order_history", "finances", "feedback", "performance"):
            app.sync(account, until=END, feeds=(feed,))
        orders = account.sources["orders"].pages(None, END)
        first_page = next(orders)  # the sweep of the recent days has begun, and stops here
        with app.store.transaction() as session:
            set_cursor(session, "sim", "orders", first_page.next_cursor, END)
        assert first_page.next_cursor.get("next_token") and app.store.orders_backfilling("sim")
        sweeping = app.evaluate(account, END, END)
        assert {v.metric for v in sweeping.values} == {"odr"}  # a partial count never enters the history
        is_sweeping, headlines = shown(app.store, tmp_path)
        assert is_sweeping and headlines.keys() > {"odr", "lsr_10d", "vtr_30d", "cr_7d", "otdr_14d"}
        on_report = {metric for metric, headline in headlines.items() if "on Amazon's report" in headline}
        assert on_report == headlines.keys() - {"odr"}
        assert all("once the order history is read" in headlines[metric] for metric in on_report)
        app.sync(account, until=END, feeds=("orders",))
        assert not app.store.orders_backfilling("sim")
        swept = app.evaluate(account, END, END)
        assert {v.metric for v in swept.values} == headlines.keys()
        is_sweeping, headlines = shown(app.store, tmp_path)
        on_report = {metric for metric, headline in headlines.items() if "on Amazon's report" in headline}
        # Deliveries made before the installation cannot be dated: on-time delivery waits for its own whole window.
        assert not is_sweeping and on_report == {"otdr_14d"} and "our own count from" in headlines["otdr_14d"]
        odr = lambda evaluated: sorted((v.fulfillment, v.numerator, v.denominator) for v in evaluated.values if v.metric == "odr")
        assert odr(sweeping) == odr(swept) and odr(swept)[0][2] > 0  # exact before the sweep ended


def test_without_order_reports_every_metric_is_judged_on_amazons_report_until_searchorders_has_swept(tmp_path):
    clock = ManualClock(END + timedelta(minutes=3))
    base = default_config(tmp_path)
    config = replace(base, daemon=replace(base.daemon, history_from_reports=False))
    with SimulatorServer(SCENARIO, clock) as server:
        app = build_for_scenario(SCENARIO, server.url, clock, tmp_path / "sentinel.db", config)
        account = app.accounts[0]
        for feed in ("finances", "feedback", "performance"):
            app.sync(account, until=END, feeds=(feed,))
        first_page = next(account.sources["orders"].pages(None, END))
        with app.store.transaction() as session:
            set_cursor(session, "sim", "orders", first_page.next_cursor, END)
        sweeping = app.evaluate(account, END, END)
    assert sweeping.values == []  # nothing partial enters the history
    with app.store.sessions() as session:
        account_status = status_report(session, config, END)["accounts"][0]
    assert account_status["sweeping"] and account_status["metrics"]
    assert account_status["as_of"] == format_instant(END)  # the bound the sweep reads toward, not its start weeks back
    assert all("on Amazon's report" in row["headline"] and row["value"] is not None for row in account_status["metrics"])
