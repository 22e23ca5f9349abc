"""Shipments the daemon has seen that Amazon's report does not show yet. Pure.

Amazon's report shows a shipping fact 72 hours after it happens (METRICS.md, "Amazon's cadence"), on its daily
publication at 00:00 UTC. A shipment confirmed in the last three days is therefore already decided, and the daemon
knows on which of the next days it enters Amazon's late-shipment figure: taken instead as an average share of its
ship-by day, a figure 0.7 of a late shipment under the limit could never cross the next day, and a seller whose
figure crossed the day after was told a 0% chance of it within three days.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

SHIPPING_REPORT_LAG = timedelta(hours=72)

# (ship-by day, days from the evaluation's day until Amazon's publication that first shows them) -> (late, shipped)
Unreported = Mapping[tuple[date, int], tuple[int, int]]


def shown_in_days(confirmed_at: datetime, at: datetime) -> int:
    """Days from `at`'s day until the first daily publication that shows a shipment confirmed at `confirmed_at`; 0 or
    less when the latest publication at or before `at` shows it already."""
    shown = confirmed_at + SHIPPING_REPORT_LAG
    midnight = datetime.combine(shown.date(), time(0), tzinfo=shown.tzinfo)
    publication = shown.date() if shown == midnight else shown.date() + timedelta(days=1)
    return (publication - at.date()).days


def unreported(shipments: Iterable[tuple[date, datetime, int, int]],
               at: datetime) -> dict[tuple[date, int], tuple[int, int]]:
    """From (ship-by day, confirmation instant, late, shipped) of the shipments confirmed by `at` (counts, so a bucket's
    changes can be given as they are), those Amazon's report does not show yet, by ship-by day and the day it will.
    A ship-by day still to come is in no window yet: its shipments count from its first window on, whenever confirmed."""
    out: dict[tuple[date, int], tuple[int, int]] = {}
    for ship_by_day, confirmed_at, late, shipped in shipments:
        days = shown_in_days(confirmed_at, at)
        if ship_by_day >= at.date():
            days = max(days, 1)
        if days > 0:
            num, den = out.get((ship_by_day, days), (0, 0))
            out[(ship_by_day, days)] = (num + late, den + shipped)
    return out
