"""Upgrades never leave the box broken: systemd/install.sh into a temporary ROOT (no apt, users or
systemctl), from a wheelhouse with the package index dead, as a box without internet would.

- an upgrade that cannot fetch its packages leaves the running daemon running, on the old version;
- a new version that does not start is switched back to the old one;
- `floorlink rollback` goes back, and again forward.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import STAFF_TOKEN, write_config

from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)


def dead_index() -> str:
    """A package index URL on a loopback port nobody listens on: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple"


def offline_env(root: Path) -> dict[str, str]:
    """pip with no config files, no find-links and a dead index: a box with no route out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        ROOT=str(root),
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL=dead_index(),
        PIP_RETRIES="0",
        PIP_TIMEOUT="3",
    )
    return env


def source_copy(dest: Path, version: str) -> Path:
    """This checkout's tracked files, with another version number."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    pyproject = dest / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('version = "0.1.0"', f'version = "{version}"', 1)
    )
    return dest


@pytest.fixture(scope="module")
def wheelhouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """`make wheelhouse` for two versions, made while the (local) index is reachable."""
    base = tmp_path_factory.mktemp("install")
    out = {}
    for version in ("9.0.1", "9.0.2"):
        src = source_copy(base / f"src-{version}", version)
        done = subprocess.run(
            ["make", "-s", "wheelhouse", f"PYTHON={sys.executable}", "WHEELHOUSE=wheels"],
            cwd=src,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        out[version] = src
    yield out


def install(
    src: Path, root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(src / "systemd" / "install.sh"), *args],
        env=env or offline_env(root),
        capture_output=True,
        text=True,
        timeout=600,
    )


def installed(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = root / "opt" / "floorlink" / "current" / "bin" / "floorlink"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)


def links(root: Path) -> tuple[str | None, str | None]:
    prefix = root / "opt" / "floorlink"
    return tuple(  # type: ignore[return-value]
        os.readlink(prefix / n) if (prefix / n).is_symlink() else None
        for n in ("current", "previous")
    )


def status(port: int) -> dict[str, object]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/status",
        headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        body: dict[str, object] = json.loads(resp.read())
    return body


def wait_status(proc: subprocess.Popen[bytes], port: int, log: Path) -> dict[str, object]:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            return status(port)
        except OSError:
            time.sleep(0.1)
    raise AssertionError(log.read_text())


def test_upgrade_failures_keep_the_old_version_and_rollback_works(
    wheelhouses: dict[str, Path], tmp_path: Path, broker: EmbeddedBroker
) -> None:
    root = tmp_path / "root"
    v1, v2 = wheelhouses["9.0.1"], wheelhouses["9.0.2"]

    first = install(v1, root, "--wheelhouse", str(v1 / "wheels"))
    assert first.returncode == 0, first.stdout + first.stderr
    assert links(root) == ("versions/9.0.1", None)
    assert installed(root, "--version").stdout.strip() == "floorlink 9.0.1"
    assert (root / "usr/local/bin/floorlink").resolve() == (
        root / "opt/floorlink/versions/9.0.1/bin/floorlink"
    )
    for unit in (
        "floorlink.service",
        "floorlink-backup.service",
        "floorlink-backup.timer",
        "floorlink-rollback.service",
    ):
        assert (root / "etc/systemd/system" / unit).is_file()
    written = (root / "etc/floorlink/floorlink.toml").read_text()
    # No default PIN anywhere: the example has none, and a fresh box gets a seed (broker
    # credentials, staff token, store, the broker's password file) and asks for the rest,
    # the PIN included, in its setup page.
    assert load_config(v1 / "config/floorlink.example.toml", {}).http.staff_pin is None
    assert "staff_pin" not in written and "change-this-staff-token" not in written
    assert "change-me" not in written and "staff_token = " in written
    assert f'passwd_file = "{root}/etc/mosquitto/floorlink/floorlink.passwd"' in written
    seed = installed(root, "check-config", "--config", str(root / "etc/floorlink/floorlink.toml"))
    assert seed.returncode == 0 and "not set up yet" in seed.stdout, seed.stdout + seed.stderr

    # The installed version runs, as systemd would run it.
    work = tmp_path / "daemon"
    work.mkdir()
    port = free_port()
    config = write_config(work / "floorlink.toml", broker.port, port)
    log = work / "daemon.log"
    exe = root / "opt/floorlink/current/bin/floorlink"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(exe), "run", "--config", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        assert wait_status(proc, port, log)["version"] == "9.0.1"

        # No route to a package index: pip fails, nothing running is touched.
        offline = install(v2, root)
        assert offline.returncode == 1
        assert "package index" in offline.stderr and "unchanged" in offline.stderr
        assert links(root) == ("versions/9.0.1", None)
        assert not (root / "opt/floorlink/versions/9.0.2").exists()
        assert installed(root, "--version").stdout.strip() == "floorlink 9.0.1"
        assert proc.poll() is None and status(port)["version"] == "9.0.1"

        # 9.0.2 installs but does not start: 9.0.1 is switched back and started again.
        env = offline_env(root)
        env["FLOORLINK_RESTART_CMD"] = (
            '"$PREFIX/current/bin/floorlink" --version | grep -q "floorlink 9.0.1"'
        )
        failed = install(v2, root, "--wheelhouse", str(v2 / "wheels"), env=env)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "did not start" in failed.stderr and "9.0.1 runs again" in failed.stderr
        assert links(root) == ("versions/9.0.1", None)
        assert not (root / "opt/floorlink/versions/9.0.2").exists()
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    good = install(v2, root, "--wheelhouse", str(v2 / "wheels"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert links(root) == ("versions/9.0.2", "versions/9.0.1")
    assert installed(root, "--version").stdout.strip() == "floorlink 9.0.2"

    cfg = str(root / "etc/floorlink/floorlink.toml")
    back = installed(root, "rollback", "--config", cfg, "--no-restart")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "now on 9.0.1" in back.stdout
    assert links(root) == ("versions/9.0.1", "versions/9.0.2")
    assert installed(root, "--version").stdout.strip() == "floorlink 9.0.1"
    # The prefix comes from where the running program is installed; again goes forward.
    forward = installed(root, "rollback", "--config", cfg, "--no-restart")
    assert forward.returncode == 0 and "now on 9.0.2" in forward.stdout
    assert installed(root, "--version").stdout.strip() == "floorlink 9.0.2"

    # A previous version that refuses the config is not rolled back to (unless --force).
    (root / "etc/floorlink/bad.toml").write_text("[site]\n")
    refused = installed(root, "rollback", "--config", str(root / "etc/floorlink/bad.toml"))
    assert refused.returncode == 1 and "does not accept" in refused.stdout
    assert links(root) == ("versions/9.0.2", "versions/9.0.1")

    gone = install(v2, root, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert (
        not (root / "opt/floorlink").exists() and (root / "etc/floorlink/floorlink.toml").exists()
    )
