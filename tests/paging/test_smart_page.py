"""When to page (the trigger), the heads-up page, and withdrawing a page whose table was taken:
the pure waitlist part through `State.process`, replayed to the same state."""

from __future__ import annotations

import json
from typing import Any

from helpers import MIN, SPECS, T0, TZ

from floorlink.daemon.core.quotes import TableView
from floorlink.daemon.core.state import Event, Input, Outcome, State
from floorlink.daemon.core.waitlist import (
    PagingRules,
    WaitlistPart,
    next_due,
    page_stands,
    waitlist_view,
)

TABLES = tuple(TableView(s.id, s.seats) for s in SPECS)  # 1:4, 2:2, 3:6, 12:4


class Service:
    def __init__(self, **rules: Any) -> None:
        self.rules = rules
        self.state = self.fresh()
        self.n = 0
        self.log: list[Event] = []

    def fresh(self) -> State:
        return State(SPECS, TZ, parts=[WaitlistPart(TABLES, TZ, PagingRules(**self.rules))])

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

    def due(self) -> int | None:
        return next_due(self.part, self.state.floor)

    def assert_replays(self) -> None:
        replayed = self.fresh()
        replayed.replay(self.log)
        assert replayed.dumps() == self.state.dumps()
        resumed = self.fresh()
        resumed.load_json(json.loads(self.state.dumps()))
        assert resumed.dumps() == self.state.dumps()


def pages(out: Outcome) -> list[str]:
    return [e.key for e in out.effects if e.consumer == "pager"]


# ---- withdrawing a page whose table was taken ----------------------------------------------


def test_a_check_opened_on_the_paged_table_withdraws_the_page_and_no_repage_goes_for_it() -> None:
    """The stale re-page of issue 12: pager 42 paged for table 12, the POS opens a check there
    for other guests; the page is withdrawn, nothing is ever re-paged "for" table 12, and the
    next fitting table pages the party first, ahead of those who came after it."""
    s = Service(repage_after_minutes=5, max_pages=2)
    s("check.opened", 0, check="A", table="12", guests=4)
    s("check.opened", 0, check="B", table="1", guests=4)
    kim = s.add("Kim", 2, 42, 1)
    ito = s.add("Ito", 2, 43, 2)
    out = s("check.closed", 40, check="A", total="80.00")
    assert pages(out) == [f"page:{kim}:1"]
    page = next(e.payload for e in out.effects if e.consumer == "pager")
    assert page["table"] == "12" and page_stands(s.part, page)

    out = s("check.opened", 40.4, check="C", table="12", guests=3)
    withdrawn = [e for e in out.events if e.type == "waitlist.withdrawn"]
    assert [e.data for e in withdrawn] == [
        {"entry": kim, "table": "12", "reason": "table 12 was taken"}
    ]
    entry = s.part.entries[kim]
    assert (entry.status, entry.table, entry.withdrawn_reason) == (
        "waiting",
        None,
        "table 12 was taken",
    )
    assert not page_stands(s.part, page)  # the sender drops the queued page
    assert s.due() is None  # no re-page timer: nobody is paged
    assert s("waitlist.due", 46, "timer").result == "rejected"
    row = next(r for r in waitlist_view(s.part, TZ, T0 + 41 * MIN) if r["id"] == kim)
    assert row["status"] == "waiting" and row["withdrawn_reason"] == "table 12 was taken"

    out = s("check.closed", 50, check="B", total="20.00")  # the next fitting table
    assert pages(out) == [f"page:{kim}:2"]  # Kim first, not Ito who came after her
    assert s.part.entries[ito].status == "waiting"
    assert s.part.entries[kim].table == "1" and s.part.entries[kim].withdrawn_reason is None
    # the withdrawn page does not count toward max_pages: one re-page, then the give-up
    out = s("waitlist.due", 55, "timer")
    assert pages(out) == [f"page:{kim}:3"]
    assert all(e.data.get("table") == "1" for e in out.events if e.type == "waitlist.paged")
    s("waitlist.due", 60, "timer")
    assert s.part.entries[kim].status == "left"
    s.assert_replays()


def test_a_host_seating_another_party_on_the_paged_table_withdraws_the_page() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    s("check.closed", 40, check="A", total="9.00")
    s("table.cleared", 41, table="2")
    out = s("host.seated", 42, "host", table="2", party_size=2, name="walk-in")
    assert [e.type for e in out.events] == ["host.seated", "waitlist.withdrawn"]
    assert s.part.entries[kim].status == "waiting"
    s.assert_replays()


def test_seating_the_paged_party_at_its_table_withdraws_nothing() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    s("check.closed", 40, check="A", total="9.00")
    s("table.cleared", 41, table="2")
    out = s("waitlist.seat", 43, "host", entry=kim, table="2")
    assert "waitlist.withdrawn" not in [e.type for e in out.events]
    out = s("check.opened", 44, check="B", table="2", guests=2)  # their own check
    assert "waitlist.withdrawn" not in [e.type for e in out.events]
    assert s.part.entries[kim].status == "seated"


def test_a_withdraw_for_a_table_that_is_not_taken_is_refused() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    s("check.closed", 40, check="A", total="9.00")
    out = s("waitlist.withdraw", 41, "host", entry=kim, table="2")
    assert out.result == "rejected" and out.reason == "wrong_status"
    out = s("waitlist.withdraw", 41, "host", entry=kim, table="1")
    assert out.result == "rejected" and "not paged for table 1" in (out.error or "")


# ---- when to page -----------------------------------------------------------------------------


def test_after_close_trigger_pages_minutes_after_the_check_closed() -> None:
    s = Service(trigger="after_close", page_after_close_minutes=5)
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    out = s("check.closed", 40, check="A", total="9.00")
    assert not pages(out) and [e.type for e in out.events][-1] == "waitlist.armed"
    assert s.due() == T0 + 45 * MIN
    s("table.cleared", 42, table="2")  # bussed quickly: still pages at 45
    assert s.due() == T0 + 45 * MIN
    assert s("waitlist.due", 44, "timer").result == "rejected"
    out = s("waitlist.due", 45, "timer")
    assert pages(out) == [f"page:{kim}:1"]
    paged = next(e for e in out.events if e.type == "waitlist.paged")
    assert paged.data["table"] == "2" and paged.data["reason"] == "auto"
    assert s.part.armed == {"2": None} and s.due() == T0 + 50 * MIN  # the re-page timer
    ito = s.add("Ito", 2, 8, 46)
    s("waitlist.seat", 47, "host", entry=kim, table="2")
    s("check.opened", 48, check="B", table="2", guests=2)
    assert s.part.armed == {}  # taken: the next close arms it again
    s("check.closed", 100, check="B", total="9.00")
    assert s.due() == T0 + 105 * MIN
    assert pages(s("waitlist.due", 105, "timer")) == [f"page:{ito}:1"]
    s.assert_replays()


def test_after_close_pages_once_per_freeing_even_when_the_table_is_cleared_after() -> None:
    s = Service(trigger="after_close", page_after_close_minutes=5)
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    ito = s.add("Ito", 2, 8, 2)
    s("check.closed", 40, check="A", total="9.00")
    assert pages(s("waitlist.due", 45, "timer")) == [f"page:{kim}:1"]
    assert not s("table.cleared", 46, table="2").events[1:]  # no new timer for the same table
    out = s("waitlist.due", 50, "timer")  # Kim's re-page only; Ito is not paged for table 2
    assert pages(out) == [f"page:{kim}:2"] and s.part.entries[ito].status == "waiting"


def test_after_close_arms_a_table_cleared_while_its_check_was_open() -> None:
    """The busser reset the table before the check closed: it goes straight to available."""
    s = Service(trigger="after_close", page_after_close_minutes=5)
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    s("table.cleared", 39, table="2")
    s("check.closed", 40, check="A", total="9.00")
    assert s.state.floor.states["2"].status == "available"
    assert s.due() == T0 + 45 * MIN
    assert pages(s("waitlist.due", 45, "timer")) == [f"page:{kim}:1"]
    s.assert_replays()


def test_after_close_timer_stops_when_the_table_is_taken_first() -> None:
    s = Service(trigger="after_close", page_after_close_minutes=5)
    s("check.opened", 0, check="A", table="2", guests=2)
    s.add("Kim", 2, 7, 1)
    s("check.closed", 40, check="A", total="9.00")
    out = s("check.opened", 43, check="B", table="2", guests=2)
    assert [e.data for e in out.events if e.type == "waitlist.armed"] == [
        {"table": "2", "due_at": None}
    ]
    assert s.due() is None and s("waitlist.due", 45, "timer").result == "rejected"
    s.assert_replays()


def test_after_close_with_nobody_waiting_pages_the_first_party_that_comes() -> None:
    s = Service(trigger="after_close", page_after_close_minutes=5)
    s("check.opened", 0, check="A", table="2", guests=2)
    s("check.closed", 40, check="A", total="9.00")
    assert s.due() is None  # nobody to page: no timer at all
    big = s.add("Big", 6, 8, 46)
    assert s.due() is None  # does not fit table 2
    kim = s.add("Kim", 2, 7, 50)
    assert s.due() == T0 + 45 * MIN
    out = s("waitlist.due", 50, "timer")
    assert pages(out) == [f"page:{kim}:1"] and s.part.entries[big].status == "waiting"
    s.assert_replays()


def test_bussing_trigger_stays_the_default() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    assert pages(s("check.closed", 40, check="A", total="9.00")) == [f"page:{kim}:1"]
    assert s.part.armed == {}


# ---- the heads-up page -------------------------------------------------------------------------


def test_heads_up_goes_once_to_the_next_party_when_a_fitting_table_is_predicted_free() -> None:
    """Table 2 seats a party of 2 at minute 0; the day-one turn for 2 is 60 minutes, so it is
    predicted free within 10 minutes from minute 50 (quotes.predicted_free_within_from)."""
    s = Service(heads_up_minutes=10, max_pages=1)
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    ito = s.add("Ito", 2, 8, 2)
    assert s.due() == T0 + 50 * MIN
    assert s("waitlist.due", 49, "timer").result == "rejected"
    out = s("waitlist.due", 50, "timer")
    assert [e.type for e in out.events] == ["waitlist.heads_up"]
    assert pages(out) == [f"heads_up:{kim}"]
    payload = next(e.payload for e in out.effects if e.consumer == "pager")
    assert payload["n"] == 0 and payload["pager"] == 7 and page_stands(s.part, payload)
    entry = s.part.entries[kim]
    assert entry.heads_up_at == T0 + 50 * MIN and entry.pages == 0 and entry.status == "waiting"
    assert s.part.entries[ito].heads_up_at is None  # only the party who is next
    row = next(r for r in waitlist_view(s.part, TZ, T0 + 51 * MIN) if r["id"] == kim)
    assert row["heads_up_at"] is not None
    assert s.due() is None  # at most once per party
    assert s("waitlist.due", 55, "timer").result == "rejected"
    # the heads-up is not one of max_pages (1): the real page still goes, and re-page gives up
    assert pages(s("check.closed", 58, check="A", total="9.00")) == [f"page:{kim}:1"]
    assert not page_stands(s.part, payload)  # a queued heads-up is moot once paged
    s.assert_replays()


def test_no_heads_up_for_a_table_a_paged_party_is_on_its_way_to() -> None:
    """Kim is paged for table 2 (bussing): it is hers, so Ito, next in line, gets no heads-up
    for it; table 12, still seated, gives Ito one."""
    s = Service(heads_up_minutes=10, repage_after_minutes=120)
    s("check.opened", 0, check="A", table="2", guests=2)
    kim = s.add("Kim", 2, 7, 1)
    ito = s.add("Ito", 2, 8, 2)
    s("waitlist.due", 50, "timer")  # Kim's heads-up
    assert pages(s("check.closed", 52, check="A", total="9.00")) == [f"page:{kim}:1"]
    assert s.due() is None or s("waitlist.due", 53, "timer").result == "rejected"
    assert s.part.entries[ito].heads_up_at is None
    s("check.opened", 54, check="B", table="12", guests=2)
    due = s.due()  # table 12, predicted free within 10 minutes some time after it opened
    assert due is not None and due > T0 + 54 * MIN
    out = s("waitlist.due", (due - T0) // MIN, "timer")
    assert [e.type for e in out.events] == ["waitlist.heads_up"]
    assert s.part.entries[ito].heads_up_table == "12"
    s.assert_replays()


def test_heads_up_is_off_by_default() -> None:
    s = Service()
    s("check.opened", 0, check="A", table="2", guests=2)
    s.add("Kim", 2, 7, 1)
    assert s.due() is None
    assert s("waitlist.due", 59, "timer").result == "rejected"


def test_a_box_shift_moves_the_after_close_timer_with_it() -> None:
    s = Service(trigger="after_close", page_after_close_minutes=5)
    s("check.opened", 0, check="A", table="2", guests=2)
    s.add("Kim", 2, 7, 1)
    s("check.closed", 40, check="A", total="9.00")
    s("box.resumed", 50, "box", gap_ms=10 * MIN, reason="restart")
    assert s.due() == T0 + 55 * MIN
    s.assert_replays()
