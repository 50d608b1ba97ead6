"""A burst of bad input (hardening item 7): RSS before, at the peak and after, and how long a good
event waits for its ack while the burst is being answered. Every bad payload is read, dead-
lettered and answered in order, so a good event waits for the bad ones sent before it (their own
cost) and no more; the figure to watch is the per-bad-payload cost and that RSS comes back."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from support import Daemon, Terminal  # noqa: E402

from floorlink.daemon.broker import EmbeddedBroker  # noqa: E402

BURST = int(os.environ.get("FLOORLINK_BAD_BURST", "100000"))
KINDS = [
    b'{"id": "x%d", "type": "nope", "at": "2026-11-25T19:00:00Z"}',
    b"not json %d",
    b"[" * 500 + b"]" * 500,
    b'{"id": "\\ud800%d", "type": "check.opened"}',
    b'{"id": "%d", "type": "check.opened", "at": "9999-12-31T23:59:59-14:00"}',
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(Path(tmp) / "mosquitto")
        broker.start()
        daemon = Daemon(Path(tmp) / "daemon", broker, tables=25, snapshot_every=1000)
        daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        try:
            async with Terminal(broker, "flood") as pos:
                for i in range(200):
                    last = await pos.send("check.opened", check=f"w{i}", table=str(i % 25 + 1))
                await pos.ack(last, timeout=60)
                await asyncio.sleep(2)
                baseline = rss_mb(pid)
                waits: list[float] = []
                peak = baseline
                started = time.perf_counter()
                for i in range(BURST):
                    kind = KINDS[i % len(KINDS)]
                    await pos.raw(kind.replace(b"%d", str(i).encode()) if b"%d" in kind else kind)
                    if i % 5000 == 4999:
                        t0 = time.perf_counter()
                        ok = await pos.send("check.opened", check=f"g{i}", table="3")
                        await pos.ack(ok, timeout=120)
                        waits.append((time.perf_counter() - t0) * 1000)
                        peak = max(peak, rss_mb(pid))
                ok = await pos.send("check.opened", check="last", table="4")
                await pos.ack(ok, timeout=300)
                elapsed = time.perf_counter() - started
                peak = max(peak, rss_mb(pid))
                await asyncio.sleep(10)  # settled
                after = rss_mb(pid)
        finally:
            daemon.stop()
            broker.stop()
    return {
        "burst": BURST,
        "rss_baseline_mb": round(baseline, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_after_mb": round(after, 1),
        "bad_payloads_per_s": round(BURST / elapsed),
        "good_ack_during_burst_p50_ms": round(statistics.median(waits), 1) if waits else None,
        "good_ack_during_burst_max_ms": round(max(waits), 1) if waits else None,
    }


def run() -> dict[str, Any]:
    return asyncio.run(_main())


if __name__ == "__main__":
    print(run())
