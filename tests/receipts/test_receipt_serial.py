"""The serial tap on pty pairs: in line between a POS port and a printer port, bytes go through
unchanged both ways; listening only, it reads. Line noise from a baud mismatch and a stream cut
mid-document are counted rejections, and the next document reads."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tty
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from receipt_support import COUNTER, layout_toml, render, sample_check, sha
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.receipt_serial import ReceiptSerialSource


class PtyEnd:
    """The far side of a serial line: what the tap writes arrives here; we write back."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self.slave)
        self.got = bytearray()
        self.changed = asyncio.Event()
        os.set_blocking(self.master, False)
        asyncio.get_running_loop().add_reader(self.master, self._readable)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self.got += os.read(self.master, 65536)
            self.changed.set()

    async def write(self, data: bytes, chunk: int = 64) -> None:
        for i in range(0, len(data), chunk):
            view = data[i : i + chunk]
            while view:
                try:
                    n = os.write(self.master, view)
                except BlockingIOError:
                    await asyncio.sleep(0.001)
                    continue
                view = view[n:]
            await asyncio.sleep(0)

    async def wait_for(self, n: int, timeout: float = 10) -> None:
        async def until() -> None:
            while len(self.got) < n:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@contextlib.asynccontextmanager
async def tap(
    tmp_path: Path, broker: EmbeddedBroker, pos: PtyEnd, printer: PtyEnd | None
) -> AsyncIterator[tuple[App, ReceiptSerialSource]]:
    wiring = f'pos_port = "{pos.path}"\n'
    if printer is not None:
        wiring += f'printer_port = "{printer.path}"\n'
    extra = (
        '[[inputs]]\nkind = "receipt-serial"\nname = "line"\nbaud = 19200\n'
        f"idle_split_ms = 300\n{wiring}" + layout_toml(COUNTER)
    )
    path = write_config(
        tmp_path / "floorlink.toml", broker.port, free_port(), tables=12, extra=extra
    )
    app = App(load_config(path))
    await app.start()
    try:
        source = app.sources[0]
        assert isinstance(source, ReceiptSerialSource)
        await source.wait_open()
        yield app, source
    finally:
        await app.stop()


async def test_in_line_every_byte_both_ways_and_noise_then_resync(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    pos, printer = PtyEnd(), PtyEnd()
    try:
        async with tap(tmp_path, broker, pos, printer) as (app, source):
            rng = random.Random(9)
            garbage = bytes(rng.randrange(256) for _ in range(700))  # a baud-rate mismatch
            await pos.write(garbage)
            await until(lambda: source.pipeline.counts["rejected"] == 1)
            assert "line noise" in (source.recent(1)[0]["error"] or "")
            check = sample_check()
            ticket = render("counter", "kitchen", check, "apps")
            burst = bytes(rng.randrange(256) for _ in range(60)).replace(b"\x1dV", b"..")
            noisy = ticket[:40] + burst + ticket[40:]  # line noise inside one ticket
            await pos.write(noisy)
            await until(lambda: source.pipeline.counts["rejected"] == 2)
            assert app.engine.tables["12"]["status"] == "available"  # rejected, not guessed
            jobs = ticket + render("counter", "check", check)
            await pos.write(jobs)
            await until(lambda: app.engine.tables["12"]["status"] == "check_dropped")
            sent = garbage + noisy + jobs
            await printer.wait_for(len(sent))
            assert sha(bytes(printer.got)) == sha(sent)
            await printer.write(b"\x16\x12")  # status replies go back to the POS
            await pos.wait_for(2)
            assert bytes(pos.got) == b"\x16\x12"
            assert source.health().up and "in line" in source.health().detail
    finally:
        pos.close()
        printer.close()


async def test_listen_only_reads_and_a_cut_stream_is_rejected(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    pos = PtyEnd()
    try:
        async with tap(tmp_path, broker, pos, None) as (app, source):
            check = sample_check(table="4")
            receipt = render("counter", "receipt", check)
            cut_at = receipt.index(b"\x1dv0") + 40  # stops inside the logo's raster data
            await pos.write(receipt[:cut_at])
            await until(lambda: source.pipeline.counts["rejected"] == 1)
            assert "cut short" in (source.recent(1)[0]["error"] or "")
            await pos.write(render("counter", "kitchen", check, "apps"))
            await until(lambda: app.engine.tables["4"]["status"] == "seated")
            await pos.write(receipt)
            await until(lambda: app.engine.tables["4"]["status"] == "bussing")
            assert source.status()["printer_port"] is None
    finally:
        pos.close()
