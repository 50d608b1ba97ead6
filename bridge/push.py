"""Delivers the cloud outbox in order, once: batches of at most 500, retried with jittered
exponential backoff on timeouts, 429 (honouring Retry-After) and 5xx, with 409 counted as
delivered. A 4xx that retrying cannot fix is narrowed down to the offending rows, which are
parked as `dead` (visible in metrics and the API) so they never block the queue. The provider
turns each event into what its vendor takes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from floorlink.bridge.errors import PermanentError, TransientError
from floorlink.bridge.provider import ReservationProvider
from floorlink.daemon.component import Component, Health
from floorlink.daemon.engine import Engine
from floorlink.daemon.store import OutboxRow

log = structlog.get_logger(__name__)

CONSUMER = "cloud"
BATCH = 500
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 60.0
PAUSE_BETWEEN_BATCHES_S = 0.01  # a backlog drains without starving live traffic


def wire_event(row: OutboxRow) -> dict[str, Any]:
    """One outbox row as the cloud API takes it: the same id on every retry."""
    return {"id": row.key, "seq": row.id, "type": row.type, "at": row.created, "data": row.payload}


class Pusher(Component):
    name = "cloud.push"

    def __init__(
        self,
        engine: Engine,
        provider: ReservationProvider,
        on_state: Callable[[bool], None] = lambda up: None,
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.on_state = on_state
        self.delivered = 0
        self.dead = 0
        self.up: bool | None = None
        self.error = ""
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def health(self) -> Health:
        if self.up is False:
            return Health(False, f"the reservation system does not take events: {self.error}")
        return Health(True, "")

    def _state(self, up: bool, error: str = "") -> None:
        self.up, self.error = up, error
        self.on_state(up)

    async def run(self) -> None:
        backoff = BACKOFF_START_S
        while True:
            rows = await self.engine.next_outbox(CONSUMER, BATCH, self._wake)
            try:
                await self._deliver(rows)
            except TransientError as exc:
                self._state(False, str(exc)[:200])
                delay = exc.retry_after if exc.retry_after is not None else backoff
                delay = min(BACKOFF_MAX_S, delay) * (0.75 + random.random() / 2)
                log.info("cloud push will retry", error=str(exc), in_s=round(delay, 2))
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            self._state(True)
            backoff = BACKOFF_START_S
            await asyncio.sleep(PAUSE_BETWEEN_BATCHES_S)

    async def _deliver(self, rows: Sequence[OutboxRow]) -> None:
        """Deliver `rows` in order; a permanent failure is narrowed down by halves."""
        try:
            await self.provider.push([wire_event(r) for r in rows])
        except PermanentError as exc:
            if len(rows) == 1:
                await self._settle(rows, "dead", str(exc))
                self.dead += 1
                log.warning("cloud refused an event; parked", key=rows[0].key, error=str(exc))
                return
            half = len(rows) // 2
            await self._deliver(rows[:half])
            await self._deliver(rows[half:])
            return
        await self._settle(rows, "done")
        self.delivered += len(rows)

    async def _settle(
        self, rows: Sequence[OutboxRow], state: str, error: str | None = None
    ) -> None:
        await self.engine.settle([r.id for r in rows], state, error)
