"""The host-stand page in real headless Chromium over a staged floor on the real daemon (App,
Mosquitto, a temporary store), built by real inputs: POS events from a terminal, host actions,
waitlist adds and a cloud page of reservations, several of them dated in the past. Every
status, a late table, held reservations, banners, and every table action. It also takes the
screenshots in docs/ (a busy floor shows more than a fresh daemon can)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from app_support import PIN, send
from playwright.sync_api import Browser, Page, sync_playwright
from support import CHROMIUM, CHROMIUM_ARGS, Terminal
from thread_server import ThreadServer

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.engine import now_ms
from floorlink.daemon.http import HttpSettings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "staff-token-for-the-page"
MIN = 60_000
LAYOUT = [
    ("1", 4, "main", 12, 12, "square"), ("2", 4, "main", 32, 12, "square"),
    ("3", 2, "main", 52, 12, "round"), ("4", 6, "main", 75, 12, "rect"),
    ("5", 4, "main", 12, 42, "square"), ("6", 4, "main", 32, 42, "square"),
    ("7", 2, "main", 52, 42, "round"), ("8", 6, "main", 75, 42, "rect"),
    ("P1", 4, "patio", 12, 78, "square"), ("P2", 4, "patio", 32, 78, "square"),
    ("B1", 2, "bar", 60, 78, "round"), ("B2", 2, "bar", 80, 78, "round"),
]  # fmt: skip
ROWS = "\n".join(
    f'[[tables]]\nid = "{t}"\nseats = {s}\nsection = "{sec}"\nx = {x}\ny = {y}\nshape = "{sh}"\n'
    for t, s, sec, x, y, sh in LAYOUT
)


def ago(minutes: int) -> int:
    return now_ms() - minutes * MIN


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


async def stage(app: App, broker: EmbeddedBroker) -> None:
    """A Saturday at 8: every status, a VIP, a late table, three parties waiting, two bookings."""
    smith = {
        "id": "r-0", "status": "confirmed", "time": iso(ago(110)), "party_size": 4,
        "table": "1", "source": "phone", "guest": {"name": "Smith", "vip": True},
    }  # fmt: skip
    ito = {
        "id": "r-1", "status": "confirmed", "time": iso(now_ms() + 20 * MIN), "party_size": 4,
        "table": "2", "source": "online", "guest": {"name": "Ito"},
    }  # fmt: skip
    garcia = {
        "id": "r-2", "status": "booked", "time": iso(now_ms() + 75 * MIN), "party_size": 2,
        "source": "phone", "guest": {"name": "Garcia", "vip": True},
    }  # fmt: skip
    pulled = {"reservations": [smith, ito, garcia], "cursor": "c1"}
    await send(app, "cloud.pulled", ago(120), pulled, source="cloud")
    await send(app, "reservation.arrive", ago(104), {"reservation": "r-0", "table": "1"}, "host")
    seat_ng = {"table": "B1", "party_size": 2, "name": "Ng", "source": "walk_in"}
    await send(app, "host.seated", ago(72), seat_ng, "host")
    await send(app, "host.blocked", ago(50), {"table": "P2", "reason": "wobbly leg"}, "host")
    async with Terminal(broker, "bar-1") as pos:
        sent = [
            await pos.send("check.opened", at=iso(ago(103)), check="1042", table="1", guests=4,
                           server="emp-17"),
            await pos.send("check.course_fired", at=iso(ago(60)), check="1042", course="entrees"),
            await pos.send("check.opened", at=iso(ago(30)), check="2001", table="3", guests=2,
                           server="emp-4"),
            await pos.send("check.printed", at=iso(ago(7)), check="2001"),
            await pos.send("check.opened", at=iso(ago(50)), check="2002", table="4", guests=5),
            await pos.send("check.closed", at=iso(ago(2)), check="2002", total="88.00"),
            await pos.send("check.opened", at=iso(ago(31)), check="2003", table="6", guests=3),
            await pos.send("check.course_fired", at=iso(ago(25)), check="2003", course="apps"),
            await pos.send("check.opened", at=iso(ago(71)), check="2004", table="B1", guests=2),
            await pos.send("check.course_fired", at=iso(ago(10)), check="2004", course="dessert"),
        ]  # fmt: skip
        for eid in sent:
            assert (await pos.ack(eid))["result"] == "accepted", eid
    kim = {"name": "Kim", "party_size": 2, "pager": 7}
    await app.engine.submit(_host("1", "waitlist.add", ago(14), kim))
    patel = {"name": "Patel", "party_size": 4, "pager": 12}
    await app.engine.submit(_host("2", "waitlist.add", ago(9), patel))
    await app.engine.submit(_host("3", "waitlist.page", now_ms(), {"entry": "w-2"}))
    await app.engine.submit(_host("4", "waitlist.add", ago(3), {"name": "Lee", "party_size": 6}))


def _host(eid: str, itype: str, at: int, data: dict[str, Any]) -> Any:
    from floorlink.daemon.core.state import Input

    return Input("host", eid, itype, at, data)


@pytest.fixture
def server(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[ThreadServer]:
    settings = HttpSettings(staff_token=TOKEN, staff_pin=PIN)
    cloud = (  # a cloud that never answers: the banner, and the outbox keeps the pushes
        f'[cloud]\nurl = "http://127.0.0.1:{free_port()}"\ntoken = "cloud-token-for-tests"\n'
        "pull_interval_seconds = 1\n"
    )
    with ThreadServer(tmp_path / "app", broker, settings, ROWS, cloud) as s:
        s.run(stage(s.app, broker))
        yield s


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def unlock(page: Page, url: str) -> None:
    page.goto(url)
    page.fill('[data-testid="pin-input"]', PIN)
    page.click('[data-testid="pin-submit"]')
    page.wait_for_selector('[data-table="1"][data-status="seated"]')


def pos_event(server: ThreadServer, broker: EmbeddedBroker, etype: str, **fields: Any) -> None:
    """A real POS terminal's event, acknowledged before this returns."""

    async def go() -> None:
        async with Terminal(broker, "server-2") as pos:
            eid = await pos.send(etype, **fields)
            assert (await pos.ack(eid))["result"] == "accepted"

    server.run(go())


def border(page: Page, table: str) -> str:
    color: str = page.eval_on_selector(
        f'[data-table="{table}"]', "el => getComputedStyle(el).borderTopColor"
    )
    return color


def test_the_staged_floor_shows_everything_and_takes_every_action(
    server: ThreadServer, browser: Browser, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    unlock(page, server.url)
    page.wait_for_selector('[data-table="2"][data-status="reserved"]')  # held by the timer
    page.wait_for_selector("#banners >> text=/cloud/i")  # the cloud is not answering
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
    pos_event(server, broker, "check.opened", check="3001", table="7", guests=2)
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
    pos_event(server, broker, "check.opened", check="3002", table="P1", guests=2)
    page.wait_for_selector('[data-table="P1"][data-status="seated"]')
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
    broker.stop()
    page.wait_for_selector(".banner.warn >> text=POS broker")


def test_portrait_tablet(server: ThreadServer, browser: Browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 1280})
    unlock(page, server.url)
    page.wait_for_selector('[data-table="2"][data-status="reserved"]')
    shots = ROOT / "docs" if os.environ.get("FLOORLINK_SCREENSHOTS") == "docs" else tmp_path
    page.screenshot(path=str(shots / "host-stand-staged-portrait.png"))
    box = page.locator('[data-table="4"]').bounding_box()
    assert box is not None and box["x"] + box["width"] <= 800
    # touch targets stay large
    for sel in ('[data-testid="walkin-add"]', '[data-testid="page"]', '[data-table="3"]'):
        size = page.locator(sel).first.bounding_box()
        assert size is not None and size["height"] >= 48 and size["width"] >= 48
