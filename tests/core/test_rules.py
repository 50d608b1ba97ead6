"""The contract's table rules (section 3) and the outcomes we chose where it is silent."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import Feed

import floorlink.daemon.core as core_pkg
from floorlink.daemon.core import closed_checks, guests, quotes, reservations, servers, waitlist
from floorlink.daemon.routes import status_for


def test_check_lifecycle() -> None:
    f = Feed()
    assert f("check.opened", 0, check="A", table="1", guests=3, server="e7").result == "accepted"
    assert f.status("1") == "seated"
    assert f.obj("1")["party"] == {"size": 3, "name": None, "source": "walk_in", "vip": False}
    assert f.obj("1")["server"] == "e7" and f.obj("1")["check"] == "A"
    f("check.course_fired", 5, check="A", course="apps")
    f("check.course_fired", 20, check="A", course="entrees")
    assert f.obj("1")["course"] == "entrees" and f.status("1") == "seated"
    f("check.printed", 60, check="A")
    assert f.status("1") == "check_dropped"
    f("check.closed", 65, check="A", total="88.00")
    assert f.status("1") == "bussing" and f.obj("1")["course"] is None
    f("table.cleared", 70, table="1")
    assert f.status("1") == "available"


def test_split_checks_keep_the_table_until_the_last_closes() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="3", guests=2)
    f("check.opened", 1, check="B", table="3", guests=2)
    assert f.obj("3")["guests"] == 4
    f("check.printed", 50, check="A")
    assert f.status("3") == "seated"  # B is not printed yet
    f("check.closed", 55, check="A", total="40.00")
    assert f.status("3") == "seated"
    f("check.printed", 56, check="B")
    assert f.status("3") == "check_dropped"
    f("check.closed", 60, check="B", total="41.00")
    assert f.status("3") == "bussing"


def test_transfer_moves_the_party_and_busses_the_old_table() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="2", guests=2)
    f("check.course_fired", 3, check="A", course="apps")
    f("check.transferred", 10, check="A", table="1")
    assert f.status("2") == "bussing"
    assert f.status("1") == "seated" and f.obj("1")["course"] == "apps"
    assert f.obj("1")["guests"] == 2


def test_void_of_the_last_check_frees_the_table() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="1")
    f("check.voided", 2, check="A")
    assert f.status("1") == "available"


def test_void_with_another_check_open_keeps_it_seated() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="1")
    f("check.opened", 1, check="B", table="1")
    f("check.voided", 2, check="A")
    assert f.status("1") == "seated" and f.obj("1")["checks"] == ["B"]


def test_unknown_table_is_rejected() -> None:
    f = Feed()
    out = f("check.opened", 0, check="A", table="99")
    assert out.result == "rejected" and "99" in (out.error or "")
    assert f("table.cleared", 0, table="99").result == "rejected"
    assert f("check.transferred", 0, check="A", table="99").result == "rejected"


def test_late_course_of_a_closed_check_changes_nothing() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="1")
    f("check.closed", 60, check="A", total="10.00")
    before = f.obj("1")
    out = f("check.course_fired", 61, check="A", course="dessert")
    assert out.result == "accepted" and out.changed_tables == []
    assert f.obj("1") == before


def test_check_opened_on_a_blocked_table_seats_it_and_the_block_returns() -> None:
    f = Feed()
    host = Feed(f.state, source="host")
    host("host.blocked", 0, table="1", reason="wobbly leg")
    assert f.status("1") == "blocked"
    f("check.opened", 1, check="A", table="1")
    assert f.status("1") == "seated" and f.obj("1")["blocked_reason"] == "wobbly leg"
    f("check.closed", 30, check="A", total="5.00")
    f("table.cleared", 31, table="1")
    assert f.status("1") == "blocked"


def test_clear_while_open_is_remembered_and_the_close_frees_the_table() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="1")
    f("table.cleared", 50, table="1")
    assert f.status("1") == "seated"
    f("check.closed", 49, check="A", total="5.00")  # arrives late, happened before the clear
    assert f.status("1") == "available"


def test_host_seat_clear_block() -> None:
    f = Feed(source="host")
    assert f("host.seated", 0, table="1", party_size=2, name="Kim").result == "accepted"
    assert f.status("1") == "seated" and f.obj("1")["party"]["name"] == "Kim"
    again = f("host.seated", 1, table="1", party_size=2)
    assert again.result == "rejected" and status_for(again.reason) == 409
    blocked = f("host.blocked", 2, table="1")
    assert blocked.result == "rejected"
    assert f("host.cleared", 3, table="1").result == "accepted"
    assert f.status("1") == "available"
    assert status_for(f("host.seated", 4, table="nope", party_size=2).reason) == 404


def test_host_cannot_clear_a_table_with_an_open_check() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="1")
    host = Feed(f.state, source="host")
    out = host("host.cleared", 1, table="1")
    assert out.result == "rejected" and "A" in (out.error or "")


def test_host_seating_then_check_then_close_busses() -> None:
    f = Feed()
    host = Feed(f.state, source="host")
    host("host.seated", 0, table="12", party_size=4, name="Smith", reservation="r-88")
    f("check.opened", 2, check="A", table="12", guests=4)
    assert f.obj("12")["party"]["name"] == "Smith"
    f("check.closed", 60, check="A", total="100.00")
    assert f.status("12") == "bussing" and f.obj("12")["party"] is None


def test_seq_grows_on_every_change() -> None:
    f = Feed()
    f("check.opened", 0, check="A", table="1")
    s1 = f.obj("1")["seq"]
    f("check.opened", 0, check="B", table="2")
    f("check.printed", 1, check="A")
    assert f.obj("1")["seq"] > s1 and f.obj("2")["seq"] > s1


#: Every pure part lives in the core, beside the floor: the waitlist, quotes, holds, servers and
#: the closed-checks projection included (paging/ and bridge/ keep only their I/O).
PURE = sorted(Path(core_pkg.__file__).parent.glob("*.py"))
#: Clock, randomness and I/O: no pure part may import these.
FORBIDDEN_MODULES = {
    "asyncio", "sqlite3", "socket", "aiohttp", "aiomqtt", "paho", "serial", "time", "random",
    "secrets", "uuid", "os", "pathlib", "io", "shutil", "tempfile", "subprocess", "threading",
    "concurrent", "selectors", "ssl", "http", "urllib", "requests", "logging", "structlog",
    "signal", "sys", "glob", "multiprocessing", "sqlite_utils", "prometheus_client",
}  # fmt: skip
#: Clock reads through an allowed module (datetime is fine for arithmetic on given times).
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
FORBIDDEN_BUILTINS = {"open", "print", "input", "exec", "eval", "__import__"}


def test_every_part_is_in_the_core() -> None:
    for part in (waitlist, quotes, reservations, closed_checks, servers, guests):
        assert Path(str(part.__file__)) in PURE


def test_core_imports_no_io() -> None:
    for path in PURE:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
            if isinstance(node, ast.Call):
                fn = node.func
                if isinstance(fn, ast.Attribute):
                    assert fn.attr not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} .{fn.attr}()"
                elif isinstance(fn, ast.Name):
                    assert fn.id not in FORBIDDEN_BUILTINS, f"{path.name}:{node.lineno} {fn.id}()"


def test_the_purity_check_catches_a_clock_read(tmp_path: Path) -> None:
    """The checker itself: a module that reads the clock or opens a file is caught."""
    for source in ("import time\n", "from datetime import datetime\nx = datetime.now()\n",
                   "open('x')\n", "from os import path\n"):  # fmt: skip
        bad = tmp_path / "bad.py"
        bad.write_text(source)
        PURE.append(bad)
        try:
            with pytest.raises(AssertionError):
                test_core_imports_no_io()
        finally:
            PURE.remove(bad)
