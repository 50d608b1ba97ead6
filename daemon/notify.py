"""systemd's notify protocol (sd_notify(3)) without a dependency: one datagram to $NOTIFY_SOCKET.

READY=1 once the store is open and the broker connected, WATCHDOG=1 from the event loop while the
daemon is healthy, STOPPING=1 on the way out. Outside systemd every call is a quiet no-op.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


def notify(*lines: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `lines` (e.g. "READY=1", "STATUS=serving"); False when there is no socket to send to."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET")
    if not address or not lines:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # the abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
    except OSError:
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of WatchdogSec=, or None when it is not set."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000
