"""The box advertises itself on zeroconf and withdraws the records on shutdown (loopback only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from floorlink.daemon.broker import free_port
from floorlink.daemon.discovery import FLOORLINK_TYPE, MQTT_TYPE, Advertiser

LOOPBACK = ["127.0.0.1"]


async def until(condition: Callable[[], bool], tries: int = 100) -> None:
    """Poll for up to 10 s: the browser hears the records asynchronously."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.1)


async def test_advertised_then_withdrawn() -> None:
    http_port, mqtt_port = free_port(), free_port()
    adv = Advertiser("trattoria-luna", http_port, mqtt_port, LOOPBACK, address="127.0.0.1")
    # a second box with the same site id (a spare) gets a renamed record, not an error
    spare = Advertiser("trattoria-luna", free_port(), None, LOOPBACK, address="127.0.0.1")
    await adv.start()
    await spare.start()
    seen: dict[str, list[ServiceStateChange]] = {}

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        seen.setdefault(name, []).append(state_change)

    browser_zc = AsyncZeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)
    browser = AsyncServiceBrowser(
        browser_zc.zeroconf, [FLOORLINK_TYPE, MQTT_TYPE], handlers=[on_change]
    )
    try:
        await until(lambda: len(seen) >= 3)
        name = f"Floorlink trattoria-luna.{FLOORLINK_TYPE}"
        assert ServiceStateChange.Added in seen.get(name, [])
        assert ServiceStateChange.Added in seen.get(f"Floorlink trattoria-luna.{MQTT_TYPE}", [])
        assert len([n for n in seen if n.endswith(FLOORLINK_TYPE)]) == 2
        info = AsyncServiceInfo(FLOORLINK_TYPE, name)
        assert await info.async_request(browser_zc.zeroconf, 3000)
        assert info.port == http_port
        assert info.properties == {b"site": b"trattoria-luna", b"path": b"/", b"api": b"/api/v1"}
        mqtt = AsyncServiceInfo(MQTT_TYPE, f"Floorlink trattoria-luna.{MQTT_TYPE}")
        assert await mqtt.async_request(browser_zc.zeroconf, 3000)
        assert mqtt.port == mqtt_port
        await adv.stop()
        await until(lambda: ServiceStateChange.Removed in seen.get(name, []))
        assert ServiceStateChange.Removed in seen[name]
    finally:
        await adv.stop()
        await spare.stop()
        await browser.async_cancel()
        await browser_zc.async_close()
