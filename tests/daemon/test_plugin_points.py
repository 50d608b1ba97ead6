"""Each plug-in point takes a new implementation from a test module, with its own validated
options, and no other file touched: a pager protocol and a reservation provider (input sources:
test_input_source_plugin.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field
from support import write_config

from floorlink.bridge.provider import Page, ProviderContext
from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import ConfigError, load_config
from floorlink.daemon.plugins import PAGER_PROTOCOLS, RESERVATION_PROVIDERS, Options, Plugin
from floorlink.drivers.pagers.lrs import LrsProtocol

# ---- a pager protocol ------------------------------------------------------------------------


class EchoOptions(Options):
    system: Annotated[int, Field(ge=0, le=7)] = 0


class EchoProtocol(LrsProtocol):
    """The lrs frame under another name: what matters here is the plumbing."""


def make_echo(options: EchoOptions) -> EchoProtocol:
    return EchoProtocol(0, options.system)


@pytest.fixture
def echo_protocol() -> Iterator[None]:
    PAGER_PROTOCOLS.register(Plugin("echo", EchoOptions, make_echo))
    yield
    PAGER_PROTOCOLS.unregister("echo")


def pager_config(tmp_path: Path, broker_port: int, options: str) -> Path:
    extra = f'[pager]\nport = "/dev/null-floorlink-test"\nprotocol = "echo"\n{options}'
    return write_config(tmp_path / "floorlink.toml", broker_port, free_port(), extra=extra)


def test_a_pager_protocol_is_one_registration(
    tmp_path: Path, broker: EmbeddedBroker, echo_protocol: None
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(pager_config(tmp_path, broker.port, "system = 9\n"))
    assert err.value.errors == ["pager.system: expected an integer <= 7, got 9"]
    with pytest.raises(ConfigError) as err:
        load_config(pager_config(tmp_path, broker.port, "restaurant_id = 1\n"))
    assert err.value.errors == ["pager.restaurant_id: unknown key"]  # lrs's key, not echo's
    app = App(load_config(pager_config(tmp_path, broker.port, "system = 5\n")))
    assert app.sender is not None and isinstance(app.sender.protocol, EchoProtocol)


# ---- a reservation provider ------------------------------------------------------------------


class ListOptions(Options):
    party_size: Annotated[int, Field(ge=1)] = 2


class ListProvider:
    """A reservation system that has one booking, in 10 minutes, at table 2."""

    name = "list"
    cannot_supply = frozenset({"birthday"})
    min_interval_s = 0.1

    def __init__(self, options: ListOptions, context: ProviderContext) -> None:
        self.options = options
        self.pushed: list[Mapping[str, Any]] = []
        self.pulled = asyncio.Event()

    async def pull(self, cursor: str | None) -> Page:
        self.pulled.set()
        if cursor == "1":
            return Page([], "1")
        at = (datetime.now(UTC) + timedelta(minutes=10)).isoformat(timespec="seconds")
        booking = {
            "id": "b-1",
            "status": "confirmed",
            "time": at,
            "party_size": self.options.party_size,
            "table": "2",
            "guest": {"name": "Lindqvist"},
        }
        return Page([booking], "1")

    async def push(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.pushed.extend(events)

    async def close(self) -> None:
        pass


@pytest.fixture
def list_provider() -> Iterator[None]:
    RESERVATION_PROVIDERS.register(Plugin("list", ListOptions, ListProvider))
    yield
    RESERVATION_PROVIDERS.unregister("list")


async def test_a_reservation_provider_is_one_registration(
    tmp_path: Path, broker: EmbeddedBroker, list_provider: None
) -> None:
    def cloud(extra: str) -> str:
        return f'[cloud]\nprovider = "list"\nurl = "https://list.invalid"\ntoken = "t"\n{extra}'

    bad = write_config(
        tmp_path / "floorlink.toml", broker.port, free_port(), extra=cloud("party_size = 0\n")
    )
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert err.value.errors == ["cloud.party_size: expected an integer >= 1, got 0"]
    path = write_config(
        tmp_path / "floorlink.toml", broker.port, free_port(), extra=cloud("party_size = 3\n")
    )
    app = App(load_config(path))
    held = asyncio.Event()
    app.engine.subscribe(
        lambda batch: held.set() if app.engine.tables["2"]["status"] == "reserved" else None
    )
    await app.start()
    try:
        await asyncio.wait_for(held.wait(), 20)  # the puller runs by itself; the hold follows
        assert [r["id"] for r in app.reservations()] == ["b-1"]
    finally:
        await app.stop()
