"""The reservations part, pure: holds, arrivals, completion, and each conflict rule."""

from __future__ import annotations

import json
from typing import Any

from helpers import MIN, SPECS, T0, TZ

from floorlink.daemon.core.reservations import (
    ReservationsPart,
    conflicts_view,
    guest_payload,
    next_due,
)
from floorlink.daemon.core.state import Event, Input, Outcome, State
from floorlink.daemon.core.timeutil import format_ms


def new_state() -> State:
    return State(SPECS, TZ, cloud=True, parts=[ReservationsPart(TZ, 30)])


class Box:
    def __init__(self) -> None:
        self.state = new_state()
        self.n = 0
        self.log: list[Event] = []

    def __call__(self, etype: str, minute: float, source: str = "pos:T1", **data: Any) -> Outcome:
        self.n += 1
        out = self.state.process(
            Input(source, f"e{self.n}", etype, T0 + int(minute * MIN), data), T0 + int(minute * MIN)
        )
        self.log.extend(out.events)
        return out

    def pull(self, minute: float, *reservations: dict[str, Any]) -> Outcome:
        return self(
            "cloud.pulled", minute, "cloud", reservations=list(reservations), cursor=str(self.n)
        )

    @property
    def part(self) -> ReservationsPart:
        part = self.state.part("reservations")
        assert isinstance(part, ReservationsPart)
        return part

    def status(self, table: str) -> str:
        return self.state.floor.states[table].status


def res(
    rid: str, at_minute: float, table: str, status: str = "confirmed", **guest: Any
) -> dict[str, Any]:
    return {
        "id": rid, "status": status, "time": format_ms(T0 + int(at_minute * MIN), TZ),
        "party_size": 4, "table": table, "source": "phone",
        "guest": {"name": "Smith", **guest}, "updated_at": format_ms(T0, TZ),
    }  # fmt: skip


def test_a_reservation_due_within_the_window_holds_its_table_and_a_no_show_releases_it() -> None:
    box = Box()
    box.pull(0, res("r-1", 60, "12"))
    assert box.part.cursor is not None and box.status("12") == "available"
    assert next_due(box.part, T0) == T0 + 30 * MIN
    assert box("reservations.due", 30, "timer").result == "accepted"
    assert box.status("12") == "reserved"
    box("reservations.due", 81, "timer")  # 20 minutes past the time: a no-show
    assert box.status("12") == "available"


def test_a_check_on_the_held_table_seats_the_reservation_and_its_close_completes_it() -> None:
    box = Box()
    box.pull(0, res("r-1", 40, "12", vip=True, allergies="shellfish", notes="window please"))
    box("reservations.due", 10, "timer")
    out = box("check.opened", 38, check="77", table="12", guests=4)
    table = box.state.table_object("12")
    assert table["party"]["reservation"] == "r-1" and table["party"]["vip"] is True
    assert any(e.type == "reservation.seated" for e in out.effects)
    guest = guest_payload(box.part, "12", "r-1")
    assert (
        guest is not None
        and guest["allergies"] == "shellfish"
        and guest["requests"] == "window please"
    )
    box("check.items_added", 50, check="77", items=[{"name": "ribeye", "qty": 2, "price": "42.00"}])
    out = box("check.closed", 100, check="77", total="180.00")
    done = [e for e in out.effects if e.type == "reservation.completed"]
    assert done and done[0].payload["total"] == "180.00" and done[0].payload["covers"] == 4
    visit = guest_payload(box.part, "12", "r-1")
    assert visit is not None and visit["visits"] == 1 and visit["favourites"] == ["ribeye"]


def test_conflict_table_taken_by_a_walk_in() -> None:
    box = Box()
    box("check.opened", 0, check="W", table="12", guests=2)  # a walk-in sits there
    box.pull(1, res("r-730", 40, "12"))
    out = box("reservations.due", 10, "timer")
    kinds = [e.data["kind"] for e in out.events if e.type == "conflict.detected"]
    assert kinds == ["table_taken"] and box.status("12") == "seated"
    # recorded once, not on every timer
    assert box("reservations.due", 11, "timer").result == "rejected"
    assert conflicts_view(box.part, TZ)[0]["resolution"].startswith("the walk-in stays")


def test_conflict_cancelled_in_the_cloud_but_seated_on_site() -> None:
    box = Box()
    box.pull(0, res("r-1", 20, "12"))
    box("reservations.due", 1, "timer")
    box("check.opened", 19, check="1", table="12", guests=4)
    out = box.pull(25, res("r-1", 20, "12", status="cancelled"))
    assert [e.data["kind"] for e in out.events if e.type == "conflict.detected"] == [
        "cancelled_but_seated"
    ]
    assert box.status("12") == "seated"
    assert any(e.type == "reservation.seated" for e in out.effects)


def test_conflict_cloud_says_seated_but_the_floor_disagrees() -> None:
    box = Box()
    out = box.pull(0, res("r-9", 0, "3", status="seated"))
    assert [e.data["kind"] for e in out.events if e.type == "conflict.detected"] == [
        "status_mismatch"
    ]
    pushed = [e for e in out.effects if e.type == "table.status"]
    assert (
        pushed and pushed[0].payload["table"] == "3" and pushed[0].payload["status"] == "available"
    )


def test_replay_with_reservations_is_byte_equal() -> None:
    box = Box()
    box.pull(0, res("r-1", 40, "12"))
    box("reservations.due", 10, "timer")
    box("check.opened", 38, check="77", table="12", guests=4)
    box("check.closed", 100, check="77", total="180.00")
    replayed = new_state()
    replayed.replay(box.log)
    assert replayed.dumps() == box.state.dumps()
    resumed = new_state()
    resumed.load_json(json.loads(box.state.dumps()))
    assert resumed.dumps() == box.state.dumps()
