"""Time for a core that reads no clock: timer inputs when something is due, and box time moves.

The core says when each part next needs a timer (`waitlist.due`, `reservations.due`); this
submits that input when the time comes. The box's downtime and a wall-clock jump are not the
guests' fault: both are committed as `box.resumed`, which moves the waitlist's timers, so
re-pages and give-ups resume where they stood instead of storming.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from floorlink.daemon import metrics
from floorlink.daemon.core.events import BoxResumed, ReservationsDue, WaitlistDue
from floorlink.daemon.core.reservations import next_due as reservations_due
from floorlink.daemon.core.state import Input
from floorlink.daemon.core.waitlist import next_due as waitlist_due
from floorlink.daemon.parts import holdable, reservations_of, waitlist_of
from floorlink.daemon.service import JSON

if TYPE_CHECKING:
    from floorlink.daemon.clock import AliveMark, BoxClock
    from floorlink.daemon.engine import Engine

log = structlog.get_logger(__name__)

CLOCK_CHECK_S = 5.0
#: A restart shorter than this moves no timer (a quick restart is within a re-page's slack).
RESUME_MIN_MS = 60_000


class Timers:
    def __init__(
        self,
        engine: Engine,
        clock: BoxClock,
        alive: AliveMark | None,
        on_jump: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.alive = alive
        self.on_jump = on_jump
        #: The last wall-clock jump, for the status: {"minutes", "at"} or None.
        self.clock_jump: JSON | None = None
        self._wake = asyncio.Event()
        self._resumed = asyncio.Event()

    def wake(self) -> None:
        """Something that may change a due time was committed: look again."""
        self._wake.set()

    async def resume(self, last_alive: int | None) -> None:
        """Move the timers by the downtime, then let them run (never before)."""
        try:
            await self._resume_after_downtime(last_alive)
        finally:
            self._resumed.set()

    async def _resume_after_downtime(self, last: int | None) -> None:
        """The time the box was down is not the guests' fault: move the waitlist's timers by
        it (committed before any timer runs), so re-pages and give-ups resume where they stood."""
        if last is None:
            return
        gap = self.clock.now() - last
        if abs(gap) < RESUME_MIN_MS:
            return
        log.info("resuming after downtime", minutes=round(gap / 60000, 1))
        await self.shift("restart", gap)

    async def shift(self, reason: str, gap: int) -> None:
        data = {"gap_ms": gap, "reason": reason}
        inp = Input("box", uuid.uuid4().hex, BoxResumed.TYPE, self.clock.now(), data)
        res = await self.engine.submit(inp)
        if res.outcome.result != "accepted":
            log.error("could not move the waitlist's timers", error=res.outcome.error)

    async def watch_clock(self) -> None:
        """Notice a wall-clock jump (NTP after boot, a hand-set clock): log it, show it, move the
        waitlist's timers with it; and mark the box alive for the next start's downtime."""
        while True:
            gap = self.clock.check()
            if gap is not None:
                minutes = round(gap / 60000, 1)
                metrics.CLOCK_JUMPS.inc()
                log.warning("the wall clock jumped: waits and timers are kept", minutes=minutes)
                self.clock_jump = {"minutes": minutes, "at": self.clock.now()}
                await self.shift("clock", gap)
                self.on_jump()
            self.mark_alive()
            await asyncio.sleep(CLOCK_CHECK_S)

    def mark_alive(self) -> None:
        if self.alive is not None:
            self.alive.write(self.clock.now())

    def dues(self, now: int) -> dict[str, int | None]:
        """On the store thread: when each part next needs a timer input."""
        state = self.engine.state
        return {
            WaitlistDue.TYPE: waitlist_due(waitlist_of(state), state.floor),
            ReservationsDue.TYPE: reservations_due(reservations_of(state), now, holdable(state)),
        }

    async def run(self) -> None:
        """Submit `waitlist.due` when a re-page or give-up is due (the core reads no clock)."""
        await self._resumed.wait()  # after the downtime has moved the timers, never before
        while True:
            self._wake.clear()
            dues = await self.engine.call(self.dues, self.clock.now())
            pending = {kind: at for kind, at in dues.items() if at is not None}
            if not pending:
                await self._wake.wait()
                continue
            kind, due = min(pending.items(), key=lambda kv: kv[1])
            delay = (due - self.clock.now()) / 1000
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(delay, 60))
                continue
            await self.engine.submit(Input("timer", f"{kind}:{due}", kind, self.clock.now(), {}))
            await asyncio.sleep(0.05)
