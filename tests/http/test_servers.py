"""Servers and sections for the shift (issue 11), over the real HTTP API of the real daemon (App,
Mosquitto, a temporary store): the host assigns servers to sections and tables, each server's
tables are published retained on `floorlink/v1/servers/{server}`, covers per server tonight come
from the POS's checks, and the assignment is in the log: a restart rebuilds it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from app_support import AUTH, TOKEN, Client, start_app
from support import Terminal

from floorlink.daemon.api_models import Server
from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.http import HttpSettings, make_app

ROWS = "\n".join(
    f'[[tables]]\nid = "{t}"\nseats = 4\nsection = "{sec}"\n'
    for t, sec in [("1", "main"), ("2", "main"), ("3", "main"), ("P1", "patio"), ("P2", "patio")]
)


class Servers:
    """A POS's view of `floorlink/v1/servers/+`: server -> payload (None once cleared)."""

    def __init__(self, broker: EmbeddedBroker) -> None:
        self.client = aiomqtt.Client("127.0.0.1", broker.port, identifier="test-servers")
        self.seen: dict[str, Any] = {}
        self.changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Servers:
        await self.client.__aenter__()
        await self.client.subscribe("floorlink/v1/servers/+", qos=1)
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        await self.client.__aexit__(None, None, None)

    async def _pump(self) -> None:
        async for msg in self.client.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else b""
            self.seen[str(msg.topic).rsplit("/", 1)[1]] = json.loads(payload) if payload else None
            async with self.changed:
                self.changed.notify_all()

    async def wait(self, server: str, value: Any) -> None:
        async def until() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: self.seen.get(server, "?") == value)

        await asyncio.wait_for(until(), 10)


@pytest.fixture
async def shift(tmp_path: Path, broker: EmbeddedBroker) -> AsyncIterator[tuple[App, Client]]:
    app = await start_app(tmp_path / "app", broker, ROWS)
    client = TestClient(
        TestServer(make_app(app, HttpSettings(staff_token=TOKEN)), host="127.0.0.1")
    )
    await client.start_server()
    yield app, client
    await client.close()
    if app.store_open:  # the test restarts the daemon on the same store
        await app.stop()


async def listed(client: Client) -> dict[str, Server]:
    body = await (await client.get("/api/v1/servers", headers=AUTH)).json()
    return {s["server"]: Server.model_validate(s) for s in body}


async def test_servers_are_assigned_published_retained_and_counted(
    shift: tuple[App, Client], broker: EmbeddedBroker, tmp_path: Path
) -> None:
    app, client = shift
    async with Servers(broker) as pos:
        resp = await client.post(
            "/api/v1/servers", json={"server": "ana", "sections": ["patio"], "tables": ["1"]},
            headers=AUTH,
        )  # fmt: skip
        assert resp.status == 200, await resp.text()
        assert await resp.json() == {"server": "ana", "tables": ["1", "P1", "P2"]}
        await pos.wait("ana", {"server": "ana", "tables": ["1", "P1", "P2"], "sections": ["patio"]})
        # a table has one server at a time: P1 moves to ben, and ana's message follows
        await client.post("/api/v1/servers", json={"server": "ben", "tables": ["P1"]}, headers=AUTH)
        await pos.wait("ben", {"server": "ben", "tables": ["P1"], "sections": []})
        await pos.wait("ana", {"server": "ana", "tables": ["1", "P2"], "sections": ["patio"]})

        # covers tonight come from the POS's checks, by the server it names
        async with Terminal(broker, "bar-1") as term:
            for check, table, guests in (("10", "1", 3), ("11", "P2", 2), ("12", "P1", 4)):
                server = "ben" if table == "P1" else "ana"
                eid = await term.send(
                    "check.opened", check=check, table=table, guests=guests, server=server
                )
                assert (await term.ack(eid))["result"] == "accepted"
        servers = await listed(client)
        assert (servers["ana"].covers, servers["ana"].checks, servers["ana"].open_checks) == (
            5,
            2,
            2,
        )
        assert servers["ben"].covers == 4 and servers["ben"].tables == ["P1"]

        # the shift ends for ben: the retained message is cleared
        await client.post("/api/v1/servers", json={"server": "ben"}, headers=AUTH)
        await pos.wait("ben", None)
        assert (await listed(client))["ben"].tables == []  # still listed: covers tonight

        # refused with a reason
        for body, status in (
            ({"server": "ana", "tables": ["99"]}, 404),
            ({"server": "ana", "sections": ["terrace"]}, 404),
            ({"server": "a/b", "tables": ["1"]}, 422),
            ({"tables": ["1"]}, 422),
        ):
            resp = await client.post("/api/v1/servers", json=body, headers=AUTH)
            assert resp.status == status, (body, await resp.text())
            assert (await resp.json())["error"]
        assert (await client.post("/api/v1/servers", json={"server": "x"})).status == 401

    # logged and replayable: a restart on the same store rebuilds the assignment
    await app.stop()
    again = App(app.config)
    await again.start()
    await again.wait_ready(20)
    try:
        assert again.engine.views["servers"] == app.engine.views["servers"]
        assert again.engine.views["servers"]["ana"]["tables"] == ["1", "P2"]
    finally:
        await again.stop()
