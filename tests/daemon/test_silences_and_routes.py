"""Silences mute and routes route, end to end: findings through notify() and the outbox to a loopback webhook
receiver, with the routes, channels and config silences the composition root builds from a config file."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from alerts.decide import Policy
from alerts.model import AlertKey, Level
from alerts.outbox import deliver_due
from alerts.render import render
from daemon.app import apply_config_silences, build_channels, open_store, routes_of
from daemon.clock import ManualClock
from daemon.config import load_config
from daemon.notify import Finding, notify
from storage import alerts_repo
from storage.db import sqlite_url
from tests.support.receivers import HttpReceiver, Reply

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.fixture
def receiver():
    server = HttpReceiver()
    yield server
    server.close()
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"


def write_config(tmp_path, receivers: dict[str, str], extra: str = "") -> object:
    channels = "".join(f'''
[[channels]]
name = "{name}"
kind = "webhook"
url = "{url}"
signing_secret_env = "SIGNING"
min_level = "{"critical" if name == "pager" else "warning"}"
accounts = {'["other"]' if name == "other-team" else "[]"}
''' for name, url in receivers.items())
    path = tmp_path / "config.toml"
    path.write_text(f'''
[daemon]
state_dir = "state"

[[accounts]]
name = "main"
seller_id = "A2MAIN"
marketplaces = ["{US}", "{DE}"]
lwa_client_id_env = "ID"
lwa_client_secret_env = "SECRET"
refresh_token_env = "TOKEN"

[[accounts]]
name = "other"
seller_id = "A2OTHER"
marketplaces = ["{US}"]
lwa_client_id_env = "ID"
lwa_client_secret_env = "SECRET"
refresh_token_env = "TOKEN"
{channels}{extra}''', encoding="utf-8")
    return load_config(path, {"ID": "amzn1.application-oa2-client.x", "SECRET": "s", "TOKEN": "Atzr|t", "SIGNING": "whsec"})


class Desk:
    """A config's store, routes and channels, and a way to say a level and deliver what is due."""

    def __init__(self, config, clock: ManualClock) -> None:
        self.config, self.clock = config, clock
        self.store = open_store(sqlite_url(config.daemon.state_dir / "sentinel.db"))
        self.routes = routes_of(config)
        self.channels = build_channels(config, clock, self.store)
        apply_config_silences(self.store, config, clock.now())

    def say(self, level: Level, account: str = "main", marketplace: str = US, metric: str = "odr") -> None:
        finding = Finding(AlertKey(account, marketplace, metric, "MFN"), "metric", level, f"{metric} is {level.value}",
                          dict(value=0.009, limit=0.01, direction="upper", seller_id="A2MAIN"))
        with self.store.transaction() as session:
            notify(session, finding, self.clock.now(), Policy(pending_evaluations=1, settle=timedelta(0)), self.routes)
        deliver_due(self.store, self.channels, render, self.clock)

    def silence(self, until: datetime, marketplace: str | None = None, metric: str | None = None) -> None:
        with self.store.transaction() as session:
            alerts_repo.add_silence(session, "main", marketplace, metric, until, "maintenance", self.clock.now())


def received(receiver) -> list[tuple[str, str, str]]:
    out = []
    for request in receiver.requests:
        body = json.loads(request.body)
        out.append((body["marketplace_id"], body["metric"], body["status"]))
    return out


@pytest.mark.parametrize(("scope", "muted", "heard"), [
    ({}, [(US, "odr"), (DE, "odr"), (US, "lsr_10d")], []),
    ({"marketplace": DE}, [(DE, "odr")], [(US, "odr"), (US, "lsr_10d")]),
    ({"metric": "lsr_10d"}, [(US, "lsr_10d")], [(US, "odr"), (DE, "odr")]),
])
def test_a_silence_mutes_its_scope_and_what_is_still_open_is_said_once_it_expires(tmp_path, receiver, scope, muted, heard):
    receiver.respond(Reply(200, "ok"))
    clock = ManualClock(NOW)
    desk = Desk(write_config(tmp_path, {"tickets": receiver.url}), clock)
    desk.silence(NOW + timedelta(hours=6), **scope)
    for marketplace, metric in muted + heard:
        desk.say(Level.WARNING, marketplace=marketplace, metric=metric)
    assert sorted(received(receiver)) == sorted((mp, metric, "warning") for mp, metric in heard)
    clock.advance(hours=7)  # the silence has expired; the next evaluation finds the same warnings
    for marketplace, metric in muted + heard:
        desk.say(Level.WARNING, marketplace=marketplace, metric=metric)
    assert sorted(received(receiver)) == sorted((mp, metric, "warning") for mp, metric in heard + muted)


def test_silences_written_in_the_config_apply_from_the_start(tmp_path, receiver):
    receiver.respond(Reply(200, "ok"))
    clock = ManualClock(NOW)
    config = write_config(tmp_path, {"tickets": receiver.url}, f'''
[[silences]]
account = "main"
metric = "odr"
until = {(NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
reason = "known issue"
''')
    desk = Desk(config, clock)
    desk.say(Level.CRITICAL)
    desk.say(Level.WARNING, metric="cr_7d")
    assert received(receiver) == [(US, "cr_7d", "warning")]


def test_a_route_for_another_account_gets_nothing_of_this_one(tmp_path, receiver):
    receiver.respond(Reply(200, "ok"))
    clock = ManualClock(NOW)
    desk = Desk(write_config(tmp_path, {"other-team": receiver.url}), clock)
    desk.say(Level.BREACH)
    assert received(receiver) == []
    desk.say(Level.WARNING, account="other")
    assert received(receiver) == [(US, "odr", "warning")]


def test_a_resolution_goes_to_the_routes_of_the_level_it_resolves(tmp_path):
    tickets, pager = HttpReceiver(), HttpReceiver()
    try:
        tickets.respond(Reply(200, "ok"))
        pager.respond(Reply(200, "ok"))
        clock = ManualClock(NOW)
        desk = Desk(write_config(tmp_path, {"tickets": tickets.url, "pager": pager.url}), clock)
        desk.say(Level.CRITICAL)
        clock.advance(hours=1)
        desk.say(Level.OK)  # resolves a critical: both routes heard the raise, both hear the end
        clock.advance(hours=1)
        desk.say(Level.WARNING)
        clock.advance(hours=1)
        desk.say(Level.OK)  # resolves a warning: the pager never heard it, so it does not hear the end
        assert [s for _, _, s in received(tickets)] == ["critical", "resolved", "warning", "resolved"]
        assert [s for _, _, s in received(pager)] == ["critical", "resolved"]
    finally:
        tickets.close()
        pager.close()
