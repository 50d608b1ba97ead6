"""The whole on-site state, and the one pure step that turns an input into events and effects.

`State.process(input)` is h11's shape: it validates the input against the current state, returns
the events to append to the log (with their `seq`, which the core assigns) and the effects to put
in the outbox, and folds the events into the state. `State.apply(event)` is the fold alone, used
on replay; replaying the log therefore rebuilds exactly the state the daemon had.

Other pure parts plug in as `Part`s: each folds the events it cares about and may react to an
applied event with follow-up events and effects (the paging part pages a party when a table goes
bussing). The shell stores everything `process` returns in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from floorlink.daemon.core.decide import decide_floor
from floorlink.daemon.core.decide import decide_table as decide_table
from floorlink.daemon.core.events import EVENTS, upcast
from floorlink.daemon.core.floor import Floor, TableSpec
from floorlink.daemon.core.floor_changes import (
    FLOOR_CHANGE,
    FLOOR_CHANGED,
    apply_floor_change,
    decide_floor_change,
    floor_json,
    spec_of,
    use_floor,
)
from floorlink.daemon.core.reasons import Rejected as Rejected
from floorlink.daemon.core.view import table_object

Result = Literal["accepted", "duplicate", "rejected"]

#: Ended checks are kept this long (by the log's own clock) for late events, then forgotten.
KEEP_ENDED_CHECKS_MS = 12 * 3600 * 1000
#: ... and never more than this many, so a step and a snapshot cost what the live floor costs,
#: not what a flood of history costs (a busy night ends a few hundred checks).
KEEP_ENDED_CHECKS = 2_000
PRUNE_EVERY = 500
#: The snapshot's shape. A snapshot of another shape is not trusted: the log is folded instead.
SNAPSHOT_FORMAT = 2


@dataclass(frozen=True, slots=True)
class Input:
    """One thing that happened, before it is decided on: a POS event, a host command, a cloud
    change, a timer. (source, eid) is the idempotency key; `at` is epoch ms."""

    source: str
    eid: str
    type: str
    at: int
    data: Mapping[str, Any]

    @property
    def key(self) -> str:
        return f"{self.source}/{self.eid}"


@dataclass(frozen=True, slots=True)
class Event(Input):
    """An entry of the log: an input's fact with its place. `seq` orders the whole log."""

    seq: int


@dataclass(frozen=True, slots=True)
class Effect:
    """Something to do outside, safely repeatable: `key` is its unique id, `consumer` who does it
    (`cloud`, `pager`, ...). Written to the outbox in the same transaction as its cause."""

    consumer: str
    key: str
    seq: int
    type: str
    payload: Mapping[str, Any]


@dataclass(slots=True)
class Outcome:
    """What became of an input. A rejection carries `reason` (a code of core/reasons.py) and
    `error` (a sentence), and nothing else: no events, no effects, the state untouched."""

    result: Result
    error: str | None = None
    reason: str | None = None
    events: list[Event] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    changed_tables: list[str] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)  # a part failed to react: logged by the shell


class Part(Protocol):
    """A pure sub-state with its own events (the waitlist, reservations)."""

    name: str

    def handles(self, itype: str) -> bool: ...

    def decide(
        self, state: State, inp: Input
    ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        """Validate an input this part handles: the (type, data) events to log, and a reply body.
        Raise Rejected when it cannot be taken, and nothing else: deciding is total."""
        ...

    def apply(self, event: Event) -> None: ...

    def react(
        self, state: State, event: Event, changed: list[str]
    ) -> tuple[list[Input], list[tuple[str, str, str, dict[str, Any]]]]:
        """Follow-ups of an applied event: inputs to process next, and effects as
        (consumer, key, type, payload)."""
        ...

    def to_json(self) -> dict[str, Any]: ...

    def load_json(self, raw: Mapping[str, Any]) -> None: ...


@dataclass(slots=True)
class State:
    """Floor + parts + the log position. Deterministic: no clock, no I/O, no randomness."""

    specs: tuple[TableSpec, ...]
    tz: ZoneInfo
    cloud: bool = False
    parts: list[Part] = field(default_factory=list)
    floor: Floor = field(init=False)
    seq: int = 0
    table_seq: dict[str, int] = field(default_factory=dict)
    floor_seq: int = 0  # the seq of the last floor.changed (0: the log records no floor yet)

    def __post_init__(self) -> None:
        self.floor = Floor({s.id: s for s in self.specs})

    # ---- the pure step -------------------------------------------------------------------

    def process(self, inp: Input, now: int | None = None) -> Outcome:
        """Decide on one input, fold what it causes, and say what to store and do.

        `now` (epoch ms, the box's clock, passed in) dates the follow-ups the parts start, such
        as an automatic page: a POS event carries its terminal's clock, which may be off."""
        try:
            decided, body = self._decide(inp)
        except Rejected as exc:
            return Outcome("rejected", exc.error, exc.reason)
        outcome = Outcome("accepted", body=body)
        pending: list[tuple[Input, list[tuple[str, dict[str, Any]]]]] = [(inp, decided)]
        while pending:
            cause, events = pending.pop(0)
            for n, (etype, data) in enumerate(events):
                eid = cause.eid if n == 0 else f"{cause.eid}#{n}"
                event = Event(cause.source, eid, etype, cause.at, data, seq=self.seq + 1)
                changed = self.apply(event)
                outcome.events.append(event)
                for tid in changed:
                    if tid not in outcome.changed_tables:
                        outcome.changed_tables.append(tid)
                    if self.cloud:
                        outcome.effects.append(self._table_effect(event, tid))
                for part in self.parts:
                    try:
                        follow, effects = part.react(self, event, changed)
                    except Exception as exc:  # a bug in one part must not stop the floor
                        outcome.faults.append(f"{part.name}.react({event.type}): {exc!r}")
                        continue
                    for consumer, key, etype2, payload in effects:
                        if consumer == "cloud" and not self.cloud:
                            continue  # no cloud configured: nothing to queue for it
                        outcome.effects.append(Effect(consumer, key, event.seq, etype2, payload))
                    for nxt in follow:
                        if now is not None:
                            nxt = replace(nxt, at=now)
                        try:
                            pending.append((nxt, self._decide(nxt)[0]))
                        except Rejected:
                            continue
        return outcome

    def _decide(self, inp: Input) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        if inp.type == FLOOR_CHANGE:
            return decide_floor_change(self, inp.data)
        for part in self.parts:
            if part.handles(inp.type):
                events, body = part.decide(self, inp)
                return [_registered(etype, data) for etype, data in events], body
        return decide_floor(self.floor, inp.type, inp.data), {}

    def _table_effect(self, event: Event, tid: str) -> Effect:
        obj = self.table_object(tid)
        return Effect(
            "cloud",
            f"table.status:{event.seq}:{tid}",
            event.seq,
            "table.status",
            obj,
        )

    # ---- the fold ------------------------------------------------------------------------

    def apply(self, event: Event) -> list[str]:
        """Fold one logged event; the ids of the tables whose state changed."""
        if event.seq <= self.seq:
            raise ValueError(f"event seq {event.seq} is not after {self.seq}")
        data = upcast(event.type, event.data)  # an older stored body, at its current version
        if data is not event.data:
            event = replace(event, data=data)
        self.seq = event.seq
        if event.type == FLOOR_CHANGED:
            changed = apply_floor_change(self, event.seq, event.data)
        else:
            changed = self.floor.apply(event.type, event.key, event.at, event.data)
        if event.seq % PRUNE_EVERY == 0:
            self.floor.prune(event.at - KEEP_ENDED_CHECKS_MS, KEEP_ENDED_CHECKS)
        for tid in changed:
            self.table_seq[tid] = event.seq
        for part in self.parts:
            part.apply(event)
        return changed

    def replay(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    # ---- views ---------------------------------------------------------------------------

    def table_object(self, tid: str) -> dict[str, Any]:
        return table_object(self.floor.states[tid], self.table_seq.get(tid, 0), self.tz)

    def part(self, name: str) -> Part:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)

    # ---- snapshots -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "seq": self.seq,
            "table_seq": dict(sorted(self.table_seq.items())),
            "floor": self.floor.to_json(),
            "specs": floor_json(self.specs),
            "floor_seq": self.floor_seq,
            "parts": {p.name: p.to_json() for p in self.parts},
        }

    def dumps(self) -> str:
        """Canonical JSON: equal states give byte-equal text."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    def load_json(self, raw: Mapping[str, Any]) -> None:
        if raw.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"snapshot format {raw.get('format')}, not {SNAPSHOT_FORMAT}")
        self.seq = int(raw["seq"])
        self.table_seq = dict(raw["table_seq"])
        if "specs" in raw:  # a snapshot before the floor was in the log: the seed's floor
            use_floor(self, tuple(spec_of(t) for t in raw["specs"]))
        self.floor_seq = int(raw.get("floor_seq", 0))
        self.floor = Floor.from_json(self.specs, raw["floor"])
        for part in self.parts:
            if part.name in raw["parts"]:
                part.load_json(raw["parts"][part.name])


def _registered(etype: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A part's event as the registry logs it: nothing unregistered or mistyped enters the log
    (a part's bug becomes a refusal before anything is folded, never a half-applied input)."""
    cls = EVENTS.get(etype)
    if cls is None:
        raise Rejected("unknown_type", f"a part decided an unregistered event type {etype!r}")
    cls.parse(data)
    return etype, cls.stored(data)
