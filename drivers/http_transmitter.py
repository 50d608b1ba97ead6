"""A simulated HTTP pager transmitter (the Restaurant Paging Service's `/page`) on a loopback
port, for the demo, the tests and the bench.

It answers as `src/webserver.cpp` does: 200 with the parameters echoed as `key: value` lines,
400 `Invalid parameters supplied` without a pager number. `mode` (or the next entry of `script`,
one per request) adds the failures a box or a proxy in front of it shows: `nak` (400), `busy`
(503), `full` (429), `silent` (never answers).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from floorlink.drivers.pagers.base import Page
from floorlink.drivers.pagers.rps_http import reply


class HttpTransmitter:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.script: list[str] = []
        self.pages: list[Page] = []
        self.queries: list[dict[str, str]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()
        self._hang = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_get("/page", self._page)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server: Any = site._server
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._hang.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._hang = asyncio.Event()

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="RPS")

    async def _page(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        mode = self.script.pop(0) if self.script else self.mode
        if mode == "silent":
            with contextlib.suppress(asyncio.CancelledError):
                await self._hang.wait()
            return web.Response(status=503)
        try:
            page = Page(int(query["pager_number"]), int(query.get("alert_type", "1")))
        except (KeyError, ValueError):
            return web.Response(status=400, text="Invalid parameters supplied")
        status, body = reply(page, mode)
        if status == 200:
            self.queries.append(query)
            self.pages.append(page)
            async with self._arrived:
                self._arrived.notify_all()
        return web.Response(status=status, text=body)

    async def wait_pages(self, count: int, timeout: float = 10) -> list[Page]:
        async def until() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.pages) >= count)

        await asyncio.wait_for(until(), timeout)
        return self.pages
