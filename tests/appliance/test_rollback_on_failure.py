"""A failed start after an upgrade returns to the previous version by itself: the daemon records the
version that became ready; when floorlink.service gives up restarting, floorlink-rollback.service
runs `floorlink rollback --after-failed-start`, which rolls back only a version that never
started on this box (installed versions are stand-ins here: test_install.py builds real ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import Daemon, wait_for

from floorlink.daemon.upgrade import STARTED_FILE, record_started, this_version, versions

ROOT = Path(__file__).resolve().parents[2]
HERE = os.path.realpath(sys.prefix)  # the folder this Python runs from


def fake_install(prefix: Path) -> None:
    """Two complete versions whose `floorlink check-config` accepts anything; current is 9.0.2."""
    for name in ("9.0.1", "9.0.2"):
        folder = prefix / "versions" / name
        (folder / "bin").mkdir(parents=True)
        exe = folder / "bin" / "floorlink"
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
        (folder / ".complete").touch()
    (prefix / "current").symlink_to("versions/9.0.2")
    (prefix / "previous").symlink_to("versions/9.0.1")


def rollback_cli(prefix: Path, state: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "floorlink.daemon.cli", "rollback", "--after-failed-start",
            "--prefix", str(prefix), "--state-dir", str(state), "--config", str(config),
            "--no-restart",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


def test_a_version_that_never_started_here_is_rolled_back(tmp_path: Path) -> None:
    prefix, state = tmp_path / "opt", tmp_path / "state"
    state.mkdir()
    fake_install(prefix)
    config = tmp_path / "floorlink.toml"
    config.write_text("")
    # 9.0.1 ran here; 9.0.2 (just installed) never became ready
    (state / STARTED_FILE).write_text(os.path.realpath(prefix / "versions/9.0.1") + "\n")
    done = rollback_cli(prefix, state, config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "now on 9.0.1" in done.stdout
    now = versions(prefix)
    assert (now.current, now.previous) == ("versions/9.0.1", "versions/9.0.2")


def test_a_version_that_has_started_here_is_left_alone(tmp_path: Path) -> None:
    prefix, state = tmp_path / "opt", tmp_path / "state"
    state.mkdir()
    fake_install(prefix)
    (state / STARTED_FILE).write_text(os.path.realpath(prefix / "versions/9.0.2") + "\n")
    done = rollback_cli(prefix, state, tmp_path / "floorlink.toml")
    assert done.returncode == 0 and "not rolled back" in done.stdout
    assert "not the upgrade's" in done.stdout
    now = versions(prefix)
    assert (now.current, now.previous) == ("versions/9.0.2", "versions/9.0.1")


def test_no_previous_version_is_a_clear_refusal(tmp_path: Path) -> None:
    prefix, state = tmp_path / "opt", tmp_path / "state"
    state.mkdir()
    fake_install(prefix)
    (prefix / "previous").unlink()
    done = rollback_cli(prefix, state, tmp_path / "floorlink.toml")
    assert done.returncode == 1 and "no previous version" in done.stdout


async def test_the_daemon_records_its_version_once_ready(tmp_path: Path, daemon: Daemon) -> None:
    started = daemon.workdir / STARTED_FILE  # beside the store
    await wait_for(started.exists, "started-version written")
    assert started.read_text().strip() == this_version() == HERE
    record_started(tmp_path / "missing-folder")  # never raises: the store would have failed first


def test_the_units_wire_the_rollback() -> None:
    service = (ROOT / "systemd" / "floorlink.service").read_text()
    assert "OnFailure=floorlink-rollback.service" in service
    assert "StartLimitBurst=" in service and "Restart=on-failure" in service
    rollback = (ROOT / "systemd" / "floorlink-rollback.service").read_text()
    assert "/opt/floorlink/previous/bin/floorlink rollback --after-failed-start" in rollback
    install = (ROOT / "systemd" / "install.sh").read_text()
    assert "floorlink-rollback.service" in install
