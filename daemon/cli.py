"""The `seller-sentinel` command: parse arguments, load the config, call the app. No logic."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from daemon.errors import ConfigError, ScenarioError
from daemon.lock import AlreadyRunning
from daemon.version import release


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level or "INFO",
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: instance running" is expected with one worker
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except (ConfigError, ScenarioError, AlreadyRunning) as exc:
        print(f"seller-sentinel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seller-sentinel", description="Early warnings for Amazon account health.")
    parser.add_argument("--version", action="version", version=f"seller-sentinel {release()}")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="default: the config's [daemon] log_level, else INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon (no --config: the built-in simulated seller)")
    run.add_argument("--config", type=Path)
    run.set_defaults(handler=_run)

    demo = sub.add_parser("demo", help="simulator and daemon together on a breach-bound account, fast virtual time")
    demo.add_argument("--state-dir", type=Path, default=None, help="default: demo-state")
    demo.add_argument("--seconds-per-day", type=float, default=4.0, help="real seconds per virtual day")
    demo.add_argument("--days", type=int, default=20, help="virtual days to run before stopping")
    demo.set_defaults(handler=_demo)

    status = sub.add_parser("status", help="every metric: value, limit, defects to breach, Amazon's figure, open alerts")
    status.add_argument("--config", type=Path)
    status.add_argument("--state-dir", type=Path, help="without --config: the state of `run` or `demo` (found by itself)")
    status.set_defaults(handler=_status)

    todo = sub.add_parser("todo", help="the orders to act on, each with its deadline, as of the last sync")
    todo.add_argument("--config", type=Path)
    todo.add_argument("--state-dir", type=Path, help="without --config: the state of `run` or `demo` (found by itself)")
    todo.add_argument("--account", help="one account only")
    todo.set_defaults(handler=_todo)

    plan = sub.add_parser("plan", help="a draft plan of action (Markdown) from the orders behind one metric")
    plan.add_argument("--config", type=Path)
    plan.add_argument("--state-dir", type=Path, help="without --config: the state of `run` or `demo` (found by itself)")
    plan.add_argument("--account", required=True)
    plan.add_argument("--marketplace", required=True, help="a marketplace id, e.g. ATVPDKIKX0DER")
    plan.add_argument("--metric", required=True, help="odr, lsr_10d, lsr_30d, cr_7d, vtr_30d or otdr_14d")
    plan.add_argument("--fulfillment", default="MFN", choices=["MFN", "AFN"], help="MFN or AFN (odr only); default MFN")
    plan.set_defaults(handler=_plan)

    replay = sub.add_parser("replay", help="replay a scenario file and write metrics.jsonl, alerts.jsonl and todo.jsonl")
    replay.add_argument("scenario", type=Path)
    replay.add_argument("--out", type=Path, required=True)
    replay.add_argument("--config", type=Path)
    replay.add_argument("--realistic", action="store_true",
                        help="serve the scenario the way real Amazon answers at its worst (edge pages, CANCELLED "
                             "reports, deferred financial events, frozen lastUpdatedTime, missing report blocks)")
    replay.add_argument("--state-dir", type=Path,
                        help="keep the replay's database here, for status, todo and plan --state-dir afterwards")
    replay.set_defaults(handler=_replay)

    backup = sub.add_parser("backup", help="a consistent copy of the SQLite database, safe while the daemon runs")
    backup.add_argument("--config", type=Path)
    backup.add_argument("--to", type=Path, required=True, dest="target")
    backup.set_defaults(handler=_backup)

    check = sub.add_parser("check-config", help="validate a config file and print it, secrets masked")
    check.add_argument("--config", type=Path, required=True)
    check.set_defaults(handler=_check_config)

    test_alert = sub.add_parser("test-alert", help="send a sample alert through one channel and say what happened")
    test_alert.add_argument("--config", type=Path)
    test_alert.add_argument("--channel", required=True)
    test_alert.set_defaults(handler=_test_alert)

    silence = sub.add_parser("silence", help="mute one account or metric until a given time, or list silences")
    silence.add_argument("--config", type=Path)
    silence.add_argument("--account")
    silence.add_argument("--marketplace")
    silence.add_argument("--metric")
    silence.add_argument("--until", type=_instant, help="ISO 8601 instant, e.g. 2026-03-14T00:00:00Z")
    silence.add_argument("--reason")
    silence.add_argument("--list", action="store_true")
    silence.set_defaults(handler=_silence)
    return parser


def _backup(args: argparse.Namespace) -> int:
    from daemon.commands import backup_database, state_config

    config = _config(args) if args.config else state_config(None, sys.stderr)
    return backup_database(config, args.target, sys.stdout)


def _instant(text: str) -> datetime:
    from daemon.clock import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text}") from exc


def _config(args: argparse.Namespace):
    """The config of --config (None: the built-in one); its [daemon] log_level applies unless --log-level was given."""
    from daemon.config import load_config

    config = load_config(args.config, os.environ)
    if args.log_level is None:
        logging.getLogger().setLevel(config.daemon.log_level)
    return config


def _run(args: argparse.Namespace) -> int:
    from daemon.service import run_daemon

    return run_daemon(_config(args))


def _demo(args: argparse.Namespace) -> int:
    from daemon.service import run_demo

    from daemon.commands import DEMO_STATE_DIR

    return run_demo(args.state_dir or DEMO_STATE_DIR, seconds_per_day=args.seconds_per_day, days=args.days)


def _status(args: argparse.Namespace) -> int:
    from daemon.commands import print_status

    return print_status(_config_or_state(args), sys.stdout)


def _config_or_state(args: argparse.Namespace):
    if args.config is not None:
        return _config(args)
    from daemon.commands import state_config

    return state_config(args.state_dir, sys.stderr)


def _todo(args: argparse.Namespace) -> int:
    from daemon.action_commands import print_todo

    return print_todo(_config_or_state(args), sys.stdout, args.account)


def _plan(args: argparse.Namespace) -> int:
    from daemon.action_commands import print_plan

    return print_plan(_config_or_state(args), args.account, args.marketplace, args.metric, args.fulfillment, sys.stdout)


def _replay(args: argparse.Namespace) -> int:
    from daemon.replay import replay
    from daemon.simulator.server import Faults

    config = _config(args) if args.config else None
    summary = replay(args.scenario, args.out, config, Faults.realistic() if args.realistic else None, args.state_dir)
    print(f"replayed {summary.days} days: {summary.metric_rows} metric rows, {summary.alerts} alerts, "
          f"{summary.api_calls} SP-API calls -> {args.out}")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from daemon.config import describe_config

    print(describe_config(_config(args)))
    return 0


def _test_alert(args: argparse.Namespace) -> int:
    from daemon.commands import send_test_alert

    return send_test_alert(_config(args), args.channel, sys.stdout)


def _silence(args: argparse.Namespace) -> int:
    from daemon.commands import add_silence, list_silences

    config = _config(args)
    if args.list:
        return list_silences(config, sys.stdout)
    missing = [name for name in ("account", "until", "reason") if getattr(args, name) is None]
    if missing:
        print(f"seller-sentinel: silence needs --{' --'.join(missing)} (or --list)", file=sys.stderr)
        return 2
    return add_silence(config, args.account, args.marketplace, args.metric, args.until, args.reason, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
