"""A simulated pager transmitter on a pty, for the demo, the tests and the bench.

The daemon opens `path`, a stable symlink (as /dev/serial/by-id/ gives a real adapter) to the
slave side of a pty; this end reads the master side, decodes each frame with the protocol's own
transmitter-side decoder, and answers the way the device's documentation says (see each
protocol module's `reply`). `mode` (or the next entry of `script`, one per page) picks the
answer: `ok`, `nak`, `busy`, `full` (queue full), `silent` (no answer) and, for `lrs-t74`,
`no_report` (acknowledged, never reported sent). `unplug()` closes the pty and removes the link,
as pulling the USB adapter does; `replug()` makes a fresh pty at the same path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from floorlink.drivers.pagers import Page, jtech, lrs_t74, make_protocol, waveware
from floorlink.drivers.pagers.base import Decoder, PagerProtocol
from floorlink.drivers.pagers.sms import Modem
from floorlink.drivers.pagers.tap import TapTerminal


class Simulation(Protocol):
    mode: str
    script: list[str]

    def feed(self, data: bytes) -> tuple[list[Page], bytes]: ...


class FrameSimulation:
    """One command, one answer: decode the frames, answer each with the protocol's `reply`."""

    def __init__(
        self, decoder: Decoder, reply: Callable[[Page, str], list[bytes]], echo: bool = False
    ) -> None:
        self.decoder = decoder
        self.reply = reply
        self.echo = echo
        self.mode = "ok"
        self.script: list[str] = []

    def feed(self, data: bytes) -> tuple[list[Page], bytes]:
        pages = self.decoder.feed(data)
        out = bytearray(data if self.echo and self.mode != "silent" else b"")
        for page in pages:
            mode = self.script.pop(0) if self.script else self.mode
            out += b"".join(self.reply(page, mode))
        return pages, bytes(out)


def simulation(protocol: PagerProtocol) -> Simulation:
    """The simulated device for a protocol (lrs and jtech never answer)."""
    if protocol.name == "tap":
        return TapTerminal()
    if protocol.name == "sms":
        return Modem()
    replies: dict[str, Callable[[Page, str], list[bytes]]] = {
        "lrs-t74": lrs_t74.reply,
        "jtech": jtech.reply,
        "waveware": lambda page, mode: waveware.reply(page, mode),
    }
    reply = replies.get(protocol.name, lambda page, mode: [])
    return FrameSimulation(protocol.decoder(), reply, echo=protocol.name == "waveware")


class PtyTransmitter:
    def __init__(
        self,
        path: Path,
        protocol: str = "lrs",
        on_page: Callable[[Page], None] | None = None,
        mode: str = "ok",
        **options: Any,
    ) -> None:
        self.path = path
        self.protocol = make_protocol(protocol, **options)
        self.sim = simulation(self.protocol)
        self.sim.mode = mode
        self.on_page = on_page
        self.pages: list[Page] = []
        self.raw = bytearray()
        self.answered = bytearray()
        self._master: int | None = None
        self._slave: int | None = None
        self._arrived = asyncio.Condition()

    @property
    def mode(self) -> str:
        return self.sim.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.sim.mode = value

    @property
    def script(self) -> list[str]:
        return self.sim.script

    @property
    def decoder(self) -> Any:
        return getattr(self.sim, "decoder", None) or getattr(self.sim, "blocks", None)

    def say(self, data: bytes) -> None:
        """The device speaks unasked (a modem announcing a received text)."""
        if self._master is not None:
            self.answered += data
            os.write(self._master, data)

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
        pages, answer = self.sim.feed(data)
        if answer:
            self.answered += answer
            with contextlib.suppress(OSError):
                os.write(self._master, answer)
        for page in pages:
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
