"""`floorlink`: run the daemon, check a config, replay the log, and the appliance's helpers."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from floorlink.daemon.config import Config, ConfigError, load_config
from floorlink.daemon.version import version

EXIT_CONFIG = 2
EXIT_STORE = 3
EXIT_REPLAY_MISMATCH = 4
#: Where the installer puts the config; FLOORLINK_CONFIG or --config point elsewhere.
DEFAULT_CONFIG = "/etc/floorlink/floorlink.toml"


def config_arg(p: argparse.ArgumentParser) -> None:
    """`--config PATH`, the same on every command that reads the config."""
    default = os.environ.get("FLOORLINK_CONFIG") or DEFAULT_CONFIG
    p.add_argument(
        "--config",
        default=default,
        metavar="PATH",
        help=f"the config file (default: {default}; or set FLOORLINK_CONFIG)",
    )


def _load(path: str) -> Config | None:
    try:
        return load_config(Path(path))
    except ConfigError as exc:
        from floorlink.daemon.setup_config import is_unset

        if is_unset(Path(path)):
            print(f"floorlink: {path}: not set up yet: open the setup page", file=sys.stderr)
        else:
            print(f"floorlink: {path}: {exc.described[0]}", file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    from floorlink.daemon.setup_config import check_seed, is_unset

    if is_unset(Path(args.config)):  # a fresh install: `run` serves the setup page
        problems = check_seed(Path(args.config))
        for line in problems:
            print(line)
        if problems:
            return 1
        from floorlink.daemon.setup_mode import describe

        print(describe(Path(args.config)))
        return 0
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        for line in exc.described:
            print(line)
        return 1
    print(f"{args.config}: ok ({len(config.tables)} tables, site {config.site.id})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from floorlink.daemon.setup_config import is_unset

    if is_unset(Path(args.config)):  # first run: the setup page, then the daemon on its config
        from floorlink.daemon.setup_mode import serve_setup

        return serve_setup(Path(args.config))
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    from floorlink.daemon.runner import run_daemon

    return asyncio.run(run_daemon(config, Path(args.config)))


def cmd_replay(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    from floorlink.daemon.replay import replay_and_compare

    report = replay_and_compare(config)
    print(json.dumps(report, indent=2) if args.json else report["summary"])
    return 0 if report["equal"] else EXIT_REPLAY_MISMATCH


def cmd_doctor(args: argparse.Namespace) -> int:
    from floorlink.daemon.setup_config import is_unset

    if is_unset(Path(args.config)):
        from floorlink.daemon.setup_mode import describe

        print(f"WARN  setup       {describe(Path(args.config))}")
        return 0
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print(f"FAIL  config      {args.config}:")
        for line in exc.described:
            print(f"      {line}")
        return 1
    from floorlink.daemon.doctor import doctor

    return doctor(config)


def cmd_report(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    import time as _time
    from datetime import date
    from zoneinfo import ZoneInfo

    from floorlink.daemon.report import REPORTS, default_day, load_period, service_day_of

    tz, cutoff = ZoneInfo(config.site.timezone), config.reports.cutoff
    now = int(_time.time() * 1000)

    def day_arg(text: str | None) -> date:
        if text is None:
            return default_day(now, tz, cutoff)
        if text == "today":
            return service_day_of(now, tz, cutoff)
        return date.fromisoformat(text)

    try:
        first = day_arg(args.since or args.day)
        last = day_arg(args.until or args.day) if (args.until or args.day) else first
    except ValueError as exc:
        print(f"floorlink report: {exc} (expected YYYY-MM-DD or 'today')", file=sys.stderr)
        return EXIT_CONFIG
    if last < first:
        print("floorlink report: --until is before --since", file=sys.stderr)
        return EXIT_CONFIG
    table = REPORTS[args.name](load_period(config, first, last))
    if args.json:
        print(json.dumps(table.to_json(), indent=2))
    elif args.csv:
        sys.stdout.write(table.to_csv())
    else:
        print(table.render())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floorlink", description=__doc__)
    parser.add_argument("--version", action="version", version=f"floorlink {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "run",
        help="run the daemon",
        description="Run the daemon in the foreground, as systemd does (Type=notify).",
    )
    config_arg(p)
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser(
        "check-config",
        help="validate a config and print what is wrong",
        description="Validate the config; print every problem with its key path, one per line. "
        "Exit 0 only on a config `run` would accept.",
    )
    config_arg(p)
    p.set_defaults(fn=cmd_check_config)
    p = sub.add_parser(
        "replay",
        help="rebuild the state from the log and compare it with the store",
        description="Fold the whole event log from nothing and prove it equals the stored state "
        f"(exit {EXIT_REPLAY_MISMATCH} if not).",
    )
    config_arg(p)
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(fn=cmd_replay)
    p = sub.add_parser(
        "doctor",
        help="check the box: config, PIN, secrets, store, broker, port, cloud, clock, disk",
        description="Check the box in plain words. Exit 1 when a check FAILs; warnings and "
        "what cannot be told leave it 0.",
    )
    config_arg(p)
    p.set_defaults(fn=cmd_doctor)
    from floorlink.daemon.report import REPORTS

    p = sub.add_parser(
        "report",
        help="a service day's covers, turns, revenue, RevPASH... (docs/reports.md)",
        description="One report (summary, turns, phases, revpash, sections, servers, tables, "
        "per-person, flow, accounting...) over service days, from the closed-checks projection. "
        "Each figure is defined in docs/reports.md.",
    )
    p.add_argument("name", nargs="?", default="summary", choices=sorted(REPORTS), help="the report")
    config_arg(p)
    p.add_argument("--day", help="YYYY-MM-DD or 'today' (default: the service day that just ended)")
    p.add_argument("--since", help="first service day of a range (YYYY-MM-DD)")
    p.add_argument("--until", help="last service day of a range (default: --since)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("--csv", action="store_true", help="print the report as CSV")
    p.set_defaults(fn=cmd_report)
    from floorlink.daemon import backup_cli, terminals, upgrade

    terminals.add_parsers(sub)
    backup_cli.add_parsers(sub, config_arg)
    upgrade.add_parsers(sub)
    from floorlink.daemon.receipts_cli import add_parser as add_receipts

    add_receipts(sub)
    from floorlink.daemon.guest_cli import add_parser as add_guest
    from floorlink.daemon.guest_cli import add_segment_parser

    add_guest(sub, config_arg)
    add_segment_parser(sub, config_arg)
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
