"""Reservation sync: a booking created in the cloud -> on the host stand, p50/p99, with the default
pull interval; and a host seating a booking the box has not pulled yet (the on-demand pull)."""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "bridge")]

from fake_cloud import TOKEN, FakeCloud  # noqa: E402
from support import write_config  # noqa: E402

from floorlink.daemon.app import App  # noqa: E402
from floorlink.daemon.broker import EmbeddedBroker, free_port  # noqa: E402
from floorlink.daemon.config import load_config  # noqa: E402
from floorlink.daemon.service import SeatParty  # noqa: E402

SAMPLES = 20
SEATS = 5


def _res(rid: str, table: str) -> dict[str, Any]:
    at = (datetime.now(UTC) + timedelta(minutes=90)).isoformat(timespec="seconds")
    return {
        "id": rid,
        "status": "confirmed",
        "time": at,
        "party_size": 2,
        "table": table,
        "source": "online",
        "guest": {"name": "Bench"},
        "updated_at": at,
    }


async def _main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(Path(tmp) / "mosquitto")
        broker.start()
        cloud = FakeCloud()
        await cloud.start()
        extra = f'[cloud]\nurl = "{cloud.url}"\ntoken = "{TOKEN}"\n'  # the default interval
        path = write_config(Path(tmp) / "floorlink.toml", broker.port, free_port(), 25, extra)
        app = App(load_config(path))
        await app.start()
        sync: list[float] = []
        seat: list[float] = []
        committed = asyncio.Event()
        app.engine.subscribe(lambda batch: committed.set())
        try:
            interval = app.config.cloud.pull_interval_seconds if app.config.cloud else 0
            for n in range(SAMPLES):
                await asyncio.sleep(random.uniform(0, interval))  # any phase of the interval
                rid = f"b-{n}"
                t0 = time.perf_counter()
                cloud.add_reservation(**_res(rid, str(n % 20 + 1)))
                while True:
                    committed.clear()
                    if any(r["id"] == rid for r in app.reservations()):
                        break
                    await asyncio.wait_for(committed.wait(), 30)
                sync.append(time.perf_counter() - t0)
            for n in range(SEATS):
                rid = f"s-{n}"
                await asyncio.sleep(random.uniform(0, interval))
                cloud.add_reservation(**_res(rid, str(21 + n)))
                t0 = time.perf_counter()
                result = await app.command(SeatParty(str(21 + n), 2, reservation=rid))
                assert result.ok, result.error
                seat.append(time.perf_counter() - t0)
        finally:
            await app.stop()
            await cloud.stop()
            broker.stop()
    ms = sorted(v * 1000 for v in sync)
    seat_ms = sorted(v * 1000 for v in seat)
    return {
        "pull_interval_s": interval,
        "samples": len(ms),
        "created_to_stand_p50_ms": round(statistics.median(ms), 1),
        "created_to_stand_p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 1),
        "created_to_stand_max_ms": round(ms[-1], 1),
        "seat_unpulled_p50_ms": round(statistics.median(seat_ms), 1),
        "seat_unpulled_max_ms": round(seat_ms[-1], 1),
    }


def run() -> dict[str, Any]:
    return asyncio.run(_main())


if __name__ == "__main__":
    print(run())
