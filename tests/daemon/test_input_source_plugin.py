"""A new input source is one module and one registry line: here a dummy registered from this
test module, configured under `[[inputs]]`, validated against its own options, supervised, and its
inputs decided by the same engine as MQTT's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.component import Component
from floorlink.daemon.config import ConfigError, load_config
from floorlink.daemon.core.state import Input
from floorlink.daemon.plugins import INPUT_SOURCES, Options, Plugin
from floorlink.daemon.sources import SourceContext


class DummyOptions(Options):
    table: str
    check: str = "900"


class DummySource(Component):
    def __init__(self, name: str, options: DummyOptions, context: SourceContext) -> None:
        self.name = f"input.dummy.{name}"
        self.source = f"dummy:{name}"
        self.options = options
        self.context = context
        self.results: list[str] = []
        self.done = asyncio.Event()

    async def run(self) -> None:
        at = self.context.clock()
        data = {"check": self.options.check, "table": self.options.table}
        for _ in range(2):  # the second is a redelivery: answered duplicate
            fut = self.context.submit(Input(self.source, "e-1", "check.opened", at, data))
            self.results.append((await fut).outcome.result)
        self.done.set()
        await asyncio.Event().wait()


@pytest.fixture
def dummy_plugin() -> Iterator[object]:
    plugin: Plugin[object] = Plugin("dummy", DummyOptions, DummySource)
    INPUT_SOURCES.register(plugin)
    yield plugin
    INPUT_SOURCES.unregister("dummy")


def test_options_are_validated_under_the_entry(tmp_path: Path, dummy_plugin: object) -> None:
    extra = '[[inputs]]\nkind = "dummy"\nname = "bar"\ntable = 3\n'
    path = write_config(tmp_path / "floorlink.toml", 1883, 8080, extra=extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors == ["inputs[0].table: expected a string, got 3"]
    bad_kind = '[[inputs]]\nkind = "nope"\nname = "bar"\n'
    path = write_config(tmp_path / "floorlink.toml", 1883, 8080, extra=bad_kind)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.errors[0].startswith("inputs[0].kind: expected one of ")


async def test_a_registered_source_feeds_the_floor(
    tmp_path: Path, broker: EmbeddedBroker, dummy_plugin: object
) -> None:
    extra = '[[inputs]]\nkind = "dummy"\nname = "bar"\ntable = "3"\n'
    path = write_config(tmp_path / "floorlink.toml", broker.port, free_port(), extra=extra)
    config = load_config(path)
    app = App(config)
    await app.start()
    try:
        source = app.sources[0]
        assert isinstance(source, DummySource)
        await asyncio.wait_for(source.done.wait(), 10)
        assert source.results == ["accepted", "duplicate"]
        assert app.engine.tables["3"]["status"] == "seated"
        components = app.status()["components"]
        assert components["input.dummy.bar"]["state"] == "up"
        json.dumps(app.status())
    finally:
        await app.stop()
