"""A loopback resOS: answers the way "resOS API (v1.2)" (documenter.getpostman.com/view/3308304/
SzzehLGp) says. `GET /v1/bookings?fromDateTime&toDateTime&limit&skip` -> a JSON array;
`PUT /v1/bookings/{id}` changes one; the API key is the Basic-auth user name with no password;
every answer carries `Retry-After` in milliseconds, and over the rate limit the answer is 429.

`mode`: "ok", "429" (every request, Retry-After 200 ms), "500", "garbage" (200, not JSON),
"slow" (answers after 2 s: past the client's timeout), "drop" (closes the connection).
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from typing import Any

from aiohttp import web

from floorlink.daemon.broker import free_port

KEY = "resos-test-key"


class FakeResos:
    def __init__(self) -> None:
        self.port = free_port()
        self.mode = "ok"
        self.bookings: dict[str, dict[str, Any]] = {}
        self.puts: list[tuple[str, dict[str, Any]]] = []
        self.gets: list[dict[str, str]] = []
        self.unauthorized = 0
        self.limited = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def book(self, bid: str, **fields: Any) -> None:
        self.bookings[bid] = {"_id": bid, **fields}

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/bookings", self._list)
        app.router.add_put("/v1/bookings/{id}", self._put)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _gate(self, request: web.Request) -> web.StreamResponse | None:
        expected = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
        if request.headers.get("Authorization") != expected:
            self.unauthorized += 1
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.mode == "429":
            self.limited += 1
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": "200"}
            )
        if self.mode == "500":
            return web.json_response({"error": "boom"}, status=500)
        if self.mode == "garbage":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return None

    async def _list(self, request: web.Request) -> web.StreamResponse:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        q = dict(request.query)
        self.gets.append(q)
        start = datetime.fromisoformat(q["fromDateTime"])
        end = datetime.fromisoformat(q["toDateTime"])
        inside = [
            b
            for b in self.bookings.values()
            if start <= datetime.fromisoformat(b["dateTime"]) <= end
        ]
        inside.sort(key=lambda b: (b["dateTime"], b["_id"]))
        skip, limit = int(q.get("skip", 0)), int(q.get("limit", 100))
        return web.json_response(inside[skip : skip + limit], headers={"Retry-After": "1000"})

    async def _put(self, request: web.Request) -> web.StreamResponse:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        bid = request.match_info["id"]
        if bid not in self.bookings:
            return web.json_response({"error": "not found"}, status=404)
        body = await request.json()
        self.puts.append((bid, body))
        self.bookings[bid].update(body)
        return web.json_response(bid, headers={"Retry-After": "1000"})
