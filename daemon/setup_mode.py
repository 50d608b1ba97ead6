"""First run: what `floorlink run` serves on a box that was never set up (daemon/setup_config.py).

Home Assistant's onboarding, for a restaurant: the page at `/` asks for the site's name and time
zone, a new staff PIN (there is no default one), the tables, and the pager (its port picked from
the serial devices present, its protocol from PAGER_PROTOCOLS, and a test page to a pager number).
`POST /api/v1/setup` writes the config (the seed's comments kept, the file it replaces backed up
beside it) and the same process then starts the real daemon on it: no restart, and the page that
asked reloads into the host stand. The setup endpoints exist only while the box is unset: once the
config is written they answer 409 here, and the daemon answers 409 to them too.

Like Home Assistant's onboarding, the setup page needs no credential: whoever reaches the box
first on its LAN sets it up. Nothing else is served (no store is opened, no broker connected).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import available_timezones

import structlog
from aiohttp import web
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from floorlink.daemon.config import Config
from floorlink.daemon.doctor import weak_pin
from floorlink.daemon.http import error, json_errors, read_body
from floorlink.daemon.notify import notify, watchdog_interval
from floorlink.daemon.plugins import PAGER_PROTOCOLS
from floorlink.daemon.setup_config import SetupError, build, read_seed, seed_settings, write
from floorlink.daemon.version import version

log = structlog.get_logger(__name__)

SETUP_REQUESTS = Counter(
    "floorlink_setup_requests_total",
    "First-run setup requests, by step and outcome",
    ["step", "ok"],
)
#: Where serial devices show up; FLOORLINK_SERIAL_GLOBS (colon-separated) adds more (a udev
#: rule's own links, or the pty of `make demo`).
SERIAL_GLOBS = ("/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA*")
TEST_PAGE_TIMEOUT_S = 8.0
#: After setup, how long the daemon may take to become ready before systemd's watchdog applies
#: (as TimeoutStartSec= gives a normal start: systemd's default is 90 s).
STARTUP_GRACE_S = 90.0
TABLE_ID = r"^[A-Za-z0-9_-]{1,16}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TableRow(Strict):
    id: Annotated[str, Field(pattern=TABLE_ID)]
    seats: Annotated[int, Field(ge=1, le=40)]
    section: Annotated[str, Field(min_length=1, max_length=40)] = "main"


class PagerAnswer(Strict):
    port: Annotated[str, Field(min_length=1, max_length=300)]
    protocol: str
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("protocol")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in PAGER_PROTOCOLS:
            raise ValueError(f"expected one of {', '.join(PAGER_PROTOCOLS.names())}")
        return v


class PagerTestBody(PagerAnswer):
    pager: Annotated[int, Field(ge=0, le=9999)]


class SetupBody(Strict):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    timezone: str
    pin: Annotated[str, Field(pattern=r"^\d{6,12}$")]
    tables: Annotated[list[TableRow], Field(min_length=1, max_length=500)]
    pager: PagerAnswer | None = None

    @field_validator("pin")
    @classmethod
    def _strong(cls, v: str) -> str:
        why = weak_pin(v)
        if why is not None:
            raise ValueError(f"that PIN {why}: choose one no one can guess")
        return v

    @field_validator("tables")
    @classmethod
    def _unique(cls, v: list[TableRow]) -> list[TableRow]:
        ids = [t.id for t in v]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"table {twice[0]} is listed twice")
        return v


def serial_ports(env: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The serial devices present: each stable /dev/serial/by-id name first, with the node it
    points at, then the nodes that have no such name."""
    env = dict(os.environ) if env is None else env
    patterns = [*SERIAL_GLOBS, *filter(None, env.get("FLOORLINK_SERIAL_GLOBS", "").split(":"))]
    seen: set[str] = set()
    ports = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            real = os.path.realpath(path)
            if path in seen or real in seen or not os.path.exists(real):
                continue
            seen.update({path, real})
            label = path if real == path else f"{path} ({os.path.basename(real)})"
            ports.append({"path": path, "label": label})
    return ports


def _guess_timezone() -> str:
    """The box's own zone, as a default for the form."""
    with contextlib.suppress(OSError):
        text = Path("/etc/timezone").read_text().strip()
        if text in available_timezones():
            return text
    with contextlib.suppress(OSError):
        link = os.readlink("/etc/localtime")
        name = link.partition("zoneinfo/")[2]
        if name in available_timezones():
            return name
    return "UTC"


def protocols() -> list[dict[str, Any]]:
    """Each pager protocol with its summary and its options' JSON schema (for the form)."""
    out = []
    for name in PAGER_PROTOCOLS.names():
        try:
            plugin = PAGER_PROTOCOLS.get(name)
        except (ImportError, KeyError, ValueError) as exc:  # a plug-in that cannot load: named
            log.warning("pager protocol cannot load", protocol=name, error=str(exc))
            continue
        out.append(
            {
                "name": name,
                "summary": plugin.summary,
                "options": plugin.options.model_json_schema(),
            }
        )
    return out


async def test_page(body: PagerTestBody) -> dict[str, Any]:
    """One page to `body.pager` over the chosen port and protocol, the way the daemon sends one;
    where it got (`written`, `acknowledged`, `transmitted`, `nak`, `busy`, `no_answer`) or
    `port_unavailable`."""
    from floorlink.drivers.pagers import Page
    from floorlink.drivers.serial_port import PortUnavailable
    from floorlink.paging.sender import make_transport

    plugin = PAGER_PROTOCOLS.get(body.protocol)
    protocol = plugin.factory(plugin.options.model_validate(body.options))
    page = Page(body.pager)
    protocol.encode(page)  # ValueError for a number this protocol cannot page, before any I/O
    link = make_transport(protocol, body.port)
    await link.start()
    try:
        if not await link.wait_connected(TEST_PAGE_TIMEOUT_S / 2):
            why = link.last_error or "it did not open"
            return {"delivery": "port_unavailable", "detail": f"cannot open {body.port}: {why}"}

        async def report(state: str, detail: str) -> None:
            return None

        try:
            async with asyncio.timeout(TEST_PAGE_TIMEOUT_S):
                delivery = await protocol.deliver(page, link, report)
        except (PortUnavailable, TimeoutError) as exc:
            return {"delivery": "port_unavailable", "detail": str(exc) or "no answer in time"}
        return {"delivery": delivery.state, "detail": delivery.detail or None}
    finally:
        await link.stop()


@dataclass
class Setup:
    """The setup page's server: unset until one POST writes the config."""

    path: Path
    done: asyncio.Event = field(default_factory=asyncio.Event)
    config: Config | None = None
    backup: Path | None = None
    _writing: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _closed(self) -> web.Response | None:
        if self.done.is_set():
            return error(409, "This box is already set up.")
        return None

    async def page(self, request: web.Request) -> web.StreamResponse:
        if self.done.is_set():
            raise web.HTTPFound("/")  # the host stand is on its way: the page reloads into it
        html = (resources.files("floorlink.daemon") / "static" / "setup.html").read_bytes()
        return web.Response(body=html, content_type="text/html", charset="utf-8")

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"setup": not self.done.is_set(), "version": version()})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "unavailable", "reasons": ["not set up"]}, status=503)

    async def form(self, request: web.Request) -> web.Response:
        closed = self._closed()
        if closed is not None:
            return closed
        return web.json_response(
            {
                "version": version(),
                "timezone": _guess_timezone(),
                "timezones": sorted(available_timezones()),
                "ports": serial_ports(),
                "protocols": protocols(),
            }
        )

    async def pager_test(self, request: web.Request) -> web.Response:
        closed = self._closed()
        if closed is not None:
            return closed
        body = await read_body(request, PagerTestBody)
        try:
            answer = await test_page(body)
        except ValidationError as exc:
            SETUP_REQUESTS.labels("pager_test", "false").inc()
            lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3]]
            return error(422, "; ".join(lines))
        except ValueError as exc:  # the protocol cannot page that number (its own range)
            SETUP_REQUESTS.labels("pager_test", "false").inc()
            return error(422, f"pager: {exc}")
        ok = answer["delivery"] in ("written", "acknowledged", "transmitted")
        SETUP_REQUESTS.labels("pager_test", str(ok).lower()).inc()
        log.info("setup test page", port=body.port, protocol=body.protocol, **answer)
        return web.json_response(answer)

    async def submit(self, request: web.Request) -> web.Response:
        body = await read_body(request, SetupBody)
        async with self._writing:
            closed = self._closed()
            if closed is not None:
                return closed
            try:
                text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
                if read_seed(self.path) is None:
                    return error(409, "This box is already set up.")
                answers = body.model_dump()
                config_text, config = build(text, answers)
                self.backup = write(self.path, config_text)
            except SetupError as exc:
                SETUP_REQUESTS.labels("submit", "false").inc()
                return error(422, "; ".join(exc.lines[:5]))
            except OSError as exc:
                SETUP_REQUESTS.labels("submit", "false").inc()
                log.error("setup cannot write the config", path=str(self.path), error=str(exc))
                return error(503, f"Cannot write {self.path}: {exc.strerror or exc}")
            self.config = config
            self.done.set()
        SETUP_REQUESTS.labels("submit", "true").inc()
        log.info("set up", site=config.site.id, tables=len(config.tables), path=str(self.path))
        return web.json_response(
            {
                "site": config.site.id,
                "tables": len(config.tables),
                "config": str(self.path),
                "backup": str(self.backup) if self.backup else None,
            },
            status=201,
        )

    def app(self) -> web.Application:
        app = web.Application(middlewares=[json_errors], client_max_size=256 * 1024)
        app.router.add_get("/", self.page)
        app.router.add_get("/api/v1/setup", self.form)
        app.router.add_post("/api/v1/setup", self.submit)
        app.router.add_post("/api/v1/setup/pager-test", self.pager_test)
        app.router.add_get("/api/v1/status", self.status)
        app.router.add_get("/healthz", self.healthz)
        static = resources.files("floorlink.daemon") / "static"
        app.router.add_static("/static/", str(static), append_version=False)
        return app


async def run_setup(path: Path) -> Config | None:
    """Serve the setup page until it wrote a config (returned) or SIGTERM/SIGINT (None)."""
    settings = seed_settings(path)
    http = settings.http
    setup = Setup(path)
    runner = web.AppRunner(setup.app(), access_log=None, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, http.host, http.port, reuse_address=True).start()
        where = f"http://{'<this box>' if http.host in ('0.0.0.0', '::') else http.host}"
        log.info("not set up yet: serving the setup page", url=f"{where}:{http.port}/")
        notify("READY=1", "STATUS=waiting for setup in the page")
        pinger = asyncio.create_task(_watchdog(), name="floorlink.setup.watchdog")
        done = asyncio.create_task(setup.done.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({done, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (pinger, done, stopping):
            task.cancel()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()  # waits for the answer in flight (the 201) to be written
    return setup.config


async def _watchdog(limit_s: float | None = None) -> None:
    """WATCHDOG=1 every half WatchdogSec=, forever or for `limit_s` seconds."""
    interval = watchdog_interval()
    if interval is None:
        return
    loop = asyncio.get_running_loop()
    end = None if limit_s is None else loop.time() + limit_s
    while end is None or loop.time() < end:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


def describe(path: Path) -> str:
    """check-config's line for a seed."""
    port = seed_settings(path).http.port
    return (
        f"{path}: not set up yet: `floorlink run` serves the setup page on port {port} "
        f"({json.dumps('http://<this box>:' + str(port) + '/')})"
    )


def serve_setup(path: Path) -> int:
    """`floorlink run` on an unset box: the setup page, then the daemon on the config it wrote,
    in this same process (systemd sees one service that became the host stand)."""
    from floorlink.daemon.logs import configure_logging
    from floorlink.daemon.runner import run_daemon
    from floorlink.daemon.setup_config import check_seed

    problems = check_seed(path)
    if problems:
        for line in problems:
            print(f"floorlink: {path}: {line}")
        return 2
    seed = seed_settings(path)
    configure_logging(seed.log.level, seed.log.format)

    async def setup_then_serve() -> int:
        try:
            config = await run_setup(path)
        except OSError as exc:  # the port is taken, or the address is not this box's
            where = seed.http.listen
            log.error("cannot serve the setup page", listen=where, error=str(exc))
            print(f"floorlink: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if config is None:
            return 0
        # systemd saw READY from the setup page and expects watchdog pings: keep them going while
        # the daemon opens its store and reaches the broker (its own pings start once ready)
        bridge = asyncio.create_task(_watchdog(limit_s=STARTUP_GRACE_S))
        try:
            return await run_daemon(config, path)  # the floor editor and reload use the file
        finally:
            bridge.cancel()

    return asyncio.run(setup_then_serve())
