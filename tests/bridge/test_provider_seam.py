"""The provider seam with the default `floorlink` provider: the pusher and puller are supervised
components whose health says when the cloud is down, the contract cloud's table names go through
the aliases, and a name matching no table is counted and shown, never guessed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fake_cloud import TOKEN, FakeCloud
from support import write_config
from test_cloud import res

from floorlink.bridge.client import FloorlinkProvider
from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    c = FakeCloud()
    await c.start()
    yield c
    await c.stop()


async def until(predicate: Callable[[], Any], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def test_floorlink_is_the_default_provider_supervised_with_health(
    tmp_path: Path, broker: EmbeddedBroker, cloud: FakeCloud
) -> None:
    cloud.add_reservation(**res("r-1", 10, "Table Two"))
    cloud.add_reservation(**res("r-2", 10, "Terrace"))
    extra = (
        f'[cloud]\nurl = "{cloud.url}"\ntoken = "{TOKEN}"\n'
        "pull_interval_seconds = 0.2\ntimeout_seconds = 0.5\n"
    )
    path = write_config(
        tmp_path / "floorlink.toml",
        broker.port,
        free_port(),
        extra=extra,
        aliases={"2": ["Table Two"]},
    )
    app = App(load_config(path))
    await app.start()
    try:
        assert app.bridge is not None and isinstance(app.bridge.provider, FloorlinkProvider)
        await until(lambda: app.engine.tables["2"]["status"] == "reserved")
        status = app.status()
        assert status["provider"] == {"name": "floorlink", "cannot_supply": []}
        assert status["rejections"]["cloud:floorlink"]["count"] == 1
        assert "'Terrace' matches no table" in status["rejections"]["cloud:floorlink"]["last"]
        components = status["components"]
        assert components["cloud.pull"]["up"] and components["cloud.push"]["state"] == "up"
        cloud.mode = "down"
        await until(lambda: not app.status()["components"]["cloud.pull"]["up"])
        assert app.status()["cloud"] == "down"
        assert any(line.startswith("cloud.pull: ") for line in app.status()["degraded"])
        cloud.mode = "ok"
        await until(lambda: app.status()["components"]["cloud.pull"]["up"])
    finally:
        await app.stop()
