"""The daemon's HTTP server on a real loopback port: /healthz turns 503 when a feed goes stale, /metrics parses with
prometheus-client's own parser, /api/status, forms refuse forgery, a token guards it beyond loopback, hostile text is
escaped, and the page works in a real browser (Debian's chromium driven by Playwright)."""
from __future__ import annotations

import base64
import io
import os
import shutil
import socket
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon.app import build
from daemon.clock import ManualClock, parse_instant
from daemon.commands import print_status
from daemon.config import load_config
from daemon.dbhealth import DatabaseOutage
from daemon.evaluated import cursors_of, version_of
from daemon.simulator.server import SimulatorServer
from daemon.status import status_report
from daemon.web import WebServer, status_app
from tests.daemon.scenarios import small_account

SCENARIO = small_account()
CHROMIUM = shutil.which("chromium")
BROWSER_REQUIRED = os.environ.get("SELLER_SENTINEL_REQUIRE_BROWSER") == "1"


def config_for(tmp_path, http: str = "port = 0"):
    path = tmp_path / "config.toml"
    path.write_text(f'[daemon]\nstate_dir = "state"\n\n[simulator]\nenabled = true\n\n[http]\n{http}\n', encoding="utf-8")
    return load_config(path, {"TOKEN": "s3cret-token"})


@pytest.fixture
def served(tmp_path):
    """A daemon's database after two daily polls of the small account, and its HTTP server on a free port."""
    servers = []

    def serve(http: str = "port = 0"):
        config = config_for(tmp_path, http)
        clock = ManualClock(SCENARIO.end - timedelta(days=1) + timedelta(minutes=3))
        simulator = SimulatorServer(SCENARIO, clock).start()
        app = build(config, clock, api_url=simulator.url)
        for day in (1, 0):
            at = SCENARIO.end - timedelta(days=day)
            clock.set(at + timedelta(minutes=3))
            app.sync(app.accounts[0], until=at)
            app.evaluate(app.accounts[0], at, clock.now())
        web = WebServer(status_app(config, app.store, clock, clock.now() - timedelta(hours=1), "0.1.0-test",
                                   DatabaseOutage(clock)), "127.0.0.1", config.http.port)
        url = web.start()
        assert url is not None
        servers.append((web, simulator))
        return url, clock, app

    yield serve
    for web, simulator in servers:
        web.stop()
        simulator.stop()


def test_healthz_is_ok_while_feeds_are_current_and_503_with_the_reason_when_one_goes_stale(served):
    url, clock, _ = served()
    assert httpx.get(url + "healthz").text == "ok\n"
    clock.advance(hours=3)  # the orders feed's limit is 2 hours
    stale = httpx.get(url + "healthz")
    assert stale.status_code == 503
    assert "sim: no successful orders poll since" in stale.text and "(limit 2 hours)" in stale.text


def test_metrics_parse_with_prometheus_clients_own_parser(served):
    url, _, _ = served()
    families = {f.name: f for f in text_string_to_metric_families(httpx.get(url + "metrics").text)}
    limits = {(s.labels["metric"], s.labels["fulfillment"]): s.value for s in families["seller_sentinel_metric_limit"].samples}
    assert limits[("odr", "MFN")] == 0.01 and limits[("vtr_30d", "MFN")] == 0.95
    values = {(s.labels["metric"], s.labels["fulfillment"]) for s in families["seller_sentinel_metric_value"].samples}
    assert ("odr", "MFN") in values
    polls = {(s.labels["feed"], s.labels["outcome"]) for s in families["seller_sentinel_polls"].samples
             if s.name == "seller_sentinel_polls_total" and s.labels["account"] == "sim"}
    assert ("orders", "ok") in polls
    assert any(s.labels["operation"] == "searchOrders" for s in families["seller_sentinel_spapi_calls"].samples)
    assert [s.labels["version"] for s in families["seller_sentinel_build_info"].samples] == ["0.1.0-test"]
    assert families["seller_sentinel_outbox_pending"].samples[0].value == 0
    assert {s.labels["feed"] for s in families["seller_sentinel_feed_last_success_timestamp_seconds"].samples} >= {
        "orders", "finances", "feedback", "performance"}


def test_api_status_is_the_status_report_as_json(served):
    url, _, _ = served()
    body = httpx.get(url + "api/status").json()
    [account] = body["accounts"]
    assert account["name"] == "sim" and len(account["metrics"]) == 7 and body["problems"] == []
    odr = next(m for m in account["metrics"] if m["metric"] == "odr" and m["fulfillment"] == "MFN")
    assert odr["limit"] == 0.01 and odr["marketplace"] == "Amazon.com" and len(odr["history"]) == 2


def test_forms_refuse_a_missing_token_and_another_origin(served):
    url, _, _ = served()
    form = {"account": "sim", "until": "2030-01-01T00:00", "reason": "x"}
    assert httpx.post(url + "silences", data=form).status_code == 403
    page = httpx.get(url).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    forged = httpx.post(url + "silences", data=form | {"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert httpx.post(url + "silences", data=form | {"csrf": csrf}).status_code == 303


def test_a_forged_host_is_refused_on_every_route_before_any_form_or_token_check(served):
    """DNS rebinding: a page on evil.example points its own name at 127.0.0.1 and talks to the daemon as itself."""
    url, _, app = served()
    port = url.rstrip("/").rsplit(":", 1)[1]
    forged = {"Host": f"evil.example:{port}"}
    csrf = httpx.get(url).text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    for path in ("", "api/status", "metrics", "healthz", "accounts/sim", "accounts/sim/plan"):
        assert httpx.get(url + path, headers=forged).status_code == 400, path
    form = {"account": "sim", "until": "2099-01-01T00:00", "reason": "muted by another site", "csrf": csrf}
    posted = httpx.post(url + "silences", data=form, headers=forged | {"Origin": f"http://evil.example:{port}"})
    assert posted.status_code == 400
    assert "muted by another site" not in httpx.get(url).text  # nothing was stored
    for name in ("localhost", "127.0.0.1", "[::1]"):
        assert httpx.get(url + "healthz", headers={"Host": f"{name}:{port}"}).status_code == 200, name


def test_a_forged_host_is_refused_even_with_the_token_and_a_listed_name_is_served(served):
    url, _, _ = served('port = 0\ntoken_env = "TOKEN"\nallowed_hosts = ["sentinel.example.com"]')
    port = url.rstrip("/").rsplit(":", 1)[1]
    bearer = {"Authorization": "Bearer s3cret-token"}
    assert httpx.get(url, headers=bearer | {"Host": f"evil.example:{port}"}).status_code == 400
    assert httpx.get(url, headers=bearer | {"Host": "sentinel.example.com"}).status_code == 200


def test_every_address_without_a_listed_name_is_a_config_error_that_names_the_fix(tmp_path):
    with pytest.raises(Exception, match="list the names browsers use in allowed_hosts"):
        config_for(tmp_path, 'host = "0.0.0.0"\ntoken_env = "TOKEN"')
    with pytest.raises(Exception, match="allowed_hosts has 'https://x.example', which is not a host name"):
        config_for(tmp_path, 'allowed_hosts = ["https://x.example"]')


def test_hostile_text_is_escaped_and_bad_silences_get_the_clis_sentence(served):
    url, _, _ = served()
    csrf = httpx.get(url).text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    hostile = '<script>alert("x")</script>'
    httpx.post(url + "silences", data={"account": "sim", "until": "2030-01-01T00:00", "reason": hostile, "csrf": csrf})
    page = httpx.get(url).text
    assert hostile not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    past = httpx.post(url + "silences", data={"account": "sim", "until": "2020-01-01T00:00", "reason": "r", "csrf": csrf})
    assert past.status_code == 400 and "is already past; give a future instant" in past.text


def test_beyond_loopback_a_token_is_required_and_healthz_stays_open(served, tmp_path):
    url, _, _ = served('host = "127.0.0.1"\nport = 0\ntoken_env = "TOKEN"')
    assert httpx.get(url).status_code == 401 and httpx.get(url + "metrics").status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    basic = base64.b64encode(b"anyone:s3cret-token").decode()
    assert httpx.get(url + "api/status", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url + "healthz").status_code == 200
    with pytest.raises(Exception, match="beyond loopback, and no token is set"):
        config_for(tmp_path, 'host = "0.0.0.0"')


@pytest.mark.skipif(CHROMIUM is None and not BROWSER_REQUIRED, reason="Debian's chromium is not installed here")
def test_the_page_in_a_real_browser_shows_charts_with_the_limit_line_and_adds_a_silence(served, tmp_path):
    from playwright.sync_api import sync_playwright

    url, _, _ = served()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM or "/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(url)
            assert page.locator("article.card").count() == 7
            assert page.locator("article.card[data-metric=odr][data-fulfillment=MFN] svg.chart line.limit-line").count() == 1
            assert page.locator("svg.chart polyline.series").count() >= 1
            page.fill("#add-silence input[name=until]", "2030-01-01T00:00")
            page.fill("#add-silence input[name=reason]", "carrier strike")
            page.fill("#add-silence input[name=metric]", "lsr_10d")
            page.click("#add-silence button[type=submit]")
            page.wait_for_load_state()
            assert page.locator("#silences + table").inner_text().count("carrier strike") == 1
            page.screenshot(path=str(tmp_path / "status-page.png"), full_page=True)
            page.click("#silences + table button")
            page.wait_for_load_state()
            assert "carrier strike" not in page.locator("#silences + table").inner_text()
        finally:
            browser.close()


def test_the_evaluation_after_a_poll_is_what_the_status_readers_take_without_evaluating_again(served, tmp_path):
    url, clock, app = served()
    account = app.accounts[0]
    with app.store.sessions() as session:
        cursors = cursors_of(session, [account.name])[account.name]
        fresh = status_report(session, config_for(tmp_path), clock.now(), history=False)["accounts"][0]
    at = parse_instant(fresh["as_of"])

    def evaluate_again():
        raise AssertionError("the status readers evaluated again what the poll's evaluation had just found")

    kept = app.evaluated.get(account.name, version_of(at, cursors), evaluate_again)
    assert kept == fresh["metrics"] and len(kept) == 7


def test_status_on_the_command_line_takes_the_running_daemons_report_only_for_its_own_database(served, tmp_path):
    with socket.socket() as probe:  # a free port the config can name
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served(f"port = {port}")
    out = io.StringIO()
    assert print_status(config_for(tmp_path, f"port = {port}"), out) == 0
    assert f"as the running daemon last evaluated each account (http://127.0.0.1:{port}/api/status)" in out.getvalue()
    assert "odr " in out.getvalue() and "1.00%" in out.getvalue()
    # Another database's config naming the same port: that daemon's report is not its own, so it reads its own.
    (tmp_path / "other").mkdir()
    out = io.StringIO()
    assert print_status(config_for(tmp_path / "other", f"port = {port}"), out) == 0
    assert "running daemon" not in out.getvalue() and "sim: no data yet" in out.getvalue()


def test_the_banner_says_no_poll_has_succeeded_rather_than_every_feed_is_current(tmp_path):
    from daemon.pipeline import record_feed_failure, record_feed_success
    from daemon.errors import SourceUnavailable

    config = config_for(tmp_path)
    clock = ManualClock(SCENARIO.end)
    app = build(config, clock, api_url="http://127.0.0.1:9")  # nothing answers there
    record_feed_failure(app.store, "sim", "orders", clock.now(), SourceUnavailable("HTML 504 from the edge"))
    web = WebServer(status_app(config, app.store, clock, clock.now(), "test", DatabaseOutage(clock)), "127.0.0.1", 0)
    url = web.start()
    try:
        page = httpx.get(url).text
        assert "No poll has succeeded yet</strong> for sim" in page and "Every feed is current" not in page
        record_feed_success(app.store, "sim", "orders", clock.now())
        assert "Every feed is current" in httpx.get(url).text
    finally:
        web.stop()
