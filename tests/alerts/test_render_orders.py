"""The orders behind an alert in every message: a table of the first 20 in e-mail, the first 10 and "and N more" in
Slack within its limits, every one (to the cap) in the webhook body, and the plan of action; hostile buyer text
escaped in each."""
from dataclasses import replace
from datetime import date, timedelta

from alerts.actions import OrderDetail, order_refs
from alerts.metrics.contributions import OrderFacts
from alerts.plan import PlanFigures, render_plan
from alerts.render import render
from tests.alerts.samples import HOSTILE, RAISED, odr_warning

PAGE = "http://127.0.0.1:8787/accounts/main"
SLACK_BLOCKS, SLACK_TEXT = 50, 3000  # Slack's published limits per message and per text object


def defective(n: int) -> OrderDetail:
    facts = OrderFacts(
        marketplace_id="ATVPDKIKX0DER", channel="MFN", purchase_at=RAISED - timedelta(days=40 + n % 20),
        latest_ship_at=None, latest_delivery_at=None, quantity=1, ship_confirmed_at=RAISED - timedelta(days=39),
        cancelled=False, cancel_by=None, cancel_reason=None, tracking_valid=True, delivered_at=None,
        negative_feedback=True, claims_granted=0, chargebacks_granted=0,
    )
    return OrderDetail(f"111-{n:07d}-0000001", facts, carrier="UPS | <!here>", feedback_rating=1,
                       feedback_day=date(2026, 2, 10), feedback_comment=HOSTILE + " *bold* | cell")


def alert_with_orders(count: int = 200):
    refs = order_refs("odr", [defective(n) for n in range(count)], [], [])
    details = {"orders": [r.described() for r in refs], "orders_total": count, "page_url": PAGE,
               "plan_url": PAGE + "/plan?marketplace=ATVPDKIKX0DER&metric=odr&fulfillment=MFN"}
    return replace(odr_warning(), details=details), refs


def test_the_email_shows_the_first_twenty_orders_and_links_the_rest_with_buyer_text_escaped():
    alert, _ = alert_with_orders()
    message = render(alert)
    assert message.html.count("111-00000") == 20
    assert "20 of 200 shown" in message.html and f'href="{PAGE}"' in message.html
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "The orders behind it (200):" in message.text and "... 180 more" in message.text
    assert "A draft plan of action: " + PAGE + "/plan?" in message.text


def test_the_slack_message_keeps_within_slacks_limits_and_says_how_many_more():
    alert, _ = alert_with_orders()
    body = render(alert).slack
    assert len(body["blocks"]) <= SLACK_BLOCKS
    texts = [b["text"]["text"] for b in body["blocks"] if "text" in b] + [
        f["text"] for b in body["blocks"] for f in b.get("fields", [])]
    assert all(len(t) <= SLACK_TEXT for t in texts)
    orders = next(t for t in texts if t.startswith("*Orders* (200)"))
    assert orders.count("111-00000") == 10 and f"and 190 more: <{PAGE}|the full list>" in orders
    assert "<!here>" not in " ".join(texts)  # Slack's control characters are escaped everywhere


def test_the_webhook_body_carries_every_order_up_to_the_cap_with_the_total():
    alert, refs = alert_with_orders()
    data = render(alert).data
    assert data["version"] == "1" and data["orders_total"] == 200
    assert [o["order_id"] for o in data["orders"]] == [r.order_id for r in refs]
    assert data["orders"][0]["feedback_comment"].startswith("<script>")  # JSON carries it as data, unchanged


def test_the_email_of_an_alert_without_orders_has_no_orders_table():
    message = render(odr_warning())
    assert "orders behind it" not in message.html and "orders behind it" not in message.text


def test_the_plan_escapes_buyer_text_so_it_cannot_break_its_tables_or_inject_markup():
    _, refs = alert_with_orders(3)
    figures = PlanFigures(account="main", seller_id="A2EXAMPLESELLER", marketplace="Amazon.com", metric="odr",
                          metric_name="Order Defect Rate", fulfillment="MFN", at=RAISED, numerator=3, denominator=200,
                          limit=0.01, direction="upper", window="orders purchased 2026-01-01 to 2026-02-28",
                          amazon_value=0.015)
    plan = render_plan(figures, refs)
    rows = [line for line in plan.splitlines() if line.startswith("| 111-")]
    assert len(rows) == 3 and all(line.count(" | ") == 4 for line in rows)  # no stray cell separators
    assert "<script>" not in plan and "\\<script\\>" in plan and "\\*bold\\*" in plan
    assert "## Root cause" in plan and "**[Seller to write" in plan


def test_a_deadline_is_worded_for_what_it_is_and_says_when_it_has_passed():
    unshipped = replace(defective(1).facts, negative_feedback=False, ship_confirmed_at=None,
                        latest_ship_at=RAISED - timedelta(hours=5))
    claimed = replace(defective(2).facts, negative_feedback=False, claims_granted=1)
    refs = order_refs("odr", [OrderDetail("C-OLD", claimed, claim_granted_at=RAISED - timedelta(days=31)),
                              OrderDetail("C-NEW", claimed, claim_granted_at=RAISED - timedelta(days=2))], [], [])
    refs += order_refs("lsr_10d", [], [OrderDetail("S-LATE", unshipped)], [])
    alert = replace(odr_warning(), details={"orders": [r.described() for r in refs], "orders_total": len(refs)})
    text = render(alert).text
    assert "S-LATE  not yet shipped, past its ship-by, 28 Feb 19:00 UTC" in text
    assert "C-NEW  A-to-z claim granted, appeal by 29 Mar 00:00 UTC" in text
    assert "C-OLD  A-to-z claim granted, appeal closed 28 Feb 00:00 UTC" in text
