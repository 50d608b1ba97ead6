"""`make demo` needs only the runtime dependencies; `make test` keeps the dev tools."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dry_run(*targets: str) -> str:
    """What make would run for `targets` from scratch (-B), without running it (-n)."""
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_demo_venv_installs_the_runtime_lock_only() -> None:
    plan = dry_run(".venv-demo/.installed")
    assert "-r requirements.lock" in plan
    assert "requirements-dev.lock" not in plan and "playwright" not in plan.lower()
    assert "python -m floorlink.daemon.demo" in dry_run("demo")
    # The demo's system packages: the block asking for Chromium and systemd is switched off.
    assert 'if [ -n "" ]; then' in dry_run("demo-deps")
    assert 'if [ -n "1" ]; then' in dry_run("system-deps")


def test_the_test_venv_keeps_the_dev_tools() -> None:
    assert "-r requirements-dev.lock" in dry_run(".venv/.installed")


def test_the_wheelhouse_holds_the_runtime_lock_and_floorlink() -> None:
    plan = dry_run("wheelhouse")
    assert "pip download" in plan and "-r requirements.lock" in plan
    assert "pip wheel" in plan and "--no-deps" in plan
