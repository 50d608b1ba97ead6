"""`floorlink add-terminal NAME`: broker credentials for one POS terminal, and what to type in;
`list-terminals` and `remove-terminal` to see and revoke them.

Only a password is added: the broker ACL's `%u` patterns already give a user named NAME exactly
its own topics (publish `floorlink/v1/pos/NAME/events`, read its own acks, the tables, the guest
details and the status), so there is no per-terminal ACL to keep in step.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

DEFAULT_PASSWD = Path("/etc/mosquitto/floorlink.passwd")
# Also keeps out what Mosquitto refuses in a %u pattern ('/', '+', '#') or a password file (':').
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RESERVED = frozenset({"floorlink", "host-stand", "monitor"})


def terminal_topics(name: str) -> dict[str, list[str]]:
    """What the ACL lets terminal `name` do; printed for whoever sets up the POS."""
    return {
        "publish": [f"floorlink/v1/pos/{name}/events"],
        "subscribe": [
            f"floorlink/v1/pos/{name}/acks",
            "floorlink/v1/tables/+",
            "floorlink/v1/tables/+/guest",
            "floorlink/v1/status",
            "floorlink/v1/servers/+",
        ],
    }


def add_terminal(name: str, passwd_file: Path, password: str | None = None) -> str:
    """Create or replace the terminal's broker password; returns it."""
    if not NAME_RE.match(name):
        raise ValueError(f"{name!r}: a terminal name is 1-64 letters, digits, '-' or '_'")
    if name in RESERVED:
        raise ValueError(f"{name!r} is a reserved role name")
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise RuntimeError("mosquitto_passwd is missing: apt install mosquitto")
    password = password or secrets.token_urlsafe(18)
    args = [tool, "-b", str(passwd_file), name, password]
    if not passwd_file.exists():
        passwd_file.parent.mkdir(parents=True, exist_ok=True)
        args.insert(1, "-c")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise RuntimeError(f"mosquitto_passwd failed on {passwd_file}: {why} (run with sudo?)")
    return password


def _reload_broker() -> bool:
    """Mosquitto re-reads its password file on SIGHUP (`systemctl reload mosquitto`)."""
    if shutil.which("systemctl") is None:
        return False
    done = subprocess.run(["systemctl", "reload", "mosquitto"], check=False, capture_output=True)
    return done.returncode == 0


def list_terminals(passwd_file: Path) -> list[str]:
    """The terminals in the broker's password file: every user but the roles."""
    try:
        lines = passwd_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    users = (line.split(":", 1)[0] for line in lines if ":" in line and not line.startswith("#"))
    return sorted(u for u in users if u not in RESERVED)


def remove_terminal(name: str, passwd_file: Path) -> None:
    """Delete the terminal's broker user; it can no longer connect once Mosquitto reloads."""
    if name in RESERVED:
        raise ValueError(f"{name!r} is a role, not a terminal")
    if name not in list_terminals(passwd_file):
        raise ValueError(f"no terminal {name!r} in {passwd_file}")
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise RuntimeError("mosquitto_passwd is missing: apt install mosquitto")
    done = subprocess.run(
        [tool, "-D", str(passwd_file), name], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise RuntimeError(f"mosquitto_passwd failed on {passwd_file}: {why} (run with sudo?)")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`add-terminal`, `list-terminals` and `remove-terminal`, with their real options."""
    p = sub.add_parser(
        "add-terminal",
        help="create or replace a POS terminal's broker credentials",
        description="Create (or replace) a POS terminal's broker password and print what to "
        "type into the POS. The ACL's %u patterns give the terminal its own topics.",
    )
    p.add_argument("name", help="the terminal's name and broker username, e.g. bar-1")
    _passwd_arg(p)
    p.add_argument(
        "--host",
        default=socket.gethostname().split(".")[0] + ".local",
        help="the broker address to print for the POS (default: %(default)s)",
    )
    p.add_argument("--port", type=int, default=1883, help="the broker port to print")
    p.add_argument("--no-reload", action="store_true", help="do not reload Mosquitto")
    p.set_defaults(fn=cmd_add_terminal)
    p = sub.add_parser(
        "list-terminals",
        help="list the POS terminals that have broker credentials",
        description="List the POS terminals in the broker's password file (roles left out).",
    )
    _passwd_arg(p)
    p.set_defaults(fn=cmd_list_terminals)
    p = sub.add_parser(
        "remove-terminal",
        help="delete a POS terminal's broker credentials",
        description="Delete a POS terminal's broker user and reload Mosquitto: it cannot "
        "connect again until `add-terminal` gives it a new password.",
    )
    p.add_argument("name", help="the terminal's name, as `list-terminals` shows it")
    _passwd_arg(p)
    p.add_argument("--no-reload", action="store_true", help="do not reload Mosquitto")
    p.set_defaults(fn=cmd_remove_terminal)


def _passwd_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--passwd-file",
        type=Path,
        default=DEFAULT_PASSWD,
        help="Mosquitto's password file (default: %(default)s)",
    )


def cmd_add_terminal(args: argparse.Namespace) -> int:
    """The `floorlink add-terminal` command; 0 on success, 1 with a message otherwise."""
    try:
        password = add_terminal(args.name, args.passwd_file)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"floorlink add-terminal: {exc}")
        return 1
    if not args.no_reload and not _reload_broker():
        print("Could not reload Mosquitto: run `sudo systemctl reload mosquitto` before use.")
    n, topics = args.name, terminal_topics(args.name)
    print(
        f"Terminal {n} can now connect. Type this into the POS:\n"
        f"  MQTT broker   {args.host}  port {args.port}\n"
        f"  username      {n}\n"
        f"  password      {password}\n"
        f"  client id     pos-{n}  (persistent session, clean session off)\n"
        f"  publish to    {topics['publish'][0]}  (QoS 1)\n"
        f"  subscribe to  {', '.join(topics['subscribe'][:2])},\n"
        f"                {', '.join(topics['subscribe'][2:])}\n"
        "The password is shown once; run this again to replace it."
    )
    return 0


def cmd_list_terminals(args: argparse.Namespace) -> int:
    try:
        names = list_terminals(args.passwd_file)
    except OSError as exc:
        print(f"floorlink list-terminals: cannot read {args.passwd_file}: {exc} (run with sudo?)")
        return 1
    for name in names:
        print(name)
    if not names:
        print(f"no terminals in {args.passwd_file}: add one with `floorlink add-terminal NAME`")
    return 0


def cmd_remove_terminal(args: argparse.Namespace) -> int:
    try:
        remove_terminal(args.name, args.passwd_file)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"floorlink remove-terminal: {exc}")
        return 1
    if not args.no_reload and not _reload_broker():
        print("Could not reload Mosquitto: run `sudo systemctl reload mosquitto` to apply it.")
    print(f"Terminal {args.name} removed: it cannot connect once Mosquitto has reloaded.")
    return 0


def reload_broker() -> bool:
    """Reload Mosquitto so it re-reads its password file (the host stand's Devices panel)."""
    return _reload_broker()
