"""The local HTTP API (contract section 5), the live stream, and the host-stand page.

Everything here talks to the daemon through `FloorService` only. The routes, their auth and their
bodies come from daemon/routes.py; the models from daemon/api_models.py. Errors are always JSON
`{"error": "<what a host can read>"}`. A client's mistake (an undecodable token, path or body, a
body nested too deep, a body that never finishes) is a 4xx, never a 5xx; a failing handler is
logged and answered 500, never a crash. Idle and slow connections are closed
(`HttpSettings.idle_timeout`, `body_timeout`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from pydantic import BaseModel, ValidationError

from floorlink.daemon import api_models as m
from floorlink.daemon.logs import Throttle
from floorlink.daemon.openapi import openapi_document
from floorlink.daemon.pairing import PairingFull, Pairings
from floorlink.daemon.pinlimit import PinLimiter
from floorlink.daemon.routes import PARAMS, QUERY, QUERY_MAX, ROUTES, Route
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
PIN_FAILURES = Counter("floorlink_http_pin_failures_total", "Wrong PINs, from any client")
PIN_LOCKOUTS = Counter(
    "floorlink_http_pin_lockouts_total", "Times a client was locked out after wrong PINs"
)
PIN_LOCKED = Gauge("floorlink_http_pin_clients_locked", "Clients locked out for wrong PINs now")
PAIRED = Gauge("floorlink_http_paired_devices", "Devices paired with the host stand")
PAIRINGS = Counter("floorlink_http_pairings_total", "Devices paired or revoked", ["action"])
BAD_REQUESTS = Counter(
    "floorlink_http_bad_requests_total", "Requests refused as unreadable, by reason", ["reason"]
)
WARNINGS = Throttle()  # a flood of hostile requests must not flood the journal
B = TypeVar("B", bound=BaseModel)
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
    pairings: Pairings = field(default_factory=Pairings)
    idle_timeout: float = 15.0  # a connection with no request in progress (aiohttp keep-alive)
    body_timeout: float = 10.0  # a request body that does not arrive


def same(given: str, expected: str) -> bool:
    """Constant-time compare; on bytes, because compare_digest refuses non-ASCII str. A value
    that cannot be encoded (lone surrogates from undecodable header bytes) is simply wrong."""
    try:
        return hmac.compare_digest(given.encode(), expected.encode())
    except UnicodeError:
        return False


def error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _refuse(cls: type[web.HTTPException], message: str, **headers: str) -> web.HTTPException:
    return cls(
        text=json.dumps({"error": message}), content_type="application/json", headers=headers
    )


async def read_body(
    request: web.Request, model: type[B], optional: bool = False, timeout: float = 10.0
) -> B:
    """The JSON body as `model`, or an HTTPException carrying a readable JSON error."""
    try:
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError:
        BAD_REQUESTS.labels("slow_body").inc()
        raise _refuse(web.HTTPRequestTimeout, "The body did not arrive in time.") from None
    if not raw.strip():
        if optional:
            return model()
        raise _refuse(web.HTTPBadRequest, "This request needs a JSON body.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        BAD_REQUESTS.labels("not_json").inc()
        raise _refuse(web.HTTPBadRequest, "The body is not valid JSON.") from None
    except RecursionError:
        BAD_REQUESTS.labels("too_deep").inc()
        raise _refuse(web.HTTPBadRequest, "The body is not valid JSON: nested too deep.") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "body"
            parts.append(f"{where}: {err['msg'].removeprefix('Value error, ').lower()}")
        raise _refuse(web.HTTPUnprocessableEntity, "; ".join(parts)) from None


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
        self.pairings = settings.pairings
        self.limiter = PinLimiter(settings.pin_attempts_per_minute)
        self._streams: set[asyncio.Task[Any]] = set()
        PAIRED.set(len(self.pairings))
        PIN_LOCKED.set_function(lambda: self.limiter.locked(time.monotonic()))

    # auth

    def _credential(self, request: web.Request, allow_query: bool) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token and allow_query:
            token = request.query.get("token", "")
        return token

    def _is_staff(self, token: str) -> bool:
        expected = self.settings.staff_token
        return bool(token) and bool(expected) and same(token, expected)

    def authorize(self, request: web.Request, route: Route) -> None:
        """Raise the JSON 401 (or 429) the route's auth calls for; return when allowed."""
        if route.auth == "public":
            return
        if route.auth == "pin":
            wait = self.limiter.wait(request.remote or "?", time.monotonic())
            if wait:
                raise _refuse(
                    web.HTTPTooManyRequests,
                    "Too many wrong PINs from this device. Wait and try again.",
                    **{"Retry-After": str(wait)},
                )
            return
        if route.auth in ("read", "stream") and self.settings.open_reads:
            return
        token = self._credential(request, allow_query=route.auth == "stream")
        if self._is_staff(token):
            return
        if route.auth != "admin" and self.pairings.check(token) is not None:
            return
        AUTH_FAILURES.inc()
        message = (
            "Only the staff token can manage paired devices."
            if route.auth == "admin"
            else "A staff PIN or token is needed for this."
        )
        raise _refuse(
            web.HTTPUnauthorized, message, **{"WWW-Authenticate": 'Bearer realm="floorlink"'}
        )

    async def _pin_ok(self, request: web.Request, pin: str) -> web.Response | None:
        """None when the PIN is right; else the answer (404 no PIN set, 401 wrong PIN)."""
        expected = self.settings.staff_pin
        if expected is None:
            return error(404, "No staff PIN is set on this box: ask for the staff token.")
        peer = request.remote or "?"
        now = time.monotonic()
        if same(pin, expected):
            self.limiter.succeeded(peer)
            return None
        AUTH_FAILURES.inc()
        PIN_FAILURES.inc()
        lock = self.limiter.failed(peer, now)
        if lock:
            PIN_LOCKOUTS.inc()
            WARNINGS.warning(log, "wrong PINs: client locked out", client=peer, seconds=int(lock))
        return error(401, "That PIN is not right.")

    # reads

    async def tables(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(self.service.tables())

    async def waitlist(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(self.service.waitlist())

    async def reservations(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(self.service.reservations())

    async def status(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(self.service.status())

    async def healthz(self, request: web.Request, body: None) -> web.Response:
        status = self.service.status()
        ready = bool(status.get("ready"))
        answer: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
        if not ready:
            answer["reasons"] = status.get("reasons", [])
        if status.get("degraded"):
            answer["degraded"] = status["degraded"]  # edge parts down: named, yet still 200
        return web.json_response(answer, status=200 if ready else 503)

    async def backup(self, request: web.Request, body: None) -> web.StreamResponse:
        from floorlink.daemon.backup_http import backup_download

        return await backup_download(request, self.service)

    async def metrics(self, request: web.Request, body: None) -> web.StreamResponse:
        if self.settings.metrics_handler is not None:
            return await self.settings.metrics_handler(request)
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def openapi(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(openapi_document(self.settings.open_reads))

    async def page_html(self, request: web.Request, body: None) -> web.StreamResponse:
        return web.Response(body=_static("index.html"), content_type="text/html", charset="utf-8")

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
        answer = entry if entry is not None else result.body
        return web.json_response(answer, status=201 if created else 200)

    async def seat(self, request: web.Request, body: m.SeatBody) -> web.Response:
        tid = request.match_info["id"]
        cmd = SeatParty(tid, body.party_size, body.reservation, body.waitlist, body.name)
        return await self._on_table(tid, cmd)

    async def clear(self, request: web.Request, body: None) -> web.Response:
        tid = request.match_info["id"]
        return await self._on_table(tid, ClearTable(tid))

    async def block(self, request: web.Request, body: m.BlockBody) -> web.Response:
        tid = request.match_info["id"]
        return await self._on_table(tid, BlockTable(tid, body.reason))

    async def unblock(self, request: web.Request, body: None) -> web.Response:
        tid = request.match_info["id"]
        return await self._on_table(tid, UnblockTable(tid))

    async def add_waiting(self, request: web.Request, body: m.WaitlistBody) -> web.Response:
        cmd = AddToWaitlist(body.name, body.party_size, body.pager, body.phone, body.notes)
        return await self._on_entry(None, cmd, created=True)

    async def page(self, request: web.Request, body: None) -> web.Response:
        eid = request.match_info["id"]
        return await self._on_entry(eid, PageParty(eid))

    async def seat_entry(self, request: web.Request, body: m.SeatEntryBody) -> web.Response:
        eid = request.match_info["id"]
        return await self._on_entry(eid, SeatFromWaitlist(eid, body.table))

    async def left(self, request: web.Request, body: None) -> web.Response:
        eid = request.match_info["id"]
        return await self._on_entry(eid, MarkLeft(eid))

    async def test_page(self, request: web.Request, body: m.PagerTestBody) -> web.Response:
        result = await self.service.test_page(body.pager)
        if not result.ok:
            return refusal(result)
        return web.json_response(result.body, status=202)

    async def pager(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(self.service.pager_state())

    async def receipts(self, request: web.Request, body: None) -> web.Response:
        recent = self.service.recent_documents()
        return web.json_response(
            [{"printer": name, "documents": docs} for name, docs in sorted(recent.items())]
        )

    async def servers(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(await self.service.servers())

    async def assign_server(self, request: web.Request, body: m.AssignBody) -> web.Response:
        result = await self.service.assign_server(body.server, body.tables, body.sections)
        return web.json_response(result.body) if result.ok else refusal(result)

    async def floor(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(self.service.floor())

    async def validate_floor(self, request: web.Request, body: m.FloorBody) -> web.Response:
        result = await self.service.validate_floor(_floor_tables(body))
        return web.json_response(result.body)  # a check answers what it found, ok or not

    async def put_floor(self, request: web.Request, body: m.FloorBody) -> web.Response:
        result = await self.service.apply_floor(_floor_tables(body))
        return web.json_response(result.body) if result.ok else refusal(result)

    async def terminals(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(self.service.terminals())

    async def add_terminal(self, request: web.Request, body: m.TerminalBody) -> web.Response:
        result = await self.service.add_terminal(body.name)
        if not result.ok:
            return refusal(result)
        return web.json_response(result.body, status=201)

    async def remove_terminal(self, request: web.Request, body: None) -> web.Response:
        result = await self.service.remove_terminal(request.match_info["id"])
        return web.json_response(result.body) if result.ok else refusal(result)

    async def _on_reservation(self, rid: str, result: CommandResult) -> web.Response:
        if not result.ok:
            return refusal(result)
        return web.json_response(await self.service.reservation_change(rid))

    async def link_reservation(self, request: web.Request, body: m.LinkBody) -> web.Response:
        rid = request.match_info["id"]
        return await self._on_reservation(rid, await self.service.link_reservation(rid, body.check))

    async def partial_arrival(self, request: web.Request, body: m.PartialBody) -> web.Response:
        rid = request.match_info["id"]
        result = await self.service.partial_arrival(rid, body.table, body.arrived)
        return await self._on_reservation(rid, result)

    # guests and reports (daemon/guest_service.py)

    async def report(self, request: web.Request, body: None) -> web.Response:
        q = request.query
        result = await self.service.report(
            request.match_info["id"], q.get("day"), q.get("since"), q.get("until")
        )
        return web.json_response(result.body) if result.ok else refusal(result)

    async def guest(self, request: web.Request, body: None) -> web.Response:
        phone, email = request.query.get("phone"), request.query.get("email")
        found = await self.service.guest(phone, email) if phone or email else None
        return web.json_response([] if found is None else [found])

    async def guest_merges(self, request: web.Request, body: None) -> web.Response:
        return web.json_response(await self.service.guest_merges())

    async def merge_guests(self, request: web.Request, body: m.MergeBody) -> web.Response:
        result = await self.service.merge_guests(body.a, body.b)
        return web.json_response(result.body) if result.ok else refusal(result)

    async def unmerge_guests(self, request: web.Request, body: None) -> web.Response:
        result = await self.service.unmerge_guests(request.match_info["id"])
        return web.json_response(result.body) if result.ok else refusal(result)

    async def erase_guest(self, request: web.Request, body: m.EraseBody) -> web.Response:
        result = await self.service.erase_guest(body.phone, body.email)
        return web.json_response(result.body) if result.ok else refusal(result)

    async def purge_guests(self, request: web.Request, body: None) -> web.Response:
        result = await self.service.purge_guests()
        return web.json_response(result.body) if result.ok else refusal(result)

    # PIN, pairing

    async def session(self, request: web.Request, body: m.PinBody) -> web.Response:
        """Trade the staff PIN for the staff token (contract section 5)."""
        refused = await self._pin_ok(request, body.pin)
        return refused or web.json_response({"token": self.settings.staff_token})

    async def pair(self, request: web.Request, body: m.PairBody) -> web.Response:
        """Trade the staff PIN for this device's own credential: typed once per tablet."""
        refused = await self._pin_ok(request, body.pin)
        if refused is not None:
            return refused
        try:
            device, credential = self.pairings.pair(body.name)
        except PairingFull as exc:
            return error(409, str(exc))
        PAIRINGS.labels("paired").inc()
        PAIRED.set(len(self.pairings))
        log.info("device paired", device=device.id, client=request.remote)
        return web.json_response(device.public() | {"token": credential}, status=201)

    async def devices(self, request: web.Request, body: None) -> web.Response:
        return web.json_response([d.public() for d in self.pairings.devices()])

    async def unpair(self, request: web.Request, body: None) -> web.Response:
        device = self.pairings.revoke(request.match_info["id"])
        if device is None:
            return error(404, "There is no such paired device.")
        PAIRINGS.labels("revoked").inc()
        PAIRED.set(len(self.pairings))
        log.info("device revoked", device=device.id)
        return web.json_response(device.public())

    # live

    async def stream(self, request: web.Request, body: None) -> web.StreamResponse:
        """Server-Sent Events: a snapshot, then every change; EventSource reconnects by itself.

        One `anext` is kept pending across pings: cancelling it on a ping timeout would close
        the service's generator. It starts before the snapshot, so no change falls in between
        (a change seen twice is harmless: every event carries the whole object or list)."""
        headers = {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
        if request.method == "HEAD":
            return web.Response(headers=headers)
        resp = web.StreamResponse(headers=headers)
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

    def bind(self, route: Route) -> Handler:
        """The aiohttp handler for a route: its auth, then its body, then its method."""
        method = getattr(self, route.handler)
        timeout = self.settings.body_timeout

        async def handle(request: web.Request) -> web.StreamResponse:
            self.authorize(request, route)
            if route.query:
                check_query(request, route)
            body = None
            if route.body is not None:
                body = await read_body(request, route.body, not route.body_required, timeout)
            answer: web.StreamResponse = await method(request, body)
            return answer

        return handle


def check_query(request: web.Request, route: Route) -> None:
    """The route's query parameters against their declared pattern and length: 422 naming the
    parameter, as a body field is named."""
    for name in route.query:
        value = request.query.get(name)
        if value is None:
            continue
        pattern = QUERY[name][0]
        if len(value) > QUERY_MAX or "\n" in value or (pattern and not re.search(pattern, value)):
            BAD_REQUESTS.labels("query").inc()
            raise _refuse(
                web.HTTPUnprocessableEntity,
                f"{name}: at most {QUERY_MAX} characters"
                + (", YYYY-MM-DD" if pattern and "today" not in pattern else "")
                + (" or today" if pattern and "today" in pattern else ""),
            )


def _floor_tables(body: m.FloorBody) -> list[dict[str, Any]]:
    return [t.model_dump() for t in body.tables]


def _sse(kind: str, payload: Any) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), default=str)
    return f"event: {kind}\ndata: {data}\n\n".encode()


def _static(name: str) -> bytes:
    return (resources.files("floorlink.daemon") / "static" / name).read_bytes()


def _readable(text: str) -> bool:
    """False for a path aiohttp decoded into something no route can hold (NUL, surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeError:
        return False
    return True


MESSAGES = {
    400: "The request cannot be read.",
    404: "There is nothing at this address.",
    405: "This address does not take that method.",
    413: "The request is too large.",
}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as JSON a host can read; unexpected failures logged and answered 500."""
    try:
        if not _readable(request.path):
            BAD_REQUESTS.labels("path").inc()
            return error(404, MESSAGES[404])
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return error(exc.status, MESSAGES.get(exc.status, exc.reason), **headers)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except (UnicodeError, RecursionError) as exc:  # undecodable or absurd input: the client's
        BAD_REQUESTS.labels("undecodable").inc()
        WARNINGS.warning(log, "unreadable request", error=type(exc).__name__)
        return error(400, MESSAGES[400])
    except Exception:
        log.exception("http handler failed", path=request.path[:100])
        return error(500, "Floorlink hit an internal error; it has been logged.")


class UnparsableRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (a broken request line or header) at ERROR with a
    traceback that quotes the raw line. It is a client's mistake: one warning line naming the
    problem, without the line itself (which may carry `?token=`), and counted."""

    def __init__(self, burst: int = 10, window_s: float = 60.0) -> None:
        super().__init__()
        self.burst, self.window_s = burst, window_s
        self._window, self._n, self._dropped = 0.0, 0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            BAD_REQUESTS.labels("unparsable").inc()
            if record.created - self._window >= self.window_s:
                self._window, self._n = record.created, 0
            self._n += 1
            if self._n > self.burst:  # rate-limited like every warning; counted meanwhile
                self._dropped += 1
                return False
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            first = (str(exc.message).strip().splitlines() or [""])[0].rstrip(":")
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "unparsable request from %s: %s %s (%d suppressed)", (
                peer, exc.code, first[:120], self._dropped
            )  # fmt: skip
            self._dropped = 0
            record.exc_info, record.exc_text = None, None
        return True


def quiet_unparsable_requests() -> None:
    """Install the filter on aiohttp's server logger, once."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, UnparsableRequests) for f in logger.filters):
        logger.addFilter(UnparsableRequests())


def _aiohttp_path(route: Route) -> str:
    if route.param is None:
        return route.path
    pattern = PARAMS[route.param][0].removeprefix("^").removesuffix("$")
    return route.path.replace("{id}", "{id:" + pattern + "}")


def make_app(service: FloorService, settings: HttpSettings) -> web.Application:
    api = Api(service, settings)
    quiet_unparsable_requests()
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY)
    app.on_shutdown.append(api.close_streams)
    for route in ROUTES:
        handler = api.bind(route)
        if route.method == "GET":
            app.router.add_get(_aiohttp_path(route), handler)  # HEAD too, wherever GET is
        else:
            app.router.add_route(route.method, _aiohttp_path(route), handler)
    for path in SETUP_PATHS:  # first-run setup (daemon/setup_mode.py) is over on this box
        app.router.add_route("*", path, already_set_up)
    static = resources.files("floorlink.daemon") / "static"
    app.router.add_static("/static/", str(static), append_version=False)
    return app


SETUP_PATHS = ("/api/v1/setup", "/api/v1/setup/pager-test")


async def already_set_up(request: web.Request) -> web.Response:
    return error(409, "This box is already set up: change it from the host stand or the config.")


def runner_options(settings: HttpSettings) -> dict[str, Any]:
    """aiohttp's connection options: idle connections and slow request heads are closed after
    `idle_timeout` (aiohttp's keep-alive timer runs from the first byte until a request is
    complete); long lines and headers are refused with 400."""
    return {
        "keepalive_timeout": settings.idle_timeout,
        "max_line_size": 8190,
        "max_field_size": 8190,
        "max_headers": 64,
    }
