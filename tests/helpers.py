"""A small floor and an event builder for the pure-core tests."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from floorlink.daemon.core.floor import TableSpec
from floorlink.daemon.core.state import Input, Outcome, State

TZ = ZoneInfo("America/Los_Angeles")
T0 = 1_795_000_000_000  # a fixed evening, epoch ms
MIN = 60_000
SPECS = (TableSpec("1", 4), TableSpec("2", 2), TableSpec("3", 6), TableSpec("12", 4))


def new_state() -> State:
    return State(SPECS, TZ)


class Feed:
    """Builds inputs with fresh ids and feeds them to a state."""

    def __init__(self, state: State | None = None, source: str = "pos:T1") -> None:
        self.state = state or new_state()
        self.source = source
        self.n = 0

    def make(self, etype: str, minute: float = 0, **data: Any) -> Input:
        self.n += 1
        return Input(self.source, f"e{self.n}", etype, T0 + int(minute * MIN), data)

    def __call__(self, etype: str, minute: float = 0, **data: Any) -> Outcome:
        return self.state.process(self.make(etype, minute, **data))

    def status(self, table: str) -> str:
        return self.state.floor.states[table].status

    def obj(self, table: str) -> dict[str, Any]:
        return self.state.table_object(table)
