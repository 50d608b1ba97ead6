"""`floorlink guest rebuild|show|export`: the guest profiles (daemon/profiles.py) for the manager.

`rebuild` replays the log into the `profiles` table; `show` prints one guest's visit summary
(found by phone or email, as on seating); `export` prints everything held about one guest as
JSON (a subject access request): the profile, their reservations as the reservation system sent
them, and the checks of their visits.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from floorlink.daemon.config import Config, ConfigError, load_config
from floorlink.daemon.store import Store

EXIT_CONFIG = 2
EXIT_NOT_FOUND = 1


def add_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("guest", help="guest profiles: rebuild, show, export (docs/reports.md)")
    gsub = p.add_subparsers(dest="guest_command", required=True)
    r = gsub.add_parser("rebuild", help="rebuild the profiles from the log")
    config_arg(r)
    r.set_defaults(fn=cmd_guest)
    r = gsub.add_parser("purge", help="erase guests not seen for privacy.retention_days")
    config_arg(r)
    r.set_defaults(fn=cmd_guest)
    for name, text in (
        ("show", "one guest's visit summary"),
        ("export", "all held on a guest"),
        ("erase", "erase a guest's personal data everywhere (stop the daemon first)"),
    ):
        q = gsub.add_parser(name, help=text)
        config_arg(q)
        q.add_argument("--phone", help="the guest's phone, in any spelling")
        q.add_argument("--email", help="the guest's email")
        q.set_defaults(fn=cmd_guest)


def add_segment_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    from floorlink.daemon.segments import SEGMENTS

    p = sub.add_parser("segment", help="a CSV of guests for a campaign (docs/reports.md)")
    p.add_argument("name", choices=sorted(SEGMENTS), help="the segment")
    config_arg(p)
    p.add_argument("--weekday", default="fri", help="weekday-regulars: mon..sun")
    p.add_argument("--today", help="YYYY-MM-DD (default: the site's date)")
    p.set_defaults(fn=cmd_segment)


def cmd_segment(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print(f"floorlink: {args.config}: {exc.errors[0]}", file=sys.stderr)
        return EXIT_CONFIG
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from floorlink.daemon import profiles
    from floorlink.daemon.segments import SEGMENTS, to_csv

    today = (
        date.fromisoformat(args.today)
        if args.today
        else datetime.now(ZoneInfo(config.site.timezone)).date()
    )
    built = profiles.rebuild(config)
    try:
        members = SEGMENTS[args.name](built, config.segments, today, args.weekday)
    except ValueError as exc:
        print(f"floorlink segment: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    sys.stdout.write(to_csv(members))
    return 0


def cmd_guest(args: argparse.Namespace) -> int:
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print(f"floorlink: {args.config}: {exc.errors[0]}", file=sys.stderr)
        return EXIT_CONFIG
    from floorlink.daemon import profiles

    if args.guest_command == "rebuild":
        built = profiles.rebuild(config)
        print(f"{len(built)} guest profiles rebuilt from the log")
        return 0
    if args.guest_command == "purge":
        return _purge(config)
    if not args.phone and not args.email:
        print("floorlink guest: give --phone or --email", file=sys.stderr)
        return EXIT_CONFIG
    # erase and export act on what the log holds now, not on a profiles table built earlier
    rebuilt = profiles.rebuild(config) if args.guest_command in ("erase", "export") else []
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        found = profiles.lookup(db, args.phone, args.email, config.site.country)
    finally:
        db.close()
    if found is None:
        print("no guest with that phone or email (run `floorlink guest rebuild`?)", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.guest_command == "erase":
        from floorlink.daemon import privacy

        by_id = {p.id: p for p in rebuilt}
        counts = privacy.erase(config, [by_id[found["id"]]], int(time.time() * 1000))
        print(
            f"guest {found['id']} erased: {counts['events']} events, {counts['outbox']} outbox"
            " rows rewritten; snapshots, tables, projection and profiles rebuilt"
        )
        return 0
    if args.guest_command == "show":
        s = found["summary"]
        print(f"{found['name'] or '(no name)'}{'  VIP' if s['vip'] else ''}")
        for key in ("visits", "last_visit", "average_check", "favourites", "allergies"):
            value = s[key]
            text = ", ".join(value) if isinstance(value, list) else value
            shown = "—" if value in (None, []) else text
            print(f"  {key.replace('_', ' '):<15}{shown}")
        return 0
    print(json.dumps(profiles.export(config, found), indent=2, sort_keys=True))
    return 0


def _purge(config: Config) -> int:
    from floorlink.daemon import privacy, profiles

    days = config.privacy.retention_days
    if days is None:
        print("privacy.retention_days is not set: nothing is purged")
        return 0
    built = profiles.rebuild(config)
    store = Store(config.store.path)
    store.open_readonly()
    try:
        reservations, _ = profiles.from_log(store)
    finally:
        store.close(clean=False)
    now = int(time.time() * 1000)
    old = privacy.stale(built, reservations, days, now)
    if old:
        privacy.erase(config, old, now)
    print(f"{len(old)} guests not seen for {days:g} days erased")
    return 0
