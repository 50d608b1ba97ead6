"""The table object of contract section 4, rendered from a derived table state."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from floorlink.daemon.core.floor import TableState
from floorlink.daemon.core.timeutil import format_ms


def table_object(state: TableState, seq: int, tz: ZoneInfo) -> dict[str, Any]:
    """What `floorlink/v1/tables/{table}` carries, the API lists and the cloud receives.

    The contract's fields first; `guests`, `checks`, `course_since`, `blocked_reason` and
    `held_for` are Floorlink's additions.
    """
    party: dict[str, Any] | None = None
    if state.party is not None:
        p = state.party
        party = {"size": state.guests or p.size, "name": p.name, "source": p.source}
        if p.reservation:
            party["reservation"] = p.reservation
        if p.waitlist:
            party["waitlist"] = p.waitlist
        party["vip"] = p.vip
    elif state.checks:
        # A party a server seated straight from the door: a walk-in, counted as such.
        party = {"size": state.guests, "name": None, "source": "walk_in", "vip": False}
    return {
        "table": state.id,
        "status": state.status,
        "course": state.course,
        "since": format_ms(state.since, tz) if state.since is not None else None,
        "party": party,
        "check": state.checks[0] if state.checks else None,
        "server": state.server,
        "seq": seq,
        "checks": list(state.checks),
        "guests": state.guests,
        "course_since": format_ms(state.course_since, tz) if state.course_since else None,
        "blocked_reason": state.blocked_reason,
        "held_for": state.held_for,
    }
