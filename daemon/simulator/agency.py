"""An agency's simulated sellers for tests and benchmarks: many small accounts on one SimulatorHub, a few of them
heading for a breach, each with its own credentials so Amazon's usage plans count per seller."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from daemon.simulator.generator import Episode, Profile, generate
from daemon.simulator.scenario import Scenario, parse_scenario

HISTORY_DAYS = 85  # the windows need 74 days behind the first evaluation


def agency_scenarios(count: int, today: datetime, orders_per_day: float = 4, ahead_days: int = 30) -> dict[str, Scenario]:
    """`count` sellers named shop000..., whose history starts HISTORY_DAYS before `today` (a midnight) and runs
    `ahead_days` past it; every fifth one has a burst of defects that reaches Amazon's ODR around `today`."""
    base = Profile("agency", orders_per_day=orders_per_day, days=HISTORY_DAYS + ahead_days,
                   monitor_from_day=HISTORY_DAYS, afn_share=0.3, start=today - timedelta(days=HISTORY_DAYS))
    scenarios = {}
    for n in range(count):
        name = f"shop{n:03d}"
        profile = replace(base, name=name)
        if n % 5 == 0:
            profile = replace(profile, episodes=(Episode(HISTORY_DAYS - 60, 45, negative_feedback=0.05, claim=0.02),))
        scenarios[name] = parse_scenario(generate(profile, seed=1000 + n), name)
    return scenarios


def write_account_files(directory: Path, urls: dict[str, str]) -> None:
    """One account file per seller (`accounts_dir`), pointing at its URL on the hub, secrets from the environment."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, url in urls.items():
        (directory / f"{name}.toml").write_text(
            f'seller_id = "A2SIMSELLER01"\nmarketplaces = ["ATVPDKIKX0DER"]\napi_url = "{url}"\n'
            f'token_url = "{url}/auth/o2/token"\nlwa_client_id_env = "AGENCY_CLIENT_ID"\n'
            f'lwa_client_secret_env = "AGENCY_CLIENT_SECRET"\nrefresh_token_env = "AGENCY_TOKEN_{name.upper()}"\n',
            encoding="utf-8")


def account_environment(names: list[str]) -> dict[str, str]:
    """The environment the account files read their secrets from: one refresh token per seller."""
    env = {"AGENCY_CLIENT_ID": "amzn1.application-oa2-client.agency", "AGENCY_CLIENT_SECRET": "agency-secret"}
    env.update({f"AGENCY_TOKEN_{name.upper()}": f"Atzr|agency-{name}" for name in names})
    return env
