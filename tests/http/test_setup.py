"""First run, end to end: `floorlink run` on a box that was never set up serves the setup page in a
real headless Chromium; the PIN, the tables and the pager (a test page to a pty transmitter) are
set in the page; the config is written with a backup of the seed, and the same process becomes
the host stand, where the new PIN pairs the tablet. After that the setup endpoints answer 409."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, async_playwright
from support import CHROMIUM, CHROMIUM_ARGS, STAFF_TOKEN, wait_for

from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.drivers.pagers import lrs
from floorlink.drivers.pty_transmitter import PtyTransmitter

PIN = "583920"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


class FreshBox:
    """A box as install.sh leaves it: a seed config (broker, token, store), no site or tables."""

    def __init__(self, workdir: Path, broker: EmbeddedBroker) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "floorlink.toml"
        self.seed = (
            "# Floorlink on this box, written by the installer: open the page to set it up.\n"
            f'[store]\npath = "{workdir / "floorlink.db"}"\n\n'
            f'[mqtt]\nurl = "mqtt://127.0.0.1:{broker.port}"\n\n'
            f'[http]\nlisten = "127.0.0.1:{self.port}"\nstaff_token = "{STAFF_TOKEN}"\n'
        )
        self.config.write_text(self.seed)
        self.log = workdir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ, FLOORLINK_SERIAL_GLOBS=str(self.workdir / "pager-*"))
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "floorlink.daemon.cli", "run", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: bool = False
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {STAFF_TOKEN}"
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def answers(self, path: str) -> Any:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
        try:
            return self.request("GET", path)
        except OSError:
            return None


@pytest.fixture
def box(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[FreshBox]:
    b = FreshBox(tmp_path / "box", broker)
    b.start()
    yield b
    if b.proc is not None:
        b.proc.kill()
        b.proc.wait()


async def test_first_run_sets_pin_tables_and_pager_then_serves_the_stand(
    box: FreshBox, browser: Browser, tmp_path: Path
) -> None:
    await wait_for(lambda: box.answers("/api/v1/status"), "the setup page")
    assert box.request("GET", "/api/v1/status") == (200, {"setup": True, "version": ANY})
    tx = PtyTransmitter(box.workdir / "pager-lrs", "lrs", restaurant_id=7)
    tx.plug()
    try:
        page = await browser.new_page(viewport={"width": 800, "height": 1280})
        await page.goto(box.url)
        await page.wait_for_selector('[data-testid="setup-table-row"]')
        assert "version" in await page.inner_text('[data-testid="version"]')
        await page.fill('[data-testid="setup-name"]', "Trattoria Luna")
        await page.select_option('[data-testid="setup-timezone"]', "Europe/Rome")
        # four tables to start with; one more for the patio, and table 2 goes
        assert await page.locator('[data-testid="setup-table-row"]').count() == 4
        await page.click('[data-testid="setup-add-table"]')
        last = page.locator('[data-testid="setup-table-row"]').nth(4)
        assert await last.locator('[data-testid="setup-table-id"]').input_value() == "5"
        await last.locator('[data-testid="setup-table-seats"]').fill("6")
        await last.locator('[data-testid="setup-table-section"]').fill("patio")
        await page.locator('[data-testid="setup-table-row"]').nth(1).locator("button").click()
        # the pager: the pty is offered among the serial devices present
        await page.check('[data-testid="setup-pager-on"]')
        ports = await page.locator('[data-testid="setup-port"] option').all_inner_texts()
        assert any("pager-lrs" in p for p in ports), ports
        await page.select_option('[data-testid="setup-port"]', str(box.workdir / "pager-lrs"))
        await page.select_option('[data-testid="setup-protocol"]', "lrs")
        await page.fill('[data-testid="setup-option-restaurant_id"]', "7")
        await page.fill('[data-testid="setup-test-number"]', "12")
        await page.click('[data-testid="setup-test"]')
        await page.wait_for_selector('[data-testid="setup-test-result"][data-delivery="written"]')
        (got,) = await tx.wait_pages(1)
        assert got.pager == 12
        assert lrs.decode(bytes(tx.raw[: lrs.FRAME_LEN]))[0] == 7  # the restaurant id chosen
        # the whole form showing passes axe-core (WCAG 2 A/AA, contrast among them)
        results = await Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa"]})
        violations = [
            f"{v['id']}: {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"]
        ]
        assert not violations, violations

        # a PIN anyone could guess is refused, with the reason
        await page.fill('[data-testid="setup-pin"]', "123456")
        await page.fill('[data-testid="setup-pin2"]', "123456")
        await page.click('[data-testid="setup-finish"]')
        await page.wait_for_selector('[data-testid="setup-error"]:has-text("run of digits")')
        assert box.config.read_text() == box.seed  # nothing written

        await page.fill('[data-testid="setup-pin"]', PIN)
        await page.fill('[data-testid="setup-pin2"]', PIN)
        await page.click('[data-testid="setup-finish"]')
        # the same process becomes the host stand; the page goes there and asks for the new PIN
        await page.wait_for_selector('[data-testid="pin-input"]', timeout=30000)
        await page.fill('[data-testid="pin-input"]', PIN)
        await page.click('[data-testid="pin-submit"]')
        await page.wait_for_selector('[data-table="5"][data-status="available"]')
        assert await page.locator('[data-testid="table"]').count() == 4
        assert await page.inner_text("#site-name") == "Trattoria Luna"
        # the daemon opened the pager port the page chose
        await wait_for(
            lambda: box.request("GET", "/api/v1/status", token=True)[1].get("pager") == "ok",
            "the stand's pager up",
        )
    finally:
        tx.close()

    config = load_config(box.config, {})
    assert (config.site.id, config.site.name, config.site.timezone) == (
        "trattoria-luna",
        "Trattoria Luna",
        "Europe/Rome",
    )
    assert config.http.staff_pin is not None and config.http.staff_pin.get_secret_value() == PIN
    assert [(t.id, t.seats, t.section) for t in config.tables] == [
        ("1", 4, "main"),
        ("3", 4, "main"),
        ("4", 4, "main"),
        ("5", 6, "patio"),
    ]
    assert config.pager is not None and config.pager.port == str(box.workdir / "pager-lrs")
    assert config.pager.settings == {"restaurant_id": 7}
    text = box.config.read_text()
    assert text.startswith("# Floorlink on this box, written by the installer")  # comments kept
    (backup,) = box.workdir.glob("floorlink.toml.bak-*")
    assert backup.read_text() == box.seed

    # setup is over: its endpoints are refused, and the stand runs on the new config
    assert box.request("GET", "/api/v1/setup")[0] == 409
    body = {"name": "X", "timezone": "UTC", "pin": "902714", "tables": [{"id": "1", "seats": 2}]}
    assert box.request("POST", "/api/v1/setup", body)[0] == 409
    assert box.request("GET", "/healthz")[0] == 200
    status = box.request("GET", "/api/v1/status", token=True)[1]
    assert "setup" not in status and status["version"]


class _Any:
    def __eq__(self, other: object) -> bool:
        return True


ANY: Any = _Any()
