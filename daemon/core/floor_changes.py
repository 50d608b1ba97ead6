"""The floor as data that changes at run time: add, remove, move, reshape, reseat, resection,
rename and combine tables.

A change is an input (`floor.change`, the whole floor as it should be) decided here and logged as
one `floor.changed` event that carries every table after the change. The fold replaces the floor
with it, so what follows in the log never depends on the config the log is replayed with: a store
whose config changed between runs replays clean. The first `floor.changed` of a log is its floor's
record (the shell submits one on a store that has none), and it is also the floor that events
logged before it (by an older Floorlink) are replayed against (`seed_tables`).

A table that has guests, an open check or a reservation's hold cannot be removed: the change is
refused with `table_in_use` and a sentence naming the tables, and nothing changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from floorlink.daemon.core.events import FloorChange, FloorChanged
from floorlink.daemon.core.floor import TableSpec
from floorlink.daemon.core.reasons import Rejected

if TYPE_CHECKING:
    from floorlink.daemon.core.state import State

FLOOR_CHANGE = FloorChange.TYPE
FLOOR_CHANGED = FloorChanged.TYPE
TABLE_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
SHAPES = ("round", "square", "rect")
MAX_TABLES = 500
#: A table in one of these statuses cannot be removed.
IN_USE = frozenset({"seated", "check_dropped", "reserved"})

Decided = list[tuple[str, dict[str, Any]]]


# ---- tables as JSON ------------------------------------------------------------------------


def spec_json(spec: TableSpec) -> dict[str, Any]:
    """A table as the log and the API keep it (every key, always: canonical)."""
    return {
        "id": spec.id,
        "seats": spec.seats,
        "section": spec.section,
        "x": spec.x,
        "y": spec.y,
        "shape": spec.shape,
        "name": spec.name,
        "combine_with": list(spec.combine_with),
        "aliases": list(spec.aliases),
    }


def spec_of(raw: Mapping[str, Any]) -> TableSpec:
    """A table from a stored body (already checked when it was decided)."""
    x, y = raw.get("x"), raw.get("y")
    return TableSpec(
        id=str(raw["id"]),
        seats=int(raw["seats"]),
        section=str(raw.get("section") or "main"),
        x=None if x is None else float(x),
        y=None if y is None else float(y),
        shape=str(raw.get("shape") or "square"),
        name=raw.get("name"),
        combine_with=tuple(raw.get("combine_with") or ()),
        aliases=tuple(raw.get("aliases") or ()),
    )


def floor_json(specs: Iterable[TableSpec]) -> list[dict[str, Any]]:
    return [spec_json(s) for s in specs]


# ---- checking a floor ----------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(i: int, key: str, wanted: str, value: Any) -> Rejected:
    return Rejected("bad_field", f"tables[{i}].{key}: expected {wanted}, got {_shown(value)}")


def _number(i: int, key: str, value: Any) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float) or not 0 <= value <= 100:
        raise _bad(i, key, "a number 0-100", value)
    return float(value)


def _strings(i: int, key: str, value: Any, longest: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is not list or not all(type(v) is str and 0 < len(v) <= longest for v in value):
        raise _bad(i, key, f"a list of names of 1-{longest} characters", value)
    return tuple(value)


def parse_tables(raw: Any) -> tuple[TableSpec, ...]:
    """Every table of a floor, checked as the config checks `[[tables]]` (the same rules and
    key paths); Rejected(bad_field) at the first problem."""
    if type(raw) is not list or not raw:
        raise Rejected("bad_field", "tables: expected a list of at least one table")
    if len(raw) > MAX_TABLES:
        raise Rejected("bad_field", f"tables: expected at most {MAX_TABLES} tables")
    out: list[TableSpec] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(raw):
        if type(t) is not dict:
            raise Rejected("bad_field", f"tables[{i}]: expected an object")
        tid, seats = t.get("id"), t.get("seats")
        if type(tid) is not str or not TABLE_ID.match(tid):
            raise _bad(i, "id", "1-16 letters, digits, - or _", tid)
        if tid in seen:
            raise Rejected(
                "bad_field",
                f"tables[{i}].id: duplicate table id {_shown(tid)} (also tables[{seen[tid]}])",
            )
        seen[tid] = i
        if type(seats) is not int or seats < 1:
            raise _bad(i, "seats", "an integer >= 1", seats)
        section = t.get("section", "main")
        if type(section) is not str or not 0 < len(section) <= 32:
            raise _bad(i, "section", "a name of 1-32 characters", section)
        shape = t.get("shape", "square")
        if shape not in SHAPES or type(shape) is not str:
            raise _bad(i, "shape", "one of " + ", ".join(SHAPES), shape)
        name = t.get("name")
        if name is not None and (type(name) is not str or not 0 < len(name) <= 32):
            raise _bad(i, "name", "a name of 1-32 characters", name)
        out.append(
            TableSpec(
                id=tid,
                seats=seats,
                section=section,
                x=_number(i, "x", t.get("x")),
                y=_number(i, "y", t.get("y")),
                shape=shape,
                name=name,
                combine_with=_strings(i, "combine_with", t.get("combine_with"), 16),
                aliases=_strings(i, "aliases", t.get("aliases"), 64),
            )
        )
    for i, spec in enumerate(out):
        for j, other in enumerate(spec.combine_with):
            if other not in seen or other == spec.id:
                raise Rejected(
                    "bad_field",
                    f"tables[{i}].combine_with[{j}]: no other table {_shown(other)} on this floor",
                )
    return tuple(out)


def differences(
    old: Mapping[str, TableSpec], new: Sequence[TableSpec]
) -> tuple[list[str], list[str], list[str]]:
    """(added, removed, changed) table ids, each in floor order."""
    ids = {s.id for s in new}
    added = [s.id for s in new if s.id not in old]
    removed = [tid for tid in old if tid not in ids]
    changed = [s.id for s in new if s.id in old and old[s.id] != s]
    return added, removed, changed


# ---- deciding and folding ------------------------------------------------------------------


def _in_use(state: State, tid: str) -> str | None:
    ts = state.floor.states.get(tid)
    if ts is None or (ts.status not in IN_USE and not ts.checks):
        return None
    if ts.checks:
        return f"table {tid} has an open check ({', '.join(ts.checks)})"
    if ts.status == "reserved":
        return f"table {tid} is held for a reservation"
    return f"table {tid} has guests seated"


def decide_floor_change(state: State, data: Any) -> tuple[Decided, dict[str, Any]]:
    """The `floor.changed` event for a new floor, nothing when it equals the floor the log
    already records, or Rejected: a bad table (bad_field) or a removed table in use."""
    FloorChange.parse(data)
    specs = parse_tables(data["tables"])
    added, removed, changed = differences(state.floor.specs, specs)
    reordered = [s.id for s in specs] != [tid for tid in state.floor.specs if tid not in removed]
    body: dict[str, Any] = {"added": added, "removed": removed, "changed": changed}
    busy = [why for tid in removed if (why := _in_use(state, tid)) is not None]
    if busy:
        sentence = "; ".join(busy)
        raise Rejected(
            "table_in_use",
            f"The floor was not changed: {sentence[0].upper()}{sentence[1:]}."
            " Close, move or clear it before removing the table.",
        )
    if state.floor_seq and not (added or removed or changed or reordered):
        return [], body | {"logged": False}
    event = {"tables": floor_json(specs), "added": added, "removed": removed, "changed": changed}
    return [(FLOOR_CHANGED, FloorChanged.stored(event))], body | {"logged": True}


def apply_floor_change(state: State, seq: int, data: Mapping[str, Any]) -> list[str]:
    """Replace the floor with the event's tables; the ids of the tables that appeared."""
    specs = tuple(spec_of(t) for t in data["tables"])
    floor = state.floor
    old = floor.specs
    new = {s.id: s for s in specs}
    for tid in [t for t in old if t not in new]:
        floor.states.pop(tid, None)
        floor.live.pop(tid, None)
        for facts in (floor.parties, floor.blocked, floor.held, floor.cleared_at, floor.freed_at):
            facts.pop(tid, None)
        state.table_seq.pop(tid, None)
    floor.specs = new
    appeared = [tid for tid in new if tid not in old]
    for tid in appeared:
        floor.live.setdefault(tid, set())
        floor.states[tid] = floor.derive(tid)
    use_floor(state, specs)
    state.floor_seq = seq
    return appeared


def use_floor(state: State, specs: tuple[TableSpec, ...]) -> None:
    """Tell the state and the parts that keep their own copy of the tables (the waitlist's
    quotes) what the floor now is."""
    state.specs = specs
    for part in state.parts:
        hook = getattr(part, "on_floor", None)
        if hook is not None:
            hook(specs)
