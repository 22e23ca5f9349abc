"""`seller-sentinel todo` and `seller-sentinel plan`: the orders to act on, and a plan of action after a breach, read
from the database as of each account's last sync."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import IO

from sqlalchemy.orm import Session

from alerts.actions import excerpt
from alerts.marketplaces import marketplace_name
from alerts.metrics.definitions import definition, with_target
from alerts.plan import PlanFigures, render_plan
from alerts.render import METRIC_NAMES
from daemon.app import open_store
from daemon.clock import parse_instant
from daemon.config import AccountConfig, Config
from daemon.errors import ConfigError
from daemon.evaluated import cursors_of
from daemon.observe import latest_amazon
from daemon.orders_behind import account_todo, metric_orders
from daemon.pipeline import evaluation_instant
from storage.repo import window_counts


def print_todo(config: Config, out: IO[str], account_name: str | None = None) -> int:
    """Every account's to-do (or one account's), deadline first, as of its last sync."""
    store = open_store(config.daemon.database_url)
    with store.sessions() as session:
        for account in _accounts(config, account_name):
            synced_at = _synced_at(session, account.name)
            if synced_at is None:
                out.write(f"{account.name}: no data yet (the daemon has not completed a sync)\n")
                continue
            items = account_todo(session, account.name, account.marketplaces, evaluation_instant(synced_at), synced_at)
            out.write(f"{account.name}: {len(items)} to do as of {synced_at:%Y-%m-%d %H:%M} UTC\n")
            for item in items:
                due = "no deadline known" if item.due_at is None else f"{item.due_at:%Y-%m-%d %H:%M} UTC"
                if item.due_at is not None and item.due_at <= synced_at:
                    due += " (past)"
                extra = excerpt(item.detail.feedback_comment) or " ".join(
                    filter(None, (item.detail.carrier, item.detail.tracking_number)))
                out.write(f"  {due:26} {marketplace_name(item.marketplace_id):10} {item.order_id:21} {item.action:24} "
                          f"{','.join(item.metrics)}{'  ' + extra if extra else ''}\n")
    return 0


def print_plan(config: Config, account_name: str, marketplace: str, metric: str, fulfillment: str, out: IO[str]) -> int:
    """A draft plan of action in Markdown for one metric of one account."""
    account = _accounts(config, account_name)[0]
    store = open_store(config.daemon.database_url)
    with store.sessions() as session:
        out.write(plan_markdown(session, account, marketplace, metric, fulfillment))
    return 0


def plan_markdown(session: Session, account: AccountConfig, marketplace: str, metric: str, fulfillment: str) -> str:
    """The plan of action for one metric as of the account's last sync; ConfigError names what was asked wrongly."""
    if marketplace not in account.marketplaces:
        raise ConfigError(f"account {account.name} has no marketplace {marketplace}; "
                          f"use one of {', '.join(account.marketplaces)}.")
    try:
        d = definition(metric, fulfillment)
    except KeyError:
        raise ConfigError(f"there is no metric {metric} for {fulfillment}; use odr (MFN or AFN), lsr_10d, lsr_30d, "
                          f"cr_7d, vtr_30d or otdr_14d (MFN).") from None
    synced_at = _synced_at(session, account.name)
    if synced_at is None:
        raise ConfigError(f"account {account.name} has no data yet; run the daemon until it has synced once.")
    at = evaluation_instant(synced_at)
    amazon = latest_amazon(session, account.name, marketplace, metric, fulfillment)
    if amazon is not None:
        details = json.loads(amazon.details or "{}")
        d = with_target(d, details.get("target"), details.get("target_condition"))
    first, end = d.window.days(at.date())
    numerator, denominator = window_counts(session, account.name, marketplace, d.id, d.fulfillment, first, end)
    refs = metric_orders(session, account.name, marketplace, d, at, synced_at)
    anchor = {"purchase": "orders purchased", "latest_ship": "orders due to ship", "ship_confirm": "shipments confirmed",
              "latest_delivery": "deliveries promised"}[d.anchor]
    figures = PlanFigures(
        account=account.name, seller_id=account.seller_id, marketplace=marketplace_name(marketplace), metric=metric,
        metric_name=METRIC_NAMES[metric], fulfillment=fulfillment, at=at, numerator=numerator, denominator=denominator,
        limit=d.limit.value, direction=d.limit.direction,
        window=f"{anchor} {first.isoformat()} to {(end - timedelta(days=1)).isoformat()}",
        amazon_value=amazon.value if amazon is not None else None,
    )
    return render_plan(figures, refs)


def _accounts(config: Config, name: str | None) -> list[AccountConfig]:
    accounts = [a for a in config.accounts if name is None or a.name == name]
    if not accounts:
        raise ConfigError(f"there is no account {name!r} in the config; use one of "
                          f"{', '.join(a.name for a in config.accounts)}.")
    return accounts


def _synced_at(session: Session, account: str) -> datetime | None:
    """The instant the orders feed last read up to: what "now" is for the stored data."""
    cursor = cursors_of(session, [account]).get(account, {}).get("orders")
    return parse_instant(json.loads(cursor)["after"]) if cursor else None
