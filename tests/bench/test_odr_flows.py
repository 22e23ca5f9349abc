"""What entered and left Amazon's ODR window after an evaluation: only that window's orders, only in the 14 days after."""
from datetime import date, datetime, timedelta, timezone

import pytest

from bench.calibration import Case
from bench.odr_flows import flows, main

AT = datetime(2026, 5, 1, tzinfo=timezone.utc)
KEY = ("ATVPDKIKX0DER", "odr", "MFN")
BUCKET = ("odr", "MFN", "ATVPDKIKX0DER")
INSIDE = date(2026, 4, 1)  # the window of 15 May holds orders of 2 March to 1 May


def test_defects_that_entered_and_left_the_14th_days_window_in_the_14_days_after_are_counted():
    case = Case(KEY, AT, 0.1, 0.5, "warning", 500)
    changes = [
        (AT + timedelta(days=2), BUCKET, INSIDE, 1, 0),  # a negative feedback
        (AT + timedelta(days=3), BUCKET, INSIDE, 1, 0),  # a claim, from its filing...
        (AT + timedelta(days=9), BUCKET, INSIDE, -1, 0),  # ...denied
        (AT + timedelta(days=15), BUCKET, INSIDE, 1, 0),  # after the 14 days
        (AT - timedelta(days=1), BUCKET, INSIDE, -1, 0),  # before the evaluation
        (AT + timedelta(days=2), BUCKET, date(2026, 2, 20), 1, 0),  # an order out of that window
        (AT + timedelta(days=2), ("odr", "AFN", "ATVPDKIKX0DER"), INSIDE, 1, 0),  # the other channel
        (AT + timedelta(days=2), BUCKET, INSIDE, 0, 1),  # an order, no defect
    ]
    assert flows([case], changes) == (2, 1)


def test_a_band_that_is_not_two_chances_in_order_is_refused_with_the_form_it_takes(tmp_path, capsys):
    for band in ("0.4", "0.7,0.4", "a,b"):
        with pytest.raises(SystemExit):
            main(["--load", str(tmp_path / "evaluations.pickle"), "--band", band])
        assert "FROM" in capsys.readouterr().err
