"""Paging: check-closed publish -> the page's last byte on the transmitter's port, and the
accuracy of wait-time quotes over a simulated service."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from support import STAFF_TOKEN, Daemon, Terminal  # noqa: E402

from floorlink.daemon.broker import EmbeddedBroker  # noqa: E402
from floorlink.daemon.closed_checks import ClosedChecksPart  # noqa: E402
from floorlink.daemon.core.floor import TableSpec  # noqa: E402
from floorlink.daemon.core.state import Input, State  # noqa: E402
from floorlink.drivers.pty_transmitter import PtyTransmitter  # noqa: E402
from floorlink.paging.quotes import TableView  # noqa: E402
from floorlink.paging.waitlist import PagingRules, WaitlistPart, quote_accuracy  # noqa: E402

PAGES = 200


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


async def page_latency() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(Path(tmp) / "mosquitto")
        broker.start()
        tx = PtyTransmitter(Path(tmp) / "pager")
        tx.plug()
        extra = f'[pager]\nport = "{Path(tmp) / "pager"}"\n\n[paging]\nrepage_after_minutes = 60\n'
        daemon = Daemon(Path(tmp) / "daemon", broker, tables=4, extra=extra, snapshot_every=1000)
        daemon.start()
        lat: list[float] = []
        try:
            async with Terminal(broker) as pos:
                for i in range(PAGES):
                    await asyncio.to_thread(
                        _post, f"{daemon.url}/api/v1/waitlist",
                        {"name": f"p{i}", "party_size": 2, "pager": i % 4000 + 1},
                    )  # fmt: skip
                    await pos.ack(await pos.send("check.opened", check=f"c{i}", table="1"))
                    before = len(tx.pages)
                    t0 = time.perf_counter()
                    await pos.send("check.closed", check=f"c{i}", total="10.00")
                    await tx.wait_pages(before + 1)
                    lat.append(time.perf_counter() - t0)
                    await pos.send("table.cleared", table="1")
                    await pos.table("1", "available")
        finally:
            daemon.stop()
            tx.close()
            broker.stop()
    ms = sorted(v * 1000 for v in lat)
    return {
        "pages": len(ms),
        "close_to_page_p50_ms": round(statistics.median(ms), 2),
        "close_to_page_p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2),
    }


def quote_simulation(nights: int = 3, seed: int = 11) -> dict[str, Any]:
    """A 20-table restaurant over several nights, in the pure core with simulated time: parties
    arrive, wait, get the first table that fits, eat for a time that depends on their size."""
    rng = random.Random(seed)
    tz = ZoneInfo("America/Los_Angeles")
    seats = [2] * 6 + [4] * 10 + [6] * 4
    specs = tuple(TableSpec(str(i + 1), s) for i, s in enumerate(seats))
    part = WaitlistPart(tuple(TableView(s.id, s.seats) for s in specs), tz, PagingRules())
    projection = ClosedChecksPart(readers=[part.learn])  # turn times from the closed checks
    state = State(specs, tz, parts=[projection, part])
    projection.bind(state)
    n = 0
    results = []
    night_start = 1_795_000_000_000
    for night in range(nights):
        part.errors.clear()
        t = night_start + night * 86_400_000
        end = t + 4 * 3600_000
        busy: dict[str, tuple[int, str]] = {}  # table -> (frees at, check)
        queue: list[tuple[str, int]] = []

        def seat(
            entry: str,
            size: int,
            table: str,
            t: int,
            busy: dict[str, tuple[int, str]],
            queue: list[tuple[str, int]],
        ) -> None:
            nonlocal n
            n += 1
            state.process(
                Input("host", f"s{n}", "waitlist.seat", t, {"entry": entry, "table": table}), t
            )
            check = f"k{n}"
            opened = {"check": check, "table": table, "guests": size}
            state.process(Input("pos:T", f"o{n}", "check.opened", t, opened), t)
            busy[table] = (t + int(rng.gauss(45 + 9 * size, 8) * 60_000), check)
            queue.remove((entry, size))

        while t < end or busy:
            n += 1
            # parties arrive about every 3 minutes during service
            if t < end and rng.random() < 0.28:
                size = rng.choice([2, 2, 2, 3, 4, 4, 5, 6])
                out = state.process(
                    Input(
                        "host",
                        f"a{n}",
                        "waitlist.add",
                        t,
                        {"name": "g", "party_size": size, "pager": 1},
                    ),
                    t,
                )
                queue.append((out.body["entry"], size))
            for tid, (frees, check) in list(busy.items()):
                if frees <= t and check:
                    state.process(
                        Input(
                            "pos:T", f"c{n}{tid}", "check.closed", t, {"check": check, "total": "1"}
                        ),
                        t,
                    )
                    busy[tid] = (t + 4 * 60_000, "")  # bussed for four minutes
                elif frees <= t and not check:
                    state.process(
                        Input("pos:T", f"x{n}{tid}", "table.cleared", t, {"table": tid}), t
                    )
                    del busy[tid]
            # a paged party walks to the table that paged it; then the host fills free tables
            for entry, size in list(queue):
                e = part.entries[entry]
                if e.status == "paged" and e.table and e.table not in busy:
                    seat(entry, size, e.table, t, busy, queue)
            for entry, size in list(queue):
                free = [s for s in specs if s.id not in busy and s.seats >= size]
                if free and part.entries[entry].status == "waiting":
                    seat(entry, size, min(free, key=lambda s: s.seats).id, t, busy, queue)
            t += 60_000
        results.append(quote_accuracy(part))
    return {"nights": nights, "mae_minutes_by_night": [r["mae_minutes"] for r in results],
            "quotes_last_night": results[-1]["quotes"]}  # fmt: skip


def run() -> dict[str, Any]:
    out = asyncio.run(page_latency())
    out["quotes"] = quote_simulation()
    return out


if __name__ == "__main__":
    print(run())
