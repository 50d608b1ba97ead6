"""The demo's simulated service tells the truth: it runs on the real clock, opens mid-service
with times that are really in the past, and seats the parties Floorlink pages."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from support import STAFF_TOKEN, Daemon

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.simulator import REAL_TIME, Simulator


def seats(n: int) -> dict[str, int]:
    """The seats `support.write_config` gives its tables."""
    return {str(t): 2 if t % 3 == 0 else 4 for t in range(1, n + 1)}


def minutes_ago(iso: str | None) -> float | None:
    return None if iso is None else (time.time() - datetime.fromisoformat(iso).timestamp()) / 60


async def test_the_demo_opens_mid_service_on_the_real_clock(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker, tables=12)
    d.start()
    sim = Simulator(broker.port, seats(12), api=d.url, token=STAFF_TOKEN, minute_s=REAL_TIME)
    await sim.run(0)
    assert sim.warm_start and sim.minute_s == 60

    def settled() -> list[dict[str, Any]]:
        tables: list[dict[str, Any]] = d.get("/api/v1/tables")
        return tables

    def ready(tables: list[dict[str, Any]]) -> bool:
        statuses = {t["status"] for t in tables}
        return "available" not in statuses and len(statuses) >= 3

    tables: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not ready(tables):
        tables = await asyncio.to_thread(settled)
        await asyncio.sleep(0.1)
    ages = [minutes_ago(t.get("since")) for t in tables]
    # Every table is occupied, at its stage, since real minutes ago; none in the future.
    assert all(t["status"] != "available" for t in tables), tables
    assert all(a is not None and a > -0.1 for a in ages), ages
    assert max(a for a in ages if a is not None) >= 20
    assert len({t["status"] for t in tables}) >= 3, tables
    # The floor is full, so the parties further down the list are quoted real minutes, not
    # "about 0 min" (the first may be quoted 0: a table being bussed frees now).
    waitlist = d.get("/api/v1/waitlist")
    quotes = [e["quoted_minutes"] for e in waitlist if e["status"] == "waiting"]
    assert quotes and max(quotes) >= 5, waitlist
    assert d.stop() == 0
    assert d.cli("replay").returncode == 0


async def test_the_simulator_seats_the_parties_it_pages(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    d = Daemon(tmp_path / "d", broker, tables=3)
    d.start()
    # Fast (a simulated minute is 50 ms) so a test sees tables turn; the demo runs at 60 s.
    sim = Simulator(
        broker.port,
        seats(3),
        api=d.url,
        token=STAFF_TOKEN,
        minute_s=0.05,
        warm_start=False,
        arrival_minutes=(3, 8),
        seed=3,
    )
    task = asyncio.create_task(sim.run())
    seated: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(seated) < 3:
            assert not task.done(), task
            waitlist = await asyncio.to_thread(d.get, "/api/v1/waitlist")
            # Paged when a table was bussed, then seated there by the simulated host.
            seated = [e for e in waitlist if e["status"] == "seated" and e["pages"] >= 1]
            await asyncio.sleep(0.2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(seated) >= 3, (seated, sim.status, sim.claimed, sim.seated_from_waitlist, task)
    assert sim.seated_from_waitlist >= 3
    assert all(e["table"] in seats(3) for e in seated), seated
    assert d.stop() == 0
    assert d.cli("replay").returncode == 0
