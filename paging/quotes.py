"""Wait-time quotes from the live floor and this restaurant's own turn times (pure).

A party's quote is when the table it would get is likely to be free: for each table that fits,
how long until it frees (by status, course and time since seated, against the turn time learned
for that party size and hour), then the parties ahead that also fit take the earliest ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from floorlink.daemon.core.floor import TableState

MIN_MS = 60_000
HISTORY_KEPT = 40
#: Day-one turn times in minutes by party size bucket, before the box has seen a service.
DEFAULT_TURN = {1: 45, 2: 60, 4: 80, 6: 100, 8: 120}
BUSSING_MIN = 4
DROPPED_MIN = 10
#: The least a seated table still needs, as a share of its turn, by the course it is on.
COURSE_SHARE = {None: 0.45, "apps": 0.35, "entrees": 0.2, "dessert": 0.08}


def size_bucket(size: int) -> int:
    for bucket in (1, 2, 4, 6):
        if size <= bucket:
            return bucket
    return 8


@dataclass
class TurnTimes:
    """Observed seated-to-closed minutes, by (size bucket, hour of day). Folded from the log."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def record(self, size: int, hour: int, minutes: float) -> None:
        if not 5 <= minutes <= 360:  # a mistaken open/close, not a meal
            return
        key = f"{size_bucket(size)}@{hour}"
        values = self.samples.setdefault(key, [])
        values.append(round(minutes, 2))
        del values[:-HISTORY_KEPT]

    def expected(self, size: int, hour: int) -> float:
        bucket = size_bucket(size)
        near = [
            v
            for h in (hour, (hour - 1) % 24, (hour + 1) % 24)
            for v in self.samples.get(f"{bucket}@{h}", [])
        ]
        if len(near) < 3:
            near += [v for k, vs in self.samples.items() if k.startswith(f"{bucket}@") for v in vs]
        if len(near) >= 3:
            ordered = sorted(near)
            return ordered[len(ordered) // 2]
        return float(DEFAULT_TURN[bucket])

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) for k, v in sorted(self.samples.items())}


@dataclass(frozen=True, slots=True)
class TableView:
    id: str
    seats: int
    combine_with: tuple[str, ...] = ()


def minutes_until_free(state: TableState, turns: TurnTimes, hour: int, now: int) -> float | None:
    """Minutes until this table can take a new party; None if it cannot (blocked, held)."""
    if state.held_for is not None or state.status in ("blocked", "reserved"):
        return None
    if state.status == "available":
        return 0.0
    if state.status == "bussing":
        return float(BUSSING_MIN)
    turn = turns.expected(state.guests or 2, hour)
    elapsed = max(0.0, (now - (state.since or now)) / MIN_MS)
    if state.status == "check_dropped":
        return float(DROPPED_MIN) + BUSSING_MIN
    left = max(turn - elapsed, turn * COURSE_SHARE.get(state.course, 0.3))
    return left + BUSSING_MIN


def quote_minutes(
    party_size: int,
    ahead: Iterable[int],
    tables: Iterable[TableView],
    states: Mapping[str, TableState],
    turns: TurnTimes,
    hour: int,
    now: int,
    combine: bool = False,
) -> int:
    """Minutes this party is likely to wait, given the parties ahead of it (their sizes)."""
    table_list = list(tables)
    options: list[float] = []
    by_id = {t.id: t for t in table_list}
    for t in table_list:
        wait = minutes_until_free(states[t.id], turns, hour, now)
        if wait is None:
            continue
        if party_size <= t.seats <= party_size + 4:
            options.append(wait)
        elif combine:
            for other in t.combine_with:
                o = by_id.get(other)
                if o is None or not party_size <= t.seats + o.seats or t.id > o.id:
                    continue
                other_wait = minutes_until_free(states[o.id], turns, hour, now)
                if other_wait is not None:
                    options.append(max(wait, other_wait))
    if not options:
        # Nothing fits right now: the biggest table's turn is the honest answer.
        return round(turns.expected(party_size, hour) + BUSSING_MIN)
    options.sort()
    rivals = sum(1 for size in ahead if size <= party_size + 2 and size >= party_size - 2)
    rounds, slot = divmod(rivals, len(options))
    turn = turns.expected(party_size, hour) + BUSSING_MIN
    return round(options[slot] + rounds * turn)
