"""The closed-checks projection: every ended check as the floor sees it, one row per check.

The floor already folds a check's events in any order into facts that only grow; this part
reads those facts right after the floor applied an event and turns them into a row (check,
table, covers, server, opened, first course, printed, closed, voided, total, tip, items, course
fire times). It folds nothing itself, so the report and turn-time learning cannot disagree with
the floor. The engine writes the rows in the same transaction as the events; `floorlink replay`
rebuilds them from the log and compares. Pure: no clock, no I/O (the shell drains `pending`
after each input).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from floorlink.daemon.core.events import CHECK_EVENTS
from floorlink.daemon.core.floor import CheckFacts
from floorlink.daemon.core.reasons import Rejected
from floorlink.daemon.core.state import Event, Input

if TYPE_CHECKING:
    from floorlink.daemon.core.state import State

NAME = "closed_checks"
Row = dict[str, Any]


def is_check_event(etype: str) -> bool:
    """Which event types are a check's: the core's event registry says."""
    return etype in CHECK_EVENTS


def check_row(facts: CheckFacts, seq: int) -> Row | None:
    """The projection row of an ended (closed or voided) check the floor saw open; else None."""
    if facts.opened is None or (facts.closed_at is None and facts.voided_at is None):
        return None
    segments = facts.segments()
    return {
        "check": facts.number,
        "table": segments[-1].table if segments else facts.opened[2],
        "covers": facts.party_size,
        "server": facts.server,
        "opened": facts.opened[0],
        "first_course": min(facts.courses.values()) if facts.courses else None,
        "printed": facts.printed_at,
        "closed": facts.closed_at,
        "voided": facts.voided_at,
        "total": facts.total,
        "tip": facts.tip,
        "items": [item for key in sorted(facts.items) for item in facts.items[key]],
        "seq": seq,
        "courses": dict(sorted(facts.courses.items())),
    }


@dataclass
class ClosedChecksPart:
    """A part with no inputs and no state of its own: after each check event it records the
    check's row from the floor's facts into `pending`, which the shell drains and stores, and
    hands the row to its `readers` (turn-time learning), in the fold, so replay gives the same."""

    name: str = NAME
    state: State | None = None
    pending: dict[str, Row] = field(default_factory=dict)
    readers: list[Callable[[Row], None]] = field(default_factory=list)

    def bind(self, state: State) -> ClosedChecksPart:
        self.state = state
        return self

    def handles(self, itype: str) -> bool:
        return False

    def decide(
        self, state: State, inp: Input
    ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        raise Rejected(
            "unknown_type", f"{inp.type[:64]!r} is not an input of the closed-checks projection"
        )

    def apply(self, event: Event) -> None:
        if self.state is None or not is_check_event(event.type):
            return
        facts = self.state.floor.checks.get(str(event.data.get("check")))
        if facts is None:
            return
        row = check_row(facts, event.seq)
        if row is not None:
            self.pending[facts.number] = row
            for reader in self.readers:
                reader(row)

    def react(
        self, state: State, event: Event, changed: list[str]
    ) -> tuple[list[Input], list[tuple[str, str, str, dict[str, Any]]]]:
        return [], []

    def to_json(self) -> dict[str, Any]:
        return {}  # the rows live in the store; the facts they come from are the floor's

    def load_json(self, raw: Mapping[str, Any]) -> None:
        self.pending.clear()

    def drain(self) -> list[Row]:
        rows = list(self.pending.values())
        self.pending.clear()
        return rows


def projection_of(state: State) -> ClosedChecksPart | None:
    for part in state.parts:
        if isinstance(part, ClosedChecksPart):
            return part
    return None


def take_rows(state: State) -> list[Row]:
    """The rows the events applied since the last call changed (none without the part)."""
    part = projection_of(state)
    return part.drain() if part is not None else []


def fold_rows(state: State, events: Iterable[Event], flush_every: int = 10_000) -> Iterable[Row]:
    """Replay `events` into `state`, yielding changed rows in batches (a later row for the same
    check replaces an earlier one, so writing them in order rebuilds the projection)."""
    for n, event in enumerate(events, start=1):
        state.apply(event)
        if n % flush_every == 0:
            yield from take_rows(state)
    yield from take_rows(state)


def rows_of(state: State, events: Iterable[Event]) -> dict[str, Row]:
    """The whole projection a log gives, by check."""
    return {row["check"]: row for row in fold_rows(state, events)}
