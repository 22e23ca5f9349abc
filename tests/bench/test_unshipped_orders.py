"""The bench reads the unshipped orders of ship-by days to come and the seller's handling time, and the units promised
for days to come and the seller's delivery lead, as the daemon does (daemon/observe.py)."""
from datetime import date, datetime, timezone

from bench.calibration import _leads
from bench.observer import DELIVERY_LEAD, PROMISED, SHIP_LEAD, UNSHIPPED, account_changes, sweep

MP = "ATVPDKIKX0DER"


def order_events(n: int, bought: str, ship_by: str, shipped: str | None, promised: str = "2026-05-20T00:00:00Z",
                 quantity: int = 1) -> list[tuple[datetime, dict]]:
    at = datetime.fromisoformat(bought)
    events = [(at, {"type": "order", "order_id": f"111-{n:07d}-0000001", "marketplace_id": MP, "channel": "MFN",
                    "purchase_date": bought, "latest_ship_date": ship_by, "latest_delivery_date": promised,
                    "quantity": quantity})]
    if shipped:
        events.append((datetime.fromisoformat(shipped), {"type": "ship", "order_id": f"111-{n:07d}-0000001",
                                                         "carrier": "UPS", "tracking_id": "1Z", "tracking_valid": True}))
    return events


def seen_by_day(events: list[tuple[datetime, dict]], bucket: str, lead: str) -> dict[int, tuple[dict, dict]]:
    """At midnight of 1, 2 and 3 May: the bucket's days from 1 May on, and the leads, as the bench reads them."""
    instants = [datetime(2026, 5, d, tzinfo=timezone.utc) for d in (1, 2, 3)]
    return {at.day: (buckets.series((bucket, "MFN", MP), date(2026, 5, 1), date.max), _leads(buckets, lead, MP, at.date()))
            for at, buckets in sweep(account_changes(sorted(events, key=lambda e: e[0]), None), instants)}


def test_an_order_is_unshipped_on_its_ship_by_day_from_its_purchase_to_its_shipment_and_dates_its_lead():
    events = order_events(1, "2026-05-01T10:00:00Z", "2026-05-03T23:59:59Z", "2026-05-02T12:00:00Z")
    events += order_events(2, "2026-05-01T20:00:00Z", "2026-05-02T23:59:59Z", None)
    seen = seen_by_day(events, UNSHIPPED, SHIP_LEAD)
    assert seen[1] == ({}, {})
    assert seen[2] == ({date(2026, 5, 2): (1, 1), date(2026, 5, 3): (1, 1)}, {1: 1, 2: 1})
    assert seen[3] == ({date(2026, 5, 2): (1, 1), date(2026, 5, 3): (0, 0)}, {1: 1, 2: 1})


def test_an_orders_units_are_promised_on_its_delivery_day_from_its_purchase_until_it_is_cancelled_and_date_its_lead():
    events = order_events(1, "2026-05-01T10:00:00Z", "2026-05-03T23:59:59Z", "2026-05-02T12:00:00Z",
                          promised="2026-05-08T23:59:59Z", quantity=3)
    events += order_events(2, "2026-05-01T20:00:00Z", "2026-05-02T23:59:59Z", None, promised="2026-05-07T23:59:59Z")
    events.append((datetime.fromisoformat("2026-05-02T08:00:00Z"),
                   {"type": "cancel", "order_id": "111-0000002-0000001", "by": "buyer", "reason": "BuyerCanceled"}))
    seen = seen_by_day(events, PROMISED, DELIVERY_LEAD)
    assert seen[1] == ({}, {})
    assert seen[2] == ({date(2026, 5, 7): (1, 1), date(2026, 5, 8): (3, 3)}, {6: 1, 7: 1})
    assert seen[3] == ({date(2026, 5, 7): (0, 0), date(2026, 5, 8): (3, 3)}, {6: 1, 7: 1})
