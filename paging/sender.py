"""Writes the pager outbox to the transmitter, in order, when the port is there.

The decision to page is exactly-once (an event and its outbox row, committed together). The
write is at-least-once at the wire: a row is marked done right after its bytes drained, so only
a crash in that instant repeats a page, and a repeated buzz is harmless on a coaster pager.
A page whose party was seated or left meanwhile is expired, not sent; of several pages queued
for one party while the port was down, only the latest is sent (the others are superseded).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from floorlink.daemon import metrics
from floorlink.daemon.engine import Engine
from floorlink.daemon.store import OutboxRow
from floorlink.drivers.pagers import Page, PagerProtocol
from floorlink.drivers.serial_port import PortUnavailable, SerialPort
from floorlink.paging.waitlist import WaitlistPart

log = structlog.get_logger(__name__)

CONSUMER = "pager"
BATCH = 20


class PagerSender:
    def __init__(
        self,
        engine: Engine,
        port: SerialPort,
        protocol: PagerProtocol,
        still_waiting: Callable[[str], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.port = port
        self.protocol = protocol
        # runs on the store thread: entry id -> may this party still be paged?
        self.still_waiting = still_waiting or self._still_waiting
        self._wake = asyncio.Event()
        self.sent = 0
        self.expired = 0
        port.on_state_change(lambda connected: self.wake() if connected else None)

    def wake(self) -> None:
        """New pager rows were committed, or the port came back."""
        self._wake.set()

    def _still_waiting(self, entry: str) -> bool:
        """The default check, on the store thread: the entry is waiting or paged."""
        part = self.engine.state.part("waitlist")
        found = part.entries.get(entry) if isinstance(part, WaitlistPart) else None
        return found is not None and found.status in ("waiting", "paged")

    async def run(self) -> None:
        """Deliver forever; waits (no polling) for new rows or for the port to come back."""
        while True:
            rows = await self.engine.next_outbox(CONSUMER, BATCH, self._wake)
            if not self.port.connected:
                await self.port.wait_connected()
                continue
            latest = {str(row.payload.get("entry")): row.id for row in rows}
            for row in rows:
                if latest[str(row.payload.get("entry"))] != row.id:
                    await self._expire(row, "superseded by a later page for the same party")
                elif not await self._deliver(row):
                    break

    async def _deliver(self, row: OutboxRow) -> bool:
        """True to go on with the next row; False when the port went away."""
        payload: dict[str, Any] = dict(row.payload)
        entry = str(payload.get("entry"))
        if not await self.engine.call(self.still_waiting, entry):
            await self._expire(row, "the party was seated or left before the page")
            return True
        try:
            frame = self.protocol.encode(Page(int(payload["pager"]), int(payload.get("alert", 1))))
        except (KeyError, ValueError, TypeError) as exc:
            await self.engine.settle([row.id], "dead", f"cannot encode: {exc}")
            metrics.PAGES.labels("invalid").inc()
            log.error("page cannot be encoded; parked as dead", key=row.key, error=str(exc))
            return True
        try:
            await self.port.write(frame)
        except PortUnavailable as exc:
            metrics.PAGES.labels("port_down").inc()
            log.info("page waits for the port", entry=entry, error=str(exc))
            return False
        await self.engine.settle([row.id], "done")
        self.sent += 1
        metrics.PAGES.labels("sent").inc()
        log.info("page sent", entry=entry, pager=payload.get("pager"), n=payload.get("n"))
        return True

    async def _expire(self, row: OutboxRow, why: str) -> None:
        await self.engine.settle([row.id], "expired", why)
        self.expired += 1
        metrics.PAGES.labels("expired").inc()
        log.info("page expired", key=row.key, pager=row.payload.get("pager"), reason=why)
