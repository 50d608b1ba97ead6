"""Deciding the floor's inputs: a POS event, a host table command, a hold. Total by design:
an input either becomes the events to log or a `Rejected` with a reason code, and nothing here
changes any state. The waitlist and the reservations seat parties through `decide_table`, so
every entrance meets the same rules (daemon/core/rules.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floorlink.daemon.core.events import EVENTS, HOLD_EVENTS, HOST_EVENTS, Body, HostSeated
from floorlink.daemon.core.floor import Floor, TableState
from floorlink.daemon.core.reasons import Rejected
from floorlink.daemon.core.rules import HOLD_REFUSED, NO_OPS, PARTIAL_HOLD_REFUSED, REFUSALS

Decided = list[tuple[str, dict[str, Any]]]

#: Groups of the event types the floor takes as inputs (the rest come from parts).
FLOOR_GROUPS = frozenset({"check", "table", "host", "hold"})


def decide_floor(floor: Floor, itype: str, data: Mapping[str, Any]) -> Decided:
    """Check a POS event, a host table command or a hold; the event to log, or Rejected."""
    cls = EVENTS.get(itype)
    if cls is None or cls.GROUP not in FLOOR_GROUPS:
        raise Rejected("unknown_type", f"unknown event type {str(itype)[:64]!r}")
    if cls.TYPE in HOST_EVENTS:
        return decide_table(floor, itype, data)
    body = cls.parse(data)
    table = getattr(body, "table", None)
    if table is not None and table not in floor.specs:
        where = "" if cls.TYPE in HOLD_EVENTS else ": not in this site's config"
        raise Rejected("unknown_table", f"unknown table {table[:64]!r}{where}")
    return [(cls.TYPE, cls.stored(data))]


def decide_table(floor: Floor, itype: str, data: Mapping[str, Any]) -> Decided:
    """A host table command (seat, clear, block, unblock) from any entrance: the event to log,
    nothing for a no-op, or Rejected by the first rule of REFUSALS that holds."""
    cls: type[Body] = EVENTS[itype]
    body = cls.parse(data)
    tid = str(getattr(body, "table", ""))
    if tid not in floor.specs:
        raise Rejected("unknown_table", f"There is no table {tid[:64]}.")
    table = floor.states[tid]
    seat = body if isinstance(body, HostSeated) else None
    for rule in REFUSALS:
        if rule.command == itype and rule.test(table, floor.specs[tid], seat):
            raise Rejected(rule.reason, rule.message(table, floor.specs[tid], seat))
    for noop in NO_OPS:
        if noop.command == itype and noop.test(table):
            return []
    return [(itype, cls.stored(data))]


def hold_refused(table: TableState) -> bool:
    """A reservation's hold cannot start on this table (rules.HOLD_REFUSED says when)."""
    return HOLD_REFUSED.test(table)


def partial_hold_refused(table: TableState, reservation: str) -> bool:
    """A partial arrival cannot hold this table for `reservation` (rules.PARTIAL_HOLD_REFUSED)."""
    return PARTIAL_HOLD_REFUSED.test(table) or table.held_for not in (None, reservation)
