"""The running daemon's parts for one account and the stage calls over them; built by app.py."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from alerts.actions import OrderRef, TodoItem, acting_sentences, breakdown, cause_sentences
from alerts.channels.base import Channel
from alerts.decide import Policy
from alerts.evaluate import Chances, Evaluation, Observation, Thresholds, evaluate
from alerts.hysteresis import Hysteresis, clear_of_margin
from alerts.model import Alert, AlertKey, Level, RenderedMessage
from alerts.outbox import DeliveryReport, deliver_due, enqueue_grouped
from daemon.clock import Clock
from daemon.evaluated import EvaluatedMetrics, cursors_of, metric_row, version_of
from daemon.notify import Finding, Route, notify
from daemon.observe import observations, still_reading
from daemon.orders_behind import account_todo, metric_orders
from daemon.pipeline import MetricValue, PollResult, poll_source, record_history
from daemon.signals import SignalRules, signal_findings
from daemon.sources.records import Source
from storage.repo import Store


SIGNAL_REPEAT = timedelta(days=7)
# Deliveries after orders: the lookup skips what searchOrders has just shown in transit.
FEEDS = ("orders", "order_history", "orders_v0", "deliveries", "finances", "quarantine", "feedback", "performance")
ORDERS_IN_ALERT = 500  # the orders an alert carries (the webhook body's documented cap); `orders_total` says how many


@dataclass(frozen=True)
class Evaluated:
    values: list[MetricValue]  # the local figures (rows of metrics.jsonl)
    alerts: list[Alert]  # what changed enough to notify
    orders: dict[str, list[OrderRef]] = field(default_factory=dict)  # alert id -> every order behind it, uncapped


@dataclass
class AccountRuntime:
    name: str
    seller_id: str
    marketplaces: tuple[str, ...]
    sources: dict[str, Source]
    otdr_enforced: frozenset[str]
    thresholds: Callable[[str, str], Thresholds]  # (marketplace, metric) -> margins
    ship_together: bool = True  # the account's marketplaces ship from one place (daemon/observe.py)


@dataclass
class App:
    """Everything a stage needs, composed once: the scheduler, replay, CLI and tests all call these methods."""

    store: Store
    clock: Clock
    accounts: list[AccountRuntime]
    routes: tuple[Route, ...]
    channels: Mapping[str, Channel]
    render: Callable[[Alert], RenderedMessage]
    policy: Policy = field(default_factory=Policy)
    horizon_days: int = 30
    chances: Chances = field(default_factory=Chances)
    hysteresis: Hysteresis = field(default_factory=Hysteresis)
    signal_rules: SignalRules = field(default_factory=SignalRules)
    evaluated: EvaluatedMetrics = field(default_factory=EvaluatedMetrics)  # handed to the status readers
    page_url: str = ""  # the status page as the seller opens it; alerts link to the account's to-do there

    def account(self, name: str) -> AccountRuntime:
        return next(a for a in self.accounts if a.name == name)

    @property
    def one_by_one(self) -> frozenset[str]:
        """The channels that take each alert on its own, never grouped: tickets, one per incident."""
        return frozenset(name for name, channel in self.channels.items() if channel.kind == "ticket")

    def sync(self, account: AccountRuntime, until: datetime, feeds: tuple[str, ...] = FEEDS) -> list[PollResult]:
        """Poll the given feeds of one account up to `until`; a failing feed never stops the others."""
        results = []
        for feed in feeds:
            source = account.sources.get(feed)
            if source is not None:
                results.append(poll_source(self.store, account.name, source, until, self.clock.now()))
        return results

    def evaluate(self, account: AccountRuntime, at: datetime, now: datetime) -> Evaluated:
        """Every metric at `at`: record it in the history, evaluate it, notify what changed; one transaction."""
        values: list[MetricValue] = []
        alerts: list[Alert] = []
        orders: dict[str, list[OrderRef]] = {}
        raised: list[tuple[Alert, list[str]]] = []  # sent as one message per channel
        # On a first start the order reports make the ODR exact long before searchOrders has swept the recent days:
        # until it has, the metrics that need ship times, tracking and deliveries are judged on Amazon's report.
        reading = still_reading(self.store.orders_backfilling(account.name), "order_history" in account.sources)
        rows = []  # for the status readers
        with self.store.transaction() as session:
            version = version_of(at, cursors_of(session, [account.name]).get(account.name, {}))
            for obs in observations(session, account.name, account.marketplaces, at, account.otdr_enforced, reading,
                                    account.ship_together):
                d = obs.definition
                if not obs.reading_history:  # a partial count stays out of the history and metrics.jsonl
                    values.append(MetricValue(at, account.name, obs.marketplace_id, d, obs.numerator, obs.denominator))
                thresholds = account.thresholds(obs.marketplace_id, d.id)
                ev = evaluate(obs, thresholds, self.horizon_days, self.chances)
                rows.append(metric_row(obs, ev, thresholds))
                finding = Finding(
                    key=AlertKey(account.name, obs.marketplace_id, d.id, d.fulfillment), kind="metric",
                    level=ev.level, headline=ev.headline,
                    clear=clear_of_margin(ev, thresholds, d.limit.direction, self.hysteresis),
                    fields=dict(
                        explanation=ev.explanation, advice=ev.advice, value=ev.value, limit=ev.limit,
                        direction=d.limit.direction, numerator=ev.numerator, denominator=ev.denominator,
                        defects_to_breach=ev.defects_to_breach, forecast_breach_at=ev.forecast_breach_at,
                        breach_probability=ev.breach_probability, breach_probability_days=ev.probability_days,
                        amazon_value=ev.amazon_value, seller_id=account.seller_id,
                        details={"low_volume": ev.low_volume, "evaluated_at": at.isoformat()},
                    ),
                )
                gathered: list[OrderRef] = []

                def with_orders(fields: dict, level: Level, obs: Observation = obs, ev: Evaluation = ev,
                                gathered: list[OrderRef] = gathered) -> dict:
                    gathered += metric_orders(session, account.name, obs.marketplace_id, obs.definition, at, now)
                    return orders_fields(fields, level, obs, ev, gathered, now, self.account_page(account.name))

                alert = notify(session, replace(finding, attach=with_orders), now, self.policy, self.routes, raised)
                if alert is not None:
                    alerts.append(alert)
                    orders[alert.alert_id] = gathered
            # Amazon's own verdicts change slowly: repeated weekly while they last; a new violation is said at once.
            signal_policy = replace(self.policy, repeat_interval=max(self.policy.repeat_interval, SIGNAL_REPEAT))
            for finding in signal_findings(session, account.name, account.seller_id, account.marketplaces,
                                           self.signal_rules):
                alert = notify(session, finding, now, signal_policy, self.routes, raised)
                if alert is not None:
                    alerts.append(alert)
            enqueue_grouped(session, raised, now, self.one_by_one)
            record_history(session, values)
        self.evaluated.put(account.name, version, rows)
        return Evaluated(values, alerts, orders)

    def account_page(self, name: str) -> str:
        """The account's page, where its to-do is; empty without a page."""
        return f"{self.page_url}/accounts/{quote(name, safe='')}" if self.page_url else ""

    def todo(self, account: AccountRuntime, at: datetime, now: datetime) -> list[TodoItem]:
        """What the seller can still do about the account's orders as of `now` (metric windows as of `at`)."""
        with self.store.sessions() as session:
            return account_todo(session, account.name, account.marketplaces, at, now)

    def deliver(self) -> DeliveryReport:
        """Send what the outbox holds due."""
        return deliver_due(self.store, self.channels, self.render, self.clock)


def orders_fields(fields: dict, level: Level, obs: Observation, ev: Evaluation, refs: list[OrderRef], now: datetime,
                  page: str) -> dict:
    """An alert's fields with the orders behind it (capped), why they happen and what acting on them buys."""
    d = obs.definition
    counted = sum(1 for r in refs if r.role == "counted")
    details = {**fields.get("details", {}), "orders": [r.described() for r in refs[:ORDERS_IN_ALERT]],
               "orders_total": len(refs), "orders_counted": counted, "orders_at_risk": len(refs) - counted,
               "breakdown": breakdown(refs), "page_url": page}
    if page and level == Level.BREACH:
        details["plan_url"] = f"{page}/plan?" + urlencode({"marketplace": obs.marketplace_id, "metric": d.id,
                                                           "fulfillment": d.fulfillment})
    acting = acting_sentences(d.id, obs.numerator, obs.denominator, ev.defects_to_breach, d.limit.p, d.limit.q, refs, now)
    return {**fields, "details": details, "advice": (*acting, *fields.get("advice", ())),
            "explanation": (*fields.get("explanation", ()), *cause_sentences(refs))}
