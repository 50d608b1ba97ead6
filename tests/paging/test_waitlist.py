"""The waitlist part inside the pure state: quotes, auto-paging, re-page, left, replay."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from helpers import MIN, SPECS, T0, TZ, Feed

from floorlink.daemon.core.closed_checks import ClosedChecksPart
from floorlink.daemon.core.quotes import TableView, TurnTimes, fit
from floorlink.daemon.core.state import Event, Input, Outcome, State
from floorlink.daemon.core.waitlist import (
    PagingRules,
    WaitlistPart,
    next_due,
    quote_accuracy,
    waitlist_view,
)
from floorlink.daemon.routes import status_for


def _samples(part: WaitlistPart) -> dict[str, list[float]]:
    """The learned stays as `bucket@hour -> [minutes]`."""
    out: dict[str, list[float]] = {}
    for s in part.turns.stays.values():
        out.setdefault(f"{s.bucket}@{s.hour}", []).append(s.turn)
    return out


TABLES = tuple(TableView(s.id, s.seats) for s in SPECS)  # 1:4, 2:2, 3:6, 12:4


def new_state(**rules: Any) -> State:
    return State(SPECS, TZ, parts=[WaitlistPart(TABLES, TZ, PagingRules(**rules))])


class Service:
    def __init__(self, state: State | None = None) -> None:
        self.state = state or new_state()
        self.n = 0
        self.log: list[Event] = []

    def __call__(self, etype: str, minute: float, source: str = "pos:T1", **data: Any) -> Outcome:
        self.n += 1
        out = self.state.process(Input(source, f"e{self.n}", etype, T0 + int(minute * MIN), data))
        self.log.extend(out.events)
        return out

    def add(self, name: str, size: int, pager: int, minute: float) -> str:
        out = self("waitlist.add", minute, "host", name=name, party_size=size, pager=pager)
        assert out.result == "accepted", out.error
        return str(out.body["entry"])

    @property
    def part(self) -> WaitlistPart:
        part = self.state.part("waitlist")
        assert isinstance(part, WaitlistPart)
        return part


def test_check_close_pages_the_longest_waiting_party_that_fits() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="1", guests=4)
    big = s.add("Garcia", 6, 3, 1)  # does not fit table 1
    first = s.add("Kim", 2, 7, 2)
    s.add("Rossi", 4, 9, 3)
    out = s("check.closed", 40, check="A", total="80.00")
    pages = [e for e in out.effects if e.consumer == "pager"]
    assert [p.payload["pager"] for p in pages] == [7]
    assert pages[0].key == f"page:{first}:1"
    assert s.part.entries[first].status == "paged" and s.part.entries[big].status == "waiting"
    paged = [e for e in out.events if e.type == "waitlist.paged"]
    assert paged and paged[0].data["table"] == "1" and paged[0].data["reason"] == "auto"


def test_no_page_for_a_table_held_for_a_reservation() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="1", guests=4)
    s("table.held", 1, source="cloud", table="1", reservation="r-730")
    s.add("Kim", 2, 7, 2)
    out = s("check.closed", 40, check="A", total="80.00")
    assert not [e for e in out.effects if e.consumer == "pager"]


def test_repage_then_left_after_max_pages() -> None:
    s = Service(new_state(repage_after_minutes=5, max_pages=2))
    entry = s.add("Kim", 2, 7, 0)
    assert s("waitlist.page", 1, "host", entry=entry).result == "accepted"
    assert next_due(s.part) == T0 + 6 * MIN
    assert s("waitlist.due", 3, "timer").result == "rejected"  # nothing due yet
    out = s("waitlist.due", 6, "timer")
    assert [e.key for e in out.effects] == [f"page:{entry}:2"]
    out = s("waitlist.due", 11, "timer")
    assert s.part.entries[entry].status == "left" and not out.effects


def test_seat_from_the_waitlist_seats_the_table() -> None:
    s = Service()
    entry = s.add("Kim", 2, 7, 0)
    out = s("waitlist.seat", 5, "host", entry=entry, table="2")
    assert out.result == "accepted"
    assert s.state.floor.states["2"].status == "seated"
    assert s.state.table_object("2")["party"]["name"] == "Kim"
    refused = s("waitlist.seat", 6, "host", entry=s.add("Big", 6, 1, 6), table="2")
    assert refused.result == "rejected" and "does not fit" in (refused.error or "")


def test_quotes_grow_with_the_queue_and_accuracy_is_recorded() -> None:
    s = Service()
    for n, table in enumerate(("1", "2", "3", "12")):
        s("check.opened", 0, check=f"c{n}", table=table, guests=2)
    quotes = [s.part.entries[s.add(f"p{n}", 2, n + 1, 1)].quoted_minutes for n in range(4)]
    assert quotes == sorted(quotes) and quotes[0] > 0
    s("check.closed", 50, check="c1", total="10.00")
    view = waitlist_view(s.part, TZ, T0 + 60 * MIN)
    assert view[0]["status"] == "paged" and view[0]["waited_minutes"] == 59
    paged = s.part.entries[view[0]["id"]]
    assert quote_accuracy(s.part)["quotes"] == 0  # a quote is a promise about being seated
    s("table.cleared", 51, table=paged.table)
    seated = s("waitlist.seat", 52, "host", entry=paged.id, table=paged.table)
    assert seated.result == "accepted", seated.error
    assert quote_accuracy(s.part)["quotes"] == 1
    assert s.part.turns.walks == [2.0]  # page to seat, learned
    view = waitlist_view(s.part, TZ, T0 + 60 * MIN)
    assert view[-1]["status"] == "seated" and view[-1]["estimate_minutes"] == 51


def test_turn_times_are_learned_from_closed_checks() -> None:
    turns = TurnTimes()
    for n in range(40):
        closed = T0 + (50 + n % 5) * MIN
        turns.record(f"c{n}", 2, 19, T0, {"closed": closed})
    model = fit(turns, [])
    assert 51 <= model.expected(2, 19) <= 53.5
    assert fit(TurnTimes(), []).expected(6, 12) == pytest.approx(100 * math.exp(0.25**2 / 2))


def test_replay_with_the_waitlist_gives_the_same_state() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="1", guests=4)
    s.add("Kim", 2, 7, 1)
    s("check.closed", 40, check="A", total="80.00")
    replayed = new_state()
    replayed.replay(s.log)
    assert replayed.dumps() == s.state.dumps()
    resumed = new_state()
    resumed.load_json(json.loads(s.state.dumps()))
    assert resumed.dumps() == s.state.dumps()


def test_bad_waitlist_input_is_refused_with_a_sentence() -> None:
    s = Service()
    for data, words in (
        ({"party_size": 2}, "needs a name"),
        ({"name": "Kim", "party_size": "two"}, "Party size"),
        ({"name": "Kim", "party_size": 0}, "Party size"),
        ({"name": "Kim", "party_size": True}, "Party size"),
        ({"name": "Kim", "party_size": 2, "pager": 4096}, "Pager number"),
        ({"name": "Kim", "party_size": 2, "phone": 5551234}, "Phone"),
    ):
        out = s("waitlist.add", 0, "host", **data)
        assert (out.result, status_for(out.reason)) == ("rejected", 422)
        assert words in (out.error or "")
    assert status_for(s("waitlist.page", 1, "host", entry="w-nope").reason) == 404
    assert s.add("Kim", 2.0, 7, 1) in s.part.entries  # type: ignore[arg-type]  # JSON's 2.0


def test_the_part_learns_from_an_unreadable_guest_count_already_in_the_log() -> None:
    part = WaitlistPart(TABLES, TZ)
    row = {"check": "A", "opened": T0, "closed": T0 + 50 * MIN, "voided": None, "covers": "lots"}
    part.learn(row)
    assert _samples(part) == {f"2@{part._hour(T0)}": [50.0]}  # counted as a party of 2
    part.learn(row | {"covers": 4})  # the same check again (a late update): learned once,
    assert _samples(part) == {f"4@{part._hour(T0)}": [50.0]}  # with the covers it ended on


def test_turn_times_come_from_the_closed_checks_projection_in_any_order() -> None:
    """The waitlist folds no check event: it reads each paid check's row once, with the covers
    the floor ended on, even when the close arrives before the open."""
    projection = ClosedChecksPart()
    part = WaitlistPart(TABLES, TZ)
    projection.readers.append(part.learn)
    state = State(SPECS, TZ, parts=[projection, part])
    projection.bind(state)
    feed = Feed(state)
    feed("check.closed", 50, check="A", total="10.00")  # before its open
    feed("check.updated", 10, check="A", guests=6)
    assert _samples(part) == {}
    feed("check.opened", 0, check="A", table="3", guests=2)
    assert _samples(part) == {f"6@{part._hour(T0)}": [50.0]}
    feed("check.opened", 0, check="B", table="1", guests=2)
    feed("check.voided", 30, check="B")
    assert _samples(part) == {f"6@{part._hour(T0)}": [50.0]}  # voided: no meal to learn
    part.apply(Event("pos:T1", "z", "check.closed", T0 + 90 * MIN, {"check": "C"}, 99))
    assert _samples(part) == {f"6@{part._hour(T0)}": [50.0]}  # the part alone ignores it


def test_available_trigger_pages_when_the_table_is_cleared_not_before() -> None:
    s = Service(new_state(trigger="available"))
    s("check.opened", 0, check="A", table="2", guests=2)
    entry = s.add("Kim", 2, 7, 1)
    assert not s("check.closed", 40, check="A", total="9.00").effects
    out = s("table.cleared", 45, table="2")
    assert [e.key for e in out.effects] == [f"page:{entry}:1"]


def test_one_freed_table_pages_one_party_and_a_paged_party_is_not_paged_again() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="1", guests=4)
    s("check.opened", 0, check="B", table="12", guests=4)
    kim = s.add("Kim", 2, 7, 1)
    ito = s.add("Ito", 2, 8, 2)
    assert s("waitlist.page", 3, "host", entry=kim).result == "accepted"
    out = s("check.closed", 40, check="A", total="9.00")
    assert [e.key for e in out.effects] == [f"page:{ito}:1"]
    assert not s("check.closed", 41, check="B", total="9.00").effects  # nobody left waiting
