"""The `resos` reservation provider against a loopback resOS that answers as its public API
documentation says: bookings pulled by time window and page, statuses and fields mapped, tables
resolved through aliases, status updates pushed back once across an outage, 429 with Retry-After
in milliseconds, 5xx, timeouts and garbage. And the on-demand pull: a host seating a booking made
a moment ago waits for it instead of hearing "There is no reservation"."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_resos import KEY, FakeResos
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import ConfigError, load_config
from floorlink.daemon.service import SeatParty

ALIASES = {"2": ["T2"], "5": ["Window 5"]}


@pytest.fixture
async def resos() -> AsyncIterator[FakeResos]:
    r = FakeResos()
    await r.start()
    yield r
    await r.stop()


async def until(predicate: Callable[[], Any], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def cloud_section(resos: FakeResos, interval: float = 0.1, **kw: Any) -> str:
    lines = [
        "[cloud]",
        'provider = "resos"',
        f'url = "{resos.url}"',
        f'token = "{KEY}"',
        f"pull_interval_seconds = {interval}",
        "timeout_seconds = 0.5",
        "limit = 2",
        *(f"{k} = {v}" for k, v in kw.items()),
    ]
    return "\n".join(lines) + "\n"


async def started(tmp_path: Path, broker: EmbeddedBroker, extra: str) -> App:
    path = write_config(
        tmp_path / "floorlink.toml", broker.port, free_port(), extra=extra, aliases=ALIASES
    )
    app = App(load_config(path))
    await app.start()
    return app


def booking(minutes: float, **kw: Any) -> dict[str, Any]:
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    fields: dict[str, Any] = {
        "dateTime": at.isoformat(timespec="milliseconds"),
        "date": at.date().isoformat(),
        "time": at.strftime("%H:%M"),
        "people": 4,
        "status": "approved",
        "source": "website",
        "guest": {"name": "Rossi", "phone": "+390612345", "email": "r@example.com"},
        "tables": [],
        "customFields": [],
    }
    return fields | kw


def test_provider_options_are_validated_under_cloud(tmp_path: Path) -> None:
    extra = '[cloud]\nprovider = "resos"\nurl = "https://api.resos.com"\ntoken = "k"\nlimit = 0\n'
    path = write_config(tmp_path / "f.toml", 1883, 8080, extra=extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors == ["cloud.limit: expected an integer >= 1, got 0"]
    extra = '[cloud]\nprovider = "opentable"\nurl = "https://x.example"\ntoken = "k"\n'
    path = write_config(tmp_path / "f.toml", 1883, 8080, extra=extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors == ['cloud.provider: expected one of floorlink, resos, got "opentable"']
    extra = '[cloud]\nurl = "https://x.example"\ntoken = "k"\nlimit = 3\n'  # floorlink: no limit
    path = write_config(tmp_path / "f.toml", 1883, 8080, extra=extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors == ["cloud.limit: unknown key"]


async def test_bookings_are_mapped_held_and_their_status_pushed_back_once(
    tmp_path: Path, broker: EmbeddedBroker, resos: FakeResos
) -> None:
    resos.book(
        "bk-1",
        **booking(
            10,
            tables=[{"_id": "t-a", "name": "T2"}],
            comment="window seat please",
            customFields=[
                {"name": "Allergies", "value": "shellfish"},
                {"name": "VIP", "value": "yes"},
            ],
        ),
    )
    resos.book("bk-2", **booking(15, tables=[{"_id": "t-b", "name": "Window 5"}], status="request"))
    resos.book("bk-3", **booking(20, tables=[{"_id": "t-c", "name": "Terrace 40"}]))
    resos.book("bk-4", **booking(25, status="canceled"))
    resos.book("bk-5", **booking(60 * 30))  # outside the window: not pulled
    app = await started(tmp_path, broker, cloud_section(resos))
    try:
        await until(lambda: app.engine.tables["2"]["status"] == "reserved")
        await until(lambda: app.engine.tables["5"]["status"] == "reserved")
        upcoming = {r["id"]: r for r in app.reservations()}
        assert upcoming["bk-1"]["vip"] is True and upcoming["bk-1"]["status"] == "confirmed"
        assert upcoming["bk-2"]["status"] == "booked" and upcoming["bk-2"]["table"] == "5"
        assert upcoming["bk-3"]["table"] is None  # "Terrace 40" matches no table
        assert "bk-4" not in upcoming and "bk-5" not in upcoming
        rejections = app.status()["rejections"]["cloud:resos"]
        assert rejections["count"] == 1 and "'Terrace 40' matches no table" in rejections["last"]
        assert any(g.get("skip") == "2" for g in resos.gets)  # paged with limit and skip
        # the guest details reach the POS when the party is seated
        res = await app.command(SeatParty("2", 4, reservation="bk-1"))
        assert res.ok, res.error
        guest = app.engine.views["guests"]["2"]
        assert guest["allergies"] == "shellfish" and guest["requests"] == "window seat please"
        await until(lambda: ("bk-1", {"status": "seated"}) in resos.puts)
        # an outage: the partial arrival and the completion wait, then go once each, in order
        resos.mode = "500"
        res = await app.partial_arrival("bk-2", "5", 2)
        assert res.ok, res.error
        assert app.engine.tables["5"]["status"] == "reserved"  # held, the turn not started
        views = {r["id"]: r for r in app.reservations()}
        assert views["bk-2"]["arrived"] == 2
        await app.engine.submit(_pos("k1", "check.opened", {"check": "k1", "table": "2"}))
        await app.engine.submit(_pos("k2", "check.closed", {"check": "k1", "total": "88.00"}))
        await until(lambda: app.status()["cloud"] == "down")
        assert any("cloud.push" in line for line in app.status()["degraded"])
        resos.mode = "ok"
        await until(lambda: ("bk-1", {"status": "left"}) in resos.puts)
        await until(lambda: ("bk-2", {"status": "arrived"}) in resos.puts)
        assert resos.puts.count(("bk-1", {"status": "seated"})) == 1
        assert resos.puts.count(("bk-2", {"status": "arrived"})) == 1
        assert resos.puts.count(("bk-1", {"status": "left"})) == 1
        assert [p for p in resos.puts if p[0] == "bk-1"][-1] == ("bk-1", {"status": "left"})
        # a change in resOS (cancelled) reaches the floor: the hold is released
        resos.bookings["bk-2"]["status"] = "canceled"
        await until(lambda: app.engine.tables["5"]["status"] == "available")
        assert resos.unauthorized == 0
    finally:
        await app.stop()


@pytest.mark.parametrize("failure", ["429", "500", "garbage", "slow", "drop"])
async def test_failures_are_retried_and_the_floor_goes_on(
    tmp_path: Path, broker: EmbeddedBroker, resos: FakeResos, failure: str
) -> None:
    resos.mode = failure
    resos.book("bk-1", **booking(10, tables=[{"name": "2"}]))
    app = await started(tmp_path, broker, cloud_section(resos))
    try:
        await until(lambda: app.status()["cloud"] == "down")
        assert app.engine.tables["2"]["status"] == "available"
        if failure == "429":
            asked = resos.limited
            await asyncio.sleep(0.05)
            assert resos.limited - asked <= 2  # Retry-After (200 ms) honoured, no hammering
        resos.mode = "ok"
        await until(lambda: app.engine.tables["2"]["status"] == "reserved")
        await until(lambda: app.status()["cloud"] == "ok")
    finally:
        await app.stop()


async def test_seating_a_booking_made_a_moment_ago_pulls_it_at_once(
    tmp_path: Path, broker: EmbeddedBroker, resos: FakeResos
) -> None:
    app = await started(tmp_path, broker, cloud_section(resos, interval=3600))
    try:
        await until(lambda: len(resos.gets) >= 1)
        # table 5 has 4 seats (table 3 has 2: a party of 4 is refused there, by every entrance)
        resos.book("bk-new", **booking(5, tables=[{"name": "5"}]))
        started_at = time.monotonic()
        res = await app.command(SeatParty("5", 4, reservation="bk-new"))
        assert res.ok, res.error
        assert time.monotonic() - started_at < 3600  # not the hour-long pull interval
        assert app.engine.tables["5"]["party"]["reservation"] == "bk-new"
        # a reservation that does not exist anywhere is still answered, after the pull
        res = await app.command(SeatParty("4", 2, reservation="nope"))
        assert not res.ok and res.status == 404 and res.error == "There is no reservation nope."
    finally:
        await app.stop()


def _pos(eid: str, etype: str, data: dict[str, Any]) -> Any:
    from floorlink.daemon.core.state import Input

    return Input("pos:T1", eid, etype, int(time.time() * 1000), data)
