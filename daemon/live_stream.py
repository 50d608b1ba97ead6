"""The live stream the host stand's page follows: every change, fanned out to each viewer.

Each viewer has its own bounded queue, so one stalled browser never holds the daemon's memory or
slows the others: when its queue is full it loses its oldest change (the page resyncs from the
snapshot it gets on reconnect).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from floorlink.daemon.service import LiveKind

QUEUE_SIZE = 10_000


class LiveStream:
    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[tuple[LiveKind, Any]]] = []

    @property
    def viewers(self) -> int:
        return len(self._queues)

    def broadcast(self, kind: LiveKind, payload: Any) -> None:
        for queue in self._queues:
            if queue.full():  # a stalled viewer: drop its oldest change rather than our memory
                queue.get_nowait()
            queue.put_nowait((kind, payload))

    async def follow(self) -> AsyncIterator[tuple[LiveKind, Any]]:
        """Every change after the call, until the caller stops iterating."""
        queue: asyncio.Queue[tuple[LiveKind, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)
