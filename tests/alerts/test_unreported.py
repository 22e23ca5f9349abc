"""Which seen shipments Amazon's report does not show yet, and on which day it will (72 hours after confirmation)."""
from datetime import date, datetime, timezone

from alerts.unreported import shown_in_days, unreported

AT = datetime(2026, 5, 2, tzinfo=timezone.utc)  # an evaluation at midnight


def test_a_shipment_shows_on_the_first_daily_publication_72_hours_after_its_confirmation():
    assert shown_in_days(datetime(2026, 5, 1, 10, tzinfo=timezone.utc), AT) == 3  # 4 May 10:00, published on the 5th
    assert shown_in_days(datetime(2026, 5, 1, tzinfo=timezone.utc), AT) == 2  # 4 May 00:00, that day's publication
    assert shown_in_days(datetime(2026, 4, 28, 23, tzinfo=timezone.utc), AT) == 0  # shown on today's


def test_unreported_shipments_are_counted_by_ship_by_day_and_by_the_day_they_show():
    ship_by = date(2026, 4, 30)
    seen = [(ship_by, datetime(2026, 5, 1, 8, tzinfo=timezone.utc), 1, 1),
            (ship_by, datetime(2026, 5, 1, 20, tzinfo=timezone.utc), 0, 1),
            (ship_by, datetime(2026, 4, 30, 9, tzinfo=timezone.utc), 0, 1),
            (date(2026, 4, 25), datetime(2026, 4, 27, tzinfo=timezone.utc), 1, 1)]  # already in the report
    assert unreported(seen, AT) == {(ship_by, 3): (1, 2), (ship_by, 2): (0, 1)}


def test_a_ship_by_day_still_to_come_counts_its_shipments_from_its_first_window_however_early_confirmed():
    ship_by = date(2026, 5, 4)  # in Amazon's window from the publication of 5 May, the third day ahead
    seen = [(ship_by, datetime(2026, 4, 20, tzinfo=timezone.utc), 0, 1),  # long shipped: shown as soon as its day counts
            (ship_by, datetime(2026, 5, 1, 10, tzinfo=timezone.utc), 0, 1)]
    assert unreported(seen, AT) == {(ship_by, 1): (0, 1), (ship_by, 3): (0, 1)}
