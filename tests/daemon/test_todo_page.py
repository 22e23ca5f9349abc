"""The to-do on the daemon's own page and API, over a real loopback server: 200 orders deadline first, readable on a
phone in a real browser, hostile buyer text escaped; the draft plan of action served beside it."""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from bench.status_page import MP, agency_config
from daemon.clock import ManualClock, format_instant
from daemon.dbhealth import DatabaseOutage
from daemon.sources.records import Batch, FeedbackCoverage, FeedbackRecord, OrderRecord
from daemon.web import WebServer, status_app
from storage.db import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.repo import Store, store_batch
from tests.alerts.samples import HOSTILE
from tests.daemon.test_web import BROWSER_REQUIRED, CHROMIUM

SYNCED = datetime(2026, 7, 1, 0, 5, tzinfo=timezone.utc)
OPEN_ORDERS = 200
SCREENSHOTS = os.environ.get("SELLER_SENTINEL_SCREENSHOTS")  # a directory to keep the pictures in, to look at


def open_orders_and_feedback(store: Store) -> None:
    """200 open orders due to ship within 48 hours (20 already past due) and 3 with hostile negative feedback."""
    records: list = []
    for n in range(OPEN_ORDERS):
        ship_by = SYNCED + timedelta(hours=40 - 2 * (n % 20)) if n >= 20 else SYNCED - timedelta(hours=5 + n)
        records.append(OrderRecord(
            order_id=f"114-{n:07d}-0000001", marketplace_id=MP, channel="MFN", status="Unshipped",
            purchase_at=ship_by - timedelta(days=2), last_update_at=ship_by - timedelta(days=2), latest_ship_at=ship_by,
            latest_delivery_at=ship_by + timedelta(days=5), quantity=1))
    for n in range(3):
        purchase = SYNCED - timedelta(days=30 + n)
        records.append(OrderRecord(
            order_id=f"115-{n:07d}-0000001", marketplace_id=MP, channel="AFN", status="Shipped", purchase_at=purchase,
            last_update_at=purchase + timedelta(hours=9), latest_ship_at=purchase + timedelta(days=1),
            latest_delivery_at=purchase + timedelta(days=4), quantity=1, ship_confirmed_at=purchase + timedelta(hours=9)))
    with store.transaction() as session:
        store_batch(session, "seller000", Batch("orders", tuple(records), (), {"after": format_instant(SYNCED)}), SYNCED)
        feedback = [FeedbackRecord(f"115-{n:07d}-0000001", MP, date(2026, 6, 10), 1, HOSTILE) for n in range(3)]
        coverage = FeedbackCoverage(MP, date(2026, 6, 1), date(2026, 6, 30))
        store_batch(session, "seller000", Batch("feedback", (*feedback, coverage), (), None), SYNCED)


@pytest.fixture
def todo_server(tmp_path):
    engine = make_engine(sqlite_url(tmp_path / "todo.db"))
    upgrade(engine)
    store = Store(engine)
    open_orders_and_feedback(store)
    clock = ManualClock(SYNCED + timedelta(minutes=10))
    config = agency_config(tmp_path, ["seller000"])
    web = WebServer(status_app(config, store, clock, SYNCED, "test", DatabaseOutage(clock)), "127.0.0.1", 0)
    url = web.start()
    assert url is not None
    yield url.rstrip("/")
    web.stop()
    engine.dispose()


def test_the_api_lists_the_todo_deadline_first_past_due_at_the_top(todo_server):
    account = httpx.get(todo_server + "/api/status").json()["accounts"][0]
    todo = account["todo"]
    ships = [t for t in todo if t["action"] == "ship"]
    assert len(ships) == OPEN_ORDERS
    assert [t["due_at"] for t in ships] == sorted(t["due_at"] for t in ships)
    assert all(t["overdue"] for t in ships[:20]) and not any(t["overdue"] for t in ships[20:])
    removals = [t for t in todo if t["action"] == "request_feedback_removal"]
    assert len(removals) == 3 and removals[0]["feedback_comment"].startswith("<script>")  # JSON: data, not markup


def test_the_plan_is_served_as_markdown_and_refuses_what_it_does_not_know(todo_server):
    plan = httpx.get(todo_server + "/accounts/seller000/plan",
                     params={"marketplace": MP, "metric": "odr", "fulfillment": "AFN"})
    assert plan.status_code == 200 and plan.headers["content-type"].startswith("text/markdown")
    assert "## The orders (3)" in plan.text and "<script>" not in plan.text
    wrong = httpx.get(todo_server + "/accounts/seller000/plan", params={"marketplace": "<b>x</b>", "metric": "odr"})
    assert wrong.status_code == 404 and "has no marketplace" in wrong.text
    assert wrong.headers["content-type"].startswith("text/plain")  # never rendered as a page
    assert httpx.get(todo_server + "/accounts/nobody/plan").status_code == 404


@pytest.mark.skipif(CHROMIUM is None and not BROWSER_REQUIRED, reason="Debian's chromium is not installed here")
def test_a_todo_of_200_orders_reads_on_a_phone_with_buyer_text_escaped(todo_server, tmp_path):
    from playwright.sync_api import sync_playwright

    pictures = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM or "/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(todo_server + "/accounts/seller000")
            rows = page.locator("table.todo tbody tr")
            assert rows.count() == OPEN_ORDERS + 3
            assert rows.nth(0).get_attribute("class") == "overdue"
            assert "past" in rows.nth(0).locator("td.due").inner_text()
            # Stacked, one order a block, as wide as the screen: nothing to scroll sideways on a phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert rows.nth(0).locator("td").nth(1).bounding_box()["y"] > rows.nth(0).locator("td").nth(0).bounding_box()["y"]
            assert "<script>alert(1)</script>" in page.locator("table.todo").inner_text()  # shown as text...
            assert dialogs == []  # ...never run
            assert page.locator("p.todo-summary").inner_text() == "To do: 203 orders, 20 past their deadline"
            page.click("p.todo-summary a")  # the summary at the top leads to the list
            page.screenshot(path=str(pictures / "todo-phone.png"))  # the viewport, now at the list's heading
            page.set_viewport_size({"width": 1100, "height": 900})
            page.locator("h2[id^=todo]").scroll_into_view_if_needed()
            page.screenshot(path=str(pictures / "todo-desktop.png"), full_page=False)
        finally:
            browser.close()


def test_a_shipment_confirmed_today_without_valid_tracking_is_on_the_todo_at_once(tmp_path):
    from daemon.orders_behind import account_todo
    from daemon.sources.records import PackageRecord

    engine = make_engine(sqlite_url(tmp_path / "today.db"))
    upgrade(engine)
    store = Store(engine)
    shipped = SYNCED + timedelta(hours=9)  # this morning, after the day's evaluation instant
    order = OrderRecord(order_id="116-0000001-0000001", marketplace_id=MP, channel="MFN", status="Shipped",
                        purchase_at=shipped - timedelta(days=1), last_update_at=shipped, latest_ship_at=shipped,
                        latest_delivery_at=shipped + timedelta(days=4), quantity=1, ship_confirmed_at=shipped)
    with store.transaction() as session:
        store_batch(session, "seller000", Batch("orders", (order, PackageRecord(order.order_id, MP, tracking_valid=False,
                                                                               delivered=False)), (), None), shipped)
    with store.sessions() as session:
        later = shipped + timedelta(hours=2)
        items = account_todo(session, "seller000", (MP,), SYNCED - timedelta(minutes=5), later)
        assert [(i.order_id, i.action) for i in items] == [(order.order_id, "fix_tracking")]
        assert account_todo(session, "seller000", (MP,), SYNCED - timedelta(minutes=5), shipped) == []  # not yet
    engine.dispose()
