"""Properties of the fold: order independence, idempotence, snapshots, replay."""

from __future__ import annotations

import json
from typing import Any

from helpers import MIN, SPECS, T0, TZ
from hypothesis import given, settings
from hypothesis import strategies as st

from floorlink.daemon.core.state import Event, Input, State

TABLES = [s.id for s in SPECS]


@st.composite
def check_story(draw: st.DrawFn, number: str = "A") -> list[Input]:
    """The events of one check, as a terminal might send them (from up to two terminals)."""
    minute = 0
    table = draw(st.sampled_from(TABLES))
    events: list[tuple[str, dict[str, Any]]] = [
        ("check.opened", {"check": number, "table": table, "guests": draw(st.integers(1, 8))})
    ]
    for course in draw(st.lists(st.sampled_from(["apps", "entrees", "dessert"]), max_size=3)):
        events.append(("check.course_fired", {"check": number, "course": course}))
    if draw(st.booleans()):
        events.append(("check.updated", {"check": number, "guests": draw(st.integers(1, 8))}))
    if draw(st.booleans()):
        events.append(
            (
                "check.items_added",
                {"check": number, "items": [{"name": "ribeye", "qty": 1, "price": "42.00"}]},
            )
        )
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            ("check.transferred", {"check": number, "table": draw(st.sampled_from(TABLES))})
        )
    if draw(st.booleans()):
        events.append(("check.printed", {"check": number}))
    end = draw(st.sampled_from(["open", "closed", "voided"]))
    if end == "closed":
        events.append(("check.closed", {"check": number, "total": "50.00"}))
    elif end == "voided":
        events.append(("check.voided", {"check": number}))
    out = []
    for i, (etype, data) in enumerate(events):
        minute += draw(st.integers(1, 20))
        source = draw(st.sampled_from(["pos:T1", "pos:T2"]))
        out.append(Input(source, f"{number}-{i}", etype, T0 + minute * MIN, data))
    return out


def fold(inputs: list[Input]) -> State:
    state = State(SPECS, TZ)
    for inp in inputs:
        state.process(inp)
    return state


def floor_view(state: State) -> dict[str, Any]:
    """Every table's object without `seq` (which counts arrivals, so it may differ)."""
    return {tid: {k: v for k, v in state.table_object(tid).items() if k != "seq"} for tid in TABLES}


@settings(max_examples=300, deadline=None)
@given(story=check_story(), data=st.data())
def test_order_and_duplicates_do_not_change_the_floor(
    story: list[Input], data: st.DataObject
) -> None:
    reference = floor_view(fold(story))
    shuffled = data.draw(st.permutations(story))
    dupes = data.draw(st.lists(st.sampled_from(story), max_size=4))
    mixed = data.draw(st.permutations(shuffled + dupes))
    assert floor_view(fold(mixed)) == reference


@settings(max_examples=150, deadline=None)
@given(a=check_story("A"), b=check_story("B"), data=st.data())
def test_two_checks_interleaved_in_any_order(
    a: list[Input], b: list[Input], data: st.DataObject
) -> None:
    reference = floor_view(fold(a + b))
    mixed = data.draw(st.permutations(a + b))
    assert floor_view(fold(mixed)) == reference


@settings(max_examples=100, deadline=None)
@given(a=check_story("A"), b=check_story("B"), cut=st.integers(0, 30))
def test_snapshot_plus_tail_equals_full_fold(a: list[Input], b: list[Input], cut: int) -> None:
    full = State(SPECS, TZ)
    log: list[Event] = []
    for inp in a + b:
        log.extend(full.process(inp).events)
    cut = min(cut, len(log))
    head = State(SPECS, TZ)
    head.replay(log[:cut])
    resumed = State(SPECS, TZ)
    resumed.load_json(json.loads(head.dumps()))
    resumed.replay(log[cut:])
    assert resumed.dumps() == full.dumps()
    replayed = State(SPECS, TZ)
    replayed.replay(log)
    assert replayed.dumps() == full.dumps()
    assert floor_view(replayed) == floor_view(full)


def test_a_flood_of_ended_checks_keeps_the_state_bounded(monkeypatch: Any) -> None:
    """Step and snapshot cost follow the live floor, not the history: however many checks end
    within the late-event window, only the newest KEEP_ENDED_CHECKS stay, and a check still
    open is never forgotten."""
    from floorlink.daemon.core import state as state_module

    monkeypatch.setattr(state_module, "KEEP_ENDED_CHECKS", 20)
    monkeypatch.setattr(state_module, "PRUNE_EVERY", 10)
    state = State(SPECS, TZ)
    state.process(Input("pos:T1", "keep", "check.opened", T0, {"check": "open", "table": "1"}))
    for n in range(200):
        at = T0 + n * 1000
        state.process(
            Input("pos:T1", f"o{n}", "check.opened", at, {"check": f"c{n}", "table": "2"})
        )
        state.process(
            Input("pos:T1", f"x{n}", "check.closed", at + 1, {"check": f"c{n}", "total": "9"})
        )
        state.process(Input("pos:T1", f"y{n}", "table.cleared", at + 2, {"table": "2"}))
    checks = state.floor.checks
    assert "open" in checks
    ended = [n for n in checks if n != "open"]
    assert len(ended) <= 20 + 10  # the cap, plus what ended since the last prune
    assert "c199" in checks and "c0" not in checks
