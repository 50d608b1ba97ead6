"""A party's live estimate moves with the floor: a course fired on the table it waits for
changes it on `floorlink/v1/waitlist` and in the API, while its quote stays as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from support import CHROMIUM, CHROMIUM_ARGS, STAFF_TOKEN, Daemon, Terminal, post

from floorlink.daemon.broker import EmbeddedBroker


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


async def test_a_course_fired_on_the_awaited_table_moves_the_live_estimate(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    daemon = Daemon(tmp_path / "daemon", broker, tables=1)  # one table of four
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            await pos.client.subscribe("floorlink/v1/waitlist", qos=1)
            # seated an hour ago, no course yet: a four-top's turn is nearly done
            opened = await pos.send("check.opened", check="A", table="1", guests=4, at=ago(60))
            await pos.ack(opened)
            kim = post(daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 7})
            quote = kim["quoted_minutes"]
            await pos.wait(lambda: [e["name"] for e in pos.waitlist] == ["Kim"])
            first = pos.waitlist[0]
            assert first["quoted_minutes"] == quote
            assert abs(first["estimate_minutes"] - quote) <= 1 and not first["running_late"]
            # the first course only now: the table is at the start of its meal, not the end
            await pos.ack(await pos.send("check.course_fired", check="A", course="apps"))
            await pos.wait(
                lambda: bool(pos.waitlist) and pos.waitlist[0]["estimate_minutes"] > quote + 10
            )
            moved = pos.waitlist[0]
            assert moved["quoted_minutes"] == quote  # the promise is kept for accuracy
            assert moved["running_late"] is True  # the host can tell Kim before Kim asks
            api = daemon.get("/api/v1/waitlist")
            assert api[0]["estimate_minutes"] > quote + 10 and api[0]["quoted_minutes"] == quote
            # the check prints: the table pays soon, and the estimate comes back down
            await pos.ack(await pos.send("check.printed", check="A"))
            await pos.wait(
                lambda: (
                    bool(pos.waitlist)
                    and pos.waitlist[0]["estimate_minutes"] < moved["estimate_minutes"] - 20
                )
            )
            assert pos.waitlist[0]["running_late"] is False
    finally:
        daemon.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def test_the_stand_shows_the_estimate_the_late_flag_and_quote_accuracy(
    tmp_path: Path, broker: EmbeddedBroker, browser: Browser
) -> None:
    """On the host stand: each waiting party's live estimate, a running-late flag once the
    estimate passes the quote, and, once a party is seated, the quotes' accuracy."""
    daemon = Daemon(tmp_path / "daemon", broker, tables=1)
    daemon.start()
    try:
        async with Terminal(broker) as pos:
            await pos.ack(
                await pos.send("check.opened", check="A", table="1", guests=4, at=ago(60))
            )
            kim = post(daemon, "/api/v1/waitlist", {"name": "Kim", "party_size": 2, "pager": 7})
            page = await browser.new_page()
            await page.add_init_script(  # the stand was unlocked earlier in the shift
                "localStorage.setItem('floorlink.token',"
                f" JSON.stringify({{token: '{STAFF_TOKEN}', at: Date.now()}}))"
            )
            await page.goto(daemon.url)
            row = f'[data-testid="waitlist"] li[data-entry="{kim["id"]}"]'
            await page.wait_for_selector(f'{row} [data-testid="estimate"]')
            assert await page.locator(f'{row} [data-testid="running-late"]').count() == 0
            assert await page.is_hidden('[data-testid="wl-accuracy"]')  # nobody seated yet
            await pos.ack(await pos.send("check.course_fired", check="A", course="apps"))
            await page.wait_for_selector(f'{row} [data-testid="running-late"]')
            late = await page.text_content(f'{row} [data-testid="running-late"]')
            assert "running late" in (late or "")
            await pos.ack(await pos.send("check.closed", check="A", total="40.00"))
            await pos.ack(await pos.send("table.cleared", table="1"))
            await pos.table("1", "available")
            post(daemon, f"/api/v1/waitlist/{kim['id']}/seat", {"table": "1"})
            await page.wait_for_selector('[data-testid="wl-accuracy"]:not([hidden])')
            text = await page.text_content('[data-testid="wl-accuracy"]') or ""
            assert "MAE" in text and "within 3 min" in text and "party size 2" in text
    finally:
        daemon.stop()
