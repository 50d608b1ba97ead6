"""Deciding never raises and a refusal changes nothing; the same rules hold for every entrance;
the event registry reads an older stored event at its current version."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import MIN, SPECS, T0, TZ, Feed

from floorlink.daemon.core.events import (
    COMMANDS,
    EVENTS,
    POS_EVENTS,
    VERSION_KEY,
    Body,
    HostSeated,
    upcast,
)
from floorlink.daemon.core.quotes import TableView
from floorlink.daemon.core.reasons import REASONS
from floorlink.daemon.core.reservations import ReservationsPart
from floorlink.daemon.core.state import Event, Input, Outcome, State
from floorlink.daemon.core.timeutil import format_ms
from floorlink.daemon.core.waitlist import WaitlistPart
from floorlink.daemon.engine import Engine
from floorlink.daemon.routes import REASON_STATUS, status_for
from floorlink.daemon.store import Store, Written
from floorlink.drivers.pos import REQUIRED


def full_state() -> State:
    views = tuple(TableView(s.id, s.seats) for s in SPECS)
    return State(SPECS, TZ, True, [WaitlistPart(views, TZ), ReservationsPart(TZ, 30)])


def refused(state: State, inp: Input) -> Outcome:
    """Process `inp`, which must be refused without changing anything."""
    before, seq = state.dumps(), state.seq
    out = state.process(inp, inp.at)
    assert out.result == "rejected", out
    assert out.reason in REASONS and out.error
    assert state.dumps() == before and state.seq == seq
    assert not out.events and not out.effects
    return out


@pytest.mark.parametrize(
    ("itype", "data", "field"),
    [
        ("check.opened", {"table": "1", "guests": 2}, "check"),
        ("check.course_fired", {"check": "A"}, "course"),
        ("host.seated", {"table": "1"}, "party_size"),
        ("check.transferred", {"check": "A"}, "table"),
        ("table.held", {"table": "1"}, "reservation"),
    ],
)
def test_a_missing_field_is_refused_before_anything_moves(
    itype: str, data: dict[str, Any], field: str
) -> None:
    """These raised KeyError after `seq` had moved; now they are refusals that change nothing."""
    state = full_state()
    Feed(state)("check.opened", 0, check="Z", table="3", guests=2)
    out = refused(state, Input("pos:T1", "x", itype, T0, data))
    assert out.reason == "missing_field" and field in (out.error or "")
    assert status_for(out.reason) == 422


@pytest.mark.parametrize(
    ("itype", "data", "reason"),
    [
        ("check.opened", {"check": "A", "table": 3}, "bad_field"),
        ("check.opened", {"check": "A", "table": "1", "guests": True}, "bad_field"),
        ("check.opened", {"check": "A", "table": "1", "guests": 0}, "bad_field"),
        ("check.course_fired", {"check": "A", "course": "soup"}, "bad_field"),
        ("check.closed", {"check": "A", "total": "a lot"}, "bad_field"),
        ("check.items_added", {"check": "A", "items": [{"qty": 1}]}, "bad_field"),
        ("check.opened", {"check": "A", "table": "99"}, "unknown_table"),
        ("host.blocked", {"table": "99"}, "unknown_table"),
        ("host.seated", {"table": "1", "party_size": "2"}, "bad_field"),
        ("check.exploded", {"check": "A"}, "unknown_type"),
        ("waitlist.page", {"entry": "w-nope"}, "unknown_entry"),
        ("waitlist.seat", {"entry": 7, "table": "1"}, "bad_field"),
        ("reservation.arrive", {"reservation": "r-0", "table": "1"}, "unknown_reservation"),
        ("cloud.pulled", {"reservations": [{"status": "booked"}]}, "missing_field"),
        ("cloud.pulled", {"reservations": "all of them"}, "bad_field"),
        ("waitlist.due", {}, "nothing_due"),
        ("reservations.due", {}, "nothing_due"),
    ],
)
def test_an_odd_input_is_refused_with_its_reason(
    itype: str, data: dict[str, Any], reason: str
) -> None:
    out = refused(full_state(), Input("host", "x", itype, T0, data))
    assert out.reason == reason, out.error


def test_every_reason_has_an_http_status() -> None:
    assert set(REASON_STATUS) == set(REASONS)


def test_a_command_in_the_wrong_status_is_refused_and_changes_nothing() -> None:
    state = full_state()
    host = Feed(state, source="host")
    host("host.seated", 0, table="1", party_size=2)
    out = refused(state, host.make("host.seated", 1, table="1", party_size=2))
    assert out.reason == "wrong_status" and status_for(out.reason) == 409
    out = refused(state, host.make("host.blocked", 1, table="1"))
    assert out.reason == "wrong_status"


def test_99_guests_at_a_4_top_are_refused_from_every_entrance() -> None:
    state = full_state()
    host = Feed(state, source="host")
    from_host = refused(state, host.make("host.seated", 1, table="1", party_size=99))
    added = host("waitlist.add", 1, name="Big", party_size=99)
    assert added.result == "accepted"
    from_waitlist = refused(
        state, host.make("waitlist.seat", 2, entry=added.body["entry"], table="1")
    )
    booking = {
        "id": "r-9", "status": "confirmed", "time": format_ms(T0 + 60 * MIN, TZ),
        "party_size": 99, "table": "1", "guest": {"name": "Big"},
    }  # fmt: skip
    assert host("cloud.pulled", 3, reservations=[booking], cursor="c1").result == "accepted"
    from_reservation = refused(state, host.make("reservation.arrive", 4, reservation="r-9",
                                                table="1"))  # fmt: skip
    for out in (from_host, from_waitlist, from_reservation):
        assert out.reason == "party_too_large" and "does not fit table 1" in (out.error or "")
    assert state.floor.states["1"].status == "available"
    assert host("host.seated", 5, table="3", party_size=6).result == "accepted"  # 6 seats


def test_host_no_ops_and_re_block_have_one_defined_outcome() -> None:
    state = full_state()
    host = Feed(state, source="host")
    for itype in ("host.cleared", "host.unblocked"):  # on an available table: nothing to do
        seq, before = state.seq, state.dumps()
        out = host(itype, 1, table="2")
        assert out.result == "accepted" and not out.events
        assert state.seq == seq and state.dumps() == before
    assert host("host.blocked", 2, table="2", reason="wobbly").result == "accepted"
    out = host("host.blocked", 3, table="2", reason="wet floor")  # re-block: the reason changes
    assert out.result == "accepted" and out.changed_tables == ["2"]
    assert state.table_object("2")["blocked_reason"] == "wet floor"
    assert not host("host.cleared", 4, table="2").events  # blocked, nobody there: a no-op
    assert host.status("2") == "blocked"
    assert host("host.unblocked", 5, table="2").changed_tables == ["2"]
    assert host.status("2") == "available"


def test_the_registry_is_the_one_list_of_types() -> None:
    assert list(REQUIRED) == list(POS_EVENTS)
    assert REQUIRED["check.opened"] == ("check", "table")
    assert REQUIRED["check.closed"] == ("check", "total")
    for etype, cls in {**EVENTS, **COMMANDS}.items():
        assert etype == cls.TYPE and cls.VERSION >= 1
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


# ---- upcasting an older stored event ----------------------------------------------------


def test_upcast_brings_host_seated_v1_to_v2() -> None:
    assert HostSeated.VERSION == 2
    v1 = {"table": "1", "party_size": 2}
    assert upcast("host.seated", v1) == {
        "table": "1", "party_size": 2, "source": "walk_in", "vip": False, VERSION_KEY: 2,
    }  # fmt: skip
    v2 = HostSeated.stored({"table": "1", "party_size": 2, "name": "Kim"})
    assert v2[VERSION_KEY] == 2 and v2["source"] == "walk_in" and v2["vip"] is False
    assert upcast("host.seated", v2) is v2  # already current: untouched, no copy


def test_an_older_event_in_a_stored_log_is_read_at_its_current_version(tmp_path: Path) -> None:
    """A log written before host.seated v2 (no `_v`, `source: null`) replays like a v2 one."""
    path = tmp_path / "floorlink.db"
    store = Store(path)
    store.open()
    store.begin()
    old = Event("host", "h1", "host.seated", T0, {"table": "12", "party_size": 3}, seq=1)
    store.write(Written([old], [], {}), T0)
    store.commit()
    store.close()
    with sqlite3.connect(path) as db:  # as the old version left it on disk
        (raw,) = db.execute("SELECT data FROM events WHERE seq = 1").fetchone()
        assert VERSION_KEY not in raw
        db.execute("""UPDATE events SET data = '{"party_size":3,"source":null,"table":"12"}'""")

    store = Store(path)
    store.open()
    try:
        (read,) = list(store.events())  # the store reads it at the current version
        assert read.data[VERSION_KEY] == 2 and read.data["source"] == "walk_in"
        replayed = full_state()
        replayed.replay(store.events())
    finally:
        store.close()
    party = replayed.floor.states["12"].party
    assert party is not None and party.source == "walk_in" and party.size == 3
    assert replayed.table_object("12")["party"]["source"] == "walk_in"

    live = full_state()
    out = Feed(live, source="host")("host.seated", 0, table="12", party_size=3)
    assert out.events[0].data[VERSION_KEY] == 2
    assert replayed.table_object("12") == live.table_object("12")


async def test_the_engine_answers_a_malformed_input_without_a_store_error(tmp_path: Path) -> None:
    """Through the single writer and a real store: the inputs that used to raise KeyError after
    `seq` moved are answered `rejected` with their reason, the batch-mates are stored, and the
    log has no gap (before, the engine turned the KeyError into a fatal store error)."""
    path = tmp_path / "floorlink.db"
    engine = Engine(Store(path), full_state, snapshot_every=1000)
    await engine.open()
    runner = asyncio.create_task(engine.run())
    inputs = [
        Input("pos:T1", "a", "check.opened", T0, {"check": "A", "table": "1"}),
        Input("pos:T1", "b", "check.opened", T0, {"table": "2"}),
        Input("pos:T1", "c", "check.course_fired", T0, {"check": "A"}),
        Input("host", "d", "host.seated", T0, {"table": "3"}),
        Input("pos:T1", "e", "check.printed", T0, {"check": "A"}),
    ]
    try:
        results = [(await f).outcome for f in [engine.submit_nowait(i) for i in inputs]]
    finally:
        runner.cancel()
    assert [r.result for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert [r.reason for r in results[1:4]] == ["missing_field"] * 3
    assert engine.failed is None and engine.state.seq == 2
    await engine.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT seq FROM events ORDER BY seq").fetchall() == [(1,), (2,)]
    assert not db.execute("SELECT * FROM dead_letters").fetchall()


@pytest.mark.parametrize("data", [None, [], "table 1", 7])
def test_a_body_that_is_not_an_object_is_refused(data: Any) -> None:
    for itype in ("check.opened", "host.seated", "waitlist.add", "cloud.pulled", "waitlist.seat"):
        out = refused(full_state(), Input("host", "x", itype, T0, data))
        assert out.reason == "bad_field", (itype, out.error)


def test_a_new_waitlist_input_type_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering a command class in the waitlist's group routes it to the waitlist part (which
    refuses it with a reason until it decides it): no other list of input types to edit."""

    @dataclass(frozen=True, slots=True)
    class PagerBattery(Body):
        TYPE = "pager.battery"
        GROUP = "waitlist"
        entry: str

    PagerBattery._prepare()
    state = full_state()
    before = refused(state, Input("pager", "x", "pager.battery", T0, {"entry": "w-1"}))
    assert before.reason == "unknown_type" and "unknown event type" in (before.error or "")
    monkeypatch.setitem(COMMANDS, PagerBattery.TYPE, PagerBattery)
    assert state.part("waitlist").handles("pager.battery")
    assert not state.part("reservations").handles("pager.battery")
    after = refused(state, Input("pager", "y", "pager.battery", T0, {}))
    assert after.reason == "missing_field"  # the registry's checks now apply to it
