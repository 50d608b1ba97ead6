"""The stand fits every screen it will meet (issue 11): no two tables overlap at any of the named
viewports, on the shipped example floor and on generated floors of 10, 25, 60 and 120 tables;
below tablet width the floor is a list by section, most urgent first; in portrait the waitlist
comes first, with its summary. Checked from the rectangles a real headless Chromium rendered,
against the real daemon. The example floor's screenshots at 1280x800 and 800x1280 are written to
docs/ when FLOORLINK_SCREENSHOTS=docs (make screenshots), else to the test's temporary folder."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright
from support import CHROMIUM, CHROMIUM_ARGS, STAFF_TOKEN, Daemon, Terminal

from floorlink.daemon.broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parents[2]
VIEWPORTS = [
    (360, 740),
    (390, 844),
    (768, 1024),
    (800, 1280),
    (1024, 768),
    (1280, 800),
    (1920, 1080),
]
SHAPES = ("square", "round", "rect")


def example_tables() -> list[dict[str, Any]]:
    raw = tomllib.loads((ROOT / "config" / "floorlink.example.toml").read_text())
    return list(raw["tables"])


def generated_tables(n: int) -> list[dict[str, Any]]:
    """A floor of `n` tables in rows, as a restaurant lays them out, with three sections."""
    cols = max(2, math.ceil(math.sqrt(n * 1.6)))
    rows = math.ceil(n / cols)
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        out.append(
            {
                "id": str(i + 1),
                "seats": (2, 4, 4, 6)[i % 4],
                "section": ("main", "patio", "bar")[r * 3 // rows],
                "x": round(4 + 92 * c / (cols - 1), 1),
                "y": round(4 + 92 * r / max(1, rows - 1), 1),
                "shape": SHAPES[i % 3],
            }
        )
    return out


def toml_tables(tables: list[dict[str, Any]]) -> str:
    rows = []
    for t in tables:
        rows.append(
            f'[[tables]]\nid = "{t["id"]}"\nseats = {t["seats"]}\n'
            f'section = "{t.get("section", "main")}"\n'
            f'x = {t["x"]}\ny = {t["y"]}\nshape = "{t.get("shape", "square")}"\n'
        )
    return "\n".join(rows)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


def floor_daemon(tmp_path: Path, broker: EmbeddedBroker, tables: list[dict[str, Any]]) -> Daemon:
    d = Daemon(tmp_path, broker, tables=0, extra="[paging]\n\n" + toml_tables(tables))
    text = d.config.read_text().replace("[http]\n", "[http]\nopen_reads = true\n")
    d.config.write_text(text.replace("[site]\n", '[site]\nname = "Trattoria Luna"\n'))
    d.start()
    return d


async def rects(page: Page) -> list[dict[str, float]]:
    got: list[dict[str, float]] = await page.eval_on_selector_all(
        '[data-testid="table"]',
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {id: e.dataset.table, x: r.x + scrollX, y: r.y + scrollY,"
        " w: r.width, h: r.height}; })",
    )
    return got


def overlaps(boxes: list[dict[str, float]]) -> list[tuple[str, str]]:
    bad = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            ix = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            iy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            if ix > 0.5 and iy > 0.5:
                bad.append((str(a["id"]), str(b["id"])))
    return bad


async def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2 A/AA findings (contrast among them) for the rendered page."""
    results = await Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa"]})
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
    ]


async def check_floor(browser: Browser, daemon: Daemon, n: int, shots: Path | None) -> None:
    for width, height in VIEWPORTS:
        page = await browser.new_page(viewport={"width": width, "height": height})
        await page.goto(daemon.url)
        await page.wait_for_function(
            f"document.querySelectorAll('[data-testid=table]').length === {n}"
        )
        boxes = await rects(page)
        assert not overlaps(boxes), f"{n} tables at {width}x{height}: {overlaps(boxes)[:5]}"
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{n} tables at {width}x{height}: the page is {wide}px wide"
        mode = await page.get_attribute("#floor", "class")
        if width < 600:
            assert mode is not None and "list" in mode
        small = await page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.childNodes.length &&"
            " [...e.childNodes].some(c => c.nodeType === 3 && c.textContent.trim()) &&"
            " e.offsetParent !== null && parseFloat(getComputedStyle(e).fontSize) < 16)"
            ".map(e => e.className || e.tagName)"
        )
        assert not small, f"text under 16 px at {width}x{height}: {small[:5]}"
        violations = await axe_violations(page)
        assert not violations, f"axe-core at {width}x{height}: {violations}"
        if shots is not None and (width, height) in ((1280, 800), (800, 1280)):
            name = "host-stand.png" if width > height else "host-stand-portrait.png"
            await page.screenshot(path=str(shots / name), full_page=width < height)
        await page.close()


async def test_the_example_floor_fits_every_screen(
    tmp_path: Path, broker: EmbeddedBroker, browser: Browser
) -> None:
    tables = example_tables()
    daemon = floor_daemon(tmp_path / "example", broker, tables)
    try:
        async with Terminal(broker) as pos:  # a floor in service: a few statuses, a waitlist
            await pos.send("check.opened", check="101", table="3", guests=4, server="emp-7")
            await pos.send("check.opened", check="102", table="7", guests=2)
            await pos.send("check.printed", check="102")
            await pos.send("check.opened", check="103", table="12", guests=6)
            await pos.send("check.closed", check="103", total="212.40")
            await pos.table("12", "bussing")
        shots = ROOT / "docs" if os.environ.get("FLOORLINK_SCREENSHOTS") == "docs" else tmp_path
        await check_floor(browser, daemon, len(tables), shots)
    finally:
        daemon.kill()


@pytest.mark.parametrize("n", [10, 25, 60, 120])
async def test_generated_floors_fit_every_screen(
    tmp_path: Path, broker: EmbeddedBroker, browser: Browser, n: int
) -> None:
    daemon = floor_daemon(tmp_path / f"floor-{n}", broker, generated_tables(n))
    try:
        await check_floor(browser, daemon, n, None)
    finally:
        daemon.kill()


async def test_a_phone_lists_by_section_most_urgent_first(
    tmp_path: Path, broker: EmbeddedBroker, browser: Browser
) -> None:
    daemon = floor_daemon(tmp_path / "phone", broker, example_tables())
    try:
        async with Terminal(broker) as pos:
            await pos.send("check.opened", check="201", table="1", guests=2)
            await pos.send("check.closed", check="201", total="40.00")
            await pos.table("1", "bussing")
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(daemon.url)
        await page.wait_for_selector('[data-table="1"][data-status="bussing"]')
        section = await page.eval_on_selector(
            '[data-table="1"]',
            "el => { let s = el.previousElementSibling;"
            " while (s && s.dataset.testid === 'table') s = s.previousElementSibling;"
            " return [s.textContent, s.nextElementSibling.dataset.table]; }",
        )
        assert section[1] == "1"  # the bussing table heads its section
    finally:
        daemon.kill()


async def test_portrait_opens_on_who_is_waiting(
    tmp_path: Path, broker: EmbeddedBroker, browser: Browser
) -> None:
    daemon = floor_daemon(tmp_path / "portrait", broker, example_tables())
    try:
        page = await browser.new_page(viewport={"width": 800, "height": 1280})
        await page.add_init_script(  # this tablet was unlocked earlier in the shift
            "localStorage.setItem('floorlink.token',"
            f" JSON.stringify({{token: '{STAFF_TOKEN}', at: Date.now()}}))"
        )
        await page.goto(daemon.url)
        await page.wait_for_selector('[data-testid="table"]')
        for name, size in (("Kim", 2), ("Garcia", 4), ("Okafor", 3)):
            await page.fill('[data-testid="walkin-name"]', name)
            await page.fill('[data-testid="walkin-size"]', str(size))
            await page.click('[data-testid="walkin-add"]')
            await page.wait_for_selector(f'[data-testid="waitlist"] li:has-text("{name}")')
        summary = await page.text_content('[data-testid="wl-summary"]')
        assert summary is not None and summary.startswith("3 waiting, longest 0 min")
        add = await page.locator('[data-testid="walkin-add"]').bounding_box()
        first = await page.locator('[data-testid="waitlist"] li').first.bounding_box()
        assert add is not None and first is not None
        assert add["y"] + add["height"] <= 1280 and first["y"] + first["height"] <= 1280
        assert await page.get_attribute('[data-testid="wl-tab-waiting"]', "aria-selected") == "true"
    finally:
        daemon.kill()
