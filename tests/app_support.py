"""The real daemon in-process for the HTTP tests: App on a temporary store, a real Mosquitto."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.core.state import Input
from floorlink.daemon.engine import Committed

PIN = "246813"
TOKEN = "staff-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


async def start_app(
    workdir: Path, broker: EmbeddedBroker, tables: str | int = 6, extra: str = ""
) -> App:
    """An App from a config like the daemon's (tables 1..n, or the given [[tables]] rows), started
    and ready (store open, broker connected)."""
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test set-up, once
    count = tables if isinstance(tables, int) else 0
    rows = "" if isinstance(tables, int) else tables
    path = write_config(
        workdir / "floorlink.toml", broker.port, free_port(), count, extra + "\n" + rows
    )
    app = App(load_config(path))
    await app.start()
    await app.wait_ready(20)
    return app


async def send(
    app: App, itype: str, at: int, data: dict[str, Any], source: str = "test"
) -> Committed:
    """One input into the real engine, as an input source submits it."""
    return await app.engine.submit(Input(source, uuid.uuid4().hex, itype, at, data))
