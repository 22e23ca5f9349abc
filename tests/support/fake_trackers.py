"""A loopback fake of each tracker the ticket channel supports, by the names tests/support/ticket_replay.py uses, with
the credentials its trackers are given there."""
from __future__ import annotations

from tests.support import ticket_replay
from tests.support.freshdesk_fake import FakeFreshdesk
from tests.support.github_fake import FakeGitHub
from tests.support.jira_fake import FakeJira
from tests.support.tracker_fake import Faults, LoopbackTracker
from tests.support.vendor_api import adf_schema, github_openapi, jira_data_center_openapi, jira_openapi, zendesk_openapi
from tests.support.zendesk_fake import FakeZendesk

TRACKERS = ("github", "jira", "jira_data_center", "zendesk", "freshdesk")


def fake_tracker(kind: str, faults: Faults | None = None) -> LoopbackTracker:
    if kind == "jira":
        return FakeJira(jira_openapi(), adf_schema(), ticket_replay.JIRA_PROJECT, ticket_replay.JIRA_EMAIL,
                        ticket_replay.JIRA_TOKEN, faults)
    if kind == "jira_data_center":
        return FakeJira(jira_data_center_openapi(), adf_schema(), ticket_replay.JIRA_PROJECT,
                        ticket_replay.JIRA_EMAIL, ticket_replay.JIRA_TOKEN, faults, "data_center")
    if kind == "zendesk":
        return FakeZendesk(zendesk_openapi(), ticket_replay.ZENDESK_EMAIL, ticket_replay.ZENDESK_TOKEN, faults=faults)
    if kind == "freshdesk":
        return FakeFreshdesk(ticket_replay.FRESHDESK_KEY, faults)
    return FakeGitHub(github_openapi(), ticket_replay.REPOSITORY, ticket_replay.TOKEN, faults)
