"""The running daemon: its jobs (poll, deliver, watch itself, digests) on APScheduler, `run` and `demo`."""
from __future__ import annotations

import logging
import shutil
import signal
import sys
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from alerts.outbox import deliver_due
from daemon import sdnotify
from daemon.app import build, digest_routes_of, load_builtin_or_file
from daemon.clock import Clock, ScaledClock, SystemClock, format_instant
from daemon.config import Config, default_config
from daemon.digests import enqueue_due_digests
from daemon.health import HealthRules, health_findings
from daemon.notify import notify
from daemon.pipeline import evaluation_instant, sync_bound
from daemon.runtime import AccountRuntime, App
from daemon.dbhealth import DatabaseOutage
from daemon.lock import DaemonLock
from daemon.version import release
from daemon.web import WebServer, status_app
from daemon.scheduler import Job, guarded, run_jobs
from daemon.dispatch import PollDispatcher
from daemon.leases import leases_for
from daemon.simulator.clockfile import remember, resume_point
from daemon.simulator.server import SimulatorServer

logger = logging.getLogger(__name__)
FAST_FEEDS = ("orders", "order_history", "orders_v0", "deliveries", "finances", "quarantine")
MIN_JOB_SECONDS = 0.5  # real seconds between two runs of a job, however fast virtual time goes
DISPATCH_SECONDS = 0.5  # how often the dispatcher looks for accounts whose turn has come
BUDGET_WAIT_SECONDS = 20.0  # a poll waits this long for a usage-plan token, then leaves the rest to the next turn
DEMO_SLOW_POLL_SECONDS = 5.0  # real seconds a demo's poll may take on two busy cores
SCENARIO_GRACE = timedelta(days=1)  # a simulated run goes on this long after its scenario ends, to read the last of it


class Daemon:
    """The jobs of `run` over one App: poll the accounts this daemon holds, evaluate, deliver, watch itself, digests."""

    def __init__(self, config: Config, app: App, started_at: datetime, outage: DatabaseOutage | None = None) -> None:
        self.config, self.app, self.started_at = config, app, started_at
        self.outage = outage or DatabaseOutage(SystemClock())
        self.last_reports: dict[tuple[str, str], datetime] = {}
        self.report_every = {"feedback": timedelta(hours=config.daemon.feedback_poll_hours),
                             "performance": timedelta(hours=config.daemon.performance_poll_hours)}
        names = [a.name for a in app.accounts]
        self.leases = leases_for(app.store, names, timedelta(seconds=config.daemon.lease_seconds))
        self.dispatcher = PollDispatcher(
            names, self._poll_guarded, timedelta(minutes=config.daemon.poll_interval_minutes),
            config.daemon.poll_workers, app.clock, self.leases.holds, app.store.last_polled)

    def _poll_guarded(self, name: str) -> None:
        guarded(Job(f"poll:{name}", 0, lambda: self.poll(self.app.account(name))), self.outage)()

    def poll(self, account: AccountRuntime) -> None:
        now = self.app.clock.now()
        until = sync_bound(now)
        feeds = FAST_FEEDS
        for feed, every in self.report_every.items():  # reports are slow and rate-limited: their own cadence
            last = self.last_reports.get((account.name, feed))
            if last is None or now - last >= every:
                feeds += (feed,)
        results = self.app.sync(account, until, feeds)
        for result in results:  # a report still being made is taken up at the next turn, not hours later
            if result.source in self.report_every and not result.deferred:
                self.last_reports[(account.name, result.source)] = now
        stored = sum(r.records for r in results)
        failed = [r.source for r in results if r.error]
        deferred = [r.source for r in results if r.deferred]
        at = evaluation_instant(until)
        alerts = self.app.evaluate(account, at, now).alerts
        logger.info("poll account=%s virtual_time=%s records=%d quarantined=%d api_calls=%d alerts=%d%s", account.name,
                    format_instant(now), stored, sum(r.rejects for r in results), sum(r.api_calls for r in results),
                    len(alerts), (f" failed={','.join(failed)}" if failed else "")
                    + (f" deferred={','.join(deferred)}" if deferred else ""))

    def watch(self) -> None:
        """Operational alerts, digests, and the systemd watchdog ping."""
        now = self.app.clock.now()
        rules = HealthRules(
            stale_after={feed: timedelta(hours=h) for feed, h in self.config.alerts.feed_stale_hours.items()},
            failing_after=timedelta(minutes=self.config.alerts.poll_failure_minutes),
            secret_warning=timedelta(days=self.config.alerts.secret_expiry_warning_days),
        )
        with self.app.store.transaction() as session:
            for account, account_config in zip(self.app.accounts, self.config.accounts):
                if not self.leases.holds(account.name) or self.dispatcher.polling(account.name):
                    continue  # another daemon watches it; a feed being read (a long backfill) is not stale
                for finding in health_findings(session, account.name, account.seller_id, now, rules, self.started_at,
                                               account_config.lwa_client_secret_rotated_on):
                    notify(session, finding, now, self.app.policy, self.app.routes)
        enqueue_due_digests(self.app, self.config.digests, digest_routes_of(self.config), now)
        sdnotify.notify("WATCHDOG=1")

    def deliver(self) -> None:
        deliver_due(self.app.store, self.app.channels, self.app.render, self.app.clock)

    def jobs(self, speed: float) -> list[Job]:
        """Intervals are virtual; `speed` turns them into the real seconds APScheduler counts. Leases are real time."""
        lease_refresh = self.config.daemon.lease_seconds / 3
        jobs = [Job("leases", lease_refresh, self.leases.refresh),
                Job("dispatch", DISPATCH_SECONDS, self.dispatcher.tick)]
        jobs.append(Job("deliver", max(MIN_JOB_SECONDS, self.config.daemon.deliver_interval_seconds / speed), self.deliver))
        jobs.append(Job("watch", max(MIN_JOB_SECONDS, min(60.0, 300 / speed)), self.watch))
        return jobs


def run_daemon(config: Config, stop: threading.Event | None = None, max_virtual: timedelta | None = None) -> int:
    """`seller-sentinel run`: jobs on APScheduler until SIGTERM (or Ctrl-C); against the simulator when the config says so."""
    stop = stop or threading.Event()
    server = None
    speed = 1.0
    clock: Clock = SystemClock(stop)  # every wait of every poll ends when the daemon is asked to stop
    simulated: list[Job] = []
    if config.simulator.enabled:
        scenario = load_builtin_or_file(config.simulator.scenario, config.simulator.seed)
        speed = config.simulator.speed
        start = resume_point(config.daemon.state_dir, scenario)
        clock = ScaledClock(start, speed)
        server = SimulatorServer(scenario, clock).start()
        simulated = _simulation_jobs(config.daemon.state_dir, scenario, clock, stop)
        logger.info("simulator serving scenario=%s from=%s speed=%gx", scenario.name, format_instant(start), speed)
    lock = DaemonLock()
    web: WebServer | None = None
    # Reminders of a database outage are paced in real time, whatever speed a simulated clock runs at.
    outage = DatabaseOutage(SystemClock())
    daemon: Daemon | None = None
    try:
        # In fast virtual time a wait for a token is short in real time: wait as a replay does.
        wait = BUDGET_WAIT_SECONDS if speed == 1.0 else None
        app = build(config, clock, api_url=server.url if server else "", lock=lock, budget_wait_seconds=wait)
        outage.watch(app.store)
        daemon = Daemon(config, app, clock.now(), outage)
        daemon.leases.refresh()
        if config.http.enabled:
            web = WebServer(status_app(config, app.store, clock, daemon.started_at, release(), outage, app.evaluated),
                            config.http.host, config.http.port)
            if web.start() is not None:
                threading.Thread(target=web.app.state.warm, name="status-warm", daemon=True).start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        jobs = daemon.jobs(speed) + simulated
        if max_virtual is not None:
            end = clock.now() + max_virtual
            jobs.append(Job("stop-at-end", 1.0, lambda: stop.set() if clock.now() >= end else None))
        run_jobs(jobs, stop, outage, on_started=lambda: sdnotify.notify("READY=1"))
        sdnotify.notify("STOPPING=1")
        daemon.dispatcher.shutdown()
        daemon.deliver()
        daemon.leases.release()
        logger.info("stopped cleanly")
        return 0
    finally:
        if daemon is not None:
            daemon.dispatcher.shutdown()
        if web is not None:
            web.stop()
        lock.release()
        if server is not None:
            server.stop()


def _simulation_jobs(state_dir: Path, scenario, clock: Clock, stop: threading.Event) -> list[Job]:
    """Keep the virtual time in the state directory; stop a day after the scenario ends (nothing new happens then)."""
    def keep_time() -> None:
        remember(state_dir, scenario, clock.now())

    def stop_after_end() -> None:
        if clock.now() >= scenario.end + SCENARIO_GRACE:
            logger.info("the simulated scenario ended at %s: stopping", format_instant(scenario.end))
            stop.set()

    return [Job("simulator-clock", MIN_JOB_SECONDS, keep_time, writes_files=True),
            Job("scenario-end", MIN_JOB_SECONDS, stop_after_end)]


def run_demo(state_dir: Path, seconds_per_day: float, days: int) -> int:
    """`seller-sentinel demo`: the breach-bound simulated seller in fast virtual time, alerts to the console and to .eml files."""
    shutil.rmtree(state_dir, ignore_errors=True)  # a demo starts from a fresh account every time
    base = default_config(state_dir)
    speed = 86400 / seconds_per_day
    # Jobs run at most every half real second, and a poll takes a few real seconds on a busy machine: in fast virtual
    # time that is hours to days between polls, which must not read as a stale feed.
    poll_hours = max(2.0, MIN_JOB_SECONDS * speed / 3600)
    slow_poll_hours = DEMO_SLOW_POLL_SECONDS * speed / 3600
    stale = {feed: max(hours, 3 * poll_hours, slow_poll_hours) for feed, hours in base.alerts.feed_stale_hours.items()}
    config = replace(
        base,
        simulator=replace(base.simulator, speed=speed),
        daemon=replace(base.daemon, poll_interval_minutes=120, deliver_interval_seconds=600),
        alerts=replace(base.alerts, feed_stale_hours=stale),
        channels=tuple(replace(c, digests=c.kind == "file") for c in base.channels),
    )
    print(f"seller-sentinel demo: one virtual day every {seconds_per_day:g} s; alerts below and as e-mail files in "
          f"{(state_dir / 'alerts').resolve()}; Ctrl-C stops.", file=sys.stderr)
    return run_daemon(config, max_virtual=timedelta(days=days))
