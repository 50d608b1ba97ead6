"""Keeping the store small and sound, on a schedule, off the hot path.

`StoreJanitor` (an edge component) deletes, in short transactions on the store thread so commits
interleave: outbox rows settled (sent, dead, expired) longer ago than the retention, refusals
(the answers kept for resends) older than theirs, snapshots beyond the newest few, dead letters
beyond their cap. Nothing pending is ever deleted, nor any
event: the log is the truth.

`IntegrityWatch` (critical) runs SQLite's `quick_check` on its own read-only connection, in a
thread, once a day and whenever the start-up skipped it (a clean shutdown left the file as it
was). A failure makes the daemon fatal with the reason; the restart then refuses the store at
open with the same reason, because no clean mark is left behind.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable

import structlog

from floorlink.daemon import metrics
from floorlink.daemon.component import Component, Health
from floorlink.daemon.engine import Engine, now_ms
from floorlink.daemon.store import (
    INTEGRITY_MAX_AGE_S,
    SNAPSHOTS_KEPT,
    Pruned,
    StoreError,
    one_line,
    quick_check,
)

log = structlog.get_logger(__name__)

DAY_MS = 86_400_000
#: Outbox rows deleted per transaction: the writer waits at most for one such slice.
SLICE = 2000


class StoreJanitor(Component):
    name = "store.janitor"

    def __init__(
        self,
        engine: Engine,
        retention_days: float,
        every_s: float,
        clock: Callable[[], int] = now_ms,
        rejected_days: float = 7,
    ) -> None:
        self.engine = engine
        self.retention_ms = int(retention_days * DAY_MS)
        self.rejected_ms = int(rejected_days * DAY_MS)
        self.every_s = every_s
        self.clock = clock
        self.passes = 0
        self.last: Pruned | None = None

    async def run(self) -> None:
        while True:
            await self.prune()
            await asyncio.sleep(self.every_s)

    async def prune(self) -> Pruned:
        """One pass; returns what it deleted (also counted in floorlink_store_pruned_total)."""
        store = self.engine.store
        now = self.clock()
        pruned = Pruned(
            {
                "outbox": await self._sliced(store.prune_outbox, now - self.retention_ms),
                "rejected": await self._sliced(store.prune_rejected, now - self.rejected_ms),
                "snapshots": await self.engine.call(store.prune_snapshots, SNAPSHOTS_KEPT),
                "dead_letters": await self.engine.call(store.prune_dead_letters),
            }
        )
        for what, n in pruned.counts.items():
            metrics.STORE_PRUNED.labels(what).inc(n)
        if pruned.total:
            log.info("store pruned", **pruned.counts)
        self.passes += 1
        self.last = pruned
        return pruned

    async def _sliced(self, prune: Callable[[int, int], int], before: int) -> int:
        """Delete in slices, each its own transaction, so the writer's batches go in between."""
        total = 0
        while True:
            n = await self.engine.call(prune, before, SLICE)
            total += n
            if n < SLICE:
                return total


class IntegrityWatch(Component):
    name = "store.integrity"
    critical = True

    def __init__(
        self,
        engine: Engine,
        every_s: float,
        max_age_s: float = INTEGRITY_MAX_AGE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.every_s = every_s
        self.max_age_s = max_age_s
        self.clock = clock
        self.problem: str | None = None

    async def run(self) -> None:
        while True:
            checked = self.engine.store.checked_at
            if checked is None or self.clock() - checked >= self.max_age_s:
                await self.check()
            await asyncio.sleep(self.every_s)

    async def check(self) -> None:
        """Check the file now; raise StoreError (fatal) when SQLite finds it unsound."""
        path = self.engine.store.path
        if path == ":memory:":
            return
        started = self.clock()
        problem = await asyncio.to_thread(_check_file, path)
        if problem is not None:
            self.problem = problem
            metrics.STORE_INTEGRITY.set(0)
            await self.engine.call(setattr, self.engine.store, "checked_at", None)
            raise StoreError(f"{path} failed its integrity check: {problem}")
        metrics.STORE_INTEGRITY.set(1)
        await self.engine.call(setattr, self.engine.store, "checked_at", started)

    def health(self) -> Health:
        return Health(self.problem is None, self.problem or "")


def _check_file(path: str) -> str | None:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            return quick_check(db)
        finally:
            db.close()
    except sqlite3.Error as exc:
        return one_line(str(exc))
