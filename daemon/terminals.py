"""`floorlink add-terminal NAME`: broker credentials for one POS terminal, and what to type in.

It adds the terminal's password to Mosquitto's password file and a block to its ACL that gives
it exactly its own topics: publish `floorlink/v1/pos/NAME/events`, read its own acks, the tables,
the guest details and the status.
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
DEFAULT_ACL = Path("/etc/mosquitto/floorlink.acl")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RESERVED = {"floorlink", "host-stand", "monitor"}


def acl_block(name: str) -> str:
    return (
        f"\n# terminal {name}\nuser {name}\n"
        f"topic write floorlink/v1/pos/{name}/events\n"
        f"topic read floorlink/v1/pos/{name}/acks\n"
        "topic read floorlink/v1/tables/+\n"
        "topic read floorlink/v1/tables/+/guest\n"
        "topic read floorlink/v1/status\n"
    )


def add_terminal(name: str, passwd_file: Path, acl_file: Path, password: str | None = None) -> str:
    """Create or replace the terminal's credentials and its ACL block; returns the password."""
    if not NAME_RE.match(name):
        raise ValueError("a terminal name is 1-64 letters, digits, '-' or '_'")
    if name in RESERVED:
        raise ValueError(f"{name!r} is a reserved role name")
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise RuntimeError("mosquitto_passwd is missing: apt install mosquitto")
    password = password or secrets.token_urlsafe(18)
    passwd_file.parent.mkdir(parents=True, exist_ok=True)
    args = [tool, "-b", str(passwd_file), name, password]
    if not passwd_file.exists():
        args.insert(1, "-c")
    subprocess.run(args, check=True, capture_output=True, text=True)
    existing = acl_file.read_text() if acl_file.exists() else ""
    if f"\nuser {name}\n" not in existing:
        with acl_file.open("a") as acl:
            acl.write(acl_block(name))
    return password


def _reload_broker() -> None:
    """Mosquitto re-reads its password file on SIGHUP."""
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "reload", "mosquitto"], check=False, capture_output=True)


def add_terminal_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="floorlink add-terminal")
    parser.add_argument("name", help="the terminal's name, e.g. bar-1")
    parser.add_argument("--passwd-file", type=Path, default=DEFAULT_PASSWD)
    parser.add_argument("--acl-file", type=Path, default=DEFAULT_ACL)
    parser.add_argument("--host", default=socket.gethostname() + ".local")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--no-reload", action="store_true")
    args = parser.parse_args(argv)
    try:
        password = add_terminal(args.name, args.passwd_file, args.acl_file)
    except (ValueError, RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"floorlink add-terminal: {exc}")
        return 1
    if not args.no_reload:
        _reload_broker()
    n = args.name
    print(
        f"Terminal {n} can now connect. Type this into the POS:\n"
        f"  MQTT broker   {args.host}  port {args.port}\n"
        f"  username      {n}\n"
        f"  password      {password}\n"
        f"  client id     pos-{n}  (persistent session, clean session off)\n"
        f"  publish to    floorlink/v1/pos/{n}/events  (QoS 1)\n"
        f"  subscribe to  floorlink/v1/pos/{n}/acks, floorlink/v1/tables/+,\n"
        f"                floorlink/v1/tables/+/guest, floorlink/v1/status\n"
        "The password is shown once; run this again to replace it."
    )
    return 0
