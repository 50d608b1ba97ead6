"""The supervisor restarts a failed edge component, counts it, and makes a critical one fatal."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from floorlink.daemon import component
from floorlink.daemon.component import Component, Health, Supervisor


class Flaky(Component):
    """Fails its first two runs, then runs until stopped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runs = 0
        self.stops = 0
        self.running = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= 2:
            raise RuntimeError(f"boom {self.runs}")
        self.running.set()
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.stops += 1

    def health(self) -> Health:
        return Health(True, "fine")


def restarts(name: str) -> float:
    value = REGISTRY.get_sample_value("floorlink_component_restarts_total", {"component": name})
    return value or 0.0


async def test_edge_component_is_restarted_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(component, "BACKOFF_START_S", 0.01)
    sup = Supervisor()
    flaky = Flaky("test.flaky")
    sup.add(flaky)
    before = restarts("test.flaky")
    await sup.start()
    await asyncio.wait_for(flaky.running.wait(), 10)
    assert flaky.runs == 3
    assert restarts("test.flaky") - before == 2
    state, _ = sup.health()["test.flaky"]
    assert state.phase == "up" and state.restarts == 2 and "boom 2" in (state.last_error or "")
    assert REGISTRY.get_sample_value("floorlink_component_up", {"component": "test.flaky"}) == 1
    await sup.stop()
    assert sup.states["test.flaky"].phase == "stopped"
    assert flaky.stops == 3  # after each failure, and at the end
    assert sup.fatal is None


async def test_critical_component_failure_is_fatal() -> None:
    class Core(Component):
        name = "test.core"
        critical = True

        async def run(self) -> None:
            raise OSError("disk gone")

    sup = Supervisor()
    sup.add(Core())
    await sup.start()
    await asyncio.wait_for(sup.fatal_event.wait(), 10)
    assert isinstance(sup.fatal, OSError)
    assert sup.states["test.core"].phase == "failed"
    assert sup.degraded() == ["test.core is failed: OSError: disk gone"]
    await sup.stop()
