"""`floorlink backup` and `floorlink restore`: the commands around daemon/backup.py."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from floorlink.daemon.backup import BackupError, backup, prune, restore
from floorlink.daemon.config import ConfigError, load_config

#: Where backups go unless --to says otherwise: beside the store, under the state directory.
BACKUP_DIR = "backups"


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    config_arg: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser(
        "backup",
        help="copy the store safely, even while the daemon runs",
        description="Copy the store with SQLite's online backup API: one consistent copy while "
        "the daemon keeps writing, checked with PRAGMA integrity_check. The copy is one "
        "self-contained file; copy it off the box (docs/operations.md).",
    )
    config_arg(p)
    p.add_argument(
        "--to",
        type=Path,
        metavar="PATH",
        help="a file, or an existing folder that gets floorlink-YYYYMMDDTHHMMSSZ.db "
        f"(default: {BACKUP_DIR}/ beside the store)",
    )
    p.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="then delete all but the newest N dated backups in that folder",
    )
    p.set_defaults(fn=cmd_backup)
    p = sub.add_parser(
        "restore",
        help="replace the store with a backup (the daemon must be stopped)",
        description="Replace the store with FILE after checking that it is a Floorlink store and "
        "passes PRAGMA integrity_check. Refuses while the daemon has the store open: "
        "`sudo systemctl stop floorlink` first, `sudo systemctl start floorlink` after. The "
        "store it replaces is kept beside it as <store>.before-restore-<time>.",
    )
    p.add_argument("file", type=Path, help="the backup to restore")
    config_arg(p)
    p.set_defaults(fn=cmd_restore)


def _store_path(config_path: str) -> Path | None:
    try:
        return Path(load_config(Path(config_path)).store.path)
    except ConfigError as exc:
        print(f"floorlink: {config_path}: {exc.described[0]}")
        return None


def cmd_backup(args: argparse.Namespace) -> int:
    store = _store_path(args.config)
    if store is None:
        return 2
    dest: Path = args.to or store.parent / BACKUP_DIR
    if args.to is None:
        dest.mkdir(parents=True, exist_ok=True)
    if args.keep is not None and args.keep < 1:
        print("floorlink backup: --keep must be at least 1")
        return 2
    try:
        facts = backup(store, dest)
    except (BackupError, OSError) as exc:
        print(f"floorlink backup: {exc}")
        return 1
    print(f"backed up {store} to {facts.path}: {facts.events} events, {facts.size} bytes")
    if args.keep is not None:
        for old in prune(facts.path.parent, args.keep):
            print(f"deleted the old backup {old}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    store = _store_path(args.config)
    if store is None:
        return 2
    try:
        kept = restore(args.file, store)
    except (BackupError, OSError) as exc:
        print(f"floorlink restore: {exc}")
        return 1
    if kept is not None:
        print(f"the store it replaced is kept as {kept}")
    print(
        f"restored {args.file} to {store}. Check it with `floorlink replay`, then start the "
        "daemon: sudo systemctl start floorlink"
    )
    return 0
