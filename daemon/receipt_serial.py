"""`receipt-serial`: a tap on an RS-232 receipt or kitchen printer line.

With two ports (the POS cable on one adapter, the printer on another) the box sits in the line:
bytes from the POS go to the printer unchanged and the printer's status replies go back. With only
`pos_port` (a Y-cable splitting the POS's transmit line into the box) it only listens. Either way
the parser gets a copy after the forwarding was queued, so it never delays or changes a byte; bytes
for a printer that is unplugged wait in order until it is back, and are never dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any, Literal

import structlog

from floorlink.daemon import metrics
from floorlink.daemon.component import Component, Health
from floorlink.daemon.plugins import Plugin
from floorlink.daemon.receipts import ReceiptOptions, ReceiptPipeline
from floorlink.daemon.sources import SourceContext
from floorlink.drivers.serial_port import PortUnavailable, SerialPort

log = structlog.get_logger(__name__)

Baud = Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]


class SerialOptions(ReceiptOptions):
    pos_port: str
    printer_port: str | None = None
    baud: Baud = 9600


class _Pump:
    """Ordered, unbounded forwarding to one port: the printing path never drops a byte."""

    def __init__(self, port: SerialPort, label: str, source: str) -> None:
        self.port = port
        self.pending: collections.deque[bytes] = collections.deque()
        self.wake = asyncio.Event()
        self.bytes = metrics.RECEIPT_BYTES.labels(source, label)

    def put(self, data: bytes) -> None:
        self.pending.append(data)
        self.wake.set()

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                data = self.pending[0]
                try:
                    await self.port.write(data)
                except PortUnavailable:
                    await self.port.wait_connected()
                    continue
                self.pending.popleft()
                self.bytes.inc(len(data))


class ReceiptSerialSource(Component):
    def __init__(self, name: str, options: SerialOptions, context: SourceContext) -> None:
        self.name = f"input.receipt-serial.{name}"
        self.source = f"receipt:{name}"
        self.options = options
        self.pipeline = ReceiptPipeline(self.source, options, context)
        self.pos = SerialPort(options.pos_port, options.baud, self._from_pos, f"{name}-pos")
        self.printer: SerialPort | None = None
        self._to_printer: _Pump | None = None
        self._to_pos: _Pump | None = None
        if options.printer_port is not None:
            self.printer = SerialPort(
                options.printer_port, options.baud, self._from_printer, f"{name}-printer"
            )
            self._to_printer = _Pump(self.printer, "to_printer", self.source)
            self._to_pos = _Pump(self.pos, "to_pos", self.source)
        self._tasks: list[asyncio.Task[None]] = []

    def _from_pos(self, data: bytes) -> None:
        if self._to_printer is not None:
            self._to_printer.put(data)
        self.pipeline.offer("serial", data)

    def _from_printer(self, data: bytes) -> None:
        if self._to_pos is not None:
            self._to_pos.put(data)

    async def start(self) -> None:
        await self.pos.start()
        if self.printer is not None:
            await self.printer.start()
        for pump in (self._to_printer, self._to_pos):
            if pump is not None:
                self._tasks.append(asyncio.create_task(pump.run()))

    async def run(self) -> None:
        await self.pipeline.run()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.pos.stop()
        if self.printer is not None:
            await self.printer.stop()

    def health(self) -> Health:
        if not self.pos.connected:
            return Health(False, f"POS port {self.pos.url} is not open: {self.pos.last_error}")
        if self.printer is not None and not self.printer.connected:
            return Health(
                False, f"printer port {self.printer.url} is not open: {self.printer.last_error}"
            )
        c = self.pipeline.counts
        mode = "in line" if self.printer is not None else "listening"
        return Health(
            True,
            f"{mode}; {c['events']} documents read, {c['rejected']} rejected, "
            f"{c['raster_only']} raster-only",
        )

    def recent(self, n: int = 10) -> list[dict[str, Any]]:
        """The last documents this printer printed, newest first, and what they became."""
        return self.pipeline.recent(n)

    def status(self) -> dict[str, Any]:
        waiting = sum(len(d) for d in self._to_printer.pending) if self._to_printer else 0
        return {
            "pos_port": self.pos.url,
            "printer_port": self.printer.url if self.printer else None,
            "waiting_for_printer_bytes": waiting,
            **self.pipeline.summary(),
            "recent": self.recent(),
        }

    async def wait_open(self, timeout: float = 10) -> None:
        """Both ports open (tests)."""
        await self.pos.wait_connected(timeout)
        if self.printer is not None:
            with contextlib.suppress(TimeoutError):
                await self.printer.wait_connected(timeout)


PLUGIN = Plugin(
    "receipt-serial",
    SerialOptions,
    ReceiptSerialSource,
    "tap on an RS-232 receipt or kitchen printer line (in line, or listen-only on a Y-cable)",
)
