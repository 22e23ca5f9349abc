"""Alerts as files: a .eml per delivery a mail program opens, and an alerts.jsonl log. Resends overwrite, never duplicate."""
from __future__ import annotations

import json
import re
from pathlib import Path

from alerts.channels.email import build_email
from alerts.model import RenderedMessage
from daemon.clock import Clock


class FileChannel:
    kind = "file"

    def __init__(self, name: str, directory: Path, clock: Clock) -> None:
        self.name, self._directory, self._clock = name, directory, clock

    def send(self, message: RenderedMessage, delivery_id: str) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", delivery_id)
        mail = build_email(message, delivery_id, "seller-sentinel@localhost", ("seller@localhost",), self._clock)
        temporary = self._directory / f".{safe}.eml.tmp"
        temporary.write_bytes(bytes(mail))
        temporary.replace(self._directory / f"{safe}.eml")
        log = self._directory / "alerts.jsonl"
        line = json.dumps(dict(message.data, delivery_id=delivery_id), sort_keys=True)
        if log.exists() and f'"delivery_id": {json.dumps(delivery_id)}' in log.read_text(encoding="utf-8"):
            return
        with log.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
