"""The HTTP app on 127.0.0.1 in a background thread with its own event loop.

For callers that block (schemathesis' CLI, Playwright's sync API): they must not share the loop
the server runs on. Changes to the fake floor go through `call`, on the server's loop, because
the floor's live queues belong to it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from fake_service import FakeFloor

from floorlink.daemon.broker import free_port
from floorlink.daemon.http import HttpSettings, make_app

T = TypeVar("T")


class ThreadServer:
    """make_app(floor, settings) served until the `with` block ends."""

    def __init__(self, floor: FakeFloor, settings: HttpSettings) -> None:
        self.floor = floor
        self.settings = settings
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, name="http-under-test", daemon=True)
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) on the server's loop; returns its result."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.started.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.runner = web.AppRunner(make_app(self.floor, self.settings), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        assert self.started.wait(10), "the HTTP server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.runner is not None
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
