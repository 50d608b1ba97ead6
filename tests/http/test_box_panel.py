"""The Devices panel's "This box" in real headless Chromium: the version running, and a backup of
the store made online (while the POS writes) and downloaded; the download is a sound Floorlink
store, and nothing is left on the box."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from support import CHROMIUM, CHROMIUM_ARGS, STAFF_TOKEN, Daemon, Terminal, wait_for

from floorlink.daemon.backup import inspect
from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.version import version


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


def post_backup(daemon: Daemon, token: str | None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(f"{daemon.url}/api/v1/backup", headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


async def test_the_page_shows_the_version_and_downloads_a_backup(
    broker: EmbeddedBroker, daemon: Daemon, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    await page.add_init_script(
        f"localStorage.setItem('floorlink.token', JSON.stringify({{token: '{STAFF_TOKEN}', "
        "at: Date.now()}))"
    )
    await page.goto(daemon.url)
    await page.wait_for_selector('[data-table="1"]')
    await page.wait_for_selector(f'[data-testid="box-version"]:has-text("Floorlink {version()}")')
    async with Terminal(broker) as pos:
        await pos.send("check.opened", check="c1", table="1", guests=2)
        await pos.table("1", "seated")  # one event committed before the copy: it must hold it
        for n in range(2, 6):  # and the copy is taken while the others stream
            await pos.send("check.opened", check=f"c{n}", table=str(n), guests=2)
        async with page.expect_download() as info:
            await page.click('[data-testid="backup"]')
        download = await info.value
        await pos.table("5", "seated")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.name.startswith("floorlink-") and saved.suffix == ".db"
    facts = inspect(saved)  # a sound Floorlink store (integrity_check, the tables, the schema)
    assert facts.events >= 1
    await page.wait_for_selector('[data-testid="backup-state"]:has-text("events")')
    await wait_for(lambda: not list(daemon.workdir.glob(".backup-*")), "the copy removed")


async def test_the_backup_needs_a_staff_credential(daemon: Daemon) -> None:
    status, _, _ = post_backup(daemon, None)
    assert status == 401
    status, headers, body = post_backup(daemon, STAFF_TOKEN)
    assert status == 200 and headers["Content-Type"] == "application/vnd.sqlite3"
    assert body.startswith(b"SQLite format 3\x00") and len(body) == int(headers["Content-Length"])
    # the copy on the box goes once it is sent (just after the last byte)
    await wait_for(lambda: not list(daemon.workdir.glob(".backup-*")), "the copy removed")
