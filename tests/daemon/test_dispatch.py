"""The poll dispatcher: turns spread over the interval, one slow account holds one worker and delays no other."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from daemon.dispatch import PollDispatcher

INTERVAL = timedelta(minutes=15)


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_first_turns_are_spread_over_the_interval_the_first_account_at_once(clock):
    polled: list[str] = []
    names = [f"acct{i:02d}" for i in range(5)]
    dispatcher = PollDispatcher(names, polled.append, INTERVAL, 2, clock, lambda _n: True, lambda _n: None)
    try:
        dispatcher.tick()
        wait_until(lambda: dispatcher.busy() == 0)
        assert polled == ["acct00"]
        clock.sleep(INTERVAL.total_seconds() * 2 / 5)  # two fifths in: the second and third turns have come
        dispatcher.tick()
        wait_until(lambda: dispatcher.busy() == 0)
        assert sorted(polled) == ["acct00", "acct01", "acct02"]
        clock.sleep(INTERVAL.total_seconds() * 3 / 5)  # one interval on: everyone once more for acct00, once for the rest
        dispatcher.tick()
        wait_until(lambda: dispatcher.busy() == 0)
        assert sorted(polled) == ["acct00", "acct00", "acct01", "acct02", "acct03", "acct04"]
    finally:
        dispatcher.shutdown()


def test_a_slow_account_holds_one_worker_and_the_others_keep_their_turns(clock):
    release = threading.Event()
    polled: list[str] = []

    def poll(name: str) -> None:
        if name == "slow":
            release.wait(30)
        polled.append(name)

    dispatcher = PollDispatcher(["slow", "b", "c"], poll, INTERVAL, 2, clock, lambda _n: True, lambda _n: None)
    try:
        dispatcher.tick()  # "slow" starts its first poll, and hangs in it
        for turn in range(1, 4):  # three intervals on, b and c have had their three turns
            clock.sleep(INTERVAL.total_seconds())
            dispatcher.tick()
            wait_until(lambda: polled.count("b") == polled.count("c") == turn and dispatcher.busy() == 1)
        assert "slow" not in polled  # never started twice, and never in anyone's way
        release.set()
        wait_until(lambda: dispatcher.busy() == 0)
        assert polled.count("slow") == 1
    finally:
        release.set()
        dispatcher.shutdown()


def test_an_account_taken_over_overdue_is_polled_at_once_and_one_lost_is_left_alone(clock):
    held = {"a", "b"}
    polled: list[str] = []
    last = {"a": clock.now() - INTERVAL * 2, "b": clock.now() - INTERVAL / 3}
    dispatcher = PollDispatcher(["a", "b"], polled.append, INTERVAL, 2, clock, held.__contains__, last.get)
    try:
        dispatcher.tick()
        wait_until(lambda: dispatcher.busy() == 0)
        assert polled == ["a"]  # overdue (its daemon died); "b" was polled recently by its previous holder
        held.discard("a")
        clock.sleep(INTERVAL.total_seconds())
        dispatcher.tick()
        wait_until(lambda: dispatcher.busy() == 0)
        assert polled == ["a", "b"]  # "a" went to another daemon
        clock.sleep(INTERVAL.total_seconds() / 3)
        held.add("a")  # taken back later from a daemon that died: polled at once, though polled recently
        last["a"] = clock.now() - INTERVAL / 3
        dispatcher.tick()
        wait_until(lambda: dispatcher.busy() == 0)
        assert polled == ["a", "b", "a"]
    finally:
        dispatcher.shutdown()
