"""Adding and ending silences with the same checks wherever they come from: the CLI and the status page."""
from __future__ import annotations

from datetime import datetime

from daemon.config import METRIC_LIMITS, Config
from storage import alerts_repo
from storage.repo import Store

OTHER_ALERTS = ("ahr", "credentials", "lwa_secret_expiry")  # and "policy:<section>", "feed_stale:<feed>", ...


def silence_problem(config: Config, account: str, marketplace: str | None, metric: str | None, until: datetime,
                    reason: str, now: datetime) -> str | None:
    """Why this silence cannot be added, as one sentence with the fix; None when it can."""
    accounts = {a.name: a for a in config.accounts}
    if account not in accounts:
        return f"no account named {account!r}; use one of {', '.join(sorted(accounts))}"
    if marketplace and marketplace not in accounts[account].marketplaces:
        return f"account {account} has no marketplace {marketplace!r}; use one of {', '.join(accounts[account].marketplaces)}"
    if metric and metric not in METRIC_LIMITS and metric not in OTHER_ALERTS and not metric.startswith(
            ("policy:", "feed_stale:", "feed_failing:")):
        return f"no alert named {metric!r}; use a metric id such as {', '.join(METRIC_LIMITS)}, or leave it empty"
    if until <= now:
        return f"until {until.isoformat()} is already past; give a future instant"
    if not reason.strip():
        return "a silence needs a reason, so whoever reads it later knows why alerts were quiet"
    return None


def create_silence(store: Store, account: str, marketplace: str | None, metric: str | None, until: datetime,
                   reason: str, now: datetime) -> int:
    """Store a checked silence; returns its id."""
    with store.transaction() as session:
        return alerts_repo.add_silence(session, account, marketplace or None, metric or None, until, reason.strip(), now)


def end_silence(store: Store, silence_id: int, now: datetime) -> bool:
    """End a silence now (kept for the record); False when there is no such active silence."""
    with store.transaction() as session:
        return alerts_repo.end_silence(session, silence_id, now)
