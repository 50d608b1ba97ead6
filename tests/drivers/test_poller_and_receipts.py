"""Issue 14's "when both report the same check, one check": a real Toast poller (against the
loopback Toast API) and real receipt capture (ESC/POS bytes from python-escpos, printed through
the receipt-tcp proxy to a fake network printer) see the same checks, in either order, and the
floor has one check each, opened, fired and closed once. Then the internet goes: the poller is
blind by name on the stand, and receipt capture goes on alone."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fake_pos_clouds import TOAST_ID, TOAST_RESTAURANT, TOAST_SECRET, FakeToast
from receipt_support import FakePrinter, print_job, receipt_input, render, sample_check, until
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.receipt_tcp import ReceiptTcpSource
from floorlink.drivers.toast import ToastSource


@pytest.fixture
async def toast() -> AsyncIterator[FakeToast]:
    t = FakeToast()
    await t.start()
    yield t
    await t.stop()


@pytest.fixture
async def printer() -> AsyncIterator[FakePrinter]:
    p = FakePrinter()
    await p.start()
    yield p
    await p.stop()


def toast_input(toast: FakeToast) -> str:
    return (
        f'[[inputs]]\nkind = "toast"\nname = "main"\nurl = "{toast.url}"\n'
        f'client_id = "{TOAST_ID}"\nclient_secret = "{TOAST_SECRET}"\n'
        f'restaurant = "{TOAST_RESTAURANT}"\ninterval_seconds = 0.1\ntimeout_seconds = 0.5\n'
    )


@pytest.fixture
async def app(
    tmp_path: Path, broker: EmbeddedBroker, toast: FakeToast, printer: FakePrinter
) -> AsyncIterator[App]:
    # the receipt entry last: its [inputs.layout] table belongs to it
    extra = toast_input(toast) + receipt_input(printer.port)
    path = write_config(
        tmp_path / "floorlink.toml", broker.port, free_port(), tables=12, extra=extra
    )
    a = App(load_config(path))
    await a.start()
    yield a
    await a.stop()


def parts(app: App) -> tuple[ToastSource, ReceiptTcpSource]:
    poller = next(s for s in app.sources if isinstance(s, ToastSource))
    receipts = next(s for s in app.sources if isinstance(s, ReceiptTcpSource))
    return poller, receipts


async def polled(src: ToastSource) -> None:
    n = src.rounds
    await until(lambda: src.rounds >= n + 2)


def now_ms() -> int:
    return int(time.time() * 1000)


def toast_check(number: str, payment: str = "OPEN", total: float = 0) -> dict[str, Any]:
    """The same check as Toast's orders API has it (displayNumber = the printed number)."""
    return {
        "guid": f"c-{number}",
        "displayNumber": number,
        "paymentStatus": payment,
        "totalAmount": total,
        "voided": False,
        "selections": [
            {
                "guid": f"s-{number}",
                "displayName": "Burrata",
                "quantity": 1,
                "price": 14.0,
                "fulfillmentStatus": "SENT",
                "voided": False,
            }
        ],
        "payments": [{"tipAmount": 8.0}] if payment == "PAID" else [],
    }


async def test_a_check_seen_by_the_poller_and_by_receipt_capture_is_one_check(
    app: App, toast: FakeToast, printer: FakePrinter
) -> None:
    toast.tables = {"tg-12": "12", "tg-7": "7"}
    poller, receipts = parts(app)
    assert receipts.port is not None
    floor = app.engine.state.floor

    # check 1042 on table 12: printed first (a kitchen ticket), then polled from Toast
    bistro = sample_check("1042", "12")
    await print_job(receipts.port, render("bistro", "kitchen", bistro, "apps"))
    await until(lambda: app.engine.tables["12"]["status"] == "seated")
    order = {"table": {"guid": "tg-12"}, "numberOfGuests": 3}
    toast.put("o-1", now_ms() - 30_000, **order, checks=[toast_check("1042")])
    # check 2001 on table 7: polled from Toast first, its guest check printed after
    toast.put("o-2", now_ms() - 30_000, table={"guid": "tg-7"}, checks=[toast_check("2001")])
    await until(lambda: "2001" in floor.checks)
    await polled(poller)
    late = sample_check("2001", "7")
    await print_job(receipts.port, render("bistro", "check", late))
    await until(lambda: app.engine.tables["7"]["status"] == "check_dropped")

    assert sorted(floor.checks) == ["1042", "2001"]  # one check each, never two
    assert app.engine.tables["12"]["checks"] == ["1042"]
    assert app.engine.tables["7"]["checks"] == ["2001"]
    assert app.engine.tables["12"]["party"]["size"] == 3

    # paid on the printer, then Toast reports the same payment: closed once, same total
    await print_job(receipts.port, render("bistro", "receipt", bistro))
    await until(lambda: app.engine.tables["12"]["status"] == "bussing")
    closed_at = floor.checks["1042"].closed_at
    toast.put("o-1", now_ms(), checks=[toast_check("1042", "PAID", float(bistro.total()))])
    await polled(poller)
    assert floor.checks["1042"].closed_at == closed_at
    assert floor.checks["1042"].total == bistro.total()
    assert sorted(floor.checks) == ["1042", "2001"]
    assert app.engine.tables["12"]["status"] == "bussing"  # closed, not opened again
    assert app.status()["rejections"].get("input.toast.main", {}).get("count", 0) == 0

    # the internet goes: the poller is blind by name, receipt capture goes on
    toast.mode = "drop"
    await until(lambda: poller.blind is not None)
    degraded = app.status()["degraded"]
    assert any("toast:main is blind" in line for line in degraded)
    assert app.status()["components"]["input.toast.main"]["up"] is False
    await print_job(receipts.port, render("bistro", "receipt", late))
    await until(lambda: app.engine.tables["7"]["status"] == "bussing")
    assert app.status()["components"][receipts.name]["up"] is True
    # and back: the poller catches up on what it missed, still one check each
    toast.put("o-2", now_ms(), checks=[toast_check("2001", "PAID", float(late.total()))])
    toast.mode = "ok"
    await until(lambda: poller.blind is None)
    await polled(poller)
    assert sorted(floor.checks) == ["1042", "2001"]
    assert app.engine.tables["7"]["status"] == "bussing"
    assert floor.checks["2001"].total == late.total()
