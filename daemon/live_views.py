"""The read side of the live views: consistent copies taken on the store thread, rendered with
the clock when they are read.

The waitlist's minutes waited and the upcoming reservations depend on the time of the read, not
only on the log. So the engine keeps, after each batch that changes a part, a private copy of what
the view needs (never mutated afterwards, so the event loop may read it while the store thread
moves on), and each read renders that copy at `now`. Reads stay cheap (no trip to the store
thread) and are never stale: the copy is as new as the last commit, the clock is the read's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo

from floorlink.daemon.core.floor import CheckFacts, Floor, TableState
from floorlink.daemon.core.quotes import TurnTimes
from floorlink.daemon.core.reservations import ACTIVE, ReservationsPart, upcoming_view
from floorlink.daemon.core.waitlist import Entry, WaitlistPart, waitlist_view


@dataclass(frozen=True)
class WaitlistCopy:
    """What the waitlist view reads: the entries and turn times (copied), the tables' states
    (immutable) and the open checks (copied), so each read reruns the estimates at its `now`."""

    part: WaitlistPart
    states: dict[str, TableState]
    checks: dict[str, CheckFacts]

    @property
    def entries(self) -> dict[str, Entry]:
        return self.part.entries


def waitlist_copy(part: WaitlistPart, floor: Floor | None = None) -> WaitlistCopy:
    """The entries and the learned turn times, each copied; with the floor, its live part."""
    entries = {k: replace(e) for k, e in part.entries.items()}
    turns = TurnTimes(dict(part.turns.stays), list(part.turns.walks))
    copied = replace(part, entries=entries, turns=turns, errors=[], outcomes=[])
    if floor is None:
        return WaitlistCopy(copied, {}, {})
    live = {n for st in floor.states.values() for n in st.checks}
    checks = {n: copy.deepcopy(floor.checks[n]) for n in sorted(live) if n in floor.checks}
    return WaitlistCopy(copied, dict(floor.states), checks)


def waitlist_at(copied: WaitlistCopy | None, tz: ZoneInfo, now: int) -> list[dict[str, Any]]:
    if copied is None:
        return []
    return waitlist_view(copied.part, tz, now, (copied.states, copied.checks))


#: Parts of the reservations state no upcoming view reads: left empty in the copy.
_UNREAD = ("completed", "conflicts", "history")


def reservations_copy(part: ReservationsPart) -> ReservationsPart:
    """The reservations an upcoming view can ever show (timed, active or seated) and every other
    field the view may read, deep-copied (fields added later are copied too)."""
    kept = {
        rid: copy.deepcopy(r)
        for rid, r in part.reservations.items()
        if r.get("_time") is not None and (r.get("status") in ACTIVE or rid in part.seated)
    }
    others: dict[str, Any] = {
        f.name: type(getattr(part, f.name))()
        if f.name in _UNREAD
        else copy.deepcopy(getattr(part, f.name))
        for f in fields(part)
        if f.init and f.name not in ("tz", "reservations")
    }
    return replace(part, reservations=kept, **others)


def reservations_at(
    copied: ReservationsPart | None, tz: ZoneInfo, now: int
) -> list[dict[str, Any]]:
    return [] if copied is None else upcoming_view(copied, tz, now)
