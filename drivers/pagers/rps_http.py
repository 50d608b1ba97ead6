"""`rps-http`: an HTTP pager transmitter on the LAN, the ESP32 Restaurant Paging Service style.

Source (docs/pagers.md): github.com/baycom/rps, README ("HTTP based API at /page") and
`src/webserver.cpp` (`page()`). One page is one request:

    GET {port}/page?mode=0&restaurant_id=R&system_id=S&pager_number=N&alert_type=A

`mode` 0 is the LRS telegram, 1 POCSAG (then `pocsag_baud`, `pocsag_telegram_type`, `message`).
The box answers 200 with the parameters it took, echoed as `key: value` lines, and keys the page
from its queue; 400 `Invalid parameters supplied` when it refuses. It sends no completion report,
so the last state is `acknowledged`. A 429 or 503 (a busy box, or a proxy in front) is busy;
a refused connection means the transmitter is gone, as an unplugged serial adapter is.
`[pager] port` is the box's base URL (`http://rps.local`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import structlog
from pydantic import Field

from floorlink.daemon.plugins import Options, Plugin
from floorlink.drivers.pagers.base import (
    Ack,
    Answer,
    AnswerQueue,
    Busy,
    CommandProtocol,
    Nak,
    Page,
)
from floorlink.drivers.reconnect import Backoff, LinkState
from floorlink.drivers.serial_port import PortUnavailable

log = structlog.get_logger(__name__)

PROBE_START_S = 0.25
PROBE_MAX_S = 10.0
ECHO_RE = re.compile(r"^pager_number:\s*(-?\d+)\s*$", re.M)


class RpsOptions(Options):
    mode: Literal["lrs", "pocsag"] = "lrs"
    restaurant_id: Annotated[int, Field(ge=0, le=255)] = 0
    system_id: Annotated[int, Field(ge=0, le=255)] = 0
    pocsag_baud: Literal[512, 1200, 2400] = 1200
    message: Annotated[str, Field(max_length=80)] = ""
    ack_timeout: Annotated[float, Field(gt=0, le=60)] = 5.0


@dataclass(frozen=True)
class RpsProtocol(CommandProtocol):
    transport: ClassVar[Literal["serial", "http"]] = "http"
    mode: str = "lrs"
    restaurant_id: int = 0
    system_id: int = 0
    pocsag_baud: int = 1200
    message: str = ""
    name: str = field(default="rps-http", kw_only=True)

    def encode(self, page: Page) -> bytes:
        """The query string of the request (its bytes are the worked example)."""
        limit = 4095 if self.mode == "lrs" else 2_097_151
        if not 1 <= page.pager <= limit:
            raise ValueError(f"pager number must be 1-{limit}, got {page.pager}")
        if not 0 <= page.alert <= 255:
            raise ValueError(f"alert type must be 0-255, got {page.alert}")
        params: list[tuple[str, str | int]] = [("mode", 0 if self.mode == "lrs" else 1)]
        if self.mode == "lrs":
            params += [("restaurant_id", self.restaurant_id), ("system_id", self.system_id)]
        else:
            text = page.text or self.message
            params += [("pocsag_baud", self.pocsag_baud)]
            params += [("pocsag_telegram_type", 2 if text else 0)]
            if text:
                params.append(("message", text))
        params += [("pager_number", page.pager), ("alert_type", page.alert)]
        return urlencode(params).encode("ascii")

    def answers(self) -> RpsAnswers:
        return RpsAnswers()

    def decoder(self) -> RpsRequests:
        return RpsRequests()


@dataclass
class RpsAnswers:
    """An HTTP answer, fed as `status` line + body: 200 -> Ack (the echoed pager), 400 -> Nak,
    429 / 503 -> Busy, any other status -> Nak with it."""

    garbage: int = 0

    def feed(self, data: bytes) -> list[Answer]:
        head, _, body = data.partition(b"\n")
        try:
            status = int(head)
        except ValueError:
            self.garbage += len(data)
            return []
        text = body.decode("utf-8", "replace").strip()
        if status == 200:
            m = ECHO_RE.search(text)
            return [Ack(int(m.group(1)) if m else None)]
        if status in (429, 503):
            return [Busy(f"HTTP {status}: {text[:100]}")]
        return [Nak(f"HTTP {status}: {text[:100]}")]


@dataclass
class RpsRequests:
    """The box's side: a query string in, its page out."""

    garbage: int = 0

    def feed(self, data: bytes) -> list[Page]:
        q = dict(parse_qsl(data.decode("ascii", "replace")))
        try:
            page = Page(int(q["pager_number"]), int(q.get("alert_type", "1")), q.get("message", ""))
        except (KeyError, ValueError):
            self.garbage += len(data)
            return []
        return [page]


class HttpLink(LinkState):
    """The HTTP transmitter as a port and a link: `connected` while it answers; a probe with
    capped, jittered backoff finds it again after a refused connection."""

    def __init__(self, url: str, decoder: RpsAnswers, timeout: float = 5.0) -> None:
        super().__init__()
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.name = "pager"
        self.reconnects = 0
        self.last_error: str | None = None
        self._answers = AnswerQueue(decoder)
        self._session: aiohttp.ClientSession | None = None
        self._probe: asyncio.Task[None] | None = None
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"rps-http needs an http:// url as [pager] port, got {url!r}")

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._probe = asyncio.create_task(self._find(), name="floorlink.pager.http-probe")

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._set(False)

    async def write(self, data: bytes) -> None:
        """One request; its answer goes to `answer`. PortUnavailable when nobody is there; a
        request that times out leaves no answer (the delivery reads it as no answer)."""
        if self._session is None or not self.connected:
            raise PortUnavailable(f"pager transmitter {self.url} is not reachable")
        try:
            async with self._session.get(f"{self.url}/page?{data.decode('ascii')}") as resp:
                body = await resp.read()
                self._answers.feed(str(resp.status).encode() + b"\n" + body)
        except TimeoutError:
            return
        except aiohttp.ClientError as exc:
            self._lost(exc)
            raise PortUnavailable(f"pager transmitter {self.url} failed: {exc}") from exc

    async def answer(self, timeout: float) -> Answer | None:
        return await self._answers.get(timeout)

    def discard(self) -> None:
        self._answers.clear()

    def _lost(self, exc: BaseException) -> None:
        if self.connected:
            log.warning("pager transmitter lost", url=self.url, error=str(exc))
        self.last_error = str(exc)
        self._set(False)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._find(), name="floorlink.pager.http-probe")

    async def _find(self) -> None:
        """GET / until the box answers (any status: it is there)."""
        backoff = Backoff(PROBE_START_S, PROBE_MAX_S)
        while self._session is not None:
            try:
                async with self._session.get(f"{self.url}/") as resp:
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.last_error = str(exc)
                await backoff.wait()
                continue
            if self.last_error is not None:
                self.reconnects += 1
            self._set(True)
            return


def _make(o: RpsOptions) -> RpsProtocol:
    return RpsProtocol(
        o.mode, o.restaurant_id, o.system_id, o.pocsag_baud, o.message, ack_timeout=o.ack_timeout
    )


def reply(page: Page, mode: str) -> tuple[int, str]:
    """The simulated box's answer: (status, body)."""
    if mode == "nak":
        return 400, "Invalid parameters supplied"
    if mode == "busy":
        return 503, "busy"
    if mode == "full":
        return 429, "queue full"
    return 200, f"mode: 0\npager_number: {page.pager}\nalert_type: {page.alert}\n"


PLUGIN: Plugin[Any] = Plugin(
    "rps-http", RpsOptions, _make, "an ESP32 Restaurant Paging Service box: GET /page"
)
