"""Per transmitter simulation: check-closed publish -> the transmitter's acknowledgement of the
page (its answer written back; for `lrs` and `jtech`, which never answer, the frame's arrival),
through the real daemon, p50/p99."""

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
from floorlink.drivers.http_transmitter import HttpTransmitter  # noqa: E402
from floorlink.drivers.pty_transmitter import PtyTransmitter  # noqa: E402

PAGES = 100
#: protocol -> its `[pager]` keys beside port and protocol (tap: a pty refuses 7E1)
SIMULATORS: dict[str, str] = {
    "lrs": "",
    "lrs-t74": "done_timeout = 5.0\n",
    "jtech": "",
    "waveware": "capcode_base = 100\n",
    "tap": 'line = "8N1"\n',
    "rps-http": "",
}


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


async def close_to_ack(protocol: str, pages: int = PAGES) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(Path(tmp) / "mosquitto")
        broker.start()
        tx: PtyTransmitter | HttpTransmitter
        if protocol == "rps-http":
            tx = HttpTransmitter()
            await tx.start()
            port = tx.url
        else:
            options: dict[str, Any] = {"capcode_base": 100} if protocol == "waveware" else {}
            tx = PtyTransmitter(Path(tmp) / "pager", protocol, **options)
            tx.plug()
            port = str(Path(tmp) / "pager")
        extra = (
            f'[pager]\nport = "{port}"\nprotocol = "{protocol}"\n{SIMULATORS[protocol]}'
            "\n[paging]\nrepage_after_minutes = 60\n"
        )
        daemon = Daemon(Path(tmp) / "daemon", broker, tables=4, extra=extra, snapshot_every=1000)
        daemon.start()
        lat: list[float] = []
        try:
            async with Terminal(broker) as pos:
                for i in range(pages):
                    await asyncio.to_thread(
                        _post, f"{daemon.url}/api/v1/waitlist",
                        {"name": f"p{i}", "party_size": 2, "pager": i % 4000 + 1},
                    )  # fmt: skip
                    await pos.ack(await pos.send("check.opened", check=f"c{i}", table="1"))
                    before = len(tx.pages)
                    t0 = time.perf_counter()
                    await pos.send("check.closed", check=f"c{i}", total="10.00")
                    await tx.wait_pages(before + 1)  # the simulator answered before it counts
                    lat.append(time.perf_counter() - t0)
                    await pos.send("table.cleared", table="1")
                    await pos.table("1", "available")
        finally:
            daemon.stop()
            if isinstance(tx, HttpTransmitter):
                await tx.stop()
            else:
                tx.close()
            broker.stop()
    ms = sorted(v * 1000 for v in lat)
    return {
        "pages": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2),
    }


def run(pages: int = PAGES) -> dict[str, Any]:
    return {name: asyncio.run(close_to_ack(name, pages)) for name in SIMULATORS}


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else PAGES))
