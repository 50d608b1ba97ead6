"""The daemon's own edge parts are supervised: one that fails is restarted, counted and shown.

tests/daemon/test_component.py shows the supervisor on toy components; this kills a real part
of the running daemon (its timers) and follows what the host stand sees on the live stream.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import REGISTRY
from support import wait_for

from floorlink.daemon.app import App

PART = "paging.timers"


def restarts(name: str) -> float:
    value = REGISTRY.get_sample_value("floorlink_component_restarts_total", {"component": name})
    return value or 0.0


async def test_a_failed_part_of_the_daemon_is_restarted_counted_and_shown(
    floor: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = restarts(PART)
    real = floor.timers.dues
    calls = 0

    def breaks_once(now: int) -> dict[str, int | None]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the timers broke")
        return real(now)

    stream = floor.live()
    statuses: list[dict[str, Any]] = []

    async def follow() -> None:
        async for kind, payload in stream:
            if kind == "status":
                statuses.append(payload)

    follower = asyncio.ensure_future(follow())
    try:
        await wait_for(lambda: floor.stream.viewers == 1, "the stream is followed")
        monkeypatch.setattr(floor.timers, "dues", breaks_once)
        floor.timers.wake()

        def restarted() -> bool:
            part = floor.status()["components"][PART]
            return bool(part["restarts"] == 1 and part["state"] == "up" and calls >= 2)

        await wait_for(restarted, "the timers restarted")
        assert restarts(PART) - before == 1
        up = REGISTRY.get_sample_value("floorlink_component_up", {"component": PART})
        assert up == 1
        # While it was down the stand was told, by name and with the reason.
        named = [line for s in statuses for line in s["degraded"] if line.startswith(PART)]
        assert named and "RuntimeError: the timers broke" in named[0]
        assert floor.status()["degraded"] == []
        assert floor.fatal is None  # an edge part: the daemon goes on
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
