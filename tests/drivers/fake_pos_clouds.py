"""Loopback Square and Toast order APIs that answer the way their public references say.

Square ("Orders API: SearchOrders", developer.squareup.com): `POST /v2/orders/search`, Bearer
token and a `Square-Version` header; the sort field must be the date field filtered on (else
400 with an `errors` list); `limit` and an opaque `cursor` page the results, sorted by
`updated_at` ascending.

Toast (doc.toasttab.com, orders API 2.x): `POST /authentication/v1/authentication/login` gives a
token; `GET /config/v2/tables`; `GET /orders/v2/ordersBulk?startDate&endDate&page&pageSize`
(orders *modified* in [startDate, endDate)). Every request needs `Toast-Restaurant-External-ID`.

Both share `mode`: "ok", "429" (with Retry-After: 1 second), "500", "garbage" (200, not JSON),
"slow" (answers after 2 s, past the client's timeout), "drop" (closes the connection).
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from floorlink.daemon.broker import free_port

SQUARE_TOKEN = "square-test-token"
TOAST_ID, TOAST_SECRET, TOAST_RESTAURANT = "toast-client", "toast-secret", "rest-guid-1"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def iso_toast(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def parse(text: str) -> datetime:
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeVendor:
    def __init__(self) -> None:
        self.port = free_port()
        self.mode = "ok"
        self.requests = 0
        self.refused = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def failure(self, request: web.Request) -> web.StreamResponse | None:
        self.requests += 1
        if self.mode == "429":
            return web.json_response(
                {"errors": [{"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED"}]},
                status=429,
                headers={"Retry-After": "1"},
            )
        if self.mode == "500":
            return web.json_response({"errors": [{"code": "INTERNAL_SERVER_ERROR"}]}, status=500)
        if self.mode == "garbage":
            return web.Response(text="<html>upstream error</html>", content_type="text/html")
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return None


class FakeSquare(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, dict[str, Any]] = {}
        self.bodies: list[dict[str, Any]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/orders/search", self._search)

    def put(self, oid: str, at_ms: int, **fields: Any) -> dict[str, Any]:
        """Create or change an order: its version goes up and updated_at moves to `at_ms`."""
        order = self.orders.get(oid)
        if order is None:
            order = self.orders[oid] = {
                "id": oid,
                "location_id": "LOC1",
                "state": "OPEN",
                "version": 0,
                "created_at": iso(at_ms),
                "line_items": [],
            }
        order.update(fields)
        order["version"] += 1
        order["updated_at"] = iso(at_ms)
        if order.get("state") == "COMPLETED":
            order.setdefault("closed_at", iso(at_ms))
        return order

    async def _search(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {SQUARE_TOKEN}":
            self.refused += 1
            return web.json_response(
                {"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED"}]},
                status=401,
            )
        failed = await self.failure(request)
        if failed is not None:
            return failed
        if not request.headers.get("Square-Version"):
            return web.json_response({"errors": [{"code": "MISSING_VERSION"}]}, status=400)
        body = await request.json()
        self.bodies.append(body)
        query = body.get("query", {})
        dt = query.get("filter", {}).get("date_time_filter", {})
        sort = query.get("sort", {}).get("sort_field", "CREATED_AT")
        if "updated_at" in dt and sort != "UPDATED_AT":
            return web.json_response(
                {"errors": [{"code": "BAD_REQUEST", "detail": "sort_field must be UPDATED_AT"}]},
                status=400,
            )
        if body.get("location_ids") != ["LOC1"]:
            return web.json_response({"errors": [{"code": "NOT_FOUND"}]}, status=400)
        start = parse(dt["updated_at"]["start_at"])
        states = set(query.get("filter", {}).get("state_filter", {}).get("states", []))
        found = sorted(
            (
                o
                for o in self.orders.values()
                if parse(o["updated_at"]) >= start and (not states or o["state"] in states)
            ),
            key=lambda o: (o["updated_at"], o["id"]),
        )
        offset = int(base64.b64decode(body["cursor"]).decode()) if body.get("cursor") else 0
        limit = int(body.get("limit", 500))
        page = found[offset : offset + limit]
        answer: dict[str, Any] = {"orders": page} if page else {}
        if offset + limit < len(found):
            answer["cursor"] = base64.b64encode(str(offset + limit).encode()).decode()
        return web.json_response(answer)


class FakeToast(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, str] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.logins = 0
        self.table_reads = 0
        #: the menus API's answer: menus, each with nested menuGroups (guid, name)
        self.menus: list[dict[str, Any]] = []
        self.menu_reads = 0
        self.menus_forbidden = False

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/authentication/v1/authentication/login", self._login)
        app.router.add_get("/config/v2/tables", self._tables)
        app.router.add_get("/orders/v2/ordersBulk", self._orders)
        app.router.add_get("/menus/v2/menus", self._menus)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def put(self, guid: str, at_ms: int, **fields: Any) -> dict[str, Any]:
        order = self.orders.get(guid)
        if order is None:
            order = self.orders[guid] = {
                "guid": guid,
                "entityType": "Order",
                "openedDate": iso_toast(at_ms),
                "voided": False,
                "checks": [],
            }
        order.update(fields)
        order["modifiedDate"] = iso_toast(at_ms)
        return order

    async def _login(self, request: web.Request) -> web.StreamResponse:
        failed = await self.failure(request)
        if failed is not None:
            return failed
        body = await request.json()
        if (body.get("clientId"), body.get("clientSecret")) != (TOAST_ID, TOAST_SECRET) or body.get(
            "userAccessType"
        ) != "TOAST_MACHINE_CLIENT":
            return web.json_response({"status": 401, "message": "bad credentials"}, status=401)
        self.logins += 1
        token = f"tok-{self.logins}"
        self.tokens.add(token)
        return web.json_response(
            {"token": {"tokenType": "Bearer", "accessToken": token, "expiresIn": 86400}}
        )

    def _authorized(self, request: web.Request) -> web.StreamResponse | None:
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.tokens:
            self.refused += 1
            return web.json_response({"status": 401, "message": "token expired"}, status=401)
        if request.headers.get("Toast-Restaurant-External-ID") != TOAST_RESTAURANT:
            return web.json_response({"status": 400, "message": "no restaurant"}, status=400)
        return None

    async def _tables(self, request: web.Request) -> web.StreamResponse:
        refused = self._authorized(request) or await self.failure(request)
        if refused is not None:
            return refused
        self.table_reads += 1
        return web.json_response(
            [{"guid": g, "entityType": "Table", "name": n} for g, n in self.tables.items()]
        )

    async def _menus(self, request: web.Request) -> web.StreamResponse:
        """GET /menus/v2/menus: the restaurant's published menus (403 without menus:read)."""
        refused = self._authorized(request) or await self.failure(request)
        if refused is not None:
            return refused
        if self.menus_forbidden:
            return web.json_response({"status": 403, "message": "missing scope"}, status=403)
        self.menu_reads += 1
        return web.json_response({"restaurantGuid": TOAST_RESTAURANT, "menus": self.menus})

    async def _orders(self, request: web.Request) -> web.StreamResponse:
        refused = self._authorized(request) or await self.failure(request)
        if refused is not None:
            return refused
        start, end = parse(request.query["startDate"]), parse(request.query["endDate"])
        found = sorted(
            (o for o in self.orders.values() if start <= parse(o["modifiedDate"]) < end),
            key=lambda o: (o["modifiedDate"], o["guid"]),
        )
        size, page = int(request.query.get("pageSize", 100)), int(request.query.get("page", 1))
        return web.json_response(found[(page - 1) * size : page * size])
