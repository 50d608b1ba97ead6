"""What every cloud-POS poller shares: the polling loop, its health, and counted rejections.

A poller reads only. Each round it asks the vendor for orders changed since its watermark (minus
an overlap, so a late write is not missed), turns each order into the same check events as MQTT
and receipt capture, and submits them. Event ids come from the vendor's own ids and versions,
so a re-poll, an overlap or a restart is answered `duplicate` and changes nothing. The watermark
moves only after every input of a round is committed: an outage loses nothing.

When the vendor cannot be reached the source sees nothing; its `health` says so by name
("square:front is blind: ...") and the stand and /metrics show it. Other sources go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import structlog
from pydantic import Field

from floorlink.bridge.errors import CloudError, TransientError
from floorlink.daemon import metrics
from floorlink.daemon.component import Component, Health
from floorlink.daemon.core import events as ev
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import RejectInput
from floorlink.daemon.plugins import Options
from floorlink.daemon.sources import SourceContext

log = structlog.get_logger(__name__)

BACKOFF_MAX_S = 60.0
OVERLAP_MS = 60_000
MAX_REMEMBERED = 50_000


class PollOptions(Options):
    url: str = Field(description="the vendor's API base url (https://...)")
    interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 5
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10
    lookback_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 720


def money(cents: Any) -> str | None:
    """Integer minor units (1250) as the contract's decimal string ("12.50")."""
    if type(cents) is not int:
        return None
    return f"{Decimal(cents) / 100:.2f}"


class CloudPosSource(Component):
    """Base of the pollers: override `poll(since_ms) -> (inputs, new watermark)`."""

    kind = "cloud-pos"

    def __init__(self, name: str, options: PollOptions, context: SourceContext) -> None:
        self.name = f"input.{self.kind}.{name}"
        self.source = f"{self.kind}:{name}"
        self.options = options
        self.context = context
        self.watermark = context.clock() - options.lookback_minutes * 60_000
        self.blind: str | None = None
        self.rounds = 0
        self.accepted = 0
        self.duplicates = 0
        self.rejections = 0
        self.last_rejection = ""
        self._rejected: set[str] = set()
        self._wake = asyncio.Event()

    def health(self) -> Health:
        if self.blind is not None:
            return Health(False, f"{self.source} is blind: {self.blind}")
        return Health(True, f"{self.rounds} polls, {self.rejections} rejected")

    def wake(self) -> None:
        self._wake.set()

    async def poll(self, since_ms: int) -> tuple[list[Input | RejectInput], int]:
        raise NotImplementedError

    async def close(self) -> None:
        """Release the HTTP session."""

    async def stop(self) -> None:
        await self.close()

    async def run(self) -> None:
        delay = self.options.interval_seconds
        while True:
            self._wake.clear()
            try:
                await self.round()
                delay = self.options.interval_seconds
            except CloudError as exc:
                was = self.blind
                self.blind = str(exc)[:200]
                if was is None:
                    log.warning("cloud POS unreachable: blind", source=self.source, error=str(exc))
                    self.context.status_changed()
                retry = exc.retry_after if isinstance(exc, TransientError) else None
                delay = min(BACKOFF_MAX_S, max(delay * 2, retry or 0.0))
                delay *= 0.75 + random.random() / 2
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def round(self) -> None:
        """One poll: submit everything, then move the watermark."""
        started = time.monotonic()
        inputs, watermark = await self.poll(self.watermark - OVERLAP_MS)
        await self.submit_all(inputs)
        if self.blind is not None:
            log.info("cloud POS reachable again", source=self.source)
            self.blind = None
            self.context.status_changed()
        self.watermark = max(self.watermark, watermark)
        self.rounds += 1
        log.debug("polled", source=self.source, inputs=len(inputs), s=time.monotonic() - started)

    async def submit_all(self, inputs: Sequence[Input | RejectInput]) -> None:
        futures = [self.context.submit(inp) for inp in inputs]
        for inp, fut in zip(inputs, futures, strict=True):
            res = await fut
            outcome = res.outcome.result
            if outcome == "accepted":
                self.accepted += 1
            elif outcome == "duplicate":
                self.duplicates += 1
            else:
                self.reject(inp.eid or "?", res.outcome.error or "rejected", count_only=True)

    def reject(self, key: str, reason: str, count_only: bool = False) -> RejectInput | None:
        """Count (once per order) something the vendor sent that cannot be placed."""
        order = key.split(":", 1)[0]
        if len(self._rejected) > MAX_REMEMBERED:
            self._rejected.clear()  # a restaurant's orders of weeks: counting one again is fine
        if order not in self._rejected:
            self._rejected.add(order)
            self.rejections += 1
            self.last_rejection = reason
            metrics.INTEGRATION_REJECTIONS.labels(self.source).inc()
            log.warning("cloud POS record rejected", source=self.source, key=key, reason=reason)
            self.context.status_changed()
        if count_only:
            return None
        return RejectInput(self.source, key, ev.CheckOpened.TYPE, reason)
