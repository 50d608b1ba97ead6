"""`floorlink doctor`: check the box the way the IT person would, and say what to do in plain words.

Each check prints one line, `ok`, `WARN`, `FAIL` or `??` (could not tell), with the reason and
the fix. Exit status 1 when a check FAILs; warnings and what doctor cannot tell (no timedatectl in
a container, say) are printed but leave it 0, so a script can run it as a gate.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

MIN_FREE_MB = 200
Verdict = Literal["ok", "WARN", "FAIL", "??"]
#: PINs shipped in examples and demos: anyone who has read the docs knows them.
DEFAULT_PINS = frozenset({"2468", "246813"})
#: Values the example config and the docs use where a secret belongs.
PLACEHOLDER_RE = re.compile(
    r"change[-_ ]?(?:me|this)|example|placeholder|^\.\.\.$|^(?:secret|password|token)$", re.I
)


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    verdict: Verdict
    detail: str


def check_store(config: Config) -> Finding:
    path = Path(config.store.path)
    folder = path.parent
    if not folder.exists():
        return Finding("store", "FAIL", f"{folder} does not exist: create it (the installer does)")
    if not os.access(folder, os.W_OK):
        return Finding("store", "FAIL", f"{folder} is not writable by this user")
    if not path.exists():
        return Finding("store", "ok", f"{path} will be created on first start")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
        db.close()
    except sqlite3.Error as exc:
        return Finding("store", "FAIL", f"{path} cannot be read: {exc}")
    if result != "ok":
        return Finding("store", "FAIL", f"{path} failed its integrity check: {result}")
    return Finding("store", "ok", f"{path}: integrity ok, {events} events")


async def check_broker(config: Config) -> Finding:
    import aiomqtt

    mq = config.mqtt
    where = f"{mq.host}:{mq.port}"
    try:
        async with aiomqtt.Client(
            mq.host,
            mq.port,
            username=mq.username,
            password=mq.password,
            identifier=f"floorlink-doctor-{os.getpid()}",
            timeout=5,
        ):
            pass
    except aiomqtt.MqttError as exc:
        text = str(exc)
        if "authori" in text.lower() or "password" in text.lower() or "code:5" in text:
            return Finding("broker", "FAIL", f"{where} refused these credentials: {text}")
        return Finding("broker", "FAIL", f"cannot reach {where}: {text} (is mosquitto running?)")
    return Finding("broker", "ok", f"connected to {where} with the configured credentials")


def check_serial(config: Config) -> Finding:
    pager = getattr(config, "pager", None)
    if pager is None:
        return Finding("pager port", "ok", "no pager configured")
    import serial

    from floorlink.daemon.plugins import PAGER_PROTOCOLS

    protocol = PAGER_PROTOCOLS.get(pager.protocol).factory(pager.options())
    if protocol.transport != "serial":
        return Finding("pager port", "ok", f"{pager.port} is an HTTP transmitter (not checked)")
    baud = pager.baud or protocol.default_baud
    try:
        port = serial.serial_for_url(
            pager.port, baudrate=baud, timeout=0.1, **protocol.serial_settings()
        )
        port.close()
    except (serial.SerialException, OSError, ValueError) as exc:
        hint = "  Plug the transmitter in; list ports with: ls -l /dev/serial/by-id/"
        return Finding("pager port", "FAIL", f"cannot open {pager.port}: {exc}.{hint}")
    return Finding("pager port", "ok", f"{pager.port} opens at {baud} baud")


async def check_cloud(config: Config) -> Finding:
    cloud = getattr(config, "cloud", None)
    if cloud is None or not cloud.url:
        return Finding("cloud", "ok", "no cloud configured: running on site only")
    import aiohttp

    url = f"{str(cloud.url).rstrip('/')}/v1/sites/{config.site.id}/reservations"
    token = cloud.token.get_secret_value() if cloud.token else ""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(
                url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
            ) as resp,
        ):
            if resp.status in (401, 403):
                return Finding("cloud", "FAIL", f"the cloud refused the token ({resp.status})")
            if resp.status >= 400:
                return Finding("cloud", "FAIL", f"the cloud answered {resp.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Finding("cloud", "FAIL", f"cannot reach {cloud.url}: {exc or type(exc).__name__}")
    return Finding("cloud", "ok", f"{cloud.url} reachable and the token accepted")


def check_clock() -> Finding:
    if shutil.which("timedatectl"):
        try:
            out = subprocess.run(
                ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out == "yes":
            return Finding("clock", "ok", "synchronised (NTP)")
        if out == "no":
            return Finding(
                "clock", "FAIL", "not synchronised: enable NTP with `timedatectl set-ntp true`"
            )
    if Path("/run/systemd/timesync/synchronized").exists():
        return Finding("clock", "ok", "synchronised (systemd-timesyncd)")
    return Finding("clock", "??", "cannot tell whether the clock is synchronised (no timedatectl)")


def check_disk(config: Config) -> Finding:
    folder = Path(config.store.path).parent
    probe = folder if folder.exists() else Path("/")
    free_mb = shutil.disk_usage(probe).free // (1024 * 1024)
    if free_mb < MIN_FREE_MB:
        return Finding("disk", "FAIL", f"only {free_mb} MB free under {probe}: free some space")
    return Finding("disk", "ok", f"{free_mb} MB free under {probe}")


def weak_pin(pin: str) -> str | None:
    """Why a staff PIN is easy to guess, or None. The PIN trades for the staff token."""
    if pin in DEFAULT_PINS:
        return "is the example's default PIN, which every copy of the docs shows"
    if len(set(pin)) == 1:
        return "repeats one digit"
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({1}, {-1}, {2}, {-2}):
        return "is a run of digits"
    if len(pin) == 4 and len(set(pin[0::2])) == 1 and len(set(pin[1::2])) == 1:
        return "is two digits repeated"
    if len(pin) == 4 and pin[:2] in ("19", "20"):
        return "looks like a year"
    return None


def check_pin(config: Config) -> Finding:
    pin = config.http.staff_pin.get_secret_value() if config.http.staff_pin else None
    if pin is None:
        return Finding("staff PIN", "ok", "none set: the page asks for the staff token")
    why = weak_pin(pin)
    if why is None:
        return Finding("staff PIN", "ok", f"set ({len(pin)} digits)")
    verdict: Verdict = "FAIL" if pin in DEFAULT_PINS else "WARN"
    fix = "set [http] staff_pin to 6 or more digits no one can guess, then restart"
    return Finding("staff PIN", verdict, f"the staff PIN {why}: {fix}")


def check_secrets(config: Config) -> Finding:
    found = []
    token = config.http.staff_token.get_secret_value() if config.http.staff_token else ""
    if PLACEHOLDER_RE.search(token):
        found.append("http.staff_token")
    if config.mqtt.password and PLACEHOLDER_RE.search(config.mqtt.password):
        found.append("the password in mqtt.url")
    cloud = config.cloud
    if cloud is not None and cloud.token and PLACEHOLDER_RE.search(cloud.token.get_secret_value()):
        found.append("cloud.token")
    if found:
        return Finding(
            "secrets",
            "FAIL",
            f"{', '.join(found)} {'still holds' if len(found) == 1 else 'still hold'} the "
            "example's placeholder: put a real secret there "
            "(`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`)",
        )
    return Finding("secrets", "ok", "no placeholder secrets")


async def examine(config: Config) -> list[Finding]:
    return [
        Finding("config", "ok", f"valid: site {config.site.id}, {len(config.tables)} tables"),
        check_pin(config),
        check_secrets(config),
        check_store(config),
        await check_broker(config),
        check_serial(config),
        await check_cloud(config),
        check_clock(),
        check_disk(config),
    ]


def doctor(config: Config) -> int:
    findings = asyncio.run(examine(config))
    for f in findings:
        print(f"{f.verdict:<5} {f.name:<11} {f.detail}")
    return 1 if any(f.verdict == "FAIL" for f in findings) else 0
