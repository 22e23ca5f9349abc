"""The exception tree of seller-sentinel.

    SentinelError
    ├── ConfigError              bad or missing key; the message says the fix
    ├── SourceError
    │   ├── Throttled            retry_after seconds
    │   ├── SourceUnavailable    network, 5xx, token refused
    │   ├── InvalidRequest       Amazon answered 400 (e.g. an expired next token)
    │   ├── UnreadableAnswer     not a well-formed answer: an HTML gateway page, an empty body, a payload without its list
    │   └── MalformedPayload     one record; becomes a reject in the batch
    ├── BudgetSpent              a wait longer than a poll may hold its worker: the feed resumes at the next turn
    │   └── Stopping             the daemon is stopping: every wait ends at once
    ├── ScenarioError            a scenario file line that cannot be used
    └── DeliveryError            permanent: bool
"""
from __future__ import annotations


class SentinelError(Exception):
    """Base of every error seller-sentinel raises on purpose."""


class ConfigError(SentinelError):
    """A config file that cannot be used; the message names file, key and fix."""


class SourceError(SentinelError):
    """An SP-API feed could not be read this time."""


class Throttled(SourceError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetSpent(SentinelError):
    """The account's usage plan has no token for longer than a poll may wait: the feed resumes from its cursor at
    the account's next turn, and the worker goes to another account meanwhile. Not a failure."""


class Stopping(BudgetSpent):
    """The daemon was asked to stop during a wait: the wait ends at once and the feed resumes from its cursor at the
    next start."""


class SourceUnavailable(SourceError):
    """Network failure, 5xx, or credentials refused."""

    def __init__(self, message: str, *, credentials_refused: bool = False) -> None:
        super().__init__(message)
        self.credentials_refused = credentials_refused


class InvalidRequest(SourceError):
    """Amazon refused the request itself (HTTP 400): retrying the same request cannot help."""


class UnreadableAnswer(SourceError):
    """An answer that proves nothing (edge page, empty body, missing list); retried, never read as "no records"."""


class MalformedPayload(SourceError):
    """One record that does not parse; it is quarantined, the rest of the page is kept."""


class ScenarioError(SentinelError):
    """A scenario file that breaks FORMAT.md; the message names the line."""


class DeliveryError(SentinelError):
    """One delivery attempt failed; `permanent` says whether retrying can help."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
