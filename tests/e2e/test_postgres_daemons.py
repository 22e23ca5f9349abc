"""Three daemons on one PostgreSQL database share 30 accounts; one is SIGKILLed and the others take its accounts
within one lease period; every notification arrives once, and each account's digest is sent once."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from bench.failover import LEASE_SECONDS, Cluster, wait_for
from tests.support.receivers import HttpReceiver

pytestmark = pytest.mark.postgres
CHANNELS = '''
[[channels]]
name = "tickets"
kind = "webhook"
url = "{url}"
signing_secret_env = "TEST_WEBHOOK_SECRET"

[[channels]]
name = "files"
kind = "file"
directory = "../alerts"
digests = true
'''


def test_three_daemons_share_the_accounts_and_survive_one_killed(pg_store, tmp_path):
    receiver = HttpReceiver()
    cluster = Cluster(pg_store.engine, tmp_path, CHANNELS.format(url=receiver.url))
    try:
        cluster.settle(datetime.now(timezone.utc))
        taken_over, orphans, victim = cluster.kill_one()
        assert len(orphans) == 10
        assert taken_over <= LEASE_SECONDS + 2, f"orphans polled again only after {taken_over:.1f} s"
        assert victim not in cluster.holders().values()
        wait_for(cluster.outbox_drained, 60, "the outbox drained after the kill")
        assert cluster.stop() == [0, 0]
        deliveries = cluster.query("SELECT delivery_id, channel, status FROM deliveries")
    finally:
        cluster.close()
        receiver.close()
    assert {status for _, _, status in deliveries} == {"sent"}
    webhook_ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert webhook_ids and sorted(webhook_ids) == sorted(d for d, channel, _ in deliveries if channel == "tickets")
    lines = [json.loads(line) for line in (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert Counter(line["delivery_id"] for line in lines).most_common(1)[0][1] == 1  # each once
    digests = [line for line in lines if "/digest/" in line["alert_id"]]
    assert sorted(line["account"] for line in digests) == sorted(cluster.scenarios)  # one daily digest per account
    assert len(lines) > len(digests)  # and the alerts themselves
