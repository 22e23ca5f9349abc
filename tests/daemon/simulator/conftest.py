"""Scenario lines built in code, the simulator on loopback, and the real python-amazon-sp-api clients pointed at it."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from sp_api.api import Finances, Orders, Reports
from sp_api.auth import AccessTokenClient

from daemon.clock import Clock, format_instant
from daemon.simulator.scenario import Scenario, parse_scenario
from daemon.simulator.server import Faults, SimulatorServer

SHARED_DIR = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[4] / "shared"))
MODELS = SHARED_DIR / "spapi" / "models"
MP = "ATVPDKIKX0DER"
DAY0 = datetime(2026, 3, 1, tzinfo=UTC)


def order_id(n: int) -> str:
    return f"111-{n:07d}-{n:07d}"


def header(marketplaces: tuple[str, ...] = (MP,), days: int = 30, **extra: Any) -> str:
    return json.dumps({"type": "scenario", "version": 1, "name": "t", "seller_id": "A2TEST",
                       "marketplaces": list(marketplaces), "start": format_instant(DAY0),
                       "end": format_instant(DAY0 + timedelta(days=days)), **extra})


def order(n: int, purchase: datetime, channel: str = "MFN", quantity: int = 1, marketplace: str = MP, **extra: Any) -> str:
    """An order to ship within two days and arrive within a week."""
    return json.dumps({
        "type": "order", "at": format_instant(purchase), "order_id": order_id(n), "marketplace_id": marketplace,
        "channel": channel, "purchase_date": format_instant(purchase),
        "earliest_ship_date": format_instant(purchase), "latest_ship_date": format_instant(purchase + timedelta(days=2)),
        "earliest_delivery_date": format_instant(purchase + timedelta(days=3)),
        "latest_delivery_date": format_instant(purchase + timedelta(days=7)),
        "quantity": quantity, "total": 20.5, "currency": "USD", **extra,
    })


def event(kind: str, n: int, at: datetime, **extra: Any) -> str:
    return json.dumps({"type": kind, "at": format_instant(at), "order_id": order_id(n), **extra})


def ship(n: int, at: datetime, valid: bool = True) -> str:
    return event("ship", n, at, carrier="UPS", tracking_id=f"1Z{n:09d}", tracking_valid=valid)


def scenario_of(*lines: str, marketplaces: tuple[str, ...] = (MP,), days: int = 30) -> Scenario:
    return parse_scenario([header(marketplaces, days), *lines], "t.jsonl")


def validator(model_file: str, definition: str) -> jsonschema.Draft4Validator:
    """A validator for one definition of a swagger 2 model, its `#/definitions/X` refs resolved within the model."""
    model = json.loads((MODELS / model_file).read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(dict(model["definitions"][definition], definitions=model["definitions"]))


@pytest.fixture(autouse=True)
def _no_sp_api_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads marketplaces and credentials from SP_API_*, LWA_* and AWS_ENV: tests run without them."""
    for name in list(os.environ):
        if name.startswith(("SP_API_", "LWA_", "AWS_ENV")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def simulator() -> Iterator[Callable[..., SimulatorServer]]:
    """Starts simulators on 127.0.0.1, port 0, and stops them after the test."""
    started: list[SimulatorServer] = []

    def start(scenario: Scenario, clock: Clock, faults: Faults | None = None) -> SimulatorServer:
        server = SimulatorServer(scenario, clock, faults=faults).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def clients(server: SimulatorServer, marketplace_id: str = MP, *, refresh_token: str | None = None,
            client_secret: str = "s") -> SimpleNamespace:
    """The real clients (SPAPI_NOTES §10 recipe), with a refresh token of their own so the library's token cache never leaks."""
    host = server.url.removeprefix("http://")
    lwa = type("LoopbackLwa", (AccessTokenClient,), {"scheme": "http://", "host": host})
    marketplace = SimpleNamespace(endpoint=server.url, marketplace_id=marketplace_id, region="us-east-1")
    credentials = {"refresh_token": refresh_token or f"Atzr|{uuid.uuid4().hex}", "lwa_app_id": "amzn1.application-oa2-client.t",
                   "lwa_client_secret": client_secret}
    common = {"marketplace": marketplace, "credentials": credentials, "auth_token_client_class": lwa}
    return SimpleNamespace(orders=Orders(**common), orders26=Orders(version="2026-01-01", **common),
                           reports=Reports(**common), finances=Finances(**common), credentials=credentials)
