"""`floorlink guest ...`: the guest profiles (daemon/profiles.py) for the manager.

`rebuild` replays the log into the `profiles` table; `show` prints one guest's visit summary
(found by phone or email, as on seating); `export` prints everything held about one guest as
JSON (a subject access request): the profile, their reservations as the reservation system sent
them, and the checks of their visits. `duplicates` lists profiles that may be one guest;
`merge A B` joins two, `unmerge M` undoes merge M, `merges` lists them all.

What changes the store (erase, merge, unmerge) goes through the running daemon's local API
(the staff token from the config), so its state follows; only when no daemon answers on
`http.listen` does the CLI change the store itself (erase directly, merges through an engine
of its own on the store).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floorlink.daemon.config import Config, ConfigError, load_config
from floorlink.daemon.store import Store

EXIT_CONFIG = 2
EXIT_NOT_FOUND = 1


def add_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("guest", help="guest profiles: rebuild, show, export (docs/reports.md)")
    gsub = p.add_subparsers(dest="guest_command", required=True)
    # Each subcommand with its own positional arguments (name, help).
    commands: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
        ("rebuild", "rebuild the profiles from the log", ()),
        ("purge", "erase guests not seen for privacy.retention_days", ()),
        ("duplicates", "profiles with one name that may be one guest", ()),
        ("merges", "every merge, undone ones included", ()),
        (
            "merge",
            "merge two profiles (ids from `duplicates`)",
            (("a", "a profile id"), ("b", "its duplicate")),
        ),
        ("unmerge", "undo a merge (ids from `merges`)", (("merge", "the merge id, e.g. m1"),)),
    )
    for name, text, positionals in commands:
        r = gsub.add_parser(name, help=text)
        config_arg(r)
        for arg, arg_help in positionals:
            r.add_argument(arg, help=arg_help)
        r.set_defaults(fn=cmd_guest)
    for name, text in (
        ("show", "one guest's visit summary"),
        ("export", "all held on a guest"),
        ("erase", "erase a guest's personal data everywhere (through the running daemon)"),
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
    built = profiles.built(config)  # read-only: the daemon may be running
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
    if args.guest_command in ("merge", "unmerge", "merges"):
        return _merges(config, args)
    if args.guest_command == "duplicates":
        return _duplicates(config)
    if args.guest_command == "erase" and (args.phone or args.email):
        answered = daemon_call(
            config, "POST", "/api/v1/guests/erase", {"phone": args.phone, "email": args.email}
        )
        if answered is not None:
            status, body = answered
            if status == 200:
                print(f"guest {body['profile']} erased by the running daemon: {body['events']}"
                      f" events, {body['outbox']} outbox rows rewritten")  # fmt: skip
                return 0
            print(f"floorlink guest erase: {body.get('error', status)}", file=sys.stderr)
            return EXIT_NOT_FOUND if status == 404 else EXIT_CONFIG
    if not args.phone and not args.email:
        print("floorlink guest: give --phone or --email", file=sys.stderr)
        return EXIT_CONFIG
    # erase and export act on what the log holds now, not on a profiles table built earlier
    rebuilt = profiles.rebuild(config) if args.guest_command == "erase" else []
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
    answered = daemon_call(config, "POST", "/api/v1/guests/purge", {})
    if answered is not None:
        status, body = answered
        if status != 200:
            print(f"floorlink guest purge: {body.get('error', status)}", file=sys.stderr)
            return EXIT_CONFIG
        print(f"{body['guests']} guests not seen for {days:g} days erased by the running daemon")
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


def daemon_call(
    config: Config, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]] | None:
    """(status, JSON answer) from the daemon's local API; None when no daemon answers."""
    host, _, port = config.http.listen.rpartition(":")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]", "") else host.strip("[]")
    token = config.http.staff_token.get_secret_value() if config.http.staff_token else ""
    req = urllib.request.Request(
        f"http://{host}:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {"error": exc.reason}
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _merges(config: Config, args: argparse.Namespace) -> int:
    cmd = args.guest_command
    if cmd == "merges":
        call: tuple[str, str, dict[str, Any] | None] = ("GET", "/api/v1/guests/merges", None)
    elif cmd == "merge":
        call = ("POST", "/api/v1/guests/merge", {"a": args.a, "b": args.b})
    else:
        call = ("POST", f"/api/v1/guests/merges/{args.merge}/undo", None)
    answered = daemon_call(config, *call)
    if answered is None:
        answered = asyncio.run(_offline(config, cmd, args))
    status, body = answered
    if status != 200:
        print(f"floorlink guest {cmd}: {body.get('error', status)}", file=sys.stderr)
        return EXIT_NOT_FOUND if status == 404 else EXIT_CONFIG
    for m in body.get("merges", [body]):
        state = f"undone {_when(m['undone'])}" if m.get("undone") else "in force"
        print(f"{m['merge']}: reservations {m['a']} + {m['b']} by {m['by']} at {_when(m['at'])},"
              f" {state}; now in profile {m.get('profile') or '—'}")  # fmt: skip
    return 0


def _when(ms: int | None) -> str:
    return (
        "—" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
    )


async def _offline(
    config: Config, cmd: str, args: argparse.Namespace
) -> tuple[int, dict[str, Any]]:
    """No daemon answers: the same operation through an engine of our own on the store."""
    from floorlink.daemon import guest_service, profiles
    from floorlink.daemon.engine import Engine
    from floorlink.daemon.parts import build_state

    engine = Engine(
        Store(config.store.path),
        lambda: build_state(config),
        projections=[profiles.LiveProfiles.of(config)],
    )
    await engine.open()
    runner = asyncio.create_task(engine.run())
    try:
        now = int(time.time() * 1000)
        if cmd == "merges":
            return 200, await guest_service.merges(engine)
        if cmd == "merge":
            result = await guest_service.merge(engine, args.a, args.b, "cli", now)
        else:
            result = await guest_service.unmerge(engine, args.merge, "cli", now)
        return (200, result.body) if result.ok else (result.status, {"error": result.error})
    finally:
        runner.cancel()
        await engine.close()


def _duplicates(config: Config) -> int:
    """Profiles that share a name but no phone or email: maybe one guest, for a person to
    judge (`guest merge`). Read-only."""
    db = sqlite3.connect(f"file:{config.store.path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT name, group_concat(DISTINCT profile) FROM profile_members"
            " WHERE name IS NOT NULL AND profile IS NOT NULL GROUP BY name"
            " HAVING count(DISTINCT profile) > 1 ORDER BY name"
        ).fetchall()
    finally:
        db.close()
    for name, ids in rows:
        print(f"{', '.join(sorted(ids.split(',')))}  share the name {name!r}")
    if not rows:
        print("no two profiles share a name")
    return 0
