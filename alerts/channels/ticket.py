"""One ticket per incident on the tracker the seller's team works in, kept in step with the alert.

An incident is one alert key's episode, from its first notice to its resolution. The first notice opens a ticket;
a later one comments on it (what changed) and moves its level; the resolution comments and closes it. Raised again
within `reopen_days`, the same ticket is reopened, unless a person closed it as won't-fix / not planned; later, or
once the tracker has closed it for good, a new ticket follows the old one.

Exactly once: each delivery may be sent again (a crash before the outbox recorded it, a lost answer, a retry), so
every step is one the tracker can be asked twice. A ticket carries its incident's marker and is looked for by it
before one is opened, and the notice that opened it changes nothing when sent again; a comment carries its delivery's
key, and the ledger (storage/tickets_repo.py) notes that delivery before the comment goes out and keeps it after, so
only a retry of it looks for the comment; closing, reopening and levels are states. The ledger's ticket is
written after the tracker answered: a crash in between is mended by the marker.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alerts.breach import chance_text
from alerts.channels.trackers.base import Note, TicketRef, TicketView, Tracker, marker_of
from alerts.marketplaces import marketplace_name
from alerts.model import Level, RenderedMessage
from alerts.render import ORDERS_IN_EMAIL, SHORT, count, order_view, pct
from daemon.clock import parse_instant
from storage.tickets_repo import TicketLedger, TicketRow

logger = logging.getLogger(__name__)


class TicketChannel:
    kind = "ticket"

    def __init__(self, name: str, tracker: Tracker, ledger: TicketLedger, reopen_days: int = 7,
                 close_on_resolve: bool = True) -> None:
        self.name, self.tracker, self._ledger = name, tracker, ledger
        self._reopen = timedelta(days=reopen_days)
        self._close_on_resolve = close_on_resolve

    def send(self, message: RenderedMessage, delivery_id: str) -> None:
        data = message.data
        if data.get("type") not in ("alert", "operational", "amazon"):
            return  # digests summarise; they are no incident
        latest = self._ledger.latest(self.name, data["dedup_key"])
        if data["status"] == Level.RESOLVED.value:
            self._resolve(latest, data, delivery_id)
        elif latest is not None and latest.incident == _incident(data):
            return  # the notice that opened this ticket, sent again: the process died before the outbox recorded it
        elif latest is not None and latest.state == "open":
            self._update(latest, data, delivery_id)
        elif latest is not None and _instant(data) - latest.closed_at <= self._reopen:
            self._raise_again(latest, data, delivery_id)
        else:
            self._open(data, follows=latest)

    def _open(self, data: dict[str, Any], follows: TicketRow | None) -> None:
        incident = _incident(data)
        marker = marker_of(incident)
        found = self.tracker.find(marker)  # opened before a crash or a lost answer: adopted, not opened twice
        ref = found.ref if found else self.tracker.open(marker, opening_note(data), data["status"],
                                                         follows.url if follows else None)
        self._ledger.save(TicketRow(self.name, incident, data["dedup_key"], ref.ticket_id, ref.url, data["status"],
                                    "open", _instant(data)))
        logger.info("ticket opened channel=%s ticket=%s", self.name, ref.ticket_id)

    def _update(self, latest: TicketRow, data: dict[str, Any], delivery_id: str) -> None:
        view = self.tracker.get(_ref(latest))
        if view is None:
            logger.warning("ticket deleted on the tracker, opening a new one channel=%s ticket=%s", self.name,
                           latest.ticket_id)
            self._open(data, follows=None)
            return
        if view.declined:
            self._ledger.save(replace(latest, state="closed", closed_at=_instant(data)))
            logger.info("ticket closed as not planned by a person, left closed channel=%s ticket=%s", self.name,
                        latest.ticket_id)
            return
        if view.final:
            self._open(data, follows=latest)
            return
        if view.closed:
            self.tracker.reopen(view.ref)  # closed by hand while the alert still stands
        self._follow_up(latest, view, data, delivery_id)

    def _raise_again(self, latest: TicketRow, data: dict[str, Any], delivery_id: str) -> None:
        view = self.tracker.get(_ref(latest))
        if view is None:
            self._open(data, follows=None)
            return
        if view.declined:
            logger.info("ticket closed as not planned by a person, not reopened channel=%s ticket=%s", self.name,
                        latest.ticket_id)
            return
        if view.final:
            self._open(data, follows=latest)
            return
        self.tracker.reopen(view.ref)
        self._follow_up(replace(latest, state="open", closed_at=None), view, data, delivery_id, reopened=True)

    def _follow_up(self, latest: TicketRow, view: TicketView, data: dict[str, Any], delivery_id: str,
                   reopened: bool = False) -> None:
        self._comment(latest, view.ref, follow_up_note(data, latest.level, reopened), delivery_id)
        if data["status"] != latest.level:
            self.tracker.set_level(view, data["status"])
        self._ledger.save(replace(latest, level=data["status"], commenting=delivery_id))

    def _resolve(self, latest: TicketRow | None, data: dict[str, Any], delivery_id: str) -> None:
        if latest is None or latest.state != "open":
            return  # raised before this channel existed, or already closed
        view = self.tracker.get(_ref(latest))
        if view is not None and not view.declined and not view.final:
            self._comment(latest, view.ref, resolved_note(data), delivery_id)
            if self._close_on_resolve and not view.closed:
                self.tracker.close(view.ref)
        self._ledger.save(replace(latest, state="closed", closed_at=_instant(data), level=data["status"],
                                  commenting=None))
        logger.info("ticket closed channel=%s ticket=%s", self.name, latest.ticket_id)

    def _comment(self, latest: TicketRow, ref: TicketRef, note: Note, delivery_id: str) -> None:
        """Comment once: the delivery is written down before the comment goes out and stays written down after, so
        that its retry (the answer was lost, or the process died before the outbox recorded the delivery) looks for
        the comment first instead of adding it again."""
        if latest.commenting != delivery_id:
            self._ledger.save(replace(latest, commenting=delivery_id))
        self.tracker.comment(ref, note, delivery_id, look_first=latest.commenting == delivery_id)


def _incident(data: dict[str, Any]) -> str:
    """An incident is known by its alert key and the instant of the notice that opened its ticket."""
    return f"{data['dedup_key']}@{data['raised_at']}"


def _instant(data: dict[str, Any]) -> datetime:
    """When the alert was raised: the reopen window runs between alerts, however late the outbox delivered them."""
    return parse_instant(data["raised_at"])


def _ref(row: TicketRow) -> TicketRef:
    return TicketRef(row.ticket_id, row.url)


def _where(data: dict[str, Any]) -> str:
    return f"{data['account']} · {marketplace_name(data['marketplace_id'])}"


def _figures(data: dict[str, Any]) -> list[str]:
    """The value against the limit and the chance of a breach, for a metric."""
    if data.get("value") is None or data.get("limit") is None:
        return []
    name = SHORT.get(data["metric"], data["metric"])
    lines = [f"{name} ({data['fulfillment']}) is {pct(data['value'])} against a limit of {pct(data['limit'])}"
             + (f"; Amazon's own figure is {pct(data['amazon_value'])}" if data.get("amazon_value") is not None else "")
             + "."]
    left = data.get("defects_to_breach")
    if left:
        lines.append(f"{count(left, 'more defective order')} in the window {'breaches' if left == 1 else 'breach'} "
                     "the limit.")
    if data.get("breach_probability") is not None and data.get("defects_to_breach"):
        chance = f"The chance of a breach within {data['breach_probability_days']} days is " \
                 f"{chance_text(data['breach_probability'])}"
        if data.get("forecast_breach_at"):
            chance += f", most likely around {parse_instant(data['forecast_breach_at']).strftime('%-d %B %Y')}"
        lines.append(chance + ".")
    return lines


def _orders(data: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    now = parse_instant(data["raised_at"])
    lines = []
    for o in data.get("orders", [])[:ORDERS_IN_EMAIL]:
        view = order_view(o, now)
        lines.append(" · ".join(filter(None, (view["order_id"], view["why"], view["due"], view["facts"]))))
    more = data.get("orders_total", 0) - len(lines)
    if more > 0:
        lines.append(f"and {more} more on the status page")
    return f"Orders to act on ({data.get('orders_total', 0)})", tuple(lines)


def _links(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((words, data[key]) for words, key in (("Open the status page", "page_url"),
                                                       ("Draft a plan of action", "plan_url")) if data.get(key))


def opening_note(data: dict[str, Any]) -> Note:
    return Note(
        title=f"[{data['status'].upper()}] {_where(data)}: {data['headline']}",
        paragraphs=(data["headline"], *_figures(data), *data.get("explanation", ())),
        bullets=(("What to do next", tuple(data.get("advice", ()))), _orders(data)),
        links=_links(data),
    )


def follow_up_note(data: dict[str, Any], was: str, reopened: bool) -> Note:
    if reopened:
        change = f"Raised again: {data['status']}."
    elif data["status"] != was:
        change = f"Now {data['status']} (was {was})."
    else:
        change = f"Still {data['status']}, and worse."
    return Note(title="", paragraphs=(change, data["headline"], *_figures(data), *data.get("explanation", ())),
                bullets=(_orders(data),), links=_links(data))


def resolved_note(data: dict[str, Any]) -> Note:
    return Note(title="", paragraphs=("Resolved.", data["headline"], *_figures(data)), bullets=(), links=_links(data))
