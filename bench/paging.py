"""Paging: check-closed publish -> the page's last byte on the transmitter's port. (Quote
accuracy over simulated services is bench/quotes.py.)"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from support import STAFF_TOKEN, Daemon, Terminal  # noqa: E402

from floorlink.daemon.broker import EmbeddedBroker  # noqa: E402
from floorlink.drivers.pty_transmitter import PtyTransmitter  # noqa: E402

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


def run() -> dict[str, Any]:
    return asyncio.run(page_latency())


if __name__ == "__main__":
    print(run())
