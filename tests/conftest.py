"""Shared fixtures: a real Mosquitto on a free loopback port, the daemon as a real process, and
the daemon in-process (`floor`) with clients of its HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from app_support import PIN, TOKEN, Client, MakeClient, start_app
from support import Daemon

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.http import HttpSettings, make_app


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(tmp_path / "mosquitto")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def daemon(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "daemon", broker)
    d.start()
    yield d
    d.kill()


@pytest.fixture
async def floor(tmp_path: Path, broker: EmbeddedBroker) -> AsyncIterator[App]:
    """The daemon: tables 1..6 (3 and 6 seat 2, the rest 4), no cloud, no pager."""
    app = await start_app(tmp_path / "app", broker)
    yield app
    await app.stop()


@pytest.fixture
async def make_client(floor: App) -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(**settings: Any) -> Client:
        options: dict[str, Any] = {"staff_token": TOKEN, "staff_pin": PIN} | settings
        client = TestClient(TestServer(make_app(floor, HttpSettings(**options)), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()
