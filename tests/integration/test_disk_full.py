"""Disk full degrades, never stops (hardening item 5), on a real size-limited file system: a
tmpfs mounted for the test (root only; skipped with the reason elsewhere).

While full: events are answered `rejected` with why (never `accepted` and then lost), reads and
the stand go on, /healthz says why, `floorlink_store_writable` is 0, and a refused host action
stays refused after space returns. The box resumes by itself, and also starts up on a full disk.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import STAFF_TOKEN, Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker

AUTH = {"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small"
    where.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(where)], capture_output=True
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {mount.stderr.decode()[:200]}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk refuses more."""
    filler = disk / "filler"
    # unbuffered: a short write must not leave bytes behind for close() to fail on
    with filler.open("ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def health(daemon: Daemon) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{daemon.url}/healthz", timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def post(daemon: Daemon, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{daemon.url}{path}", json.dumps(body).encode(), AUTH, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def until(condition: Any, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def send_until_refused(pos: Terminal, accepted: set[str]) -> str:
    """Open and close checks until one is refused for space; returns the refusal's error."""
    for round_ in range(300):
        ids = [
            await pos.send("check.opened", check=f"f{round_}-{n}", table=str(n % 8 + 1))
            for n in range(50)
        ]
        for eid in ids:
            ack = await pos.ack(eid, timeout=20)
            if ack["result"] == "accepted":
                accepted.add(eid)
            elif ack["result"] == "rejected":
                return str(ack["error"])
    raise AssertionError("the disk never filled")


@pytest.mark.timeout(240)
async def test_a_full_disk_degrades_and_recovers(
    tmp_path: Path, broker: EmbeddedBroker, small_disk: Path
) -> None:
    daemon = Daemon(tmp_path / "daemon", broker)
    text = daemon.config.read_text()
    text = text.replace(str(daemon.workdir / "floorlink.db"), str(small_disk / "floorlink.db"))
    daemon.config.write_text(text.replace("[store]\n", "[store]\nreserve_mb = 1\n"))
    daemon.start()
    accepted: set[str] = set()
    try:
        async with Terminal(broker) as pos:
            filler = fill(small_disk)
            error = await send_until_refused(pos, accepted)
            assert "disk is full" in error
            assert not (small_disk / "floorlink.reserve").exists()  # released for the alarm
            code, body = health(daemon)
            assert code == 503 and any("disk is full" in r for r in body["reasons"])
            assert "floorlink_store_writable 0.0" in daemon.get_text("/metrics")
            assert len(daemon.get("/api/v1/tables")) == 8  # reads and the stand go on
            code, refused = post(daemon, "/api/v1/waitlist", {"name": "Refused", "party_size": 2})
            assert code == 503, refused
            # space returns: the box finds it by itself, with no event to try
            filler.unlink()
            await until(lambda: health(daemon)[0] == 200)
            assert (small_disk / "floorlink.reserve").exists()
            ok = await pos.send("check.opened", check="back", table="1")
            assert (await pos.ack(ok))["result"] in ("accepted",)
            accepted.add(ok)
            assert all(e["name"] != "Refused" for e in daemon.get("/api/v1/waitlist"))
            # start-up on a full disk reaches the same degraded state instead of exiting
            assert daemon.stop() == 0
            filler = fill(small_disk)
            daemon.start(wait=False)
            await until(lambda: daemon.proc is not None and _answers(daemon))
            code, body = health(daemon)
            assert code == 503 and any("disk is full" in r for r in body["reasons"]), body
            assert daemon.proc is not None and daemon.proc.poll() is None
            filler.unlink()
            await until(lambda: health(daemon)[0] == 200)
        assert daemon.stop() == 0
        db = sqlite3.connect(small_disk / "floorlink.db")
        stored = {eid for (eid,) in db.execute("SELECT eid FROM events")}
        assert accepted <= stored  # nothing acknowledged was lost
        seqs = [s for (s,) in db.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap
        db.close()
        replay = daemon.cli("replay")
        assert replay.returncode == 0, replay.stdout + replay.stderr
    finally:
        daemon.kill()


def _answers(daemon: Daemon) -> bool:
    try:
        health(daemon)
    except OSError:
        return False
    return True
