"""`receipt-tcp`: a raw-9100 proxy between a POS and its network printer, reading what it prints.

The POS prints to the box; each connection is forwarded byte for byte to the real printer, and the
printer's replies (DLE EOT real-time status, GS a automatic status back) go back unchanged. A copy
of what the POS sent goes to the receipt pipeline *after* it was written towards the printer, so
parsing never delays or changes printing. The box reads nothing from the POS until the printer
has accepted the connection: if the printer refuses or does not answer, the POS's connection is
reset (it sees a failed print, as with the printer itself) and no job is ever taken and lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Annotated, Any

import structlog
from pydantic import Field

from floorlink.daemon import metrics
from floorlink.daemon.component import Component, Health
from floorlink.daemon.plugins import Plugin
from floorlink.daemon.receipts import ReceiptOptions, ReceiptPipeline, warn
from floorlink.daemon.sources import SourceContext

log = structlog.get_logger(__name__)

CHUNK = 64 * 1024
Port = Annotated[int, Field(ge=0, le=65535)]


class TcpOptions(ReceiptOptions):
    printer_host: Annotated[str, Field(min_length=1, max_length=253)]
    printer_port: Port = 9100
    listen_host: str = "0.0.0.0"
    listen_port: Port = 9100
    connect_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    #: after the POS has sent everything, how long printer replies are still relayed
    linger_s: Annotated[float, Field(ge=0, le=60)] = 2.0


def _tune(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset: the POS sees a failed connection, not a finished job."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ReceiptTcpSource(Component):
    def __init__(self, name: str, options: TcpOptions, context: SourceContext) -> None:
        self.name = f"input.receipt-tcp.{name}"
        self.source = f"receipt:{name}"
        self.options = options
        self.context = context
        self.pipeline = ReceiptPipeline(self.source, options, context)
        self.port: int | None = None
        self.connections = 0
        self.active = 0
        self.printer_error: str | None = None
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        for result in ("ok", "printer_unreachable", "printer_lost", "pos_reset"):
            metrics.RECEIPT_CONNECTIONS.labels(self.source, result).inc(0)

    async def start(self) -> None:
        o = self.options
        self._server = await asyncio.start_server(
            self._serve, o.listen_host, o.listen_port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "receipt proxy listening",
            source=self.source,
            port=self.port,
            printer=f"{o.printer_host}:{o.printer_port}",
        )

    async def run(self) -> None:
        await self.pipeline.run()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def health(self) -> Health:
        if self.printer_error is not None:
            return Health(False, f"printer unreachable: {self.printer_error}")
        c = self.pipeline.counts
        return Health(
            True,
            f"{self.connections} print jobs, {c['events']} documents read, "
            f"{c['rejected']} rejected, {c['raster_only']} raster-only",
        )

    def recent(self, n: int = 10) -> list[dict[str, Any]]:
        """The last documents this printer printed, newest first, and what they became."""
        return self.pipeline.recent(n)

    def status(self) -> dict[str, Any]:
        o = self.options
        return {
            "listen": f"{o.listen_host}:{self.port}",
            "printer": f"{o.printer_host}:{o.printer_port}",
            "printer_error": self.printer_error,
            "connections": self.connections,
            "active": self.active,
            **self.pipeline.summary(),
            "recent": self.recent(),
        }

    # ---- one print job -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        self.active += 1
        stream = f"{self.connections}"
        try:
            await self._proxy(stream, reader, writer)
        except asyncio.CancelledError:  # stopping: a leaf task, so end quietly (asyncio's
            _reset(writer)  # server callback logs a cancelled handler as an error)
        finally:
            self.active -= 1
            self._handlers.discard(task)

    async def _proxy(
        self, stream: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        o = self.options
        try:
            preader, pwriter = await asyncio.wait_for(
                asyncio.open_connection(o.printer_host, o.printer_port), o.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            self.printer_error = f"{o.printer_host}:{o.printer_port}: {exc or 'timed out'}"
            metrics.RECEIPT_CONNECTIONS.labels(self.source, "printer_unreachable").inc()
            warn(
                "printer unreachable: POS connection reset",
                source=self.source,
                error=self.printer_error,
            )
            _reset(writer)
            return
        self.printer_error = None
        _tune(writer)
        _tune(pwriter)
        up = asyncio.create_task(self._up(stream, reader, pwriter))
        down = asyncio.create_task(self._down(preader, writer))
        result = "ok"
        try:
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            if up in done:
                if up.exception() is not None:
                    result = "pos_reset"
                    self.pipeline.end(stream, "the POS connection was reset mid-job")
                else:
                    self.pipeline.end(stream)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(down), o.linger_s)
            else:  # the printer went first: whatever the POS still sends cannot be printed
                up.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await up
                if not reader.at_eof():
                    result = "printer_lost"
                    self.pipeline.end(stream, "the printer disconnected mid-job")
                else:
                    self.pipeline.end(stream)
        finally:
            for t in (up, down):
                t.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            metrics.RECEIPT_CONNECTIONS.labels(self.source, result).inc()
            if result == "ok":
                pwriter.close()
                writer.close()
            else:
                warn("print job interrupted", source=self.source, result=result)
                _reset(writer)
                pwriter.transport.abort()

    async def _up(
        self, stream: str, reader: asyncio.StreamReader, pwriter: asyncio.StreamWriter
    ) -> None:
        """POS -> printer, then a copy to the parser."""
        sent = metrics.RECEIPT_BYTES.labels(self.source, "to_printer")
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            pwriter.write(data)
            await pwriter.drain()
            self.pipeline.offer(stream, data)
            sent.inc(len(data))
        if pwriter.can_write_eof():
            with contextlib.suppress(OSError):
                pwriter.write_eof()

    async def _down(self, preader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """printer -> POS: status replies, unchanged."""
        back = metrics.RECEIPT_BYTES.labels(self.source, "to_pos")
        while True:
            data = await preader.read(CHUNK)
            if not data:
                return
            writer.write(data)
            await writer.drain()
            back.inc(len(data))


PLUGIN = Plugin(
    "receipt-tcp",
    TcpOptions,
    ReceiptTcpSource,
    "raw-9100 proxy to a network receipt or kitchen printer; check events from what it prints",
)
