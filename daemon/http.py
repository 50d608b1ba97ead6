"""The local HTTP API (contract section 5), the live stream, and the host-stand page.

Everything here talks to the daemon through `FloorService` only. Errors are always JSON
`{"error": "<what a host can read>"}`; a failing handler is logged and answered 500, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, TypeVar

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from floorlink.daemon.openapi import openapi_document
from floorlink.daemon.service import (
    AddToWaitlist,
    BlockTable,
    ClearTable,
    CommandResult,
    FloorService,
    HostCommand,
    MarkLeft,
    PageParty,
    SeatFromWaitlist,
    SeatParty,
    UnblockTable,
)

log = structlog.get_logger(__name__)

MAX_BODY = 64 * 1024
PING_S = 15.0
RETRY_MS = 2000  # EventSource reconnect delay after the daemon went away
AUTH_FAILURES = Counter(
    "floorlink_http_auth_failures_total", "Requests refused for a missing or wrong token or PIN"
)
B = TypeVar("B", bound="Body")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """What the HTTP layer needs from the config; `metrics_handler` replaces the default
    /metrics (prometheus_client's global registry) when the daemon keeps its own."""

    staff_token: str
    open_reads: bool = False
    staff_pin: str | None = None
    pin_attempts_per_minute: int = 5
    metrics_handler: Handler | None = None


# ---- request bodies ------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _integral(value: Any) -> Any:
    """JSON has one number type: 2.0 is the integer 2 (as JSON Schema says), 2.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_integral)]
TableId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"\S")]


class SeatBody(Body):
    party_size: Count = Field(ge=1, le=100)
    reservation: str | None = Field(None, min_length=1, max_length=64)
    waitlist: str | None = Field(None, min_length=1, max_length=64)
    name: Name | None = None


class BlockBody(Body):
    reason: str | None = Field(None, max_length=200)


class WaitlistBody(Body):
    name: Name
    party_size: Count = Field(ge=1, le=100)
    pager: Annotated[int, Field(ge=1, le=4095), BeforeValidator(_integral)] | None = None
    phone: str | None = Field(None, max_length=32)
    notes: str | None = Field(None, max_length=500)


class SeatEntryBody(Body):
    table: TableId


class PinBody(Body):
    pin: str = Field(min_length=1, max_length=16)


def same(given: str, expected: str) -> bool:
    """Constant-time compare; on bytes, because compare_digest refuses non-ASCII str."""
    return hmac.compare_digest(given.encode(), expected.encode())


def error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


async def read_body(request: web.Request, model: type[B], optional: bool = False) -> B:
    """The JSON body as `model`, or an HTTPException carrying a readable JSON error."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "This request needs a JSON body."}),
            content_type="application/json",
        )
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "The body is not valid JSON."}),
            content_type="application/json",
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "body"
            parts.append(f"{where}: {err['msg'].removeprefix('Value error, ').lower()}")
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": "; ".join(parts)}), content_type="application/json"
        ) from None


ERROR_STATUSES = frozenset({404, 409, 422, 501, 503})


def refusal(result: CommandResult) -> web.Response:
    """The service's refusal as a documented status: 404, 409, 422, 501 or 503 pass through;
    any other 4xx is 409 (not possible now); anything else is a logged 500."""
    message = result.error or "That did not work."
    if result.status in ERROR_STATUSES:
        return error(result.status, message)
    if 400 <= result.status < 500:
        return error(409, message)
    log.error("service refused with an unexpected status", status=result.status, error=message)
    return error(500, "Floorlink hit an internal error; it has been logged.")


# ---- the application -----------------------------------------------------------------------


class Api:
    def __init__(self, service: FloorService, settings: HttpSettings) -> None:
        self.service = service
        self.settings = settings
        self._pin_attempts: dict[str, deque[float]] = defaultdict(deque)
        self._streams: set[asyncio.Task[Any]] = set()

    # auth

    def _authorized(self, request: web.Request, allow_query: bool = False) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token and allow_query:
            token = request.query.get("token", "")
        expected = self.settings.staff_token
        return bool(token) and bool(expected) and same(token, expected)

    def _require(self, request: web.Request, write: bool, allow_query: bool = False) -> None:
        if not write and self.settings.open_reads:
            return
        if not self._authorized(request, allow_query):
            AUTH_FAILURES.inc()
            raise web.HTTPUnauthorized(
                text=json.dumps({"error": "A staff PIN or token is needed for this."}),
                content_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="floorlink"'},
            )

    # reads

    async def tables(self, request: web.Request) -> web.Response:
        self._require(request, write=False)
        return web.json_response(self.service.tables())

    async def waitlist(self, request: web.Request) -> web.Response:
        self._require(request, write=False)
        return web.json_response(self.service.waitlist())

    async def reservations(self, request: web.Request) -> web.Response:
        self._require(request, write=False)
        return web.json_response(self.service.reservations())

    async def status(self, request: web.Request) -> web.Response:
        self._require(request, write=False)
        return web.json_response(self.service.status())

    async def healthz(self, request: web.Request) -> web.Response:
        status = self.service.status()
        ready = bool(status.get("ready"))
        body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
        if not ready:
            body["reasons"] = status.get("reasons", [])
        if status.get("degraded"):
            body["degraded"] = status["degraded"]  # edge parts down: named, yet still 200
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        if self.settings.metrics_handler is not None:
            return await self.settings.metrics_handler(request)
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document(self.settings.open_reads))

    # writes

    async def _on_table(self, tid: str, cmd: HostCommand) -> web.Response:
        """Run a table command; answer with the table as it is now (layout fields included),
        so every table write answers the same shape whatever the service's body was."""
        result = await self.service.command(cmd)
        if not result.ok:
            return refusal(result)
        table = next((t for t in self.service.tables() if t.get("table") == tid), None)
        return web.json_response(table if table is not None else result.body)

    async def _on_entry(
        self, eid: str | None, cmd: HostCommand, created: bool = False
    ) -> web.Response:
        """Run a waitlist command; answer with the entry as it is now."""
        result = await self.service.command(cmd)
        if not result.ok:
            return refusal(result)
        eid = eid or result.body.get("id")
        entry = next((e for e in self.service.waitlist() if e.get("id") == eid), None)
        body = entry if entry is not None else result.body
        return web.json_response(body, status=201 if created else 200)

    async def seat(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        b = await read_body(request, SeatBody)
        tid = request.match_info["id"]
        return await self._on_table(
            tid, SeatParty(tid, b.party_size, b.reservation, b.waitlist, b.name)
        )

    async def clear(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        tid = request.match_info["id"]
        return await self._on_table(tid, ClearTable(tid))

    async def block(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        body = await read_body(request, BlockBody, optional=True)
        tid = request.match_info["id"]
        return await self._on_table(tid, BlockTable(tid, body.reason))

    async def unblock(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        tid = request.match_info["id"]
        return await self._on_table(tid, UnblockTable(tid))

    async def add_waiting(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        b = await read_body(request, WaitlistBody)
        cmd = AddToWaitlist(b.name, b.party_size, b.pager, b.phone, b.notes)
        return await self._on_entry(None, cmd, created=True)

    async def page(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        eid = request.match_info["id"]
        return await self._on_entry(eid, PageParty(eid))

    async def seat_entry(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        body = await read_body(request, SeatEntryBody)
        eid = request.match_info["id"]
        return await self._on_entry(eid, SeatFromWaitlist(eid, body.table))

    async def left(self, request: web.Request) -> web.Response:
        self._require(request, write=True)
        eid = request.match_info["id"]
        return await self._on_entry(eid, MarkLeft(eid))

    async def session(self, request: web.Request) -> web.Response:
        """Trade the staff PIN for the token, rate-limited per client address."""
        peer = request.remote or "?"
        now = time.monotonic()
        for addr in [a for a, q in self._pin_attempts.items() if not q or now - q[-1] > 60]:
            del self._pin_attempts[addr]  # forget quiet addresses, so the map stays small
        attempts = self._pin_attempts[peer]
        while attempts and now - attempts[0] > 60:
            attempts.popleft()
        if len(attempts) >= self.settings.pin_attempts_per_minute:
            return error(
                429, "Too many PIN attempts. Wait a minute and try again.", **{"Retry-After": "60"}
            )
        body = await read_body(request, PinBody)
        pin = self.settings.staff_pin
        if pin is None:
            return error(404, "No staff PIN is set on this box: ask for the staff token.")
        if not same(body.pin, pin):
            attempts.append(now)
            AUTH_FAILURES.inc()
            return error(401, "That PIN is not right.")
        attempts.clear()
        return web.json_response({"token": self.settings.staff_token})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: a snapshot, then every change; EventSource reconnects by itself.

        One `anext` is kept pending across pings: cancelling it on a ping timeout would close
        the service's generator. It starts before the snapshot, so no change falls in between
        (a change seen twice is harmless: every event carries the whole object or list)."""
        self._require(request, write=False, allow_query=True)
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await resp.prepare(request)
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        changes = aiter(self.service.live())
        pending: asyncio.Future[tuple[str, Any]] = asyncio.ensure_future(anext(changes))
        try:
            await asyncio.sleep(0)  # let the subscription register before the snapshot
            snapshot = {
                "tables": self.service.tables(),
                "waitlist": self.service.waitlist(),
                "reservations": self.service.reservations(),
                "status": self.service.status(),
            }
            await resp.write(f"retry: {RETRY_MS}\n".encode() + _sse("snapshot", snapshot))
            while True:
                done, _ = await asyncio.wait({pending}, timeout=PING_S)
                if not done:
                    await resp.write(b": ping\n\n")
                    continue
                kind, payload = pending.result()
                pending = asyncio.ensure_future(anext(changes))
                await resp.write(_sse(kind, payload))
        except (ConnectionResetError, asyncio.CancelledError, StopAsyncIteration):
            pass  # the tablet went away, the daemon is stopping, or the service ended the feed
        except Exception:
            log.exception("live stream failed", path=request.path)
        finally:
            pending.cancel()
            if task is not None:
                self._streams.discard(task)
            with contextlib.suppress(Exception):  # RuntimeError while the cancel is under way
                await changes.aclose()  # type: ignore[attr-defined]
        return resp

    async def close_streams(self, app: web.Application) -> None:
        """On shutdown: end the live streams, so a stop is not held up by open tablets."""
        for task in list(self._streams):
            task.cancel()

    async def page_html(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=_static("index.html"), content_type="text/html", charset="utf-8")


def _sse(kind: str, payload: Any) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), default=str)
    return f"event: {kind}\ndata: {data}\n\n".encode()


def _static(name: str) -> bytes:
    return (resources.files("floorlink.daemon") / "static" / name).read_bytes()


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as JSON a host can read; unexpected failures logged and answered 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        messages = {
            404: "There is nothing at this address.",
            405: "This address does not take that method.",
            413: "The request is too large.",
        }
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return error(exc.status, messages.get(exc.status, exc.reason), **headers)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("http handler failed", path=request.path)
        return error(500, "Floorlink hit an internal error; it has been logged.")


def make_app(service: FloorService, settings: HttpSettings) -> web.Application:
    api = Api(service, settings)
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY)
    app.on_shutdown.append(api.close_streams)
    r = app.router
    r.add_get("/", api.page_html)
    r.add_get("/healthz", api.healthz)
    r.add_get("/metrics", api.metrics)
    r.add_get("/api/v1/openapi.json", api.openapi)
    r.add_get("/api/v1/tables", api.tables)
    r.add_post("/api/v1/tables/{id}/seat", api.seat)
    r.add_post("/api/v1/tables/{id}/clear", api.clear)
    r.add_post("/api/v1/tables/{id}/block", api.block)
    r.add_post("/api/v1/tables/{id}/unblock", api.unblock)
    r.add_get("/api/v1/waitlist", api.waitlist)
    r.add_post("/api/v1/waitlist", api.add_waiting)
    r.add_post("/api/v1/waitlist/{id}/page", api.page)
    r.add_post("/api/v1/waitlist/{id}/seat", api.seat_entry)
    r.add_post("/api/v1/waitlist/{id}/left", api.left)
    r.add_get("/api/v1/reservations", api.reservations)
    r.add_get("/api/v1/status", api.status)
    r.add_get("/api/v1/stream", api.stream, allow_head=False)
    r.add_post("/api/v1/session", api.session)
    static = resources.files("floorlink.daemon") / "static"
    r.add_static("/static/", str(static), append_version=False)
    return app
