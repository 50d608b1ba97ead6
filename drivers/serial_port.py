"""One reconnecting serial port that any driver can use (bellows' Gateway, minus the protocol).

It opens any path pyserial opens: a USB adapter (`/dev/serial/by-id/...`), a pty, or a URL.
Ports with a file descriptor are driven from the event loop by pyserial-asyncio-fast; URLs without
one (`rfc2217://`, `loop://`) get a small executor-backed link. When the device disappears the
port reports it, reopens with capped, jittered backoff, logs once per outage and counts it. It
never blocks the loop and never raises into the daemon: a write while it is down raises
`PortUnavailable`, and the caller (the outbox) keeps the page for later.
"""

from __future__ import annotations

import asyncio
import contextlib
import termios
from collections.abc import Callable
from typing import Any

import serial
import serial_asyncio_fast
import structlog

from floorlink.drivers.reconnect import Backoff, LinkState

log = structlog.get_logger(__name__)

BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 10.0
WRITE_TIMEOUT_S = 5.0
FD_LESS_SCHEMES = ("rfc2217://", "loop://", "spy://", "hwgrep://", "alt://")


class PortUnavailable(Exception):
    """The port is not open right now: keep the data and try again after it reconnects."""


class _Link:
    """The open device: a stream pair, or a blocking pyserial object behind an executor."""

    def __init__(self, url: str, baudrate: int, settings: dict[str, Any] | None = None) -> None:
        self.url = url
        self.baudrate = baudrate
        self.settings = dict(settings or {})
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.blocking: Any = None

    async def open(self) -> None:
        if self.url.startswith(FD_LESS_SCHEMES):
            loop = asyncio.get_running_loop()
            self.blocking = await loop.run_in_executor(
                None,
                lambda: serial.serial_for_url(
                    self.url, baudrate=self.baudrate, timeout=0.2, **self.settings
                ),
            )
        else:
            self.reader, self.writer = await serial_asyncio_fast.open_serial_connection(
                url=self.url, baudrate=self.baudrate, **self.settings
            )

    async def read(self) -> bytes:
        """Some bytes; b"" never means "nothing yet" but "gone" (raises instead)."""
        if self.reader is not None:
            data = await self.reader.read(4096)
            if not data:
                raise serial.SerialException("device closed")
            return data
        while True:
            data = await asyncio.get_running_loop().run_in_executor(None, self.blocking.read, 4096)
            if data:
                return bytes(data)

    async def write(self, data: bytes) -> None:
        if self.writer is not None:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT_S)
        else:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.blocking.write, data)
            await loop.run_in_executor(None, self.blocking.flush)

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
        if self.blocking is not None:
            with contextlib.suppress(Exception):
                self.blocking.close()


class SerialPort(LinkState):
    """Keep one serial device open; tell listeners when it comes and goes."""

    def __init__(
        self,
        url: str,
        baudrate: int = 9600,
        on_data: Callable[[bytes], None] | None = None,
        name: str = "pager",
        settings: dict[str, Any] | None = None,
    ) -> None:
        """`settings`: pyserial's other settings (bytesize, parity, stopbits, rtscts)."""
        super().__init__()
        self.url = url
        self.baudrate = baudrate
        self.settings = dict(settings or {})
        self.on_data = on_data
        self.name = name
        self.reconnects = 0
        self.last_error: str | None = None
        self._link: _Link | None = None
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    async def start(self) -> None:
        """Start supervising; returns at once, whether or not the device is there."""
        self._task = asyncio.create_task(self._supervise(), name=f"floorlink.serial.{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._drop()

    async def write(self, data: bytes) -> None:
        """Write and drain; PortUnavailable when the device is not there (nothing was sent)."""
        async with self._write_lock:
            link = self._link
            if link is None or not self.connected:
                raise PortUnavailable(f"{self.name} port {self.url} is not connected")
            try:
                await link.write(data)
            except (OSError, serial.SerialException, TimeoutError) as exc:
                self._lost(exc)
                raise PortUnavailable(f"{self.name} port {self.url} failed: {exc}") from exc

    def _drop(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
        self._set(False)

    def _lost(self, exc: BaseException) -> None:
        if self.connected:
            log.warning("serial port lost", port=self.url, role=self.name, error=str(exc))
        self.last_error = str(exc)
        self._drop()

    async def _supervise(self) -> None:
        backoff = Backoff(BACKOFF_START_S, BACKOFF_MAX_S)
        outage_logged = False
        while True:
            link = _Link(self.url, self.baudrate, self.settings)
            try:
                await link.open()
            except (OSError, serial.SerialException, ValueError, termios.error) as exc:
                # termios.error: the device refuses a setting (a pty refuses parity)
                self.last_error = str(exc)
                if not outage_logged:
                    log.warning("serial port unavailable; retrying", port=self.url, error=str(exc))
                    outage_logged = True
                await backoff.wait()
                continue
            if outage_logged or self.reconnects or self.last_error:
                self.reconnects += 1
            log.info("serial port open", port=self.url, role=self.name)
            outage_logged = False
            backoff.reset()
            self._link = link
            self._set(True)
            try:
                while True:
                    data = await link.read()
                    if self.on_data is not None:
                        try:
                            self.on_data(data)
                        except Exception:
                            log.exception("serial data handler failed", port=self.url)
            except (OSError, serial.SerialException, asyncio.IncompleteReadError) as exc:
                self._lost(exc)
            except asyncio.CancelledError:
                self._drop()
                raise
            except Exception as exc:  # never let the supervisor die: drop the port and reopen
                self._drop()
                self.last_error = repr(exc)
                await backoff.wait()
