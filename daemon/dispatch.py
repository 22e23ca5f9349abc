"""Polls every held account once per interval on a few worker threads, spread over the interval.

APScheduler ticks `tick()` every second or so; the dispatcher hands each account whose turn has come to a worker.
An account is never polled twice at once, so one slow or failing account holds one worker and delays no other.
First turns are spread over the interval (the first account at once), so a few hundred accounts do not all call
Amazon in the same second; at that first tick an account is polled at once if its last poll is more than an interval
old. An account taken over later (from a daemon that died, possibly mid-poll) is polled at once: within one lease
period of the death, whatever the poll interval.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from daemon.clock import Clock

logger = logging.getLogger(__name__)


class PollDispatcher:
    def __init__(self, accounts: list[str], poll: Callable[[str], None], interval: timedelta, workers: int,
                 clock: Clock, holds: Callable[[str], bool], last_polled: Callable[[str], datetime | None]) -> None:
        self.accounts = list(accounts)
        self.poll, self.interval, self.clock = poll, interval, clock
        self.holds, self.last_polled = holds, last_polled
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll")
        self._due: dict[str, datetime] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._started = False

    def tick(self) -> None:
        """Start the polls whose turn has come."""
        now = self.clock.now()
        held = [name for name in self.accounts if self.holds(name)]
        for index, name in enumerate(held):
            with self._lock:
                if name in self._running:
                    continue
                due = self._due.get(name)
                if due is None:  # held since the start, or taken over since (then at once)
                    due = self._due[name] = self._first_turn(name, now, index / len(held)) if not self._started else now
                if due > now:
                    continue
                self._running.add(name)
                self._due[name] = due + self.interval if now - due < self.interval else now + self.interval
            self._pool.submit(self._run, name)
        for name in set(self._due) - set(held):  # lost to another daemon: a later regain starts afresh
            self._due.pop(name, None)
        self._started = True

    def _first_turn(self, name: str, now: datetime, spread: float) -> datetime:
        last = self.last_polled(name)
        if last is not None and now - last >= self.interval:
            return now  # overdue: taken over from a daemon that died, or a long stop
        if last is not None:
            return last + self.interval
        return now + self.interval * spread

    def _run(self, name: str) -> None:
        try:
            self.poll(name)
        finally:
            with self._lock:
                self._running.discard(name)

    def polling(self, name: str) -> bool:
        """Whether the account is being polled right now."""
        with self._lock:
            return name in self._running

    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def shutdown(self) -> None:
        """Let running polls finish; start no more."""
        self._pool.shutdown(wait=True, cancel_futures=True)
