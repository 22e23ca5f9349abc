"""The bench reads ODR defects and their removals from the daemon's view as the daemon does from its database."""
from datetime import date, datetime, timedelta, timezone

from bench.calibration import _defect_events

AT = datetime(2026, 5, 1, tzinfo=timezone.utc)
BUCKET = ("odr", "MFN", "ATVPDKIKX0DER")
MP_FF = ("ATVPDKIKX0DER", "MFN")
ORDERED = date(2026, 4, 20)


def test_a_removal_undoes_the_days_earliest_standing_defect_and_says_how_long_it_stood():
    changes = [
        (AT, BUCKET, ORDERED, 1, 0),  # feedback at age 11
        (AT + timedelta(days=2), BUCKET, ORDERED, 2, 0),  # two more at age 13
        (AT + timedelta(days=2), BUCKET, ORDERED, 0, 1),  # an order, no defect
        (AT + timedelta(days=6), BUCKET, ORDERED, -1, 0),  # the first one removed, six days after it came
        (AT + timedelta(days=7), ("lsr_10d", "MFN", "ATVPDKIKX0DER"), ORDERED, -1, 0),  # not ODR
    ]
    assert _defect_events(changes) == [
        (AT, MP_FF, ORDERED, 11, None),
        (AT + timedelta(days=2), MP_FF, ORDERED, 13, None),
        (AT + timedelta(days=2), MP_FF, ORDERED, 13, None),
        (AT + timedelta(days=6), MP_FF, ORDERED, 11, 6),
    ]
