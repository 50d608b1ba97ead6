"""The stand's new actions in real headless Chromium against the real daemon (App, Mosquitto, a
temporary store), a simulated LRS T74 transmitter on a pty and a raw-9100 printer on loopback:
a test page followed to "transmitted", a waitlist page's delivery on its row, a reservation
relinked and unlinked in one tap each, "2 of 4 here", and the receipt printer's last documents.
The page with all of it showing passes axe-core and keeps its text at 16 px or more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from app_support import PIN, send
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright
from receipt_support import FakePrinter, print_job, receipt_input, render, sample_check
from support import CHROMIUM, CHROMIUM_ARGS, Terminal, write_config
from thread_server import ThreadServer

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.core.quotes import MIN_MS
from floorlink.daemon.core.timeutil import format_ms
from floorlink.daemon.engine import now_ms
from floorlink.daemon.http import HttpSettings, make_app, runner_options
from floorlink.drivers import serial_port
from floorlink.drivers.pagers import Page as PagerPage
from floorlink.drivers.pty_transmitter import PtyTransmitter

TOKEN = "staff-token-for-the-stand"
SMALL_TEXT = (
    "[...document.querySelectorAll('body *')].filter(e => e.childNodes.length &&"
    " [...e.childNodes].some(c => c.nodeType === 3 && c.textContent.trim()) &&"
    " e.offsetParent !== null && parseFloat(getComputedStyle(e).fontSize) < 16)"
    ".map(e => e.className || e.tagName)"
)


class StandServer(ThreadServer):
    """The daemon with the broker's password file set, so terminals are managed from the page."""

    passwd: Path

    async def _start(self) -> None:
        path = write_config(
            self.workdir / "floorlink.toml", self.broker.port, free_port(), 12, self.extra
        )
        mqtt = f'[mqtt]\npasswd_file = "{self.passwd}"\nreload_broker = false\n'
        path.write_text(path.read_text().replace("[mqtt]\n", mqtt))
        self._app = App(load_config(path))
        await self._app.start()
        await self._app.wait_ready(20)
        self.runner = web.AppRunner(
            make_app(self._app, self.settings), access_log=None, **runner_options(self.settings)
        )
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()


@pytest.fixture
def stand(
    tmp_path: Path, broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ThreadServer, PtyTransmitter]]:
    monkeypatch.setattr(serial_port, "BACKOFF_MAX_S", 0.2)  # the pty is plugged after start
    tx = PtyTransmitter(tmp_path / "pager", "lrs-t74", system_id=1)
    printer = FakePrinter()
    pager = (
        f'[pager]\nport = "{tmp_path / "pager"}"\nprotocol = "lrs-t74"\n'
        "system_id = 1\nalert_type = 67\nack_timeout = 0.5\ndone_timeout = 2.0\n"
    )
    settings = HttpSettings(staff_token=TOKEN, staff_pin=PIN)
    port = free_port()  # the printer listens there once the daemon runs
    extra = pager + receipt_input(port)
    server = StandServer(tmp_path / "app", broker, settings, 12, extra)
    server.passwd = tmp_path / "floorlink.passwd"
    (tmp_path / "app").mkdir()
    with server as s:
        s.call(tx.plug)  # on the daemon's loop: the simulated transmitter reads there
        s.run(printer.start(port))
        try:
            s.run(stage(s))
            yield s, tx
        finally:
            s.run(printer.stop())
            s.call(tx.close)


async def stage(s: ThreadServer) -> None:
    app, at = s.app, now_ms()
    ito = {
        "id": "r-1", "status": "confirmed", "time": format_ms(at + 20 * MIN_MS, app.tz),
        "party_size": 4, "table": "2", "source": "online", "guest": {"name": "Ito"},
        "updated_at": format_ms(at, app.tz),
    }  # fmt: skip
    pulled = await send(app, "cloud.pulled", at, {"reservations": [ito], "cursor": "c1"}, "cloud")
    assert pulled.outcome.result == "accepted"
    for check, table in (("77", "4"), ("78", "5")):
        data = {"check": check, "table": table, "guests": 4}
        assert (await send(app, "check.opened", at, data, "pos:t1")).outcome.result == "accepted"
    kim = {"name": "Kim", "party_size": 2, "pager": 7}
    assert (await send(app, "waitlist.add", at, kim, "host")).outcome.result == "accepted"


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
    page.wait_for_selector('[data-table="4"][data-status="seated"]')


def test_test_page_delivery_relink_partial_and_receipts_on_the_stand(
    stand: tuple[ThreadServer, PtyTransmitter], browser: Browser
) -> None:
    server, tx = stand
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    unlock(page, server.url)

    # the transmitter's state, and a test page followed until the transmitter reports it
    page.wait_for_selector('[data-testid="pager-state"] >> text=working')
    assert "lrs-t74" in page.inner_text('[data-testid="pager-state"]')
    page.fill('[data-testid="test-pager"]', "42")
    page.click('[data-testid="test-page"]')
    page.wait_for_selector('[data-testid="pager-test-state"][data-delivery="transmitted"]')
    assert "pager 42" in page.inner_text('[data-testid="pager-test-state"]')
    assert server.run(tx.wait_pages(1)) == [PagerPage(42, 0x43)]

    # a party's page: its row says where the page got
    kim = page.locator('[data-testid="waitlist"] li', has_text="Kim")
    kim.locator('[data-testid="page"]').click()
    kim.locator('[data-testid="delivery"][data-delivery="transmitted"]').wait_for()
    assert "page transmitted" in kim.inner_text()

    # relink in one tap, relink again, unlink
    ito = page.locator('[data-testid="reservations"] li[data-reservation="r-1"]')
    ito.locator('[data-testid="link"]').click()
    page.click('[data-testid="link-77"]')
    ito.locator('[data-testid="res-check"]', has_text="check 77 (linked by host)").wait_for()
    ito.locator('[data-testid="link"]').click()
    assert page.locator('[data-testid="link-77"]').count() == 0  # the linked one is not offered
    page.click('[data-testid="link-78"]')
    ito.locator('[data-testid="res-check"]', has_text="check 78").wait_for()
    ito.locator('[data-testid="link"]').click()
    page.click('[data-testid="unlink"]')
    ito.locator('[data-testid="res-check"]').wait_for(state="detached")

    # "2 of 4 here": the table is held, the turn has not started
    ito.locator('[data-testid="partial"]').click()
    page.fill('[data-testid="partial-arrived"]', "2")
    page.click('[data-testid="partial-at-2"]')
    ito.locator("text=2 of 4 here").wait_for()
    page.wait_for_selector('[data-table="2"][data-status="reserved"]')

    # what the printer printed, and what it became
    port = getattr(server.app.sources[0], "port", None)
    assert isinstance(port, int)
    server.run(print_job(port, render("bistro", "check", sample_check())))
    page.wait_for_selector('[data-table="12"][data-status="check_dropped"]')
    page.reload()
    doc = page.locator('[data-testid="receipts"] [data-testid="receipt-doc"]').first
    doc.wait_for()
    assert "check" in doc.inner_text() and "table 12" in doc.inner_text()
    doc.locator("summary").click()
    assert "Patterns that matched" in doc.inner_text()

    # a POS terminal added from the page: what to type into the POS, then its events and errors
    page.fill('[data-testid="terminal-name"]', "bar-2")
    page.click('[data-testid="terminal-add"]')
    page.wait_for_selector('[data-testid="terminal-new"] >> text=password')
    assert "username bar-2" in page.inner_text('[data-testid="terminal-new"]')
    bar = page.locator('[data-testid="terminals"] li[data-terminal="bar-2"]')
    bar.wait_for()

    async def pos_events() -> None:
        async with Terminal(server.broker, "bar-2") as pos:
            good = await pos.send("check.opened", check="90", table="9", guests=2)
            assert (await pos.ack(good))["result"] == "accepted"
            bad = await pos.send("check.opened", check="91", table="nope", guests=2)
            assert (await pos.ack(bad))["result"] == "rejected"

    server.run(pos_events())
    page.reload()
    bar.locator('[data-testid="terminal-errors"]', has_text="1 errors").wait_for()
    assert "2 events" in bar.inner_text() and "last check.opened" in bar.inner_text()
    page.wait_for_selector('[data-testid="cloud-state"] >> text=No cloud')
    page.once("dialog", lambda d: d.accept())
    bar.locator('[data-testid="terminal-remove"]').click()
    bar.wait_for(state="detached")

    # servers for the shift: a whole section and a table, covers from the POS's checks
    page.fill('[data-testid="assign-server"]', "zoe")
    page.fill('[data-testid="assign-tables"]', "3")
    page.click('[data-testid="assign-add"]')
    zoe = page.locator('[data-testid="servers"] li[data-server="zoe"]')
    zoe.wait_for()
    assert "tables 3" in zoe.inner_text()
    page.fill('[data-testid="assign-server"]', "yan")
    page.check('[data-testid="assign-section-main"]')
    page.click('[data-testid="assign-add"]')
    yan = page.locator('[data-testid="servers"] li[data-server="yan"]')
    yan.wait_for()
    assert "(main)" in yan.inner_text()
    zoe.wait_for(state="detached")  # table 3 moved to yan with the whole section
    yan.locator('[data-testid="server-end"]').click()
    yan.wait_for(state="detached")

    # with all of it showing: readable, accessible, no sideways scroll
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_selector('[data-testid="pager-state"] >> text=working')
        assert not page.evaluate(SMALL_TEXT), f"text under 16 px at {width}x{height}"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa"]})
        violations = [v["id"] for v in results.response["violations"]]
        assert not violations, f"axe-core at {width}x{height}: {violations}"
