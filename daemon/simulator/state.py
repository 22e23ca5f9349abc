"""The state of one simulated order as the API shows it at an instant."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.simulator.scenario import Event, OrderTimeline


@dataclass(frozen=True)
class OrderState:
    timeline: OrderTimeline
    as_of: datetime
    ship: Event | None
    cancel: Event | None
    delivered: Event | None
    last_update: datetime  # Orders v0 LastUpdateDate: latest order, ship or cancel event
    last_update_2026: datetime  # Orders 2026 lastUpdatedTime: deliveries move it too, unless the profile freezes it
    pending: bool = False  # still inside the Pending spell after purchase (payment authorisation)

    @property
    def status(self) -> str:
        if self.cancel is not None:
            return "Canceled"
        if self.ship is not None:
            return "Shipped"
        return "Pending" if self.pending else "Unshipped"

    @property
    def data(self) -> dict:
        return self.timeline.order.data


def order_state(timeline: OrderTimeline, as_of: datetime, pending: timedelta = timedelta(0),
                delivery_moves_update: bool = True) -> OrderState:
    """What the API shows of an order at `as_of`."""
    ship = cancel = delivered = None
    last = last_2026 = timeline.order.at
    for event in timeline.events:
        if event.at > as_of:
            break
        if event.type == "ship":
            ship = event
        elif event.type == "cancel":
            cancel = event
        elif event.type == "deliver":
            delivered = event
        else:
            continue
        if event.type != "deliver":
            last = max(last, event.at)
        if event.type != "deliver" or delivery_moves_update:
            last_2026 = max(last_2026, event.at)
    still_pending = as_of < timeline.order.at + pending
    return OrderState(timeline, as_of, ship, cancel, delivered, last, last_2026, still_pending)
