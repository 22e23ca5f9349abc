"""What a ticket channel needs of a tracker (GitHub Issues, Jira, Zendesk): find, open, comment, close."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from daemon.errors import DeliveryError


@dataclass(frozen=True)
class TicketRef:
    ticket_id: str
    url: str


@dataclass(frozen=True)
class TicketView:
    """A ticket as the tracker shows it now."""

    ref: TicketRef
    closed: bool
    declined: bool  # closed by a person as won't-fix / not planned: not to be reopened
    labels: tuple[str, ...] = ()  # or tags: what a level change keeps
    final: bool = False  # closed for good (Zendesk's "closed"): it takes no more changes, so a new ticket follows it


@dataclass(frozen=True)
class Note:
    """What a ticket says, in the channel's words; each tracker writes it in its own format, escaped."""

    title: str  # the ticket's summary (opening notes only)
    paragraphs: tuple[str, ...]
    bullets: tuple[tuple[str, tuple[str, ...]], ...]  # (heading, lines)
    links: tuple[tuple[str, str], ...]  # (words, url)


class Tracker(Protocol):
    kind: str

    def find(self, marker: str) -> TicketView | None:
        """The ticket carrying an incident's marker, whatever its state; None if there is none (or it was deleted)."""

    def get(self, ref: TicketRef) -> TicketView | None:
        """The ticket now; None once deleted on the tracker's side."""

    def open(self, marker: str, note: Note, level: str, follows: str | None) -> TicketRef: ...

    def comment(self, ref: TicketRef, note: Note, once_key: str, look_first: bool) -> None:
        """Add a comment carrying `once_key`; with `look_first`, unless one carrying it is already there (the retry of
        a comment whose answer was lost)."""

    def set_level(self, view: TicketView, level: str) -> None: ...

    def close(self, ref: TicketRef) -> None: ...

    def reopen(self, ref: TicketRef) -> None: ...


def marker_of(incident: str) -> str:
    """The label, tag or external id that finds an incident's ticket again: short, and free of the account's name."""
    return "sentinel-" + hashlib.sha256(incident.encode("utf-8")).hexdigest()[:16]


def error_message(body: Any) -> str:
    """The tracker's own words from an error body, shortened: what a dead delivery shows the seller."""
    if isinstance(body, dict):
        for key in ("message", "errorMessages", "errors", "details", "description", "error"):
            said = body.get(key)
            if isinstance(said, list) and said:
                return _words(said, "; ")[:300]
            if isinstance(said, dict) and said:  # Jira: field -> what is wrong; Zendesk: field -> [{description}]
                return "; ".join(f"{field}: {_words(words)}" for field, words in said.items())[:300]
            if said:
                return str(said)[:300]
    return ""


def _words(said: Any, between: str = ", ") -> str:
    """A list of complaints, as strings or as objects that say it in one of their fields."""
    if isinstance(said, list):
        return between.join(next((str(item[k]) for k in ("description", "detail", "title", "message") if item.get(k)),
                              str(item)) if isinstance(item, dict) else str(item) for item in said)
    return str(said)


def send(http: httpx.Client, host: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request to a tracker; a timeout or a connection failure is a transient failure that names only the host."""
    try:
        return http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise DeliveryError(f"{host} timed out", permanent=False) from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"{host} unreachable ({type(exc).__name__})", permanent=False) from None


def refusal(host: str, response: httpx.Response) -> str:
    """A failed answer in words: its status and the tracker's own message."""
    try:
        said = error_message(response.json())
    except ValueError:
        said = ""
    return f"{host} answered HTTP {response.status_code}" + (f": {said}" if said else "")
