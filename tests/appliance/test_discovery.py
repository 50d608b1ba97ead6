"""The box advertises itself on zeroconf and withdraws the records on shutdown.

Multicast on the host's loopback depends on the host (its flags and routes), so the test runs in
a private network namespace whose loopback it sets up itself: multicast on, 224.0.0.0/4 routed to
it. Where namespaces cannot be made (no root, no user namespaces) it is skipped with that reason.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
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


NETNS_SETUP = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"


def test_advertised_then_withdrawn() -> None:
    if os.environ.get("FLOORLINK_IN_NETNS") == "1":
        asyncio.run(advertised_then_withdrawn())
        return
    probe = subprocess.run(["unshare", "-n", "sh", "-c", NETNS_SETUP], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private network namespace: {probe.stderr.decode()[:200]}")
    here = Path(__file__)
    test = f"{here}::test_advertised_then_withdrawn"
    cmd = f'{NETNS_SETUP} && exec "$0" -m pytest -q -p no:cacheprovider "$1"'
    run = subprocess.run(
        ["unshare", "-n", "sh", "-c", cmd, sys.executable, test],
        env=os.environ | {"FLOORLINK_IN_NETNS": "1"},
        cwd=here.parents[2],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


async def advertised_then_withdrawn() -> None:
    http_port, mqtt_port = free_port(), free_port()
    adv = Advertiser("trattoria-luna", http_port, mqtt_port, LOOPBACK, address="127.0.0.1")
    await adv.start()
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
        await until(lambda: len(seen) >= 2)
        name = f"Floorlink trattoria-luna.{FLOORLINK_TYPE}"
        assert ServiceStateChange.Added in seen.get(name, [])
        assert ServiceStateChange.Added in seen.get(f"Floorlink trattoria-luna.{MQTT_TYPE}", [])
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
        await browser.async_cancel()
        await browser_zc.async_close()
