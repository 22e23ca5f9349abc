"""The orders behind a metric, the to-do and the words around them (alerts/actions.py), as tables of cases."""
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from alerts.actions import (
    OrderDetail, acting_sentences, cause_sentences, counted_kinds, order_refs, todo_items,
)
from tests.alerts.test_contributions import SHIPPED, at

NOW = datetime(2026, 3, 20, tzinfo=timezone.utc)
FACTS = replace(SHIPPED, quantity=1)


def order(order_id: str, **changes) -> OrderDetail:
    detail_keys = {"carrier", "shipping_service", "tracking_number", "feedback_rating", "feedback_day",
                   "feedback_comment", "claim_granted_at", "chargeback_granted_at", "buyer_cancel_requested"}
    detail = {k: v for k, v in changes.items() if k in detail_keys}
    facts = {k: v for k, v in changes.items() if k not in detail_keys}
    return OrderDetail(order_id, replace(FACTS, **facts), **detail)


@pytest.mark.parametrize("metric, facts, kinds", [
    ("odr", {"negative_feedback": True, "claims_granted": 1}, ("negative_feedback", "a_to_z_claim")),
    ("odr", {"chargebacks_granted": 1}, ("chargeback",)),
    ("lsr_10d", {}, ("late_shipment",)),
    ("cr_7d", {"cancelled": True, "cancel_by": "seller"}, ("cancelled_by_seller",)),
    ("cr_7d", {"cancelled": True, "cancel_by": "unknown"}, ("cancelled_by_seller",)),
    ("cr_7d", {"cancelled": True, "cancel_by": "amazon"}, ("cancelled_by_amazon",)),
    ("vtr_30d", {"tracking_valid": False}, ("invalid_tracking",)),
    ("otdr_14d", {"delivered_at": None}, ("late_delivery",)),
])
def test_each_counted_order_says_why_it_counts(metric, facts, kinds):
    assert counted_kinds(metric, replace(FACTS, **facts)) == kinds


def test_orders_are_sorted_by_role_then_deadline_with_unknown_deadlines_last_then_id():
    claimed = order("C-1", negative_feedback=True, claims_granted=1, claim_granted_at=at(10))
    refs = order_refs("odr", [order("B-2", negative_feedback=True), claimed, order("A-3", negative_feedback=True)], [], [])
    assert [(r.order_id, r.due_at) for r in refs] == [("C-1", at(10) + timedelta(days=30)), ("A-3", None), ("B-2", None)]
    assert refs[0].row() == {"order_id": "C-1", "role": "counted", "kinds": ["negative_feedback", "a_to_z_claim"],
                             "due_at": "2026-04-09T12:00:00Z"}


def test_unshipped_orders_are_at_risk_for_the_shipping_metrics_only():
    late = order("L-1", ship_confirmed_at=at(4))
    open_order = order("U-1", ship_confirmed_at=None, latest_ship_at=at(20, 23))
    refs = order_refs("lsr_10d", [late], [open_order], [])
    assert [(r.role, r.order_id, r.kinds, r.due_at) for r in refs] == [
        ("at_risk", "U-1", ("unshipped",), at(20, 23)), ("counted", "L-1", ("late_shipment",), None)]
    assert [r.role for r in order_refs("vtr_30d", [], [open_order], [])] == []


def test_the_todo_puts_past_due_first_and_offers_an_appeal_only_before_its_deadline():
    overdue = order("S-1", ship_confirmed_at=None, latest_ship_at=at(18, 23))
    due_soon = order("S-2", ship_confirmed_at=None, latest_ship_at=at(21, 23), buyer_cancel_requested=True)
    untracked = order("T-1", tracking_valid=False)
    fresh_claim = order("C-1", claims_granted=1, claim_granted_at=at(1))
    old_claim = order("C-2", claims_granted=1, claim_granted_at=datetime(2026, 2, 1, tzinfo=timezone.utc))
    feedback = order("F-1", negative_feedback=True, feedback_rating=1, feedback_day=date(2026, 3, 5))
    items = todo_items(NOW, [due_soon, overdue], [untracked], [], [fresh_claim, old_claim, feedback])
    assert [(t.order_id, t.action) for t in items] == [
        ("S-1", "ship"), ("S-2", "cancel_buyer_request"), ("S-2", "ship"), ("C-1", "appeal_claim"),
        ("F-1", "request_feedback_removal"), ("T-1", "fix_tracking")]
    assert items[0].row(NOW) == {"at": "2026-03-20T00:00:00Z", "marketplace_id": "ATVPDKIKX0DER", "order_id": "S-1",
                                 "action": "ship", "due_at": "2026-03-18T23:00:00Z",
                                 "metrics": ["lsr_10d", "lsr_30d", "cr_7d"]}
    assert items[0].described(NOW)["overdue"] is True


def test_the_breach_arithmetic_says_how_many_due_orders_must_ship_on_time():
    due = [order(f"S-{i}", ship_confirmed_at=None, latest_ship_at=NOW + timedelta(hours=18)) for i in range(7)]
    refs = order_refs("lsr_10d", [], due, [])
    sentences = acting_sentences("lsr_10d", 2, 100, 3, 1, 25, refs, NOW)
    assert sentences == ["7 due to ship by 18:00 UTC today (not yet confirmed or cancelled); 3 more late shipments "
                         "breach: ship at least 5 of the 7 due on time."]


@pytest.mark.parametrize("denominator, sentence", [
    (700, "Removing all 3 negative feedbacks would bring ODR to 0.43%."),
    (400, "Removing 3 of these 3 negative feedbacks brings ODR back to 0.75%."),
    (250, "Removing the 3 negative feedbacks and winning 1 of the 2 claim appeals still open (the first closes "
          "9 April) brings ODR back to 0.80%."),
    (100, "Even with every negative feedback removed and every open claim appeal won, ODR stays at 1.00%: it falls "
          "as the defective orders leave Amazon's window, the oldest on 14 May."),
])
def test_undoing_defects_is_said_with_the_rate_it_brings_back(denominator, sentence):
    """Six defective orders: three with negative feedback, two claims still open to appeal, one past its appeal."""
    feedback = [order(f"F-{i}", negative_feedback=True) for i in range(3)]
    claims = [order(f"C-{i}", claims_granted=1, claim_granted_at=at(10 + i)) for i in range(2)]
    expired = [order("C-9", claims_granted=1, claim_granted_at=datetime(2026, 1, 5, tzinfo=timezone.utc))]
    refs = order_refs("odr", feedback + claims + expired, [], [])
    assert acting_sentences("odr", 6, denominator, 0, 1, 100, refs, NOW) == [sentence]


def test_a_cause_is_said_only_when_one_slice_carries_most_defects():
    late = [order(f"D-{i}", delivered_at=None, carrier="CarrierX" if i < 5 else "UPS", purchase_at=at(1 + i))
            for i in range(6)]
    assert cause_sentences(order_refs("otdr_14d", late, [], [])) == ["5 of 6 late deliveries went with CarrierX."]
    even = [order(f"D-{i}", delivered_at=None, carrier=("UPS", "FedEx", "DHL")[i % 3],
                  purchase_at=at(1 + i)) for i in range(6)]
    assert cause_sentences(order_refs("otdr_14d", even, [], [])) == []
    assert cause_sentences(order_refs("otdr_14d", late[:2], [], [])) == []  # too few to say
