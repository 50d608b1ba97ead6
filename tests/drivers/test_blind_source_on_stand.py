"""Issue 14's "when the internet is down, the stand says which source went blind", in real
headless Chromium against the real daemon (a child process, real Mosquitto) polling a loopback
Toast API: a Toast table that matches none of ours is a counted rejection named on the stand;
the Toast API stops answering, the host stand names the poller that went blind and why, MQTT POS
events go on, and the banner goes when Toast answers again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_pos_clouds import TOAST_ID, TOAST_RESTAURANT, TOAST_SECRET, FakeToast
from playwright.async_api import Browser, async_playwright
from support import CHROMIUM, CHROMIUM_ARGS, Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker

PIN = "246813"


@pytest.fixture
async def toast() -> AsyncIterator[FakeToast]:
    t = FakeToast()
    await t.start()
    yield t
    await t.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def test_the_stand_names_the_poller_that_went_blind(
    tmp_path: Path, broker: EmbeddedBroker, toast: FakeToast, browser: Browser
) -> None:
    toast.tables = {"tg-2": "2"}
    extra = (
        f'[[inputs]]\nkind = "toast"\nname = "main"\nurl = "{toast.url}"\n'
        f'client_id = "{TOAST_ID}"\nclient_secret = "{TOAST_SECRET}"\n'
        f'restaurant = "{TOAST_RESTAURANT}"\ninterval_seconds = 0.2\ntimeout_seconds = 0.5\n'
    )
    daemon = Daemon(tmp_path / "daemon", broker, extra=extra)
    text = daemon.config.read_text().replace(
        'staff_token = "', f'staff_pin = "{PIN}"\nstaff_token = "'
    )
    daemon.config.write_text(text)
    daemon.start()
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(daemon.url)
        await page.fill('[data-testid="pin-input"]', PIN)
        await page.click('[data-testid="pin-submit"]')
        await page.wait_for_selector('[data-table="2"][data-status="available"]')
        toast.put(
            "o-1",
            int(time.time() * 1000) - 10_000,
            table={"guid": "tg-2"},
            checks=[{"guid": "c-1", "displayNumber": "41", "paymentStatus": "OPEN"}],
        )
        await page.wait_for_selector('[data-table="2"][data-status="seated"]', timeout=10000)
        assert await page.locator('[data-testid="blind-source"]').count() == 0
        # a Toast table that matches none of ours: a counted rejection, named on the stand
        toast.tables["tg-roof"] = "Roof 1"
        toast.put(
            "o-2",
            int(time.time() * 1000) - 5_000,
            table={"guid": "tg-roof"},
            checks=[{"guid": "c-2", "displayNumber": "42", "paymentStatus": "OPEN"}],
        )
        rejected = page.locator('[data-testid="rejections"] [data-source="input.toast.main"]')
        await rejected.wait_for(timeout=10000)
        text = await rejected.inner_text()
        assert "toast:main" in text and "1 record could not be placed" in text
        assert "'Roof 1' matches no table" in text

        toast.mode = "500"  # the internet (or Toast) is down
        banner = page.locator('[data-testid="blind-source"]')
        await banner.wait_for(timeout=15000)
        text = await banner.inner_text()
        assert "toast:main is blind" in text and "500" in text
        assert "not arriving" in text
        # the MQTT POS goes on meanwhile
        async with Terminal(broker) as pos:
            await pos.ack(await pos.send("check.opened", check="7", table="5", guests=2))
        await page.wait_for_selector('[data-table="5"][data-status="seated"]', timeout=10000)
        assert await banner.count() == 1

        toast.mode = "ok"
        await banner.wait_for(state="detached", timeout=15000)
    finally:
        daemon.kill()
