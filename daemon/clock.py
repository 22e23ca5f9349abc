"""The only place that reads the wall clock or sleeps: everything else is handed a Clock."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from daemon.errors import Stopping


class Clock(Protocol):
    def now(self) -> datetime: ...  # aware, UTC

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time, for the daemon in production. With a `stop` event, every wait ends as soon as it is set (raising
    Stopping), so a stop is never held up by a backoff or a usage-plan wait."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._stop = stop

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if self._stop is None:
            if seconds > 0:
                time.sleep(seconds)
        elif self._stop.wait(max(seconds, 0.0)):
            raise Stopping(f"stopping during a wait of {seconds:.0f} s")


class ManualClock:
    """Virtual time: sleeping advances it. Thread-safe, because the simulator reads it from its own thread."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds=seconds)

    def advance(self, **delta: float) -> datetime:
        """Move time forward by a timedelta given as keyword arguments (days=, hours=, seconds=...)."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += step
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to an instant that is not in the past."""
        with self._lock:
            if instant < self._now:
                raise ValueError(f"cannot move clock back from {self._now} to {instant}")
            self._now = instant


class ScaledClock:
    """Virtual time running `speed` times faster than real time from `start` (the demo's clock)."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start = start
        self._speed = speed
        self._origin = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._origin) * self._speed + self._offset
        return self._start + timedelta(seconds=elapsed)

    def sleep(self, seconds: float) -> None:
        # Throttle waits are virtual seconds: skip them instead of waiting seconds/speed in real time.
        if seconds > 0:
            with self._lock:
                self._offset += seconds


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant ('Z' or offset) into an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_instant(value: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a Z suffix and whole seconds."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
