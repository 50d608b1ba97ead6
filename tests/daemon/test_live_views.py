"""Live views are rendered when read, from a copy as new as the last commit: minutes waited and the
upcoming reservations follow the clock, not the arrival of the next event."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from floorlink.daemon.app import App
from floorlink.daemon.config import parse_config
from floorlink.daemon.core.state import Input
from floorlink.daemon.core.timeutil import format_ms
from floorlink.daemon.service import AddToWaitlist

T0 = 1_795_000_000_000
MIN = 60_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


async def started(tmp_path: Path) -> tuple[App, Clock, asyncio.Task[None]]:
    config = parse_config(
        f'[site]\nid = "s"\ntimezone = "UTC"\n[store]\npath = "{tmp_path / "f.db"}"\n'
        '[http]\nstaff_token = "long-enough-token"\n'
        '[[tables]]\nid = "1"\nseats = 4\n[[tables]]\nid = "12"\nseats = 4\n',
        {},
    )
    app = App(config)
    clock = Clock()
    app.engine.clock = clock
    await app.engine.open()
    return app, clock, asyncio.create_task(app.engine.run())


async def test_minutes_waited_move_with_the_clock_between_events(tmp_path: Path) -> None:
    app, clock, runner = await started(tmp_path)
    try:
        result = await app.command(AddToWaitlist("Rossi", 2))
        assert result.ok
        [entry] = app.waitlist()
        assert entry["waited_minutes"] == 0
        clock.now += 45 * MIN  # no event in between
        [entry] = app.waitlist()
        assert entry["waited_minutes"] == 45
        assert entry["status"] == "waiting"
    finally:
        runner.cancel()
        await app.engine.close()


def reservation(rid: str, at: int) -> dict[str, Any]:
    return {
        "id": rid, "status": "confirmed", "time": format_ms(at, app_tz()), "party_size": 2,
        "table": "12", "source": "phone", "guest": {"name": "Smith"},
        "updated_at": format_ms(T0, app_tz()),
    }  # fmt: skip


def app_tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("UTC")


async def test_upcoming_reservations_roll_forward_with_the_clock(tmp_path: Path) -> None:
    app, clock, runner = await started(tmp_path)
    try:
        tomorrow = T0 + 20 * 3600 * 1000  # beyond the 4-hour window now
        pulled = {"reservations": [reservation("r-1", tomorrow)], "cursor": "1"}
        res = await app.engine.submit(Input("cloud", "p1", "cloud.pulled", T0, pulled))
        assert res.outcome.result == "accepted"
        assert app.reservations() == []
        clock.now = tomorrow - 2 * 3600 * 1000  # two hours before: no event since
        [upcoming] = app.reservations()
        assert upcoming["id"] == "r-1" and upcoming["status"] == "confirmed"
        clock.now = tomorrow + 3600 * 1000  # long past its grace: gone again
        assert app.reservations() == []
    finally:
        runner.cancel()
        await app.engine.close()


async def test_a_read_never_sees_a_half_applied_batch(tmp_path: Path) -> None:
    """The copy a read renders is replaced whole after a commit, never mutated in place."""
    app, _clock, runner = await started(tmp_path)
    try:
        await app.command(AddToWaitlist("Rossi", 2))
        held = app.engine.views["waitlist"]
        _clock.now += MIN
        await app.command(AddToWaitlist("Bianchi", 3))
        assert len(held.entries) == 1  # the earlier copy is unchanged
        assert [e["name"] for e in app.waitlist()] == ["Rossi", "Bianchi"]
    finally:
        runner.cancel()
        await app.engine.close()


async def test_the_host_stand_hears_when_time_alone_changes_the_upcoming_reservations(
    tmp_path: Path,
) -> None:
    app, clock, runner = await started(tmp_path)
    stream = app.live()
    first = asyncio.ensure_future(anext(stream))  # subscribed from here on
    try:
        tomorrow = T0 + 20 * 3600 * 1000
        pulled = {"reservations": [reservation("r-1", tomorrow)], "cursor": "1"}
        await app.engine.submit(Input("cloud", "p1", "cloud.pulled", T0, pulled))
        kind, payload = await asyncio.wait_for(first, 10)  # the commit's own broadcast
        assert (kind, payload) == ("reservations", [])
        last = app.reservations()
        assert app.publisher.roll_once(last) == []  # nothing moved: nothing sent
        clock.now = tomorrow - 2 * 3600 * 1000
        rolled = app.publisher.roll_once(last)
        kind, payload = await asyncio.wait_for(anext(stream), 10)
        assert kind == "reservations" and payload == rolled and payload[0]["id"] == "r-1"
        assert "views.clock" in app.supervisor.states  # the component that calls it on a tick
    finally:
        first.cancel()
        runner.cancel()
        await app.engine.close()
