"""APScheduler 3 set-up for `run` and `demo`: each job is one call into the App. No business logic."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from daemon.dbhealth import DatabaseOutage

logger = logging.getLogger(__name__)
JOB_THREADS = 4


@dataclass(frozen=True)
class Job:
    id: str
    every_seconds: float
    run: Callable[[], object]
    writes_files: bool = False  # it writes files under the state directory: its success proves they can be written


def guarded(job: Job, outage: DatabaseOutage) -> Callable[[], None]:
    """A job that logs and returns on any error: the daemon keeps running and the next tick retries.

    A database that cannot be written is the outage's to say (once, not a traceback per job); anything else is a bug
    and is logged with its traceback.
    """

    def tick() -> None:
        try:
            job.run()
        except Exception as exc:
            if not outage.failed(job.id, exc):
                logger.exception("job failed job=%s", job.id)
        else:
            if job.writes_files:
                outage.wrote("files")
            outage.succeeded()

    return tick


def run_jobs(jobs: list[Job], stop: threading.Event, outage: DatabaseOutage,
             on_started: Callable[[], None] = lambda: None) -> None:
    """Run the jobs until `stop` is set; every job also runs once at start."""
    # A few threads, so a slow delivery never holds up lease renewal or dispatch; a job never overlaps itself, and the
    # polls themselves run on the dispatcher's own workers (daemon/dispatch.py).
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=JOB_THREADS)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone="UTC",
    )
    for job in jobs:
        tick = guarded(job, outage)
        scheduler.add_job(
            tick, IntervalTrigger(seconds=job.every_seconds), id=job.id, name=job.id,
            misfire_grace_time=max(1, int(job.every_seconds)),
        )
        # A date trigger without a run date fires at once: every job also runs when the daemon starts.
        scheduler.add_job(tick, "date", id=f"{job.id}:start", name=f"{job.id}:start")
    scheduler.start()
    on_started()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
