"""An agency's status: beyond a few accounts the page is one line per account, worst first, each with its own page;
evaluations are kept until the account's data moves, so hundreds of accounts do not re-run the breach model on every
page load or scrape."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from bench.status_page import NOW, SYNCED, account_names, agency_config, fill_accounts
from daemon.clock import ManualClock, format_instant
from daemon.dbhealth import DatabaseOutage
from daemon.evaluated import EvaluatedMetrics, cursors_of, version_of
from daemon.pipeline import evaluation_instant
from daemon.sources.records import Batch, OrderRecord
from daemon.status import status_report
from daemon.web import WebServer, status_app
from storage.repo import store_batch
from tests.daemon.test_web import BROWSER_REQUIRED, CHROMIUM

NAMES = account_names(5)
LATE = {"seller003": 0.30, "seller001": 0.08}  # seller003 far over the 4% limit, seller001 over it too


@pytest.fixture
def agency(store, tmp_path):
    fill_accounts(store, NAMES, LATE, orders_per_day=6, days=40)
    config = agency_config(tmp_path, NAMES)
    clock = ManualClock(NOW)
    web = WebServer(status_app(config, store, clock, NOW, "0.1.0-test", DatabaseOutage(clock)), "127.0.0.1", 0)
    url = web.start()
    assert url is not None
    yield url, config
    web.stop()


def test_many_accounts_make_one_line_each_worst_first_with_a_page_each(agency):
    url, _ = agency
    page = httpx.get(url).text
    assert '<article class="card' not in page  # no account's cards inline: five accounts would be five screens
    order = [page.index(f'data-account="{name}"') for name in NAMES]
    worst_first = sorted(NAMES, key=lambda name: order[NAMES.index(name)])
    assert worst_first[:2] == ["seller003", "seller001"]  # both over the LSR limit, seller003 the furthest
    assert page.count('href="accounts/') == 5
    detail = httpx.get(url + "accounts/seller003")
    assert detail.status_code == 200 and detail.text.count('<article class="card') == 7
    assert "seller001" not in detail.text
    assert httpx.get(url + "accounts/nobody").status_code == 404


def test_an_accounts_evaluation_is_kept_until_one_of_its_cursors_moves(store, tmp_path):
    fill_accounts(store, ["one"], {}, orders_per_day=6, days=40)
    config = agency_config(tmp_path, ["one"])
    kept = EvaluatedMetrics()

    def lsr_denominator() -> int:
        with store.sessions() as session:
            rows = status_report(session, config, NOW, kept)["accounts"][0]["metrics"]
        return next(r["denominator"] for r in rows if r["metric"] == "lsr_30d")

    before = lsr_denominator()
    more = fill_orders(store, 30)
    with store.transaction() as session:  # stored without moving a cursor: nothing says the data moved
        store_batch(session, "one", Batch("orders", more, (), None), SYNCED)
    assert lsr_denominator() == before
    with store.transaction() as session:  # a poll commits its rows with its cursor
        store_batch(session, "one", Batch("orders", (), (), {"after": format_instant(SYNCED), "polls": 2}), SYNCED)
    assert lsr_denominator() == before + 30


def fill_orders(store, count: int):
    """`count` shipped MFN orders of the last days, as a poll would bring them."""
    template = OrderRecord(order_id="", marketplace_id="ATVPDKIKX0DER", channel="MFN", status="Shipped",
                           purchase_at=SYNCED - timedelta(days=3), last_update_at=SYNCED - timedelta(days=2),
                           latest_ship_at=SYNCED - timedelta(days=1), latest_delivery_at=SYNCED + timedelta(days=4),
                           quantity=1, ship_confirmed_at=SYNCED - timedelta(days=2))
    return tuple(replace(template, order_id=f"111-0000000-{n:07d}") for n in range(count))


@pytest.mark.skipif(CHROMIUM is None and not BROWSER_REQUIRED, reason="Debian's chromium is not installed here")
def test_in_a_real_browser_the_worst_account_is_one_click_from_its_cards(agency, tmp_path):
    from playwright.sync_api import sync_playwright

    url, _ = agency
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM or "/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            first = page.locator("table.overview tr[data-account]").first
            assert first.get_attribute("data-account") == "seller003"
            assert first.locator("td.level-breach").count() == 1
            page.screenshot(path=str(tmp_path / "agency-overview.png"), full_page=True)
            first.locator("a").click()
            page.wait_for_load_state()
            assert page.locator("article.card").count() == 7
            assert page.locator("article.card.level-breach[data-metric=lsr_30d]").count() == 1
        finally:
            browser.close()


def test_the_start_evaluates_every_account_ahead_so_the_first_scrape_runs_no_breach_model(store, tmp_path):
    names = account_names(3)
    fill_accounts(store, names, {}, orders_per_day=4, days=30)
    kept = EvaluatedMetrics()
    app = status_app(agency_config(tmp_path, names), store, ManualClock(NOW), NOW, "0.1.0-test", None, kept)
    app.state.warm()
    with store.sessions() as session:
        cursors = cursors_of(session, names)

    def evaluate_again():
        raise AssertionError("not evaluated ahead")

    at = evaluation_instant(SYNCED)
    assert all(len(kept.get(name, version_of(at, cursors[name]), evaluate_again)) == 7 for name in names)
