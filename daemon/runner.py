"""`floorlink run`: the daemon's process around the App: logging, HTTP, signals, systemd."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from floorlink.daemon.app import App
from floorlink.daemon.component import Component
from floorlink.daemon.http import HttpSettings, make_app, runner_options
from floorlink.daemon.logs import configure_logging, register_secret
from floorlink.daemon.notify import notify, watchdog_interval
from floorlink.daemon.pairing import Pairings
from floorlink.daemon.store import StoreError, one_line
from floorlink.daemon.upgrade import record_started

if TYPE_CHECKING:
    from floorlink.daemon.config import Config

log = structlog.get_logger(__name__)

EXIT_STORE = 3
PAIRINGS_FILE = "devices.json"


def http_settings(config: Config) -> HttpSettings:
    """The HTTP layer's settings from the config; paired devices live beside the store."""
    return HttpSettings(
        staff_token=config.http.staff_token.get_secret_value() if config.http.staff_token else "",
        open_reads=config.http.open_reads,
        staff_pin=config.http.staff_pin.get_secret_value() if config.http.staff_pin else None,
        pin_attempts_per_minute=config.http.pin_attempts_per_minute,
        pairings=Pairings(Path(config.store.path).parent / PAIRINGS_FILE),
        idle_timeout=config.http.idle_timeout_seconds,
        body_timeout=config.http.body_timeout_seconds,
    )


class HttpServer(Component):
    """The local API and the host-stand page, supervised like every other part: a port that
    cannot be bound is retried with backoff and shown, not a crash."""

    name = "http"

    def __init__(self, app: App, config: Config) -> None:
        self.app, self.config = app, config
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        settings = http_settings(self.config)
        runner = web.AppRunner(
            make_app(self.app, settings),
            access_log=None,
            handle_signals=False,
            **runner_options(settings),
        )
        await runner.setup()
        self.runner = runner
        http = self.config.http
        await web.TCPSite(runner, http.host, http.port, reuse_address=True).start()
        log.info("http listening", host=http.host, port=http.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


class Discovery(Component):
    """Zeroconf: terminals and tablets find the box (only when it listens beyond loopback)."""

    name = "discovery"

    def __init__(self, config: Config) -> None:
        from floorlink.daemon.discovery import Advertiser

        local_broker = config.mqtt.host in ("127.0.0.1", "localhost")
        self.advertiser = Advertiser(
            config.site.id, config.http.port, config.mqtt.port if local_broker else None
        )

    async def start(self) -> None:
        await self.advertiser.start()

    async def stop(self) -> None:
        await self.advertiser.stop()


async def run_daemon(config: Config, config_path: Path | None = None) -> int:
    configure_logging(config.log.level, config.log.format)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # broken sockets are errors to handle, not death
    for secret in (config.http.staff_token, config.http.staff_pin):
        register_secret(secret.get_secret_value() if secret else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = App(config, config_path)
    loop.add_signal_handler(signal.SIGHUP, app.floor_admin.request_reload)  # systemctl reload
    app.supervisor.add(HttpServer(app, config))
    if config.http.host not in ("127.0.0.1", "localhost", "::1"):
        app.supervisor.add(Discovery(config))
    try:
        await app.start()
    except StoreError as exc:
        log.error("cannot open the store", error=str(exc))
        print(f"floorlink: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_STORE
    notifier = asyncio.create_task(_notify_when_ready(app), name="floorlink.systemd.notify")
    while not stop.is_set() and app.fatal is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    log.info("stopping")
    notifier.cancel()
    notify("STOPPING=1")
    await app.stop()
    if app.fatal is not None:
        print(f"floorlink: {one_line(str(app.fatal))}", file=sys.stderr)
        return EXIT_STORE
    return 0


async def _notify_when_ready(app: App) -> None:
    """READY once the store is open and the broker connected; then WATCHDOG while the core is
    alive: the loop runs this, and the store thread answers within the interval. An edge part
    that is down (the broker, the pager, the cloud) is the supervisor's to restart, not a reason
    for systemd to kill the box; a stuck loop, a hung store thread or a dead store is."""
    await app.ready.wait()
    notify("READY=1", "STATUS=serving")
    record_started(Path(app.config.store.path).parent)  # this version works here (upgrade.py)
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        await asyncio.sleep(interval)
        if app.fatal is not None or not app.store_open:
            continue
        try:
            await asyncio.wait_for(app.engine.call(lambda: None), interval)
        except TimeoutError:
            log.error("the store thread did not answer: withholding the watchdog ping")
            continue
        notify("WATCHDOG=1")
