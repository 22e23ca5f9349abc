"""The bench reads the shipments Amazon's report does not show yet as the daemon does (alerts/unreported.py)."""
from datetime import date, datetime, timedelta, timezone

from alerts.unreported import unreported
from bench.calibration import _shipments, _unreported

AT = datetime(2026, 5, 2, tzinfo=timezone.utc)
MP = "ATVPDKIKX0DER"


def test_the_bench_counts_the_shipments_of_the_last_72_hours_as_the_daemon_does():
    ship_by = date(2026, 4, 30)
    confirmed = [(AT - timedelta(hours=h), late) for h, late in ((2, True), (30, False), (50, True), (80, True))]
    local = [(at, ("lsr_10d", "MFN", MP), ship_by, int(late), 1) for at, late in sorted(confirmed)]
    local.append((AT - timedelta(hours=1), ("cr_7d", "MFN", MP), ship_by, 1, 1))  # not a shipment
    local.append((AT + timedelta(hours=1), ("lsr_10d", "MFN", MP), ship_by, 1, 1))  # not yet confirmed at AT
    by_daemon = unreported([(ship_by, at, int(late), 1) for at, late in confirmed], AT)
    assert by_daemon == {(ship_by, 3): (1, 1), (ship_by, 2): (0, 1), (ship_by, 1): (1, 1)}
    assert _unreported(_shipments(local)[MP], AT) == by_daemon
