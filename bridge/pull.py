"""Pulls reservation changes with the provider's opaque cursor: on a short interval (tiny delta
pulls), at once when the cloud returns, and on demand when a host names a reservation the box
does not know yet. Each page goes through the engine as one `cloud.pulled` input, so the cursor
is stored in the same transaction as the reservations it paged over."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
from collections.abc import Callable

import structlog

from floorlink.bridge.errors import CloudError, TransientError
from floorlink.bridge.provider import ReservationProvider
from floorlink.daemon import metrics
from floorlink.daemon.component import Component, Health
from floorlink.daemon.core import events as ev
from floorlink.daemon.core.state import Input, State
from floorlink.daemon.engine import Engine

log = structlog.get_logger(__name__)

MAX_PAGES_PER_PULL = 200
BACKOFF_MAX_S = 10.0


class Puller(Component):
    name = "cloud.pull"

    def __init__(
        self,
        engine: Engine,
        provider: ReservationProvider,
        interval_s: float,
        cursor_of: Callable[[State], str | None],
        on_state: Callable[[bool], None] = lambda up: None,
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.interval_s = max(interval_s, provider.min_interval_s)
        self.cursor_of = cursor_of
        self.on_state = on_state
        self.pages = 0
        self.stalled = False
        self.up: bool | None = None
        self.error = ""
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        """Pull now (the cloud just came back)."""
        self._wake.set()

    def health(self) -> Health:
        if self.up is False:
            return Health(False, f"the reservation system does not answer: {self.error}")
        return Health(True, "")

    def _state(self, up: bool, error: str = "") -> None:
        self.up, self.error = up, error
        self.on_state(up)

    async def run(self) -> None:
        delay = self.interval_s
        while True:
            self._wake.clear()
            try:
                self.stalled = False
                await self.pull()
                self._state(True)
                # a cursor that does not move: back off as for an outage, never spin
                delay = min(BACKOFF_MAX_S, delay * 2) if self.stalled else self.interval_s
            except CloudError as exc:
                self._state(False, str(exc)[:200])
                log.info("cloud pull failed; will retry", error=str(exc))
                retry = exc.retry_after if isinstance(exc, TransientError) else None
                # back off while it stays down, and never sooner than the vendor asks
                delay = min(BACKOFF_MAX_S, max(delay * 2, retry or 0.0))
                delay *= 0.75 + random.random() / 2
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def pull_now(self, timeout_s: float) -> bool:
        """One pull at once (after any pull under way), bounded; True if it completed."""
        try:
            await asyncio.wait_for(self.pull(), timeout_s)
        except (CloudError, TimeoutError) as exc:
            log.info("on-demand pull did not complete", error=str(exc) or "timed out")
            return False
        return True

    async def pull(self) -> int:
        """Pull until the provider has nothing new; the number of pages taken."""
        async with self._lock:
            taken = 0
            for _ in range(MAX_PAGES_PER_PULL):
                cursor = await self.engine.call(lambda: self.cursor_of(self.engine.state))
                page = await self.provider.pull(cursor)
                if not page.reservations and page.cursor == cursor:
                    break
                data = {"reservations": page.reservations, "cursor": page.cursor}
                blob = json.dumps(data, sort_keys=True).encode()
                eid = f"pull:{hashlib.sha256(blob).hexdigest()[:24]}"
                done = await self.engine.submit(
                    Input("cloud", eid, ev.CloudPulled.TYPE, self.engine.clock(), data)
                )
                over = int(done.outcome.body.get("over_limit") or 0)
                if over:
                    metrics.CLOUD_ROWS_REJECTED.inc(over)
                    log.warning("reservations over the box's limit were refused", count=over)
                taken += 1
                self.pages += 1
                if page.cursor == cursor:
                    # rows, yet the same cursor: the next pull would get this page again.
                    metrics.CLOUD_CURSOR_STALLED.inc()
                    self.stalled = True
                    log.warning("the reservation system's cursor did not advance: backing off")
                    break
                if not page.more:
                    break
            return taken
