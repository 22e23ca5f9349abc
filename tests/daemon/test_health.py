"""The daemon warns about itself: feeds gone quiet, failing polls, refused credentials, an expiring LWA secret."""
from datetime import date, timedelta

from daemon.errors import SourceUnavailable
from daemon.health import HealthRules, health_findings
from daemon.pipeline import record_feed_failure, record_feed_success
from alerts.decide import Policy
from alerts.model import Level
from alerts.render import render
from daemon.notify import Route, notify
from storage.alerts_repo import delivery_statuses

RULES = HealthRules(stale_after={"orders": timedelta(hours=2)}, failing_after=timedelta(hours=1),
                    secret_warning=timedelta(days=30))


def levels(store, clock, started, rotated=None):
    with store.sessions() as session:
        return {f.key.metric: f.level for f in health_findings(session, "main", "A2", clock.now(), RULES, started, rotated)}


def test_a_feed_without_a_successful_poll_for_too_long_is_no_data(store, clock):
    started = clock.now()
    record_feed_success(store, "main", "orders", clock.now())
    clock.advance(hours=1)
    assert levels(store, clock, started)["feed_stale:orders"] == Level.OK
    clock.advance(hours=2)
    assert levels(store, clock, started)["feed_stale:orders"] == Level.WARNING


def test_polls_failing_for_a_while_and_refused_credentials_are_raised(store, clock):
    started = clock.now()
    record_feed_failure(store, "main", "orders", clock.now(), SourceUnavailable("account main: 503 InternalFailure"))
    assert levels(store, clock, started)["feed_failing:orders"] == Level.OK  # one failure is not yet an outage
    clock.advance(hours=2)
    record_feed_failure(store, "main", "orders", clock.now(), SourceUnavailable("refused", credentials_refused=True))
    found = levels(store, clock, started)
    assert found["feed_failing:orders"] == Level.WARNING and found["credentials"] == Level.CRITICAL
    record_feed_success(store, "main", "orders", clock.now())
    assert levels(store, clock, started)["credentials"] == Level.OK


def test_the_lwa_secret_warns_before_its_180_day_expiry(store, clock):
    started = clock.now()
    today = clock.now().date()
    assert levels(store, clock, started, today - timedelta(days=100))["lwa_secret_expiry"] == Level.OK
    assert levels(store, clock, started, today - timedelta(days=160))["lwa_secret_expiry"] == Level.WARNING
    assert levels(store, clock, started, today - timedelta(days=176))["lwa_secret_expiry"] == Level.CRITICAL
    assert levels(store, clock, started, date(2020, 1, 1))["lwa_secret_expiry"] == Level.BREACH


def test_refused_credentials_reach_the_channels_as_an_operational_alert(store, clock):
    started = clock.now()
    record_feed_failure(store, "main", "orders", clock.now(), SourceUnavailable("refused", credentials_refused=True))
    with store.transaction() as session:
        raised = [notify(session, f, clock.now(), Policy(), (Route("email", Level.WARNING),))
                  for f in health_findings(session, "main", "A2", clock.now(), RULES, started, None)]
    [alert] = [a for a in raised if a is not None]
    assert (alert.kind, alert.key.metric, alert.level) == ("operational", "credentials", Level.CRITICAL)
    message = render(alert)
    assert message.subject == "[seller-sentinel] CRITICAL main: Amazon refused the account's credentials"
    assert message.data["type"] == "operational" and "refresh token" in message.text
    with store.sessions() as session:
        assert list(delivery_statuses(session).values()) == ["pending"]
