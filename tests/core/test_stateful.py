"""The core is total: a Hypothesis state machine feeds it every input type (POS events, host
actions, holds, waitlist commands, cloud pulls, reservation arrivals, timers), with fields
dropped and mistyped, and checks after every step that

- deciding never raises,
- a rejection carries a known reason and leaves the state byte-for-byte unchanged (and `seq`),
- the log replayed from nothing, and a snapshot plus the log's tail, equal the live state.
"""

from __future__ import annotations

import json
from typing import Any

from helpers import MIN, SPECS, T0, TZ
from hypothesis import event as note_event
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from floorlink.daemon.core.events import (
    COMMANDS,
    EVENTS,
    HOLD_EVENTS,
    HOST_EVENTS,
    POS_EVENTS,
    commands_of,
)
from floorlink.daemon.core.quotes import TableView
from floorlink.daemon.core.reasons import REASONS
from floorlink.daemon.core.reservations import ReservationsPart
from floorlink.daemon.core.state import Event, Input, State
from floorlink.daemon.core.timeutil import format_ms
from floorlink.daemon.core.waitlist import WaitlistPart

TABLES = [s.id for s in SPECS]
VIEWS = tuple(TableView(s.id, s.seats) for s in SPECS)
RIDS = ["r-1", "r-2", "r-3"]


def new_state() -> State:
    return State(SPECS, TZ, True, [WaitlistPart(VIEWS, TZ), ReservationsPart(TZ, 30)])


ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**12),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)

ITEM = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["ribeye", "soup"]),
        "qty": st.integers(1, 3),
        "price": st.just("9.00"),
    }
)


def good(field: str, entries: list[str]) -> st.SearchStrategy[Any]:
    """A value a well-behaved sender would put in this field (tables include one unknown,
    sizes one that fits no table)."""
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "check": st.sampled_from(["A", "B", "C"]),
        "table": st.sampled_from([*TABLES, "99"]),
        "guests": st.sampled_from([1, 2, 4, 6]),
        "party_size": st.sampled_from([1, 2, 2, 2, 4, 6, 99]),
        "server": st.just("e7"),
        "course": st.sampled_from(["apps", "entrees", "dessert"]),
        "items": st.lists(ITEM, max_size=2),
        "total": st.sampled_from(["10.00", "42.50"]),
        "tip": st.just("2.00"),
        "name": st.sampled_from(["Kim", "Ito"]),
        "source": st.sampled_from(["walk_in", "host"]),
        "vip": st.booleans(),
        "reason": st.sampled_from(["auto", "host", "wobbly leg"]),
        "reservation": st.sampled_from(RIDS),
        "waitlist": st.just("w-x"),
        "entry": st.sampled_from(entries or ["w-none"]),
        "pager": st.integers(1, 30),
        "phone": st.just("555-0100"),
        "notes": st.just("high chair"),
        "covers": st.integers(1, 6),
        "cursor": st.text("abc", max_size=3),
        "arrived": st.integers(1, 5),
        "state": st.sampled_from(["written", "acknowledged", "failed", "lost"]),
        "n": st.integers(0, 3),
        "detail": st.just(""),
        "answer": st.sampled_from(["1", "9", "7"]),
        "by": st.sampled_from(["host", "auto"]),
        "confidence": st.floats(0, 1),
    }
    return by_name.get(field, st.text(max_size=3))


@st.composite
def body(draw: st.DrawFn, fields: tuple[str, ...], entries: list[str]) -> dict[str, Any]:
    """A body with each field kept, dropped or mistyped, and now and then a stray key."""
    out: dict[str, Any] = {}
    for field in fields:
        fate = draw(st.sampled_from(["keep"] * 14 + ["drop", "odd"]))
        if fate == "keep":
            out[field] = draw(good(field, entries))
        elif fate == "odd":
            out[field] = draw(ODD)
    if draw(st.integers(0, 9)) == 0:
        out["stray"] = draw(ODD)
    return out


@st.composite
def reservation(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": draw(st.sampled_from(RIDS)),
        "status": draw(st.sampled_from(["confirmed", "booked", "cancelled", "seated", "no_show"])),
        "time": format_ms(T0 + draw(st.integers(0, 120)) * MIN, TZ),
        "party_size": draw(st.sampled_from([2, 4, 99])),
        "table": draw(st.sampled_from([*TABLES, "99"])),
        "guest": {"name": draw(st.sampled_from(["Smith", "Ng"])), "vip": draw(st.booleans())},
    }
    if draw(st.integers(0, 5)) == 0:  # one field odd or gone
        key = draw(st.sampled_from(sorted(raw)))
        if draw(st.booleans()):
            del raw[key]
        else:
            raw[key] = draw(ODD)
    return raw


class TheCore(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = new_state()
        self.log: list[Event] = []
        self.minute = 0
        self.n = 0
        self.snapshot: tuple[int, str] | None = None
        self.rejected = 0

    @initialize()
    def start(self) -> None:
        self.state = new_state()

    # ---- the one step ----------------------------------------------------------------------

    def step(self, source: str, itype: str, data: Any, back: int = 0) -> None:
        self.n += 1
        at = T0 + (self.minute - back) * MIN
        before, seq = self.state.dumps(), self.state.seq
        out = self.state.process(Input(source, f"e{self.n}", itype, at, data), at)
        note_event(
            f"{itype if itype in EVENTS or itype in COMMANDS else '?'}: {out.reason or 'ok'}"
        )
        if out.result == "rejected":
            self.rejected += 1
            assert out.reason in REASONS, out.reason
            assert out.error
            assert not out.events and not out.effects and not out.changed_tables
            assert self.state.seq == seq
            assert self.state.dumps() == before, f"{itype} {data} was rejected but changed state"
            return
        assert out.result == "accepted"
        assert [e.seq for e in out.events] == list(range(seq + 1, seq + 1 + len(out.events)))
        for event in out.events:
            assert event.type in EVENTS, event.type
        self.log.extend(out.events)

    def entries(self) -> list[str]:
        part = self.state.part("waitlist")
        assert isinstance(part, WaitlistPart)
        return sorted(part.entries)

    # ---- the inputs ------------------------------------------------------------------------

    @rule(minutes=st.integers(0, 25))
    def time_passes(self, minutes: int) -> None:
        self.minute += minutes

    @rule(data=st.data(), itype=st.sampled_from(POS_EVENTS), back=st.integers(0, 15))
    def pos_event(self, data: st.DataObject, itype: str, back: int) -> None:
        d = data.draw(body(EVENTS[itype].field_names(), []))
        self.step(data.draw(st.sampled_from(["pos:T1", "pos:T2"])), itype, d, back)

    @rule(data=st.data(), itype=st.sampled_from(sorted(HOST_EVENTS)))
    def host_action(self, data: st.DataObject, itype: str) -> None:
        self.step("host", itype, data.draw(body(EVENTS[itype].field_names(), [])))

    @rule(data=st.data(), itype=st.sampled_from(sorted(HOLD_EVENTS)))
    def hold(self, data: st.DataObject, itype: str) -> None:
        self.step("cloud", itype, data.draw(body(EVENTS[itype].field_names(), [])))

    @rule(data=st.data(), itype=st.sampled_from(sorted(commands_of("waitlist"))))
    def waitlist(self, data: st.DataObject, itype: str) -> None:
        d = data.draw(body(COMMANDS[itype].field_names(), self.entries()))
        self.step("host" if itype != "waitlist.due" else "timer", itype, d)

    @rule(data=st.data(), records=st.lists(reservation(), max_size=3))
    def cloud_pull(self, data: st.DataObject, records: list[dict[str, Any]]) -> None:
        d: dict[str, Any] = {"reservations": records, "cursor": str(self.n)}
        if data.draw(st.integers(0, 6)) == 0:
            d = data.draw(body(("reservations", "cursor"), []))
        self.step("cloud", "cloud.pulled", d)

    @rule(
        data=st.data(),
        itype=st.sampled_from(
            sorted(commands_of("reservations") - {"cloud.pulled", "reservations.due"})
        ),
    )
    def reservation_command(self, data: st.DataObject, itype: str) -> None:
        self.step("host", itype, data.draw(body(COMMANDS[itype].field_names(), [])))

    @rule()
    def reservations_timer(self) -> None:
        self.step("timer", "reservations.due", {})

    @rule(
        itype=st.one_of(st.sampled_from(sorted({*EVENTS, *COMMANDS})), st.text(max_size=12)),
        d=st.one_of(st.dictionaries(st.text(max_size=3), ODD, max_size=3), ODD),
    )
    def anything(self, itype: str, d: Any) -> None:
        """Any type, known or not, with any body (not even an object)."""
        self.step("pos:T1", itype, d)

    @rule()
    def take_snapshot(self) -> None:
        self.snapshot = (self.state.seq, self.state.dumps())

    # ---- what must hold ----------------------------------------------------------------------

    @invariant()
    def the_log_is_the_state(self) -> None:
        if self.n % 7:  # folding the whole log every step is quadratic: every 7th is enough
            return
        self.check_replay()

    @rule()
    def snapshot_plus_tail(self) -> None:
        if self.snapshot is not None:
            self.check_replay()

    def check_replay(self) -> None:
        full = new_state()
        full.replay(self.log)
        assert full.dumps() == self.state.dumps()
        if self.snapshot is not None:
            seq, text = self.snapshot
            resumed = new_state()
            resumed.load_json(json.loads(text))
            resumed.replay(e for e in self.log if e.seq > seq)
            assert resumed.dumps() == self.state.dumps()

    def teardown(self) -> None:
        self.check_replay()


TheCore.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_the_core_is_total = TheCore.TestCase
