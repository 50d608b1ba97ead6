"""A scriptable cloud reservation system: a real aiohttp server on 127.0.0.1 (contract section 6).

`mode` decides how it answers pushes: "ok", "down" (503), "slow", "429" (with Retry-After),
"500", "garbage" (200 with a body that is not JSON, for pulls), "drop" (close the connection
before answering), "take_then_drop" (record the batch, then drop: the box never hears back).
It keeps every event it took, by id, in the order it took them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from floorlink.daemon.broker import free_port

TOKEN = "cloud-test-token"


class FakeCloud:
    def __init__(self) -> None:
        self.port = free_port()
        self.mode = "ok"
        self.events: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.batches = 0
        self.changes: list[dict[str, Any]] = []  # reservation versions, in change order
        self.cursors_asked: list[str | None] = []
        self.unauthorized = 0
        self._runner: web.AppRunner | None = None
        # Refuse (422) any batch holding an event for which this is true.
        self.refuse: Callable[[dict[str, Any]], bool] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_reservation(self, **r: Any) -> None:
        self.changes.append(r)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/sites/{site}/reservations", self._reservations)
        app.router.add_post("/v1/sites/{site}/events", self._events)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls) -> AsyncIterator[FakeCloud]:
        cloud = cls()
        await cloud.start()
        try:
            yield cloud
        finally:
            await cloud.stop()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _auth(self, request: web.Request) -> bool:
        ok = request.headers.get("Authorization") == f"Bearer {TOKEN}"
        self.unauthorized += not ok
        return ok

    async def _reservations(self, request: web.Request) -> web.StreamResponse:
        if not self._auth(request):
            return web.json_response({"error": "bad token"}, status=401)
        if self.mode == "down":
            return web.json_response({"error": "down"}, status=503)
        if self.mode == "garbage":
            return web.Response(text="<html>oops</html>", content_type="text/html")
        cursor = request.query.get("cursor")
        self.cursors_asked.append(cursor)
        if self.mode == "stuck":  # a cursor that never advances: the same page forever
            return web.json_response({"reservations": self.changes[:2], "cursor": cursor or "0"})
        start = int(cursor) if cursor else 0
        page = self.changes[start : start + 2]
        return web.json_response({"reservations": page, "cursor": str(start + len(page))})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if not self._auth(request):
            return web.json_response({"error": "bad token"}, status=401)
        mode = self.mode
        if mode == "down":
            return web.json_response({"error": "down"}, status=503)
        if mode == "500":
            return web.json_response({"error": "boom"}, status=500)
        if mode == "429":
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "0.2"}
            )
        if mode == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if mode == "slow":
            await asyncio.sleep(0.5)
        body = await request.json()
        events = body["events"]
        if self.refuse is not None and any(self.refuse(e) for e in events):
            return web.json_response({"error": "invalid event"}, status=422)
        assert len(events) <= 500
        self.batches += 1
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs)
        fresh = [e for e in events if e["id"] not in self.events]
        for e in fresh:
            self.events[e["id"]] = e
            self.order.append(e["id"])
        if mode == "take_then_drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if not fresh:
            return web.json_response({"error": "already taken"}, status=409)
        return web.json_response({"taken": len(fresh)})
