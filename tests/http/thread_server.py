"""The real daemon (App, real Mosquitto, a temporary store) and its HTTP API in a background
thread with its own event loop.

For callers that block (schemathesis' CLI, Playwright's sync API): they must not share the loop
the daemon runs on. Inputs and other calls into the App go through `call` / `run`, on its loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from app_support import start_app

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.http import HttpSettings, make_app, runner_options

T = TypeVar("T")


class ThreadServer:
    """App(config) and make_app(app, settings) served until the `with` block ends."""

    def __init__(
        self,
        workdir: Path,
        broker: EmbeddedBroker,
        settings: HttpSettings,
        tables: str | int = 6,
        extra: str = "",
    ) -> None:
        self.workdir = workdir
        self.broker = broker
        self.settings = settings
        self.tables = tables
        self.extra = extra
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="daemon-under-test", daemon=True)
        self.runner: web.AppRunner | None = None
        self._app: App | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app(self) -> App:
        assert self._app is not None
        return self._app

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) on the daemon's loop; returns its result."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the daemon's loop; returns its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as exc:  # reported to the test thread
            self.failed = exc
            self.started.set()
            return
        self.started.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self._app = await start_app(self.workdir, self.broker, self.tables, self.extra)
        self.runner = web.AppRunner(
            make_app(self._app, self.settings), access_log=None, **runner_options(self.settings)
        )
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self._app is not None:
            await self._app.stop()

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        assert self.started.wait(30), "the daemon did not start"
        if self.failed is not None:
            raise self.failed
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
