"""Pulls reservation changes with the opaque cursor, on an interval and at once when the cloud
returns. Each page goes through the engine as one `cloud.pulled` input, so the cursor is stored
in the same transaction as the reservations it paged over."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable

import structlog

from floorlink.bridge.client import CloudClient, CloudError
from floorlink.daemon.core.state import Input, State
from floorlink.daemon.engine import Engine, now_ms

log = structlog.get_logger(__name__)

MAX_PAGES_PER_PULL = 200


class Puller:
    def __init__(
        self,
        engine: Engine,
        client: CloudClient,
        interval_s: float,
        cursor_of: Callable[[State], str | None],
        on_state: Callable[[bool], None] = lambda up: None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.interval_s = interval_s
        self.cursor_of = cursor_of
        self.on_state = on_state
        self.pages = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Pull now (the cloud just came back)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.pull()
                self.on_state(True)
            except CloudError as exc:
                self.on_state(False)
                log.info("cloud pull failed; will retry", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    async def pull(self) -> int:
        """Pull until the cloud has nothing new; the number of pages taken."""
        taken = 0
        for _ in range(MAX_PAGES_PER_PULL):
            cursor = await self.engine.call(lambda: self.cursor_of(self.engine.state))
            page = await self.client.reservations(cursor)
            if not page.reservations and page.cursor == cursor:
                break
            data = {
                "reservations": [r.model_dump(exclude_none=True) for r in page.reservations],
                "cursor": page.cursor,
            }
            digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]
            eid = f"pull:{digest}"
            await self.engine.submit(Input("cloud", eid, "cloud.pulled", now_ms(), data))
            taken += 1
            self.pages += 1
            if not page.reservations:
                break
        return taken
