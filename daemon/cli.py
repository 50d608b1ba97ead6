"""`floorlink`: run the daemon, check a config, replay the log, and the appliance's helpers."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from floorlink.daemon.config import Config, ConfigError, load_config

EXIT_CONFIG = 2
EXIT_STORE = 3
EXIT_REPLAY_MISMATCH = 4


def _load(path: str) -> Config | None:
    try:
        return load_config(Path(path))
    except ConfigError as exc:
        print(f"floorlink: {path}: {exc.errors[0]}", file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        for line in exc.errors:
            print(line)
        return 1
    print(f"{args.config}: ok ({len(config.tables)} tables, site {config.site.id})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    from floorlink.daemon.runner import run_daemon

    return asyncio.run(run_daemon(config))


def cmd_replay(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    from floorlink.daemon.replay import replay_and_compare

    report = replay_and_compare(config)
    print(json.dumps(report, indent=2) if args.json else report["summary"])
    return 0 if report["equal"] else EXIT_REPLAY_MISMATCH


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print(f"FAIL  config      {args.config}:")
        for line in exc.errors:
            print(f"      {line}")
        return 1
    from floorlink.daemon.doctor import doctor

    return doctor(config)


def cmd_report(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from floorlink.daemon.report import render, service_report

    day = (
        date.fromisoformat(args.day)
        if args.day
        else datetime.now(ZoneInfo(config.site.timezone)).date()
    )
    report = service_report(config, day)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def cmd_add_terminal(args: argparse.Namespace) -> int:
    from floorlink.daemon.terminals import add_terminal_main

    code: int = add_terminal_main(args.rest)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floorlink", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the daemon")
    p.add_argument("--config", required=True)
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("check-config", help="validate a config and print what is wrong")
    p.add_argument("--config", required=True)
    p.set_defaults(fn=cmd_check_config)
    p = sub.add_parser(
        "replay", help="rebuild the state from the log and compare it with the store"
    )
    p.add_argument("--config", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_replay)
    p = sub.add_parser("doctor", help="check the box: config, store, broker, port, cloud, clock")
    p.add_argument("--config", required=True)
    p.set_defaults(fn=cmd_doctor)
    p = sub.add_parser("report", help="a day's covers, turns, revenue and RevPASH from the log")
    p.add_argument("--config", required=True)
    p.add_argument("--day", help="YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_report)
    p = sub.add_parser("add-terminal", help="create a POS terminal's broker credentials")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_add_terminal)
    from floorlink.daemon.receipts_cli import add_parser as add_receipts

    add_receipts(sub)
    args = parser.parse_args(argv)
    # The one-shot commands die quietly when piped into `head`. The daemon ignores SIGPIPE: a write
    # to a socket the broker just closed must be an error it handles, never a silent death
    # (systemd counts a SIGPIPE death as clean and would not restart it).
    sigpipe = signal.SIG_IGN if args.fn is cmd_run else signal.SIG_DFL
    signal.signal(signal.SIGPIPE, sigpipe)
    code: int = args.fn(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
