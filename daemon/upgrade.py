"""`floorlink rollback`: go back to the version that ran before the last install.

The installer (systemd/install.sh) keeps each version in its own venv under
`<prefix>/versions/<version>`, with two links: `current` (what systemd runs) and `previous`.
Rolling back swaps them, each with one rename of a new link over the old, so there is never a
moment without a `current`. The previous version must still accept the config: a rollback that
would leave a daemon that refuses to start is refused (unless --force).
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
SERVICE = "floorlink.service"


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


def restart() -> str:
    """Restart the daemon under systemd; a sentence saying what happened."""
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return "systemd is not running here: start the daemon yourself"
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
    p.set_defaults(fn=cmd_rollback)


def cmd_rollback(args: argparse.Namespace) -> int:
    prefix = args.prefix or running_prefix()
    try:
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
        print(restart())
    return 0
