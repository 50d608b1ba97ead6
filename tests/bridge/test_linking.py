"""Linking that survives real data, pure: table aliases, reservation <-> check auto-link with a
confidence score, host relink/unlink, partial arrivals that hold without starting the turn, and
no-shows pushed to the reservation system."""

from __future__ import annotations

import json

import pytest
from helpers import MIN, T0
from test_reservations import Box, new_state, res

from floorlink.daemon.config import ConfigError, parse_config
from floorlink.daemon.core.reservations import (
    LINK_THRESHOLD,
    link_confidence,
    link_stats,
    next_due,
    upcoming_view,
)
from floorlink.daemon.names import TableNames, fold
from floorlink.daemon.routes import status_for


def test_table_names_resolve_ids_and_aliases_without_case_or_punctuation() -> None:
    names = TableNames(["12", "B-3"], {"12": ["T12", "Table 12"], "B-3": ["Bar 3"]})
    for spelled in ("12", "T12", "t12", "Table 12", "table_12", " TABLE-12 ", "table.12"):
        assert names.resolve(spelled) == "12", spelled
    assert names.resolve("bar   3") == "B-3" and names.resolve("b 3") == "B-3"
    assert names.resolve("Table 13") is None and names.resolve(None) is None
    assert fold("Patio__12 ") == "patio 12"


def test_an_alias_naming_two_tables_is_a_config_error() -> None:
    text = """
[site]
id = "s"
[http]
staff_token = "12345678"
[[tables]]
id = "12"
seats = 4
aliases = ["T12", "Table 12"]
[[tables]]
id = "13"
seats = 4
aliases = ["t12"]
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text, env={})
    assert err.value.errors == ['tables[1].aliases: "t12" already names table "12"']


def test_confidence_weighs_table_then_time_then_size() -> None:
    at = T0
    assert link_confidence(at, "12", 4, at + 5 * MIN, "12", 4, here=True) == 1.0
    exact = link_confidence(at, "12", 4, at, "12", 4, here=False)
    late = link_confidence(at, "12", 4, at + 50 * MIN, "12", 4, here=False)
    wrong_size = link_confidence(at, "12", 4, at, "12", 9, here=False)
    assert exact == 1.0 and LINK_THRESHOLD <= late < exact and wrong_size < exact
    assert link_confidence(at, "3", 4, at, "12", 4, here=False) == 0.0  # another table
    assert link_confidence(at, "12", 4, at + 90 * MIN, "12", 4, here=False) == 0.0  # too late
    assert link_confidence(at, "12", 4, at - 40 * MIN, "12", 4, here=False) == 0.0  # too early
    unassigned = link_confidence(at, None, 4, at, "12", 4, here=False)
    assert unassigned < LINK_THRESHOLD  # no table on the booking: never linked by time alone


def test_a_check_on_the_held_table_links_with_certainty() -> None:
    box = Box()
    box.pull(0, res("r-1", 40, "12"))
    box("reservations.due", 10, "timer")
    out = box("check.opened", 38, check="77", table="12", guests=4)
    linked = [e.data for e in out.events if e.type == "reservation.linked"]
    assert linked == [{"reservation": "r-1", "check": "77", "confidence": 1.0, "by": "auto"}]
    assert link_stats(box.part) == {"seated": 1, "linked": 1, "share": 1.0}
    view = {v["id"]: v for v in upcoming_view(box.part, box.state.tz, T0 + 38 * MIN)}
    assert view["r-1"]["check"] == "77"


def test_a_check_near_the_booked_table_and_time_links_with_a_score() -> None:
    box = Box()
    box.part.hold_window_minutes = 0  # no hold: only the table and the time say it is theirs
    box.pull(0, res("r-2", 60, "12"))
    out = box("check.opened", 70, check="80", table="12", guests=3)
    linked = [e.data for e in out.events if e.type == "reservation.linked"]
    assert len(linked) == 1 and LINK_THRESHOLD <= linked[0]["confidence"] < 1.0
    assert box.status("12") == "seated"
    # a second check on that table does not steal the link
    out = box("check.opened", 75, check="81", table="12", guests=2)
    assert not [e for e in out.events if e.type == "reservation.linked"]
    # a check far from any booking links to nothing
    out = box("check.opened", 300, check="90", table="3", guests=2)
    assert not [e for e in out.events if e.type == "reservation.linked"]


def test_the_host_relinks_and_unlinks_and_auto_never_overrides_the_host() -> None:
    box = Box()
    box.pull(0, res("r-1", 40, "12"))
    box("reservations.due", 10, "timer")
    box("check.opened", 38, check="77", table="12", guests=4)
    box("check.opened", 39, check="78", table="3", guests=4)
    out = box("reservation.link", 40, "host", reservation="r-1", check="78", by="host")
    assert out.result == "accepted" and box.part.links["r-1"]["check"] == "78"
    assert box.part.links["r-1"] == {"check": "78", "confidence": 1.0, "by": "host"}
    refused = box("reservation.link", 41, "auto", reservation="r-1", check="77", by="auto")
    assert refused.result == "rejected" and "linked by the host" in (refused.error or "")
    assert (
        status_for(box("reservation.link", 41, "host", reservation="r-1", check="nope").reason)
        == 404
    )
    assert box("reservation.unlink", 42, "host", reservation="r-1").result == "accepted"
    assert "r-1" not in box.part.links
    assert status_for(box("reservation.unlink", 43, "host", reservation="r-1").reason) == 404
    assert link_stats(box.part)["share"] == 0.0


def test_a_partial_arrival_holds_the_table_without_starting_the_turn() -> None:
    box = Box()
    box.pull(0, res("r-1", 30, "12"))
    out = box("reservation.partial", 25, "host", reservation="r-1", table="3", arrived=2)
    assert out.result == "accepted" and out.body == {
        "reservation": "r-1",
        "arrived": 2,
        "party_size": 4,
    }
    assert box.status("3") == "reserved" and box.state.floor.states["3"].party is None
    arrived = [e for e in out.effects if e.type == "reservation.arrived"]
    assert arrived and arrived[0].payload["arrived"] == 2
    # long past the no-show grace the hold stays: they are here, waiting for the others
    assert next_due(box.part, T0 + 100 * MIN) is None
    assert box("reservations.due", 100, "timer").result == "rejected"
    assert box.status("3") == "reserved"
    view = {v["id"]: v for v in upcoming_view(box.part, box.state.tz, T0 + 40 * MIN)}
    assert view["r-1"]["arrived"] == 2 and view["r-1"]["held"]
    # the rest arrive and the server opens a check: seated, the turn starts now
    box("check.opened", 110, check="5", table="3", guests=4)
    assert box.status("3") == "seated" and "r-1" not in box.part.partial
    assert box.state.table_object("3")["party"]["reservation"] == "r-1"
    # everyone at once: the whole party is seated
    box.pull(111, res("r-2", 130, "1"))
    out = box("reservation.partial", 125, "host", reservation="r-2", table="1", arrived=4)
    assert box.status("1") == "seated"
    seated = box("reservation.partial", 126, "host", reservation="r-2", table="2", arrived=1)
    assert seated.result == "rejected" and status_for(seated.reason) == 409
    unknown = box("reservation.partial", 126, "host", reservation="zz", table="2", arrived=1)
    assert unknown.result == "rejected" and status_for(unknown.reason) == 404


def test_a_no_show_is_told_to_the_reservation_system() -> None:
    box = Box()
    box.pull(0, res("r-1", 60, "12"))
    box("reservations.due", 30, "timer")
    out = box("reservations.due", 81, "timer")
    assert [e.payload for e in out.effects if e.type == "reservation.no_show"] == [
        {"reservation": "r-1"}
    ]
    # a cancelled booking releases its hold without a no-show
    box.pull(82, res("r-2", 120, "3"))
    box("reservations.due", 90, "timer")
    out = box.pull(91, res("r-2", 120, "3", status="cancelled"))
    assert not [e for e in out.effects if e.type == "reservation.no_show"]


def test_replay_with_links_and_partials_is_byte_equal() -> None:
    box = Box()
    box.pull(0, res("r-1", 40, "12"))
    box("reservation.partial", 35, "host", reservation="r-1", table="12", arrived=1)
    box("check.opened", 38, check="77", table="12", guests=4)
    box("check.opened", 39, check="78", table="3", guests=4)
    box("reservation.link", 40, "host", reservation="r-1", check="78", by="host")
    replayed = new_state()
    replayed.replay(box.log)
    assert replayed.dumps() == box.state.dumps()
    resumed = new_state()
    resumed.load_json(json.loads(box.state.dumps()))
    assert resumed.dumps() == box.state.dumps()
