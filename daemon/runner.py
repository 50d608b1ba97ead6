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
from floorlink.daemon.http import HttpSettings, make_app, runner_options
from floorlink.daemon.logs import configure_logging, register_secret
from floorlink.daemon.notify import notify, watchdog_interval
from floorlink.daemon.pairing import Pairings
from floorlink.daemon.store import StoreError, one_line

if TYPE_CHECKING:
    from floorlink.daemon.config import Config
    from floorlink.daemon.discovery import Advertiser

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


async def start_http(app: App, config: Config) -> web.AppRunner:
    settings = http_settings(config)
    runner = web.AppRunner(
        make_app(app, settings), access_log=None, handle_signals=False, **runner_options(settings)
    )
    await runner.setup()
    site = web.TCPSite(runner, config.http.host, config.http.port, reuse_address=True)
    await site.start()
    log.info("http listening", host=config.http.host, port=config.http.port)
    return runner


async def run_daemon(config: Config) -> int:
    configure_logging(config.log.level, config.log.format)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # broken sockets are errors to handle, not death
    for secret in (config.http.staff_token, config.http.staff_pin):
        register_secret(secret.get_secret_value() if secret else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = App(config)
    try:
        await app.start()
    except StoreError as exc:
        log.error("cannot open the store", error=str(exc))
        print(f"floorlink: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_STORE
    runner = await start_http(app, config)
    advertiser: Advertiser | None = None
    if config.http.host not in ("127.0.0.1", "localhost", "::1"):
        from floorlink.daemon.discovery import Advertiser

        local_broker = config.mqtt.host in ("127.0.0.1", "localhost")
        advertiser = Advertiser(
            config.site.id, config.http.port, config.mqtt.port if local_broker else None
        )
        await advertiser.start()
    notifier = asyncio.create_task(_notify_when_ready(app), name="floorlink.systemd.notify")
    while not stop.is_set() and app.fatal is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    log.info("stopping")
    notifier.cancel()
    notify("STOPPING=1")
    if advertiser is not None:
        await advertiser.stop()
    await runner.cleanup()
    await app.stop()
    if app.fatal is not None:
        print(f"floorlink: {one_line(str(app.fatal))}", file=sys.stderr)
        return EXIT_STORE
    return 0


async def _notify_when_ready(app: App) -> None:
    """READY once the store is open and the broker connected; then WATCHDOG from the loop itself,
    only while the daemon is healthy, so a stuck loop or a dead store gets restarted."""
    await app.ready.wait()
    notify("READY=1", "STATUS=serving")
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        await asyncio.sleep(interval)
        if app.fatal is None and app.store_open:
            notify("WATCHDOG=1")
