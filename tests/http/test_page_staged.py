"""The host-stand page in real headless Chromium over a staged floor (the in-memory service):
every status, a late table, held reservations, banners, and every table action. It also takes
the screenshots in docs/ (a busy floor shows more than a fresh daemon can)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_service import FakeFloor
from playwright.sync_api import Browser, Page, sync_playwright
from support import CHROMIUM, CHROMIUM_ARGS
from thread_server import ThreadServer

from floorlink.daemon.http import HttpSettings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "staff-token-for-the-page"
LAYOUT = [
    ("1", 4, "main", 12, 12, "square"), ("2", 4, "main", 32, 12, "square"),
    ("3", 2, "main", 52, 12, "round"), ("4", 6, "main", 75, 12, "rect"),
    ("5", 4, "main", 12, 42, "square"), ("6", 4, "main", 32, 42, "square"),
    ("7", 2, "main", 52, 42, "round"), ("8", 6, "main", 75, 42, "rect"),
    ("P1", 4, "patio", 12, 78, "square"), ("P2", 4, "patio", 32, 78, "square"),
    ("B1", 2, "bar", 60, 78, "round"), ("B2", 2, "bar", 80, 78, "round"),
]  # fmt: skip


def ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


def party(size: int, name: str | None = None, **more: Any) -> dict[str, Any]:
    return {"size": size, "name": name, "source": "walk_in", "vip": False} | more


def staged_floor() -> FakeFloor:
    floor = FakeFloor(
        [
            {"table": t, "seats": s, "section": sec, "x": x, "y": y, "shape": sh}
            for t, s, sec, x, y, sh in LAYOUT
        ]
    )
    floor.set_table(
        "1",
        status="seated",
        course="entrees",
        party=party(4, "Smith", source="reservation", vip=True),
        server="emp-17",
        check="1042",
        since=ago(104),
    )
    floor.set_table("2", status="reserved", held_for="r-1", since=ago(6))
    floor.set_table("3", status="check_dropped", party=party(2), server="emp-4", since=ago(7))
    floor.set_table("4", status="bussing", since=ago(2))
    floor.set_table("6", status="seated", course="apps", party=party(3), since=ago(31))
    floor.set_table("P2", status="blocked", blocked_reason="wobbly leg", since=ago(50))
    floor.set_table("B1", status="seated", course="dessert", party=party(2, "Ng"), since=ago(72))
    floor.add_entry(name="Kim", party_size=2, pager=7, quoted_minutes=10, added_at=ago(14))
    floor.add_entry(
        name="Patel", party_size=4, pager=12, quoted_minutes=20, status="paged", added_at=ago(9)
    )
    floor.add_entry(name="Lee", party_size=6, quoted_minutes=35, added_at=ago(3))
    soon = datetime.now(UTC) + timedelta(minutes=20)
    later = datetime.now(UTC) + timedelta(minutes=75)
    floor.add_reservation(
        {"id": "r-1", "time": soon.isoformat(), "party_size": 4, "name": "Ito", "vip": False,
         "table": "2", "status": "confirmed", "held": True}
    )  # fmt: skip
    floor.add_reservation(
        {"id": "r-2", "time": later.isoformat(), "party_size": 2, "name": "Garcia", "vip": True,
         "table": None, "status": "booked", "held": False}
    )  # fmt: skip
    floor.set_status(cloud="down")
    return floor


@pytest.fixture
def server() -> Iterator[ThreadServer]:
    settings = HttpSettings(staff_token=TOKEN, staff_pin="2468")
    with ThreadServer(staged_floor(), settings) as s:
        yield s


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def unlock(page: Page, url: str) -> None:
    page.goto(url)
    page.fill('[data-testid="pin-input"]', "2468")
    page.click('[data-testid="pin-submit"]')
    page.wait_for_selector('[data-table="1"][data-status="seated"]')


def border(page: Page, table: str) -> str:
    color: str = page.eval_on_selector(
        f'[data-table="{table}"]', "el => getComputedStyle(el).borderTopColor"
    )
    return color


def test_the_staged_floor_shows_everything_and_takes_every_action(
    server: ThreadServer, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    unlock(page, server.url)
    assert page.locator('[data-testid="table"]').count() == 12
    for table, word in [("1", "seated"), ("2", "reserved"), ("3", "check dropped"),
                        ("4", "bussing"), ("P2", "blocked"), ("5", "available")]:  # fmt: skip
        assert word in page.inner_text(f'[data-table="{table}"]').lower()
    # colour and word: each status has its own colour
    colours = {border(page, t) for t in ("1", "2", "3", "4", "5", "P2")}
    assert len(colours) == 6
    # seated for 104 minutes: late; seated 31 minutes: not
    assert "late" in (page.get_attribute('[data-table="1"]', "class") or "")
    assert "late" not in (page.get_attribute('[data-table="6"]', "class") or "")
    assert "Smith" in page.inner_text('[data-table="1"]')
    assert "cloud" in page.inner_text("#banners").lower()
    assert "(held)" in page.inner_text("#reservations")
    # Kim waited 14 minutes on a 10-minute quote
    assert page.locator('[data-testid="waitlist"] li[data-entry="w-1"] .over').count() == 1
    # a staged scene with every status: an extra beside the real example floor's screenshots
    shots = ROOT / "docs" if os.environ.get("FLOORLINK_SCREENSHOTS") == "docs" else tmp_path
    page.screenshot(path=str(shots / "host-stand-staged.png"))

    # a change from the POS: the table changes colour
    before = border(page, "7")
    server.call(server.floor.set_table, "7", status="seated", party=party(2))
    page.wait_for_selector('[data-table="7"][data-status="seated"]')
    assert border(page, "7") != before

    # tap a table: seat a party with a size and a name
    page.click('[data-table="8"]')
    page.fill('[data-testid="seat-size"]', "5")
    page.fill('[data-testid="seat-name"]', "Ruiz")
    page.click('[data-testid="seat-party"]')
    page.wait_for_selector('[data-table="8"][data-status="seated"]')
    assert "Ruiz" in page.inner_text('[data-table="8"]')
    # clear a bussing table, unblock a blocked one, block a free one
    page.click('[data-table="4"]')
    page.click('[data-testid="clear"]')
    page.wait_for_selector('[data-table="4"][data-status="available"]')
    page.click('[data-table="P2"]')
    page.click('[data-testid="unblock"]')
    page.wait_for_selector('[data-table="P2"][data-status="available"]')
    page.click('[data-table="5"]')
    page.click('[data-testid="block"]')
    page.wait_for_selector('[data-table="5"][data-status="blocked"]')
    # a refused action says why, in words
    server.call(server.floor.set_table, "P1", status="seated", party=party(2))
    page.click('[data-table="P1"]')
    assert page.locator('[data-testid="seat-party"]').count() == 0
    page.keyboard.press("Escape")

    # a walk-in: add, page, seat
    page.fill('[data-testid="walkin-name"]', "Ode")
    page.fill('[data-testid="walkin-size"]', "2")
    page.fill('[data-testid="walkin-pager"]', "9")
    page.click('[data-testid="walkin-add"]')
    ode = page.locator('[data-testid="waitlist"] li', has_text="Ode")
    ode.wait_for()
    assert ode.get_attribute("data-status") == "waiting"
    ode.locator('[data-testid="page"]').click()
    page.wait_for_selector('[data-testid="waitlist"] li[data-status="paged"] >> text=Ode')
    ode.locator('[data-testid="seat"]').click()
    page.click('[data-testid="seat-at-B2"]')
    page.wait_for_selector('[data-table="B2"][data-status="seated"]')
    assert "Ode" in page.inner_text('[data-table="B2"]')
    page.click('[data-testid="wl-tab-done"]')  # seated parties are under Done
    assert ode.get_attribute("data-status") == "seated"

    # the broker goes: a banner says so
    server.call(server.floor.set_status, broker=False)
    page.wait_for_selector(".banner.warn >> text=POS broker")


def test_portrait_tablet(server: ThreadServer, browser: Browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 1280})
    unlock(page, server.url)
    shots = ROOT / "docs" if os.environ.get("FLOORLINK_SCREENSHOTS") == "docs" else tmp_path
    page.screenshot(path=str(shots / "host-stand-staged-portrait.png"))
    box = page.locator('[data-table="4"]').bounding_box()
    assert box is not None and box["x"] + box["width"] <= 800
    # touch targets stay large
    for sel in ('[data-testid="walkin-add"]', '[data-testid="page"]', '[data-table="3"]'):
        size = page.locator(sel).first.bounding_box()
        assert size is not None and size["height"] >= 48 and size["width"] >= 48
