"""Receipt proxy: the latency it adds, bytes in from the POS -> bytes out at the printer, p50/p99,
beside the same path with no proxy (a direct connection to the printer) on loopback."""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from receipt_support import BISTRO, render, sample_check  # noqa: E402

from floorlink.daemon.core.state import Outcome  # noqa: E402
from floorlink.daemon.engine import Committed  # noqa: E402
from floorlink.daemon.receipt_tcp import ReceiptTcpSource, TcpOptions  # noqa: E402
from floorlink.daemon.sources import SourceContext  # noqa: E402

CHUNK = 64
JOBS = 200


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Sink:
    """The printer: counts bytes and wakes the sender when the expected count has arrived."""

    def __init__(self) -> None:
        self.got = 0
        self.want = 0
        self.arrived = asyncio.Event()
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            self.got += len(data)
            if self.got >= self.want:
                self.arrived.set()
        writer.close()


async def one_way(port: int, sink: Sink, jobs: list[bytes]) -> list[float]:
    """Send each chunk and time until its last byte reaches the printer."""
    lat: list[float] = []
    for job in jobs:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(0, len(job), CHUNK):
            piece = job[i : i + CHUNK]
            sink.want = sink.got + len(piece)
            sink.arrived.clear()
            start = time.perf_counter()
            writer.write(piece)
            await sink.arrived.wait()
            lat.append(time.perf_counter() - start)
        writer.close()
        await writer.wait_closed()
    return lat


def _accept(inp: Any) -> asyncio.Future[Committed]:
    fut: asyncio.Future[Committed] = asyncio.get_running_loop().create_future()
    fut.set_result(Committed(inp, Outcome("accepted")))
    return fut


async def measure() -> dict[str, Any]:
    sink = Sink()
    server = await sink.start()
    options = TcpOptions.model_validate(
        {
            "printer_host": "127.0.0.1",
            "printer_port": sink.port,
            "listen_host": "127.0.0.1",
            "listen_port": 0,
            "layout": BISTRO,
        }
    )
    context = SourceContext(
        _accept, ZoneInfo("UTC"), tuple(str(n) for n in range(1, 13)), lambda: 0
    )
    proxy = ReceiptTcpSource("bench", options, context)
    await proxy.start()
    worker = asyncio.create_task(proxy.run())
    check = sample_check()
    kinds = [("kitchen", "apps"), ("kitchen", "entrees"), ("check", None), ("receipt", None)]
    jobs = [render("bistro", k, check, c) for k, c in kinds] * (JOBS // len(kinds))
    try:
        assert proxy.port is not None
        await one_way(sink.port, sink, jobs[:4])  # warm up
        direct = await one_way(sink.port, sink, jobs)
        proxied = await one_way(proxy.port, sink, jobs)
        await proxy.pipeline.drained(10)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await proxy.stop()
        server.close()
    p50, p99 = statistics.median(proxied), pct(proxied, 99)
    d50, d99 = statistics.median(direct), pct(direct, 99)
    return {
        "chunks": len(proxied),
        "chunk_bytes": CHUNK,
        "proxied_p50_ms": round(p50 * 1000, 3),
        "proxied_p99_ms": round(p99 * 1000, 3),
        "direct_p50_ms": round(d50 * 1000, 3),
        "direct_p99_ms": round(d99 * 1000, 3),
        "added_p50_ms": round((p50 - d50) * 1000, 3),
        "added_p99_ms": round((p99 - d99) * 1000, 3),
        "documents_parsed": proxy.pipeline.documents,
    }


def run() -> dict[str, Any]:
    logging.getLogger("escpos").setLevel(logging.ERROR)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return asyncio.run(measure())


if __name__ == "__main__":
    print(run())
