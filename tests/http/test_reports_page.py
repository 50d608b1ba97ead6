"""The Reports view of the host stand in real headless Chromium, on the real daemon (App,
Mosquitto, a temporary store) after a real service: the report comes from
GET /api/v1/reports/{name}, the chart is the page's own SVG (daemon/static/charts.js; nothing is
fetched from anywhere but the box), the table shows the same rows, and a blank reads "—" with
its reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from app_support import PIN, send
from playwright.sync_api import Browser, sync_playwright
from support import CHROMIUM, CHROMIUM_ARGS
from thread_server import ThreadServer

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.engine import now_ms
from floorlink.daemon.http import HttpSettings
from floorlink.daemon.report import REPORTS

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("America/Los_Angeles")  # tests/support.py write_config's site
TOKEN = "staff-token-for-reports"
#: (check, table, guests, total, reservation or None)
CHECKS = [("101", "1", 4, "120.00", "r-on"), ("102", "2", 2, "60.50", "r-ph"),
          ("103", "3", 2, "40.00", None), ("104", "4", 3, "75.00", None)]  # fmt: skip


def last_night() -> datetime:
    """19:00 site time on the service day that just ended."""
    local = datetime.fromtimestamp(now_ms() / 1000, TZ)
    day = local.date() - timedelta(days=1)
    return datetime(day.year, day.month, day.day, 19, tzinfo=TZ)


async def serve(app: App) -> None:
    at = last_night()
    ms = int(at.timestamp() * 1000)
    reservations = [
        {"id": "r-on", "status": "confirmed", "time": at.isoformat(), "party_size": 4,
         "source": "online", "guest": {"name": "Ito", "phone": "+1 415 555 0100"}},
        {"id": "r-ph", "status": "confirmed", "time": at.isoformat(), "party_size": 2,
         "source": "phone", "guest": {"name": "Kim", "email": "kim@example.com"}},
    ]  # fmt: skip
    await send(app, "cloud.pulled", ms - 3_600_000, {"reservations": reservations, "cursor": "1"},
               "cloud")  # fmt: skip
    for n, (check, table, guests, total, rid) in enumerate(CHECKS):
        opened = ms + n * 60_000
        got = await send(app, "check.opened", opened,
                         {"check": check, "table": table, "guests": guests}, "pos:T")  # fmt: skip
        assert got.outcome.result == "accepted"
        if rid:
            link = {"reservation": rid, "check": check, "by": "host"}
            assert (await send(app, "reservation.link", opened + 1, link, "host")).outcome.result \
                == "accepted"  # fmt: skip
        done = await send(app, "check.closed", opened + 90 * 60_000,
                          {"check": check, "total": total}, "pos:T")  # fmt: skip
        assert done.outcome.result == "accepted"
    # Ito books again for tonight: the stand shows his visit summary from his profile
    soon = datetime.fromtimestamp(now_ms() / 1000 + 1800, TZ).isoformat()
    again = {"id": "r-again", "status": "confirmed", "time": soon, "party_size": 4,
             "source": "online", "guest": {"name": "Ito", "phone": "(415) 555-0100"}}  # fmt: skip
    pulled = await send(app, "cloud.pulled", now_ms(), {"reservations": [again], "cursor": "2"},
                        "cloud")  # fmt: skip
    assert pulled.outcome.result == "accepted"


@pytest.fixture
def server(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[ThreadServer]:
    settings = HttpSettings(staff_token=TOKEN, staff_pin=PIN)
    with ThreadServer(tmp_path / "app", broker, settings) as s:
        s.run(serve(s.app))
        yield s


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_the_page_lists_every_report() -> None:
    text = (ROOT / "daemon" / "static" / "reports.js").read_text()
    block = text[text.index("const REPORT_CHARTS") : text.index("};")]
    names = re.findall(r'^\s+"?([a-z-]+)"?:', block, re.M)
    assert names == list(REPORTS)


def test_reports_view_draws_a_chart_and_the_table(server: ThreadServer, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url)
    page.fill('[data-testid="pin-input"]', PIN)
    page.click('[data-testid="pin-submit"]')
    page.wait_for_selector('[data-table="1"]')
    summary = page.inner_text('[data-reservation="r-again"] [data-testid="visit-summary"]')
    assert "1 visit" in summary and "avg $120.00" in summary
    day = last_night().date().isoformat()
    page.select_option('[data-testid="report-name"]', "sources")
    page.fill('[data-testid="report-since"]', day)
    page.fill('[data-testid="report-until"]', day)
    page.click('[data-testid="report-show"]')
    page.wait_for_selector('[data-testid="report-chart"] .chart-bar')
    bars = page.eval_on_selector_all(
        '[data-testid="report-chart"] .chart-bar',
        "els => els.map(e => [e.dataset.label, e.dataset.value])",
    )
    # online 120.00, phone 60.50, walk-in (115.00 over two checks) 57.50
    assert bars == [["online", "120"], ["phone", "60.5"], ["walk-in", "57.5"]]
    heights = page.eval_on_selector_all(
        '[data-testid="report-chart"] rect', "els => els.map(e => e.getBBox().height)"
    )
    assert heights[0] > heights[1] > heights[2] > 0
    table = page.inner_text('[data-testid="report-table"]')
    assert "online" in table and "120.00" in table and "57.50" in table
    # a report with blanks: "—" and the reason, never "None" or "null"
    page.select_option('[data-testid="report-name"]', "phases")
    page.click('[data-testid="report-show"]')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=report-why]').textContent.includes('—')"
    )
    table = page.inner_text('[data-testid="report-table"]')
    assert "—" in table and "None" not in table and "null" not in table
    assert "mean minutes:" in page.inner_text('[data-testid="report-why"]')
    # the summary is a table only
    page.select_option('[data-testid="report-name"]', "summary")
    page.click('[data-testid="report-show"]')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=report-table]').textContent.includes('revpash')"
    )
    assert page.query_selector('[data-testid="report-chart"] svg') is None
    assert "checks" in page.inner_text('[data-testid="report-table"]')
    assert requests and all(u.startswith(server.url) for u in requests), requests
