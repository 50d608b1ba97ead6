"""Wait-time quotes from the live floor and this restaurant's own turn times (pure).

A party's quote is when the table it would get is likely to be free: for each table that fits,
how long until it frees (by status, course and time since seated, against the turn time learned
for that party size and hour), then the parties ahead that also fit take the earliest ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
COURSE_SHARE = {None: 0.1, "apps": 0.35, "entrees": 0.2, "dessert": 0.08}


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
    """Minutes until this table pages its next party (it starts bussing); None if it cannot
    take one (blocked, held for a reservation)."""
    if state.held_for is not None or state.status in ("blocked", "reserved"):
        return None
    if state.status == "available":
        return 0.0
    if state.status == "bussing":
        return 0.0  # the page goes out when a table starts bussing
    turn = turns.expected(state.guests or 2, hour)
    elapsed = max(0.0, (now - (state.since or now)) / MIN_MS)
    if state.status == "check_dropped":
        return float(DROPPED_MIN)
    return max(turn - elapsed, turn * COURSE_SHARE.get(state.course, 0.3))


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
    """Minutes this party is likely to wait behind the parties ahead (their sizes, in order).

    A small simulation: each party ahead takes the table that fits it and frees first, which
    then frees again one turn later; this party gets the first fitting table after them.
    """
    table_list = list(tables)
    free_at: dict[str, float] = {}
    for t in table_list:
        wait = minutes_until_free(states[t.id], turns, hour, now)
        if wait is not None:
            free_at[t.id] = wait
    slots = [(t.id, t.seats) for t in table_list if t.id in free_at]
    if combine:
        by_id = {t.id: t for t in table_list}
        for t in table_list:
            for other in t.combine_with:
                o = by_id.get(other)
                if o is not None and t.id < o.id and t.id in free_at and o.id in free_at:
                    key = f"{t.id}+{o.id}"
                    free_at[key] = max(free_at[t.id], free_at[o.id])
                    slots.append((key, t.seats + o.seats))

    def take(size: int) -> tuple[str, float] | None:
        snug = [k for k, seats in slots if size <= seats <= size + 2]
        fits = snug or [k for k, seats in slots if seats >= size]
        if not fits:
            return None
        key = min(fits, key=lambda k: (free_at[k], k))
        return key, free_at[key]

    for size in ahead:
        got = take(size)
        if got is not None:
            key, at = got
            # they walk over while it is bussed, eat, and it is free again a turn later
            free_at[key] = at + BUSSING_MIN + turns.expected(size, hour)
    mine = take(party_size)
    if mine is None:
        # Nothing here fits this party: the honest answer is a long turn.
        return round(turns.expected(party_size, hour) + BUSSING_MIN)
    return round(mine[1])


#: How far ahead a heads-up looks for a table to come free (minutes from its status start).
HEADS_UP_HORIZON_MIN = 480


def predicted_free_within_from(
    state: TableState, turns: TurnTimes, hour_of: Callable[[int], int], minutes: float
) -> int | None:
    """Epoch ms (whole minutes after the table's status began) from which the table is predicted
    free within `minutes` (minutes_until_free), or None if not within HEADS_UP_HORIZON_MIN or it
    cannot take a party. Anchored on the table's own `since`, never on a clock, so the timer that
    asks and the step that acts get the same answer; it assumes the estimate shrinks as time
    passes (the first minute found by bisection)."""
    if state.since is None:
        return None

    def within(k: int) -> bool | None:
        at = state.since + k * MIN_MS if state.since is not None else 0
        left = minutes_until_free(state, turns, hour_of(at), at)
        return None if left is None else left <= minutes

    first = within(0)
    if first is None:
        return None
    if first:
        return state.since
    lo, hi = 0, HEADS_UP_HORIZON_MIN
    if not within(hi):
        return None
    while hi - lo > 1:  # within(lo) is False, within(hi) is True
        mid = (lo + hi) // 2
        if within(mid):
            hi = mid
        else:
            lo = mid
    return state.since + hi * MIN_MS
