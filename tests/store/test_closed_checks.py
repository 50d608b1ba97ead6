"""The closed-checks projection agrees with the floor for any order of a check's events, is
written with the events, feeds the report, and `floorlink replay` checks it against a rebuild."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import MIN, config_for

from floorlink.daemon.app import build_state
from floorlink.daemon.core.closed_checks import rows_of, take_rows
from floorlink.daemon.core.state import Event, Input, State
from floorlink.daemon.engine import Engine
from floorlink.daemon.replay import replay_and_compare
from floorlink.daemon.report import service_report, summarize
from floorlink.daemon.store import Store

T0 = int(datetime(2026, 11, 20, 19, tzinfo=UTC).timestamp() * 1000)
CONFIG = config_for(Path("/nonexistent/f.db"))
TABLES = ["1", "2", "3"]
Step = tuple[str, int, dict[str, Any]]


@st.composite
def check_life(draw: st.DrawFn) -> list[Step]:
    """One check's events, each with its own time (what the terminal stamped)."""
    minute = 0

    def later() -> int:
        nonlocal minute
        minute += draw(st.integers(1, 20))
        return minute

    steps: list[Step] = [
        ("check.opened", 0, {"check": "A", "table": draw(st.sampled_from(TABLES)), "guests": 2})
    ]
    if draw(st.booleans()):
        steps.append(("check.opened", 0, {"check": "A", "table": "1", "server": "Ann"}))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["transfer", "update", "course", "items", "printed"]))
        if kind == "transfer":
            data: dict[str, Any] = {"check": "A", "table": draw(st.sampled_from(TABLES))}
            steps.append(("check.transferred", later(), data))
        elif kind == "update":
            data = {"check": "A", "guests": draw(st.integers(1, 8))}
            steps.append(("check.updated", later(), data))
        elif kind == "course":
            data = {"check": "A", "course": draw(st.sampled_from(["apps", "entrees"]))}
            steps.append(("check.course_fired", later(), data))
        elif kind == "items":
            items = [{"name": draw(st.sampled_from(["soup", "steak"])), "qty": 1}]
            steps.append(("check.items_added", later(), {"check": "A", "items": items}))
        else:
            steps.append(("check.printed", later(), {"check": "A"}))
    ending = draw(st.sampled_from(["closed", "voided", "open"]))
    if ending == "closed":
        steps.append(("check.closed", later(), {"check": "A", "total": "80.00", "tip": "9.00"}))
    elif ending == "voided":
        steps.append(("check.voided", later(), {"check": "A"}))
    return steps


def inputs(steps: list[Step], prefix: str = "e") -> list[Input]:
    return [
        Input("pos:T1", f"{prefix}{n}", etype, T0 + minute * MIN, data)
        for n, (etype, minute, data) in enumerate(steps)
    ]


def floor_view(steps: list[Step]) -> tuple[str, int | None] | None:
    """What the floor showed for the check while it was open (its events in time order, the
    ending left out): its table and guests. None when it was never open on a table."""
    state = build_state(CONFIG)
    for inp in sorted(inputs(steps), key=lambda i: (i.at, i.eid)):
        if inp.type not in ("check.closed", "check.voided"):
            state.process(inp)
    shown = [t for t in state.floor.states.values() if "A" in t.checks]
    return (shown[0].id, shown[0].guests) if shown else None


def strip(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows without the seq of the event that last wrote them (which depends on arrival)."""
    return {c: {k: v for k, v in r.items() if k != "seq"} for c, r in rows.items()}


def fold(order: list[Input]) -> tuple[State, list[dict[str, Any]]]:
    state = build_state(CONFIG)
    rows: list[dict[str, Any]] = []
    for inp in order:
        state.process(inp)
        rows.extend(take_rows(state))
    return state, rows


@settings(max_examples=150, deadline=None)
@given(check_life(), st.randoms(use_true_random=False))
def test_the_projection_and_the_floor_agree_for_any_order(steps: list[Step], rnd: Any) -> None:
    canonical = inputs(steps)
    shuffled = list(canonical)
    rnd.shuffle(shuffled)
    state, rows = fold(shuffled)
    ended = steps[-1][0] in ("check.closed", "check.voided")
    if not ended:
        assert rows == []  # only ended checks are projected
        return
    final = {r["check"]: r for r in rows}
    _, in_order = fold(canonical)
    expected = {r["check"]: r for r in in_order}
    assert strip(final) == strip(expected)  # any arrival order, one row
    [row] = final.values()
    table, guests = floor_view(steps) or (None, None)
    assert (row["table"], row["covers"]) == (table, guests)  # what the floor showed
    # a rebuild from the stored log gives the same rows, seq included
    log: list[Event] = []
    replayed = build_state(CONFIG)
    for inp in shuffled:
        log.extend(replayed.process(inp).events)
    assert rows_of(build_state(CONFIG), log) == final
    assert state.dumps() == replayed.dumps()


@settings(max_examples=60, deadline=None)
@given(check_life(), check_life(), st.randoms(use_true_random=False))
def test_the_report_agrees_with_the_floor_for_any_order_of_two_checks(
    first: list[Step], second: list[Step], rnd: Any
) -> None:
    """Two checks' events interleaved in any order: the report's covers and tables are what the
    floor showed for each paid check while it was open."""
    renamed = [(t, m, d | {"check": "B"}) for t, m, d in second]
    mixed = inputs(first, "a") + inputs(renamed, "b")
    rnd.shuffle(mixed)
    _, rows = fold(mixed)
    report = summarize(
        CONFIG, datetime(2026, 11, 20).date(), {r["check"]: r for r in rows}.values()
    )
    expected_tables: dict[str, int] = {}
    covers = 0
    for number, steps in (("A", first), ("B", renamed)):
        if steps[-1][0] != "check.closed":
            continue
        alone = build_state(CONFIG)
        for inp in sorted(inputs(steps), key=lambda i: (i.at, i.eid)):
            if inp.type != "check.closed":
                alone.process(inp)
        [shown] = [t for t in alone.floor.states.values() if number in t.checks]
        expected_tables[shown.id] = expected_tables.get(shown.id, 0) + 1
        covers += shown.guests or 0
    assert report["checks_by_table"] == dict(sorted(expected_tables.items()))
    assert report["covers"] == covers
    assert report["checks"] == sum(expected_tables.values())


async def run_engine(path: Path, steps: list[Step], prefix: str = "e") -> None:
    config = config_for(path)
    engine = Engine(Store(path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    for inp in inputs(steps, prefix):
        assert (await engine.submit(inp)).outcome.result == "accepted"
    runner.cancel()
    await engine.close()


async def test_the_report_says_what_the_floor_said_when_a_transfer_and_an_update_cross(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.db"
    # sent in this order; their own times say the later transfer is to 3 and 5 guests came
    steps: list[Step] = [
        ("check.opened", 0, {"check": "A", "table": "1", "guests": 2}),
        ("check.transferred", 30, {"check": "A", "table": "3"}),
        ("check.updated", 40, {"check": "A", "guests": 5}),
        ("check.transferred", 20, {"check": "A", "table": "2"}),  # late, and older
        ("check.updated", 35, {"check": "A", "guests": 3}),  # late, and older
    ]
    await run_engine(path, steps)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    (obj,) = db.execute("SELECT object FROM tables WHERE id = '3'").fetchone()
    db.close()
    table = json.loads(obj)
    assert (table["status"], table["guests"]) == ("seated", 5)  # the floor: table 3, 5 guests
    await run_engine(path, [("check.closed", 90, {"check": "A", "total": "100.00"})], "x")
    config = config_for(path)
    report = service_report(config, datetime(2026, 11, 20).date())
    assert report["checks_by_table"] == {"3": 1} and report["covers"] == 5
    store = Store(path)
    store.open()
    [row] = store.closed_checks()
    store.close()
    assert (row["table"], row["covers"], row["opened"], row["closed"]) == (
        "3",
        5,
        T0,
        T0 + 90 * MIN,
    )
    assert replay_and_compare(config)["equal"]


async def test_replay_finds_a_projection_that_differs_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    await run_engine(
        path,
        [
            ("check.opened", 0, {"check": "A", "table": "1", "guests": 2}),
            ("check.closed", 60, {"check": "A", "total": "10.00"}),
        ],
    )
    config = config_for(path)
    assert replay_and_compare(config)["equal"]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("""UPDATE closed_checks SET covers = 9 WHERE "check" = 'A'""")
    db.close()
    result = replay_and_compare(config)
    assert not result["equal"] and result["checks_differing"] == ["A"]
    assert "closed checks differ: A" in result["summary"]


async def test_a_report_on_a_store_not_yet_migrated_folds_the_log_through_the_projection(
    tmp_path: Path,
) -> None:
    from old_schema import make_old_store

    path = tmp_path / "v2.db"
    make_old_store(
        path,
        2,
        [
            ("pos:T1", "e1", "check.opened", T0, json.dumps({"check": "A", "table": "2"})),
            ("pos:T1", "e2", "check.closed", T0 + 80 * MIN, json.dumps({"check": "A"})),
        ],
    )
    report = service_report(config_for(path), datetime(2026, 11, 20).date())
    assert report["checks"] == 1 and report["checks_by_table"] == {"2": 1}
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2  # the report only reads
    db.close()


async def test_the_row_and_its_event_commit_together_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    await run_engine(path, [("check.opened", 0, {"check": "A", "table": "1", "guests": 2})])
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "CREATE TRIGGER no_rows BEFORE INSERT ON closed_checks"
        " BEGIN SELECT RAISE(ABORT, 'projection refused'); END"
    )
    db.close()
    config = config_for(path)
    engine = Engine(Store(path), lambda: build_state(config))
    await engine.open()
    runner = asyncio.create_task(engine.run())
    close = inputs([("check.closed", 60, {"check": "A", "total": "10.00"})], "x")[0]
    result = await engine.submit(close)
    runner.cancel()
    assert result.outcome.result == "rejected"  # could not be stored: dead-lettered, answered
    assert engine.state.floor.states["1"].status == "seated"  # memory follows the commit
    await engine.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1  # the close is not in
    assert db.execute("SELECT count(*) FROM closed_checks").fetchone()[0] == 0
    (reason,) = db.execute("SELECT reason FROM dead_letters").fetchone()
    assert "projection refused" in reason
    db.close()
