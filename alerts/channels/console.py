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
        d = message.data
        self._stream.write(f"ALERT {d.get('status', '?').upper():8} {d.get('account', '')} {marketplace_name(d.get('marketplace_id', ''))} "
                           f"{d.get('metric', '')}: {d.get('headline', message.subject)}\n")
        self._stream.flush()
