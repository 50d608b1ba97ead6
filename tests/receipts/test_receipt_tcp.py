"""The raw-9100 proxy on real loopback sockets: a POS client, the box, a fake printer that records
bytes and answers status. Every byte reaches the printer unchanged (by hash) whatever the parser
or the store does; what was printed becomes check events through the same engine as MQTT."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from receipt_support import (
    BISTRO,
    FakePrinter,
    print_job,
    receipt_input,
    render,
    sample_check,
    sha,
    until,
)
from support import write_config

from floorlink.daemon.app import App
from floorlink.daemon.broker import EmbeddedBroker, free_port
from floorlink.daemon.config import load_config
from floorlink.daemon.core.state import Outcome
from floorlink.daemon.engine import Committed
from floorlink.daemon.receipt_tcp import ReceiptTcpSource, TcpOptions
from floorlink.daemon.sources import SourceContext
from floorlink.drivers.escpos import Decoder


@pytest.fixture
async def printer() -> AsyncIterator[FakePrinter]:
    p = FakePrinter()
    await p.start()
    yield p
    await p.stop()


@contextlib.asynccontextmanager
async def running(tmp_path: Path, broker: EmbeddedBroker, extra: str) -> AsyncIterator[App]:
    path = write_config(
        tmp_path / "floorlink.toml", broker.port, free_port(), tables=12, extra=extra
    )
    app = App(load_config(path))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


def source_of(app: App) -> ReceiptTcpSource:
    source = app.sources[0]
    assert isinstance(source, ReceiptTcpSource)
    return source


async def test_jobs_pass_through_unchanged_and_become_check_events(
    tmp_path: Path, broker: EmbeddedBroker, printer: FakePrinter
) -> None:
    async with running(tmp_path, broker, receipt_input(printer.port)) as app:
        source = source_of(app)
        assert source.port is not None
        check = sample_check()
        jobs = [
            render("bistro", "kitchen", check, "apps"),
            render("bistro", "kitchen", check, "entrees"),
            render("bistro", "check", check),
        ]
        for job in jobs:
            await print_job(source.port, job)
        await until(lambda: app.engine.tables["12"]["status"] == "check_dropped")
        table = app.engine.tables["12"]
        assert table["check"] == "1042" and table["course"] == "entrees"
        assert table["server"] == "ana" and table["party"]["size"] == 3

        # a status request mid-job: the printer's answer comes back through the box
        reader, writer = await asyncio.open_connection("127.0.0.1", source.port)
        writer.write(b"\x10\x04\x01")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(1), 10) == b"\x16"
        writer.write(b"\x1da\xff")  # enable automatic status back: the printer answers unasked
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(4), 10) == FakePrinter.ASB
        receipt = render("bistro", "receipt", check)
        writer.write(receipt)
        writer.write_eof()
        await reader.read()
        writer.close()
        await until(lambda: app.engine.tables["12"]["status"] == "bussing")
        sent = b"".join(jobs) + b"\x10\x04\x01\x1da\xff" + receipt
        await printer.wait_bytes(len(sent))
        assert sha(printer.received) == sha(sent)

        # the same guest check printed again: the same event, answered duplicate
        await print_job(
            source.port, render("bistro", "check", check, reprint=True, printed="20:01")
        )
        await until(
            lambda: (
                len(source.recent(10)) == 5
                and all(e["result"] != "pending" for e in source.recent(1)[0]["events"])
            )
        )
        last = source.recent(1)[0]
        assert last["kind"] == "check" and last["fields"]["table"] == "12"
        assert [e["result"] for e in last["events"]] == ["duplicate"]
        assert last["matched"]["check"] == BISTRO["check"]
        first = source.recent(10)[-1]
        assert [e["type"] for e in first["events"]] == [
            "check.opened",
            "check.items_added",
            "check.course_fired",
        ]
        assert {e["result"] for e in first["events"]} == {"accepted"}
        assert app.status()["components"]["input.receipt-tcp.kitchen"]["up"] is True
        assert source.status()["recent"][0] == last
        assert app.recent_documents(2) == {"input.receipt-tcp.kitchen": source.recent(2)}


async def test_an_unreachable_printer_fails_the_job_as_the_printer_would(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    port = free_port()
    async with running(tmp_path, broker, receipt_input(port, connect_timeout_s=2.0)) as app:
        source = source_of(app)
        assert source.port is not None
        job = render("bistro", "check", sample_check())
        reader, writer = await asyncio.open_connection("127.0.0.1", source.port)
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 10)  # reset, never a clean answer
        writer.close()
        assert source.health().up is False and "unreachable" in source.health().detail
        printer = FakePrinter()
        await printer.start(port)
        try:
            await print_job(source.port, job)
            await printer.wait_bytes(len(job))
            assert sha(printer.received) == sha(job)
            assert source.health().up is True
        finally:
            await printer.stop()


def _big_logo_job() -> bytes:
    from escpos.printer import Dummy

    p = Dummy()
    img = Image.new("1", (512, 300), 1)
    for x in range(0, 512, 7):
        img.putpixel((x, x % 300), 0)
    p.image(img)
    p.textln("Table 12")
    p.textln("Check #77   Server: bo   Guests: 2")
    p.textln("PAID")
    p.textln("Total 20.00")
    p.cut()
    return bytes(p.output)


class Broken(Decoder):
    def feed(self, data: bytes) -> Any:
        raise RuntimeError("parser bug")


class RefusingStore:
    """The intake of a store whose disk is full until `freed`: refused, then accepted."""

    def __init__(self) -> None:
        self.full = True
        self.stored: list[Any] = []

    def submit(self, inp: Any) -> asyncio.Future[Committed]:
        fut: asyncio.Future[Committed] = asyncio.get_running_loop().create_future()
        if self.full:
            fut.set_exception(OSError(28, "No space left on device"))
        else:
            self.stored.append(inp)
            fut.set_result(Committed(inp, Outcome("accepted")))
        return fut

    def context(self) -> SourceContext:
        return SourceContext(self.submit, ZoneInfo("UTC"), ("12",), lambda: 0)


@pytest.mark.parametrize("fault", ["parser", "store", "behind"])
async def test_no_fault_behind_the_proxy_touches_a_byte(printer: FakePrinter, fault: str) -> None:
    options = TcpOptions.model_validate(
        {
            "printer_host": "127.0.0.1",
            "printer_port": printer.port,
            "listen_host": "127.0.0.1",
            "listen_port": 0,
            "layout": BISTRO,
            "queue_bytes": 4096 if fault == "behind" else 8 * 1024 * 1024,
        }
    )
    store = RefusingStore()
    source = ReceiptTcpSource("bar", options, store.context())
    if fault == "parser":
        source.pipeline.decoder_factory = Broken
    await source.start()
    worker = asyncio.create_task(source.run())
    try:
        assert source.port is not None
        jobs = [_big_logo_job(), render("bistro", "receipt", sample_check()), _big_logo_job()]
        for job in jobs:
            await print_job(source.port, job, chunk=len(job))
        await printer.wait_bytes(sum(map(len, jobs)))
        assert [sha(bytes(j)) for j in printer.jobs] == [sha(j) for j in jobs]
        await source.pipeline.drained(10)
        counts = source.pipeline.counts
        if fault == "parser":
            assert counts["parser_errors"] >= 3 and counts["events"] == 0
        elif fault == "store":
            await until(lambda: counts["store_errors"] > 0)
            assert "No space left" in str(source.recent(1)[0]["events"][0]["error"])
            store.full = False  # space freed: the waiting events go in, once each
            want = {(t, c) for t in ("check.opened", "check.closed") for c in ("77", "1042")}
            await until(lambda: {(i.type, i.data["check"]) for i in store.stored} == want)
        else:
            assert source.pipeline.dropped_bytes > 0
            assert counts["events"] >= 1  # the small receipt between the logos was read
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await source.stop()


async def test_a_printer_hanging_up_mid_job_is_a_rejection_then_the_next_job_reads(
    tmp_path: Path, broker: EmbeddedBroker, printer: FakePrinter
) -> None:
    async with running(tmp_path, broker, receipt_input(printer.port)) as app:
        source = source_of(app)
        assert source.port is not None
        printer.hang_up_after = 300
        job = render("bistro", "check", sample_check())
        assert len(job) > 400
        reader, writer = await asyncio.open_connection("127.0.0.1", source.port)
        writer.write(job[:400])  # the printer takes 300 bytes and hangs up
        await writer.drain()
        with pytest.raises(ConnectionError):  # the POS sees its job fail, as without the box
            await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await until(lambda: source.pipeline.counts["rejected"] == 1)
        rejected = source.recent(1)[0]
        assert rejected["result"] == "rejected" and "printer disconnected" in rejected["error"]
        printer.hang_up_after = None
        await print_job(source.port, render("bistro", "kitchen", sample_check(), "apps"))
        await until(lambda: app.engine.tables["12"]["status"] == "seated")
        assert app.engine.tables["12"]["course"] == "apps"
        await print_job(source.port, job)  # the POS prints the failed check again: read now
        await until(lambda: app.engine.tables["12"]["status"] == "check_dropped")
