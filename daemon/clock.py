"""The box's one clock: wall time that never jumps within a run, and notices when the wall does.

A Pi has no real-time clock: it boots with a stale time and NTP corrects it later, by hours or a
year, either way. Durations on the floor (minutes waited, when to re-page, when a party is gone)
must not jump with it. So the box keeps its own time: the wall clock read once, advanced by the
monotonic clock. When the wall and the box disagree by more than `JUMP_MS`, the box takes the wall
time again and says by how much; the daemon logs it, shows it, and tells the waitlist, which moves
its timers by the same amount, so every wait and every timer stays as it was. Across a restart
the daemon does the same with the time it last saw alive (`AliveMark`): the box's downtime is not
the guests' fault.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

JUMP_MS = 120_000


class BoxClock:
    """`wall` and `mono` (ns) are the shell's edge: tests inject a wall clock that jumps."""

    def __init__(
        self,
        wall: Callable[[], int] = time.time_ns,
        mono: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.wall = wall
        self.mono = mono
        self._anchor()

    def _anchor(self) -> None:
        self._wall0 = self.wall() // 1_000_000
        self._mono0 = self.mono() // 1_000_000

    def now(self) -> int:
        """Epoch ms as the box keeps it."""
        return self._wall0 + self.mono() // 1_000_000 - self._mono0

    def check(self, threshold_ms: int = JUMP_MS) -> int | None:
        """If the wall clock has moved away from the box's by more than `threshold_ms`, follow it
        and return by how much (positive: forward); else None."""
        gap = self.wall() // 1_000_000 - self.now()
        if abs(gap) <= threshold_ms:
            return None
        self._anchor()
        return gap


class AliveMark:
    """A small file beside the store with the box time last seen alive (written every few
    seconds, outside SQLite: it is a hint, and a lost write only makes the downtime look
    shorter)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def read(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def write(self, now: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(str(now))
            os.replace(tmp, self.path)
