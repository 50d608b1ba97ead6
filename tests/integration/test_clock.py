"""Time is measured, not trusted (hardening item 12) and downtime is not the guest's fault
(pagers issue): the daemon in-process against a real Mosquitto, with the wall clock injected at
the shell's edge (`BoxClock.wall`), so it can jump by hours or a year, or stand still while the
box is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import T0, new_state
from prometheus_client import REGISTRY
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.core.state import Input
from floorlink.daemon.core.waitlist import REPAGE_SPACING_MS, WaitlistPart, next_due
from floorlink.daemon.service import AddToWaitlist, PageParty

MIN = 60_000
HOUR = 60 * MIN


class Wall:
    """A wall clock that can be set forward or back, like NTP after a Pi boots."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset_ms * 1_000_000


def make_app(tmp_path: Path, broker: EmbeddedBroker, wall: Wall) -> App:
    path = write_config(tmp_path / "floorlink.toml", broker.port, free_port())
    app = App(load_config(path))
    app.clock.wall = wall
    app.clock._anchor()
    return app


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
async def app(tmp_path: Path, broker: EmbeddedBroker, wall: Wall) -> AsyncIterator[App]:
    a = make_app(tmp_path, broker, wall)
    await a.start()
    yield a
    await a.stop()


async def paged_parties(app: App, names: list[str]) -> list[str]:
    ids = []
    for name in names:
        added = await app.command(AddToWaitlist(name, 2))
        assert added.ok, added.error
        entry = str(added.body["id"])
        paged = await app.command(PageParty(entry))
        assert paged.ok, paged.error
        ids.append(entry)
    return ids


def entries(app: App) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in app.waitlist()}


async def due_in(app: App) -> float:
    """Minutes until the waitlist's next timer, as the daemon computes it."""
    now = app.clock.now()
    dues = await app.engine.call(app.timers.dues, now)
    assert dues["waitlist.due"] is not None
    return (dues["waitlist.due"] - now) / MIN


async def jump(app: App, wall: Wall, by_ms: int) -> None:
    wall.offset_ms += by_ms
    before = REGISTRY.get_sample_value("floorlink_clock_jumps_total") or 0
    gap = app.clock.check()
    assert gap is not None and abs(gap - by_ms) < 5_000
    app.timers.clock_jump = {"minutes": round(gap / MIN, 1), "at": app.clock.now()}
    await app.timers.shift("clock", gap)
    assert (REGISTRY.get_sample_value("floorlink_clock_jumps_total") or 0) >= before


@pytest.mark.parametrize("by_ms", [8 * HOUR, -8 * HOUR, 365 * 24 * HOUR, -365 * 24 * HOUR], ids=str)
async def test_a_wall_clock_jump_keeps_waits_and_timers(app: App, wall: Wall, by_ms: int) -> None:
    [kim] = await paged_parties(app, ["Kim"])
    before = await due_in(app)
    await jump(app, wall, by_ms)
    after = entries(app)[kim]
    assert after["status"] == "paged" and after["waited_minutes"] <= 1  # never 525,600
    assert abs(await due_in(app) - before) < 0.2  # the re-page stands where it stood
    assert app.status()["clock_jump"]["minutes"] == pytest.approx(by_ms / MIN, abs=0.2)


async def test_the_watch_notices_a_jump_by_itself(app: App, wall: Wall) -> None:
    [kim] = await paged_parties(app, ["Kim"])
    wall.offset_ms += 8 * HOUR
    # the clock.watch component checks every few seconds: wait for what it shows
    deadline = time.monotonic() + 20
    while app.status()["clock_jump"] is None:
        assert time.monotonic() < deadline, "the jump was not noticed"
        await asyncio.sleep(0.2)  # polling a condition, with a deadline
    assert entries(app)[kim]["status"] == "paged"
    assert abs(await due_in(app) - 5) < 0.5


async def test_downtime_does_not_count_against_the_party(
    tmp_path: Path, broker: EmbeddedBroker, wall: Wall
) -> None:
    first = make_app(tmp_path, broker, wall)
    await first.start()
    ids = await paged_parties(first, ["Kim", "Garcia", "Okafor"])
    await first.stop()
    wall.offset_ms += 10 * MIN  # the box is down for ten minutes
    second = make_app(tmp_path, broker, wall)
    await second.start()
    try:
        now = entries(second)
        assert all(now[i]["status"] == "paged" for i in ids)  # nobody marked left
        # the re-pages stand 5 minutes after the pages, as before the outage: no burst now
        assert 4.5 < await due_in(second) <= 5.1
    finally:
        await second.stop()


def test_repages_due_together_go_out_spaced() -> None:
    state = new_state()
    part = WaitlistPart((), state.tz)
    state.parts.append(part)
    for n in range(3):
        add = {"name": f"P{n}", "party_size": 2}
        state.process(Input("host", f"a{n}", "waitlist.add", T0, add))
        state.process(Input("host", f"p{n}", "waitlist.page", T0, {"entry": f"w-a{n}"}))
    at = T0 + 6 * MIN
    out = state.process(Input("timer", "t1", "waitlist.due", at, {}))
    repages = [e for e in out.events if e.type == "waitlist.paged"]
    assert len(repages) == 1
    assert next_due(part) == at + REPAGE_SPACING_MS
