"""A simulated pager transmitter on a pty, for the demo and the tests.

The daemon opens `path`, a stable symlink (as /dev/serial/by-id/ gives a real adapter) to the
slave side of a pty; this end reads the master side and decodes each frame. `unplug()` closes the
pty and removes the link, as pulling the USB adapter does; `replug()` makes a fresh pty at the
same path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from pathlib import Path

from floorlink.drivers.pagers import Page, make_protocol


class PtyTransmitter:
    def __init__(
        self,
        path: Path,
        protocol: str = "lrs",
        on_page: Callable[[Page], None] | None = None,
        **options: int,
    ) -> None:
        self.path = path
        self.decoder = make_protocol(protocol, **options).decoder()
        self.on_page = on_page
        self.pages: list[Page] = []
        self.raw = bytearray()
        self._master: int | None = None
        self._slave: int | None = None
        self._arrived = asyncio.Condition()

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        tmp = self.path.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.path)
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._readable)

    replug = plug

    def unplug(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._master is not None:
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
            self._master = None
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None

    close = unplug

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except OSError:
            return
        self.raw += data
        for page in self.decoder.feed(data):
            self.pages.append(page)
            if self.on_page is not None:
                self.on_page(page)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def wait_pages(self, count: int, timeout: float = 10) -> list[Page]:
        async def until() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.pages) >= count)

        await asyncio.wait_for(until(), timeout)
        return self.pages
