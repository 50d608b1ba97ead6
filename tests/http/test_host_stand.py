"""The host-stand page in a real headless Chromium against the real daemon and broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from support import CHROMIUM, CHROMIUM_ARGS, Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
def pin_daemon(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[Daemon]:
    tables = "\n".join(
        f'[[tables]]\nid = "{n}"\nseats = {s}\nsection = "{sec}"\n'
        f'x = {x}\ny = {y}\nshape = "{sh}"\n'
        for n, s, sec, x, y, sh in [
            (21, 2, "main", 12, 15, "round"), (22, 4, "main", 32, 15, "square"),
            (23, 4, "main", 52, 15, "square"), (24, 6, "main", 74, 15, "rect"),
            (25, 2, "main", 12, 40, "round"), (26, 4, "main", 32, 40, "square"),
            (27, 4, "patio", 12, 72, "square"), (28, 6, "patio", 40, 72, "rect"),
            (29, 2, "bar", 70, 72, "round"), (30, 2, "bar", 86, 72, "round"),
        ]
    )  # fmt: skip
    d = Daemon(tmp_path / "daemon", broker, tables=0, extra="[paging]\n\n" + tables)
    text = d.config.read_text().replace('staff_token = "', 'staff_pin = "246813"\nstaff_token = "')
    d.config.write_text(text)
    d.start()
    yield d
    d.kill()


async def status_of(page: Page, table: str) -> str | None:
    return await page.get_attribute(f'[data-table="{table}"]', "data-status")


async def test_the_floor_lives_and_a_walk_in_is_added_paged_and_seated(
    broker: EmbeddedBroker, pin_daemon: Daemon, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(pin_daemon.url)
    # reads need the PIN on this LAN: the page asks once
    await page.fill('[data-testid="pin-input"]', "246813")
    await page.click('[data-testid="pin-submit"]')
    await page.wait_for_selector('[data-table="22"][data-status="available"]')
    assert await page.locator('[data-testid="table"]').count() == 10
    # that paired the tablet: its own credential, kept; a reload does not ask for the PIN again
    assert [d["name"] for d in pin_daemon.get("/api/v1/devices")] == ["Host stand"]
    await page.reload()
    await page.wait_for_selector('[data-table="22"][data-status="available"]')
    assert not await page.locator('[data-testid="pin-dialog"]').is_visible()

    async with Terminal(broker) as pos:
        await pos.send("check.opened", check="501", table="22", guests=3, server="emp-17")
        await page.wait_for_selector('[data-table="22"][data-status="seated"]', timeout=5000)
        assert "seated" in (await page.inner_text('[data-table="22"]')).lower()
        await pos.send("check.opened", check="502", table="24", guests=5)
        await pos.send("check.course_fired", check="502", course="dessert")
        await pos.send("check.opened", check="503", table="27", guests=2)
        await pos.send("check.printed", check="503")
        await pos.send("check.opened", check="504", table="29", guests=2)
        await pos.send("check.closed", check="504", total="30.00")
        await page.wait_for_selector('[data-table="29"][data-status="bussing"]', timeout=5000)

    # add a walk-in
    await page.fill('[data-testid="walkin-name"]', "Kim")
    await page.fill('[data-testid="walkin-size"]', "2")
    await page.fill('[data-testid="walkin-pager"]', "7")
    await page.click('[data-testid="walkin-add"]')
    entry = page.locator('[data-testid="waitlist"] li[data-status="waiting"]')
    await entry.wait_for()
    assert "Kim" in await entry.inner_text()
    # page them
    await entry.locator('[data-testid="page"]').click()
    await page.wait_for_selector('[data-testid="waitlist"] li[data-status="paged"]')
    # a table block, from the table's sheet
    await page.click('[data-table="30"]')
    await page.click('[data-testid="block"]')
    await page.wait_for_selector('[data-table="30"][data-status="blocked"]')
    await page.screenshot(path=str(tmp_path / "host-stand.png"))  # docs': test_page_staged
    # seat them at table 21
    await page.locator(
        '[data-testid="waitlist"] li[data-status="paged"] [data-testid="seat"]'
    ).click()
    await page.click('[data-testid="seat-at-21"]')
    await page.wait_for_selector('[data-table="21"][data-status="seated"]')
    assert "Kim" in await page.inner_text('[data-table="21"]')
    await page.click('[data-testid="wl-tab-done"]')  # seated parties are under Done
    await page.wait_for_selector('[data-testid="waitlist"] li[data-status="seated"]')


async def test_the_page_says_when_it_has_lost_the_daemon_and_comes_back(
    broker: EmbeddedBroker, daemon: Daemon, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 800, "height": 1280})
    await page.add_init_script(
        "localStorage.setItem('floorlink.token', JSON.stringify("
        "{token: 'test-staff-token-123', at: Date.now()}))"
    )
    await page.goto(daemon.url)
    await page.wait_for_selector('[data-table="1"]')
    await page.screenshot(path=str(tmp_path / "host-stand-portrait.png"))
    daemon.stop()
    await page.wait_for_selector(".banner.lost", timeout=10000)
    daemon.start()
    await page.wait_for_selector(".banner.lost", state="detached", timeout=20000)
    async with Terminal(broker) as pos:
        await pos.send("check.opened", check="9", table="3", guests=2)
        await page.wait_for_selector('[data-table="3"][data-status="seated"]', timeout=5000)
