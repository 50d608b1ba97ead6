"""The pager sender against a real Engine, a real SQLite store and a real pty transmitter:
pages reach the wire once, wait for an unplugged port, survive a crash, and expire when the
party was seated meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import MIN, SPECS, TZ

from floorlink.daemon.core.quotes import TableView
from floorlink.daemon.core.state import Effect, Input, State
from floorlink.daemon.core.waitlist import PagingRules, WaitlistPart
from floorlink.daemon.engine import Committed, Engine, now_ms
from floorlink.daemon.store import Store, Written
from floorlink.drivers import serial_port
from floorlink.drivers.pagers import Page, make_protocol
from floorlink.drivers.pty_transmitter import PtyTransmitter
from floorlink.drivers.serial_port import SerialPort
from floorlink.paging.sender import PagerSender

TABLES = tuple(TableView(s.id, s.seats) for s in SPECS)  # 1:4, 2:2, 3:6, 12:4
PROTOCOL = make_protocol("lrs", restaurant_id=1, system_id=2)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serial_port, "BACKOFF_START_S", 0.02)
    monkeypatch.setattr(serial_port, "BACKOFF_MAX_S", 0.1)


def make_state() -> State:
    return State(SPECS, TZ, parts=[WaitlistPart(TABLES, TZ, PagingRules(repage_after_minutes=5))])


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for a condition (not a timing assert: the deadline only stops a hung test)."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


class Box:
    """The daemon's paging path, minus the daemon: engine, store, port, sender."""

    def __init__(self, db: Path, pager_path: Path) -> None:
        self.engine = Engine(Store(db), make_state)
        self.port = SerialPort(str(pager_path), 9600)
        self.sender = PagerSender(self.engine, self.port, PROTOCOL)
        self.engine.subscribe(self._committed)
        self.tasks: list[asyncio.Task[Any]] = []
        self.n = 0

    def _committed(self, batch: list[Committed]) -> None:
        if any(e.consumer == "pager" for res in batch for e in res.outcome.effects):
            self.sender.wake()

    async def open(self, send: bool = True) -> Box:
        await self.engine.open()
        self.tasks.append(asyncio.create_task(self.engine.run()))
        if send:
            await self.port.start()
            self.tasks.append(asyncio.create_task(self.sender.run()))
        return self

    async def close(self) -> None:
        """Stop as a crash would leave it: whatever was committed stays committed."""
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.port.stop()
        await self.engine.close()

    async def __call__(self, etype: str, minutes: float = 0, **data: Any) -> dict[str, Any]:
        self.n += 1
        source = "host" if etype.startswith("waitlist.") else "pos:T1"
        inp = Input(source, f"{etype}-{self.n}", etype, now_ms() + int(minutes * MIN), data)
        res = await self.engine.submit(inp)
        assert res.outcome.result == "accepted", res.outcome.error
        return res.outcome.body

    async def add(self, name: str, size: int, pager: int) -> str:
        body = await self("waitlist.add", name=name, party_size=size, pager=pager)
        return str(body["entry"])

    async def outbox(self) -> dict[str, str]:
        """Pager outbox key -> state."""

        def read() -> dict[str, str]:
            cur = self.engine.store.db.execute(
                "SELECT key, state FROM outbox WHERE consumer = 'pager' ORDER BY id"
            )
            return {str(k): str(s) for k, s in cur}

        return await self.engine.call(read)

    async def settled(self, count: int) -> dict[str, str]:
        """Wait until `count` pager rows exist and none is pending; their states."""

        async def done() -> bool:
            rows = await self.outbox()
            return len(rows) >= count and "pending" not in rows.values()

        await until(done, f"{count} pager rows settled")
        return await self.outbox()


@pytest.fixture
async def tx(tmp_path: Path) -> AsyncIterator[PtyTransmitter]:
    t = PtyTransmitter(tmp_path / "pager", restaurant_id=1, system_id=2)
    yield t
    t.close()


async def test_a_closed_check_pages_the_party_on_the_wire(
    tmp_path: Path, tx: PtyTransmitter
) -> None:
    tx.plug()
    box = await Box(tmp_path / "f.db", tx.path).open()
    try:
        await box("check.opened", check="A", table="1", guests=4)
        await box.add("Garcia", 6, 30)  # does not fit table 1
        kim = await box.add("Kim", 3, 7)
        await box("check.closed", check="A", total="80.00")
        assert await tx.wait_pages(1) == [Page(7, 1)]
        assert bytes(tx.raw) == bytes.fromhex("aaaaaafc2d012007000000000001 53")
        assert await box.settled(1) == {f"page:{kim}:1": "done"}
    finally:
        await box.close()


async def test_an_unplugged_port_queues_the_page_and_sends_it_once_when_back(
    tmp_path: Path, tx: PtyTransmitter
) -> None:
    tx.plug()
    box = await Box(tmp_path / "f.db", tx.path).open()
    try:
        assert await box.port.wait_connected(5)
        await box("check.opened", check="A", table="2", guests=2)
        kim = await box.add("Kim", 2, 11)
        tx.unplug()

        async def down() -> bool:
            return not box.port.connected

        await until(down, "the port noticed the unplug")
        await box("check.closed", check="A", total="20.00")
        assert await box.outbox() == {f"page:{kim}:1": "pending"}
        tx.replug()
        assert await tx.wait_pages(1) == [Page(11, 1)]
        assert await box.settled(1) == {f"page:{kim}:1": "done"}
        assert tx.pages == [Page(11, 1)] and box.sender.sent == 1
    finally:
        await box.close()


async def test_a_crash_between_commit_and_write_delivers_exactly_once(
    tmp_path: Path, tx: PtyTransmitter
) -> None:
    tx.plug()
    first = await Box(tmp_path / "f.db", tx.path).open(send=False)  # dies before the write
    await first("check.opened", check="A", table="1", guests=2)
    kim = await first.add("Kim", 2, 12)
    await first("check.closed", check="A", total="20.00")
    assert await first.outbox() == {f"page:{kim}:1": "pending"}
    await first.close()

    second = await Box(tmp_path / "f.db", tx.path).open()
    try:
        assert await tx.wait_pages(1) == [Page(12, 1)]
        assert await second.settled(1) == {f"page:{kim}:1": "done"}
    finally:
        await second.close()
    third = await Box(tmp_path / "f.db", tx.path).open()  # and a later restart sends nothing
    try:
        assert await third.port.wait_connected(5)
        assert await third.settled(1) == {f"page:{kim}:1": "done"}
    finally:
        await third.close()
    assert tx.pages == [Page(12, 1)]


async def test_a_queued_page_for_a_party_seated_meanwhile_is_expired(
    tmp_path: Path, tx: PtyTransmitter
) -> None:
    box = await Box(tmp_path / "f.db", tx.path).open()  # no transmitter plugged in yet
    try:
        await box("check.opened", check="A", table="1", guests=2)
        kim = await box.add("Kim", 2, 5)
        await box("check.closed", check="A", total="20.00")
        await box("table.cleared", table="1")
        await box("waitlist.seat", entry=kim, table="1")
        ito = await box.add("Ito", 2, 6)
        await box("waitlist.page", entry=ito)
        tx.plug()
        assert await tx.wait_pages(1) == [Page(6, 1)]
        rows = await box.settled(2)
        assert rows == {f"page:{kim}:1": "expired", f"page:{ito}:1": "done"}
        assert tx.pages == [Page(6, 1)] and box.sender.expired == 1
    finally:
        await box.close()


async def test_pages_queued_while_down_for_one_party_buzz_once(
    tmp_path: Path, tx: PtyTransmitter
) -> None:
    box = await Box(tmp_path / "f.db", tx.path).open()  # no transmitter plugged in yet
    try:
        kim = await box.add("Kim", 2, 9)
        await box("waitlist.page", entry=kim)
        await box("waitlist.due", 6)  # re-paged while the port is still down
        assert list(await box.outbox()) == [f"page:{kim}:1", f"page:{kim}:2"]
        tx.plug()
        assert await tx.wait_pages(1) == [Page(9, 1)]
        assert await box.settled(2) == {f"page:{kim}:1": "expired", f"page:{kim}:2": "done"}
        assert tx.pages == [Page(9, 1)]
    finally:
        await box.close()


async def test_an_unencodable_row_is_parked_and_the_next_page_still_goes(
    tmp_path: Path, tx: PtyTransmitter
) -> None:
    tx.plug()
    box = await Box(tmp_path / "f.db", tx.path).open()
    try:
        kim = await box.add("Kim", 2, 9)
        ito = await box.add("Ito", 2, 10)
        bad = Effect("pager", f"page:{kim}:0", 1, "page", {"entry": kim, "pager": "nine"})

        def insert() -> None:  # a row no current code writes, as a bug or an old version might
            box.engine.store.begin()
            box.engine.store.write(Written([], [bad], {}), now_ms())
            box.engine.store.commit()

        await box.engine.call(insert)
        await box("waitlist.page", entry=ito)
        assert await tx.wait_pages(1) == [Page(10, 1)]
        assert await box.settled(2) == {f"page:{kim}:0": "dead", f"page:{ito}:1": "done"}
    finally:
        await box.close()
