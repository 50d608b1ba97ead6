"""`floorlink rollback`: go back to the version that ran before the last install.

The installer (systemd/install.sh) keeps each version in its own venv under
`<prefix>/versions/<version>`, with two links: `current` (what systemd runs) and `previous`.
Rolling back swaps them, each with one rename of a new link over the old, so there is never a
moment without a `current`. The previous version must still accept the config: a rollback that
would leave a daemon that refuses to start is refused (unless --force).

A failed start rolls back by itself: each daemon that became ready records which version it is
(`started-version` in the state folder). When floorlink.service gives up restarting (its start
limit), systemd runs floorlink-rollback.service, which calls `rollback --after-failed-start`: if
the current version never became ready on this box, the upgrade is what broke it, and the previous
version comes back; a version that has run here before is left alone (the fault is elsewhere).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREFIX = Path("/opt/floorlink")
DEFAULT_STATE = Path("/var/lib/floorlink")
SERVICE = "floorlink.service"
#: In the state folder: the installed version (its folder) that last became ready.
STARTED_FILE = "started-version"


class RollbackError(Exception):
    """No rollback happened, with the reason."""


@dataclass(frozen=True, slots=True)
class Versions:
    prefix: Path
    current: str | None
    previous: str | None


def running_prefix() -> Path:
    """The prefix this program was installed under: `<prefix>/versions/<name>` is sys.prefix."""
    here = Path(sys.prefix)
    if here.parent.name == "versions":
        return here.parent.parent
    return DEFAULT_PREFIX


def versions(prefix: Path) -> Versions:
    def link(name: str) -> str | None:
        try:
            return os.readlink(prefix / name)
        except OSError:
            return None

    return Versions(prefix, link("current"), link("previous"))


def _point(prefix: Path, name: str, target: str) -> None:
    tmp = prefix / f".{name}.new"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, prefix / name)  # rename(2): atomic, the old link is never missing


def rollback(prefix: Path, config: str | None, force: bool = False) -> Versions:
    """Swap `current` and `previous`; returns the versions after the swap."""
    before = versions(prefix)
    if before.current is None:
        raise RollbackError(f"{prefix} has no current version: is Floorlink installed there?")
    if before.previous is None:
        raise RollbackError(f"{prefix} keeps no previous version to go back to")
    target = prefix / before.previous
    exe = target / "bin" / "floorlink"
    if not (target / ".complete").exists() or not exe.exists():
        raise RollbackError(f"the previous version in {target} is incomplete")
    if config is not None and not force:
        check = subprocess.run(
            [str(exe), "check-config", "--config", config],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise RollbackError(
                f"{Path(before.previous).name} does not accept {config}:\n"
                f"{check.stdout.strip() or check.stderr.strip()}\n"
                "fix the config for it (or use --force), then roll back"
            )
    _point(prefix, "current", before.previous)
    _point(prefix, "previous", before.current)
    return versions(prefix)


def this_version() -> str:
    """The folder this program runs from: `<prefix>/versions/<name>` when installed."""
    return os.path.realpath(sys.prefix)


def record_started(state_dir: Path) -> None:
    """Note that this version became ready on this box (written once per start, atomically)."""
    path = state_dir / STARTED_FILE
    tmp = state_dir / f".{STARTED_FILE}.new"
    try:
        if path.exists() and path.read_text().strip() == this_version():
            return
        tmp.write_text(this_version() + "\n")
        os.replace(tmp, path)
    except OSError:  # a read-only or missing state folder: the store would have failed first
        return


def after_failed_start(prefix: Path, state_dir: Path, config: str | None) -> Versions | None:
    """Roll back when the current version never became ready here; None when it has (then the
    failure is not the upgrade's, and switching versions would not help)."""
    now = versions(prefix)
    if now.current is None:
        raise RollbackError(f"{prefix} has no current version: is Floorlink installed there?")
    try:
        started = (state_dir / STARTED_FILE).read_text().strip()
    except OSError:
        started = ""
    if started and started == os.path.realpath(prefix / now.current):
        return None
    return rollback(prefix, config)


def restart(reset_failed: bool = False) -> str:
    """Restart the daemon under systemd; a sentence saying what happened. `reset_failed`: after
    its start limit, systemd refuses a start until the failure is reset."""
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return "systemd is not running here: start the daemon yourself"
    if reset_failed:
        subprocess.run(["systemctl", "reset-failed", SERVICE], capture_output=True, check=False)
    done = subprocess.run(
        ["systemctl", "restart", SERVICE], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip()
        return f"`systemctl restart {SERVICE}` failed: {why} (journalctl -u floorlink -e)"
    return f"{SERVICE} restarted"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rollback",
        help="go back to the version installed before this one",
        description="Switch back to the version that ran before the last install (kept by "
        "install.sh under PREFIX/versions/), after checking that it accepts the config, and "
        "restart the daemon. Running it again goes forward again.",
    )
    p.add_argument(
        "--prefix",
        type=Path,
        default=None,
        help=f"where Floorlink is installed (default: this program's, else {DEFAULT_PREFIX})",
    )
    p.add_argument(
        "--config",
        default=os.environ.get("FLOORLINK_CONFIG") or "/etc/floorlink/floorlink.toml",
        metavar="PATH",
        help="the config the previous version must accept (default: %(default)s)",
    )
    p.add_argument("--force", action="store_true", help="roll back even if it refuses the config")
    p.add_argument("--no-restart", action="store_true", help="switch only; do not restart")
    p.add_argument(
        "--after-failed-start",
        action="store_true",
        help="only if the current version never became ready on this box (what "
        "floorlink-rollback.service runs when floorlink.service gives up restarting)",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE,
        help="where the daemon records the version that last started (default: %(default)s)",
    )
    p.set_defaults(fn=cmd_rollback)


def cmd_rollback(args: argparse.Namespace) -> int:
    prefix = args.prefix or running_prefix()
    try:
        if args.after_failed_start:
            done = after_failed_start(prefix, args.state_dir, args.config)
            if done is None:
                current = versions(prefix).current or "?"
                print(
                    f"not rolled back: {Path(current).name} has started on this box before, so "
                    "the failure is not the upgrade's: journalctl -u floorlink -e"
                )
                return 0
            after = done
        else:
            after = rollback(prefix, args.config, args.force)
    except (RollbackError, OSError) as exc:
        print(f"floorlink rollback: {exc}")
        return 1
    assert after.current is not None and after.previous is not None
    print(
        f"now on {Path(after.current).name} (was {Path(after.previous).name}); "
        "`floorlink rollback` again goes back"
    )
    if not args.no_restart:
        print(restart(reset_failed=args.after_failed_start))
    return 0
