"""Cloud drain: a 50,000-event backlog delivered after an outage, while live POS traffic flows."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "bridge")]

from fake_cloud import TOKEN, FakeCloud  # noqa: E402
from support import Daemon, Terminal  # noqa: E402

from floorlink.daemon.broker import EmbeddedBroker  # noqa: E402

BACKLOG = int(__import__("os").environ.get("FLOORLINK_BACKLOG", "50000"))


async def _main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(Path(tmp) / "mosquitto")
        broker.start()
        cloud = FakeCloud()
        await cloud.start()
        cloud.mode = "down"
        extra = f'[cloud]\nurl = "{cloud.url}"\ntoken = "{TOKEN}"\npull_interval_seconds = 5\n'
        daemon = Daemon(Path(tmp) / "daemon", broker, tables=25, extra=extra, snapshot_every=1000)
        daemon.start()
        try:
            async with Terminal(broker, "flood") as pos:
                last = ""
                for i in range(BACKLOG):
                    table, round_ = i % 24 + 1, i // 24
                    if round_ % 2 == 0:
                        last = await pos.send(
                            "check.opened", check=f"d{table}-{round_}", table=str(table)
                        )
                    else:
                        last = await pos.send("check.voided", check=f"d{table}-{round_ - 1}")
                await pos.ack(last, timeout=300)
            live: list[float] = []
            cloud.mode = "ok"
            start = time.perf_counter()
            async with Terminal(broker, "live") as pos:
                n = 0
                while len(cloud.events) < BACKLOG:
                    n += 1
                    t0 = time.perf_counter()
                    status = "seated" if n % 2 else "available"
                    if n % 2:
                        await pos.send("check.opened", check=f"live-{n}", table="25")
                    else:
                        await pos.send("check.voided", check=f"live-{n - 1}")
                    await pos.table("25", status, timeout=30)
                    live.append(time.perf_counter() - t0)
                    await asyncio.sleep(0.02)
                    if time.perf_counter() - start > 600:
                        break
            drained = time.perf_counter() - start
        finally:
            daemon.stop()
            await cloud.stop()
            broker.stop()
    ms = sorted(v * 1000 for v in live)
    return {
        "backlog_events": BACKLOG,
        "delivered": len(cloud.events),
        "drain_seconds": round(drained, 2),
        "drain_events_per_s": round(len(cloud.events) / drained),
        "live_round_trip_during_drain_p50_ms": round(statistics.median(ms), 2),
        "live_round_trip_during_drain_p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2),
    }


def run() -> dict[str, Any]:
    return asyncio.run(_main())


if __name__ == "__main__":
    print(run())
