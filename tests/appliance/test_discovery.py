"""The box advertises itself on zeroconf and withdraws the records on shutdown (loopback only)."""

from __future__ import annotations

import asyncio

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from floorlink.daemon.broker import free_port
from floorlink.daemon.discovery import FLOORLINK_TYPE, MQTT_TYPE, Advertiser


async def test_advertised_then_withdrawn() -> None:
    http_port, mqtt_port = free_port(), free_port()
    adv = Advertiser("trattoria-luna", http_port, mqtt_port, address="127.0.0.1")
    await adv.start()
    seen: dict[str, list[ServiceStateChange]] = {}

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        seen.setdefault(name, []).append(state_change)

    browser_zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    browser = AsyncServiceBrowser(
        browser_zc.zeroconf, [FLOORLINK_TYPE, MQTT_TYPE], handlers=[on_change]
    )
    try:
        for _ in range(100):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.1)
        name = f"Floorlink trattoria-luna.{FLOORLINK_TYPE}"
        assert ServiceStateChange.Added in seen.get(name, [])
        info = AsyncServiceInfo(FLOORLINK_TYPE, name)
        assert await info.async_request(browser_zc.zeroconf, 3000)
        assert info.port == http_port and info.properties[b"api"] == b"/api/v1"
        await adv.stop()
        for _ in range(100):
            if ServiceStateChange.Removed in seen.get(name, []):
                break
            await asyncio.sleep(0.1)
        assert ServiceStateChange.Removed in seen[name]
    finally:
        await browser.async_cancel()
        await browser_zc.async_close()
