"""The floor editor in the page (issue 11), in a real headless Chromium against `floorlink run`:
drag a table, Validate, Apply; the config file is rewritten (its comments kept, the old one
backed up), the daemon reloads its floor without a restart, and the stand shows the table moved.
Adding a table shows it on the stand too."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from support import CHROMIUM, CHROMIUM_ARGS, STAFF_TOKEN, Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker

FLOOR = """# The dining room, drawn on 0-100 plan coordinates.
[[tables]]
id = "1"
seats = 2
x = 10
y = 20

[[tables]]
id = "2"   # the window table
seats = 4
x = 50
y = 20

[[tables]]
id = "3"
seats = 4
x = 10
y = 70
shape = "round"

[[tables]]
id = "4"
seats = 6
x = 90
y = 70
shape = "rect"
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
def daemon(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[Daemon]:
    d = Daemon(tmp_path / "d", broker, tables=0, extra=FLOOR)
    d.start()
    yield d
    d.kill()


async def stand(browser: Browser, daemon: Daemon) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.add_init_script(  # a tablet unlocked with the staff credential
        "localStorage.setItem('floorlink.token', JSON.stringify("
        f"{{token: '{STAFF_TOKEN}', at: Date.now(), device: true}}))"
    )
    await page.goto(daemon.url)
    await page.wait_for_function("document.querySelectorAll('[data-testid=table]').length === 4")
    return page


async def center_x(page: Page, selector: str) -> float:
    box = await page.locator(selector).bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2


async def test_drag_a_table_apply_and_see_it_moved_on_the_stand(
    browser: Browser, daemon: Daemon
) -> None:
    page = await stand(browser, daemon)
    before = await center_x(page, '#floor [data-table="2"]')
    text_before = daemon.config.read_text()
    await page.click('[data-testid="edit-floor"]')
    tile = page.locator('[data-testid="edit-table"][data-table="2"]')
    await tile.wait_for()
    box = await tile.bounding_box()
    plan = await page.locator('[data-testid="edit-plan"]').bounding_box()
    assert box is not None and plan is not None
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x0, y0)
    await page.mouse.down()
    await page.mouse.move(x0 + plan["width"] * 0.3, y0, steps=8)  # 30 points to the right
    await page.mouse.up()
    await page.click('[data-testid="edit-validate"]')
    await page.wait_for_function(
        "document.querySelector('[data-testid=edit-result]').textContent.startsWith('OK')"
    )
    assert "0 added, 0 removed, 1 changed" in await page.inner_text('[data-testid="edit-result"]')
    await page.click('[data-testid="edit-apply"]')
    await page.wait_for_function(  # the stand redraws from the daemon's floor event
        "(before) => { const el = document.querySelector('#floor [data-table=\"2\"]');"
        " const r = el && el.getBoundingClientRect();"
        " return r && r.x + r.width / 2 > before + 40; }",
        arg=before,
    )
    await page.locator('[data-testid="floor-editor"]').wait_for(state="hidden")  # after the PUT
    moved = {t["id"]: t for t in daemon.get("/api/v1/floor")["tables"]}["2"]
    assert 75 <= moved["x"] <= 85 and abs(moved["y"] - 20) <= 1  # a pixel's rounding
    text = daemon.config.read_text()
    assert "# The dining room, drawn on 0-100 plan coordinates." in text
    assert "# the window table" in text
    saved = {t["id"]: t for t in tomllib.loads(text)["tables"]}
    assert saved["2"]["x"] == moved["x"]
    backups = list(daemon.config.parent.glob("floorlink.toml.bak-*"))
    assert [b.read_text() for b in backups] == [text_before]
    assert daemon.proc is not None and daemon.proc.poll() is None  # no restart
    await page.close()


async def test_add_a_table_in_the_editor_and_it_is_on_the_stand(
    browser: Browser, daemon: Daemon
) -> None:
    page = await stand(browser, daemon)
    await page.click('[data-testid="edit-floor"]')
    await page.click('[data-testid="edit-add"]')
    await page.locator('[data-testid="edit-table"][data-table="5"]').wait_for()
    await page.fill('[data-testid="edit-seats"]', "8")
    await page.press('[data-testid="edit-seats"]', "Tab")
    await page.fill('[data-testid="edit-name"]', "Patio")
    await page.press('[data-testid="edit-name"]', "Tab")
    await page.select_option('[data-testid="edit-shape"]', "round")
    await page.click('[data-testid="edit-apply"]')
    await page.wait_for_selector('#floor [data-table="5"][data-status="available"]')
    assert await page.inner_text('#floor [data-table="5"] .id') == "Patio"
    table = {t["table"]: t for t in daemon.get("/api/v1/tables")}["5"]
    assert table["seats"] == 8 and table["shape"] == "round" and table["name"] == "Patio"
    await page.close()


async def test_the_editor_shows_why_a_floor_cannot_be_applied(
    browser: Browser, broker: EmbeddedBroker, daemon: Daemon
) -> None:
    async with Terminal(broker) as pos:
        await pos.send("check.opened", check="55", table="1", guests=2)
        await pos.table("1", "seated")
    page = await stand(browser, daemon)
    text_before = daemon.config.read_text()
    await page.click('[data-testid="edit-floor"]')
    await page.click('[data-testid="edit-table"][data-table="1"]')
    await page.click('[data-testid="edit-remove"]')
    await page.click('[data-testid="edit-apply"]')  # Apply validates first
    await page.wait_for_function(
        "document.querySelector('[data-testid=edit-result]').textContent.includes('open check')"
    )
    said = await page.inner_text('[data-testid="edit-result"]')
    assert "Table 1 has an open check (55)" in said
    assert await page.locator('[data-testid="floor-editor"]').is_visible()  # still editing
    assert daemon.config.read_text() == text_before
    assert len(daemon.get("/api/v1/tables")) == 4
    await page.close()
