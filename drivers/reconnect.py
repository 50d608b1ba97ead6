"""What every reconnecting link shares (the serial port, the HTTP transmitter): a `connected`
flag that tells its listeners when it flips, and capped, jittered exponential backoff between
attempts to find the device again."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)


class Backoff:
    """Wait `start` seconds (jittered to 0.5-1.5x), doubling up to `cap`; `reset` after a
    success. Jitter keeps boxes that lost the same device from retrying in step."""

    def __init__(self, start: float, cap: float) -> None:
        self.start = start
        self.cap = cap
        self.current = start

    def reset(self) -> None:
        self.current = self.start

    async def wait(self) -> None:
        await asyncio.sleep(self.current * (0.5 + random.random()))
        self.current = min(self.current * 2, self.cap)


class LinkState:
    """Whether the device is there now, and who wants to hear when that changes."""

    def __init__(self) -> None:
        self._connected = asyncio.Event()
        self._listeners: list[Callable[[bool], None]] = []

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def on_state_change(self, callback: Callable[[bool], None]) -> None:
        self._listeners.append(callback)

    async def wait_connected(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _set(self, connected: bool) -> None:
        if connected == self.connected:
            return
        if connected:
            self._connected.set()
        else:
            self._connected.clear()
        for cb in self._listeners:
            try:
                cb(connected)
            except Exception:
                log.exception("link state listener failed")
