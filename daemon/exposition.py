"""/metrics: the account-health metrics, feeds, deliveries and the daemon's counters in Prometheus' text format,
read from the database at each scrape (prometheus-client's own exposition)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from daemon.telemetry import REGISTRY
from storage import models as m


class StatusCollector(Collector):
    """Gauges from one status report (daemon/status.py) and the outbox, taken when Prometheus scrapes."""

    def __init__(self, report: Callable[[], dict[str, Any]], outbox: Callable[[], dict[str, Any]], version: str) -> None:
        self.report, self.outbox, self.version = report, outbox, version

    def collect(self) -> Iterator[Any]:
        labels = ["account", "marketplace", "metric", "fulfillment"]
        value = GaugeMetricFamily("seller_sentinel_metric_value", "The daemon's own figure, as a fraction", labels=labels)
        limit = GaugeMetricFamily("seller_sentinel_metric_limit", "Amazon's limit for the metric, as a fraction", labels=labels)
        amazon = GaugeMetricFamily("seller_sentinel_amazon_value", "Amazon's published figure, as a fraction", labels=labels)
        to_breach = GaugeMetricFamily("seller_sentinel_defects_to_breach", "More defects that cross the limit", labels=labels)
        success = GaugeMetricFamily("seller_sentinel_feed_last_success_timestamp_seconds",
                                    "When each feed last polled successfully", labels=["account", "feed"])
        failing = GaugeMetricFamily("seller_sentinel_feed_failing", "1 while a feed's polls fail", labels=["account", "feed"])
        quarantined = GaugeMetricFamily("seller_sentinel_quarantined_records",
                                        "Records that did not parse and wait to be read again", labels=["account", "source"])
        report = self.report()
        for account in report["accounts"]:
            for row in account["metrics"]:
                key = [account["name"], row["marketplace_id"], row["metric"], row["fulfillment"]]
                limit.add_metric(key, row["limit"])
                if row["value"] is not None:
                    value.add_metric(key, row["value"])
                if row["amazon_value"] is not None:
                    amazon.add_metric(key, row["amazon_value"])
                if row["defects_to_breach"] is not None:
                    to_breach.add_metric(key, row["defects_to_breach"])
            for feed in account["feeds"]:
                if feed["last_success_at"]:
                    success.add_metric([account["name"], feed["source"]], _epoch(feed["last_success_at"]))
                failing.add_metric([account["name"], feed["source"]], 1.0 if feed["failing_since"] else 0.0)
            for source, count in account["quarantined"].items():
                quarantined.add_metric([account["name"], source], count)
        yield from (value, limit, amazon, to_breach, success, failing, quarantined)
        outbox = self.outbox()
        deliveries = GaugeMetricFamily("seller_sentinel_deliveries", "Deliveries by channel and outcome",
                                       labels=["channel", "status"])
        for (channel, status), count in sorted(outbox["by_status"].items()):
            deliveries.add_metric([channel, status], count)
        yield deliveries
        yield GaugeMetricFamily("seller_sentinel_outbox_pending", "Deliveries waiting to be sent", value=outbox["pending"])
        yield GaugeMetricFamily("seller_sentinel_outbox_oldest_pending_age_seconds",
                                "Age of the oldest delivery waiting to be sent", value=outbox["oldest_age_seconds"])
        info = InfoMetricFamily("seller_sentinel_build", "The running release")
        info.add_metric([], {"version": self.version})
        yield info


def outbox_figures(session: Any, now: datetime) -> dict[str, Any]:
    """Deliveries by channel and status, how many wait, and how long the oldest has waited."""
    d = m.Delivery
    by_status = {(channel, status): count for channel, status, count in
                 session.execute(select(d.channel, d.status, func.count()).group_by(d.channel, d.status))}
    pending, oldest = session.execute(select(func.count(), func.min(d.created_at)).where(d.status == "pending")).one()
    return {"by_status": by_status, "pending": pending or 0,
            "oldest_age_seconds": (now - oldest).total_seconds() if oldest is not None else 0.0}


def metrics_text(collector: StatusCollector) -> bytes:
    """The exposition of this scrape: the status gauges and the process's counters."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry) + generate_latest(REGISTRY)


def _epoch(instant: str) -> float:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp()
