"""One line per alert on a stream: the demo's and journald's view."""
from __future__ import annotations

from typing import IO

from alerts.marketplaces import marketplace_name
from alerts.model import RenderedMessage


class ConsoleChannel:
    kind = "console"

    def __init__(self, name: str, stream: IO[str]) -> None:
        self.name, self._stream = name, stream

    def send(self, message: RenderedMessage, delivery_id: str) -> None:
        """One line per alert; a group of alerts raised together under one line of its own."""
        d = message.data
        members = d.get("group")
        if members:
            self._stream.write(f"ALERT {d.get('status', '?').upper():8} {d.get('account', '')}: {len(members)} changes\n")
            for member in members:
                self._stream.write(f"  {self._line(member, message.subject)}\n")
        else:
            self._stream.write(f"ALERT {self._line(d, message.subject)}\n")
        self._stream.flush()

    @staticmethod
    def _line(d: dict, subject: str) -> str:
        line = (f"{d.get('status', '?').upper():8} {d.get('account', '')} {marketplace_name(d.get('marketplace_id', ''))} "
                f"{d.get('metric', '')}: {d.get('headline', subject)}")
        if d.get("reason") == "worse" and d.get("explanation"):
            line += f" [{d['explanation'][0]}]"  # a repeat says what got worse
        return line
