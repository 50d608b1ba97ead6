"""The floors each figure is read against, measured in the same run on the same broker and disk:

- the echo floor: publish -> a bare client republishes it retained -> back to a subscriber; what
  the broker and two MQTT hops cost with no work and no disk at all;
- the commit floor: one small row in its own fully synced SQLite transaction (WAL,
  `synchronous=FULL`), back to back, in the same folder; what one durable commit costs;
- the naive pipeline (bench/naive.py): one client, one commit per event; what the daemon's
  design must beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import aiomqtt
from harness import HERE, summary
from lifecycle import NODELAY
from sdcard import SlowCommit


async def echo_floor(port: int, rate: float, seconds: float) -> dict[str, Any]:
    """The broker's own round trip at `rate`, with payloads the size of a POS event."""
    sent: dict[str, float] = {}
    lat: list[float] = []
    total = int(rate * seconds)
    opts: dict[str, Any] = {"socket_options": NODELAY, "max_inflight_messages": 1000}
    async with (
        aiomqtt.Client("127.0.0.1", port, **opts) as echo,
        aiomqtt.Client("127.0.0.1", port, **opts) as probe,
    ):
        await echo.subscribe("bench/in", qos=1)
        await probe.subscribe("bench/out/+", qos=1)

        async def echo_loop() -> None:
            async for m in echo.messages:
                payload = m.payload if isinstance(m.payload, bytes) else b""
                slot = payload[:2].decode()
                echo._client.publish(f"bench/out/{slot}", payload, qos=1, retain=True)

        async def probe_loop() -> None:
            async for m in probe.messages:
                payload = m.payload if isinstance(m.payload, bytes) else b""
                t = sent.pop(payload[3:40].decode(errors="replace"), None)
                if t is not None:
                    lat.append(time.perf_counter() - t)

        tasks = [asyncio.create_task(echo_loop()), asyncio.create_task(probe_loop())]
        pad = "x" * 120
        start = time.perf_counter()
        n = 0
        while n < total:
            due = min(total, int((time.perf_counter() - start) * rate) + 1)
            while n < due:
                key = f"{n:012d}-{start:024.6f}"[:37]
                sent[key] = time.perf_counter()
                body = f"{n % 32:02d}-{key}-{pad}"
                probe._client.publish("bench/in", body, qos=1)
                n += 1
            await asyncio.sleep(0.002)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                while sent:  # noqa: ASYNC110 (the echoes trail the last send by a round trip)
                    await asyncio.sleep(0.01)
        for t in tasks:
            t.cancel()
        for slot in range(32):
            await probe.publish(f"bench/out/{slot:02d}", b"", retain=True)
    return summary(lat)


def commit_floor(folder: Path, seconds: float, fsync_ms: float = 0.0) -> dict[str, Any]:
    """Back-to-back one-row fully synced commits in `folder` (the store's disk)."""
    SlowCommit.delay_s = fsync_ms / 1000
    path = folder / f"commit-floor-{int(fsync_ms)}.db"
    db = sqlite3.connect(path, isolation_level=None, factory=SlowCommit)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        body = json.dumps({"type": "check.course_fired", "pad": "x" * 150})
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (body) VALUES (?)", (body,))
            db.execute("COMMIT")
            n += 1
        elapsed = time.perf_counter() - start
    finally:
        db.close()
    return {
        "commits_per_s": round(n / elapsed),
        "us_per_commit": round(elapsed / n * 1e6, 1),
    }


class NaivePipeline:
    """bench/naive.py as a child process on the bench's broker, its database in `folder`."""

    def __init__(self, port: int, folder: Path, fsync_ms: float = 0.0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.args = [sys.executable, str(HERE / "naive.py"), str(port), str(folder / "naive.db")]
        if fsync_ms:
            self.args.append(str(fsync_ms))
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> NaivePipeline:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the naive pipeline did not start")
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
