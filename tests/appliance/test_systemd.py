"""The systemd unit verifies, is hardened (exposure under 3), and the notify protocol works."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from floorlink.daemon.notify import notify, watchdog_interval

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted([*(ROOT / "systemd").glob("*.service"), *(ROOT / "systemd").glob("*.timer")])
needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is missing: apt-get install systemd (the Makefile installs it as root)",
)


def local_copy(unit: Path, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's floorlink, so verify can stat it (and
    a timer's service beside it)."""
    exe = str(Path(sys.executable).parent / "floorlink")
    for other in (ROOT / "systemd").glob("*.service"):
        text = other.read_text().replace("/opt/floorlink/current/bin/floorlink", exe)
        text = text.replace("/opt/floorlink/previous/bin/floorlink", exe)
        (tmp_path / other.name).write_text(text.replace("/opt/floorlink/bin/floorlink", exe))
    copy = tmp_path / unit.name
    if unit.suffix != ".service":
        copy.write_text(unit.read_text())
    return copy


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_units_verify(unit: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(local_copy(unit, tmp_path))],
        capture_output=True,
        text=True,
    )
    problems = [line for line in result.stderr.splitlines() if unit.name in line]
    assert result.returncode == 0 and not problems, result.stderr


@needs_systemd
@pytest.mark.parametrize("name", ["floorlink.service", "floorlink-backup.service"])
def test_exposure_under_3(name: str, tmp_path: Path) -> None:
    unit = local_copy(ROOT / "systemd" / name, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) < 3.0


def test_notify_sends_datagrams_and_reads_the_watchdog(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        assert notify("READY=1", "STATUS=serving", env={"NOTIFY_SOCKET": str(path)})
        assert server.recv(1024) == b"READY=1\nSTATUS=serving"
    assert not notify("READY=1", env={})
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({}) is None


def test_abstract_socket(tmp_path: Path) -> None:
    name = f"floorlink-test-{tmp_path.name}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        assert notify("WATCHDOG=1", env={"NOTIFY_SOCKET": "@" + name})
        assert server.recv(64) == b"WATCHDOG=1"


def test_the_unit_raises_the_open_file_limit() -> None:
    """1,024 idle connections once took the stand away: the unit allows many more (issue 16)."""
    unit = (Path(__file__).resolve().parents[2] / "systemd" / "floorlink.service").read_text()
    limits = [line for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert limits and int(limits[0].split("=")[1].split(":")[0]) >= 8192
