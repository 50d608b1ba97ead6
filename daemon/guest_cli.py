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
from pathlib import Path
from typing import Any

from floorlink.daemon.config import ConfigError, load_config

EXIT_CONFIG = 2
EXIT_NOT_FOUND = 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser("guest", help="guest profiles: rebuild, show, export (docs/reports.md)")
    gsub = p.add_subparsers(dest="guest_command", required=True)
    r = gsub.add_parser("rebuild", help="rebuild the profiles from the log")
    r.add_argument("--config", required=True)
    r.set_defaults(fn=cmd_guest)
    for name, text in (("show", "one guest's visit summary"), ("export", "all held on a guest")):
        q = gsub.add_parser(name, help=text)
        q.add_argument("--config", required=True)
        q.add_argument("--phone")
        q.add_argument("--email")
        q.set_defaults(fn=cmd_guest)


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
    if not args.phone and not args.email:
        print("floorlink guest: give --phone or --email", file=sys.stderr)
        return EXIT_CONFIG
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        found = profiles.lookup(db, args.phone, args.email, config.site.country)
    finally:
        db.close()
    if found is None:
        print("no guest with that phone or email (run `floorlink guest rebuild`?)", file=sys.stderr)
        return EXIT_NOT_FOUND
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
