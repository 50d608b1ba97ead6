"""Delivery you can see: the pager sender against a real Engine and store and a simulated
transmitter on a pty. A page moves queued -> written -> acknowledged -> transmitted on the
waitlist entry; NAK and busy are retried with backoff; a transmitter that never takes it fails
the page with its reason; a page past its time to live is never sent."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import MIN, SPECS, TZ

from floorlink.daemon import metrics
from floorlink.daemon.core.quotes import TableView
from floorlink.daemon.core.state import Input, State
from floorlink.daemon.core.waitlist import Entry, PagingRules, WaitlistPart
from floorlink.daemon.engine import Committed, Engine, now_ms
from floorlink.daemon.routes import status_for
from floorlink.daemon.store import Store
from floorlink.drivers import serial_port
from floorlink.drivers.pagers import make_protocol
from floorlink.drivers.pty_transmitter import PtyTransmitter
from floorlink.paging import sender as sender_module
from floorlink.paging.sender import PagerComponent, PagerSender, make_transport

TABLES = tuple(TableView(s.id, s.seats) for s in SPECS)


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serial_port, "BACKOFF_START_S", 0.02)
    monkeypatch.setattr(serial_port, "BACKOFF_MAX_S", 0.1)
    monkeypatch.setattr(sender_module, "RETRY_START_S", 0.01)
    monkeypatch.setattr(sender_module, "RETRY_MAX_S", 0.02)


def make_state() -> State:
    return State(SPECS, TZ, parts=[WaitlistPart(TABLES, TZ, PagingRules(alert_type=3))])


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for a condition (the deadline only stops a hung test)."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


class Box:
    def __init__(
        self, db: Path, pager: Path, protocol: str, options: dict[str, Any], **kw: Any
    ) -> None:
        self.engine = Engine(Store(db), make_state)
        proto = make_protocol(protocol, **options)
        self.sender = PagerSender(self.engine, make_transport(proto, str(pager)), proto, **kw)
        self.component = PagerComponent(self.sender)
        self.engine.subscribe(self._committed)
        self.tasks: list[asyncio.Task[Any]] = []
        self.n = 0

    def _committed(self, batch: list[Committed]) -> None:
        if any(e.consumer == "pager" for res in batch for e in res.outcome.effects):
            self.sender.wake()

    async def open(self) -> Box:
        await self.engine.open()
        self.tasks.append(asyncio.create_task(self.engine.run()))
        await self.component.start()
        self.tasks.append(asyncio.create_task(self.component.run()))
        return self

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.component.stop()
        await self.engine.close()

    async def __call__(self, etype: str, **data: Any) -> dict[str, Any]:
        self.n += 1
        res = await self.engine.submit(Input("host", f"h{self.n}", etype, now_ms(), data))
        assert res.outcome.result == "accepted", res.outcome.error
        return res.outcome.body

    async def page(self, pager: int) -> str:
        body = await self("waitlist.add", name="Kim", party_size=2, pager=pager)
        entry = str(body["entry"])
        await self("waitlist.page", entry=entry)
        return entry

    async def row(self) -> tuple[str, str | None]:
        def read() -> tuple[str, str | None]:
            cur = self.engine.store.db.execute(
                "SELECT state, last_error FROM outbox WHERE consumer = 'pager'"
            )
            state, error = cur.fetchone()
            return str(state), error

        return await self.engine.call(read)

    async def settled(self) -> tuple[str, str | None]:
        async def done() -> bool:
            return (await self.row())[0] != "pending"

        await until(done, "the page settled")
        return await self.row()

    async def delivery(self, entry: str, state: str) -> tuple[str | None, str | None]:
        def read() -> tuple[str | None, str | None]:
            part = self.engine.state.part("waitlist")
            assert isinstance(part, WaitlistPart)
            e = part.entries[entry]
            return e.delivery, e.delivery_detail

        async def reached() -> bool:
            return (await self.engine.call(read))[0] == state

        await until(reached, f"delivery {state}")
        return await self.engine.call(read)


@pytest.fixture
async def t74(tmp_path: Path) -> AsyncIterator[PtyTransmitter]:
    tx = PtyTransmitter(tmp_path / "pager", "lrs-t74")
    tx.plug()
    yield tx
    tx.close()


T74 = {"ack_timeout": 0.3, "done_timeout": 0.3}


async def test_states_reach_the_waitlist_entry_in_order(
    tmp_path: Path, t74: PtyTransmitter
) -> None:
    box = await Box(tmp_path / "f.db", t74.path, "lrs-t74", T74).open()
    try:
        entry = await box.page(12)
        assert await t74.wait_pages(1) == [t74.pages[0]] and t74.pages[0].alert == 3
        assert await box.settled() == ("done", None)
        assert (await box.delivery(entry, "transmitted"))[0] == "transmitted"
        assert [s for _, s, _ in box.sender.reports] == ["written", "acknowledged", "transmitted"]
        assert t74.answered == b"CPG,12\rSCPG,12\r"
        assert box.component.health().up and metrics.PAGER_UP._value.get() == 1
    finally:
        await box.close()


async def test_nak_and_busy_are_retried_then_the_page_goes(
    tmp_path: Path, t74: PtyTransmitter
) -> None:
    t74.script[:] = ["nak", "busy"]
    box = await Box(tmp_path / "f.db", t74.path, "lrs-t74", T74).open()
    try:
        entry = await box.page(7)
        assert await box.settled() == ("done", None)
        await box.delivery(entry, "transmitted")
        states = [s for _, s, _ in box.sender.reports]
        assert states.count("retrying") == 2 and states[-1] == "transmitted"
        assert "ERR,INVALID PAGER" in box.sender.reports[1][2]
    finally:
        await box.close()


async def test_a_transmitter_that_always_refuses_fails_the_page_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "MAX_ATTEMPTS", 2)
    tx = PtyTransmitter(tmp_path / "pager", "waveware", mode="full", capcode_base=100)
    tx.plug()
    box = await Box(tmp_path / "f.db", tx.path, "waveware", {"capcode_base": 100}).open()
    try:
        entry = await box.page(5)
        state, error = await box.settled()
        assert state == "dead" and error is not None and "input buffer overflow" in error
        _, detail = await box.delivery(entry, "failed")
        assert detail is not None and "NAK 04" in detail
        assert box.sender.failed == 1 and tx.pages == [tx.pages[0]] * 2
    finally:
        await box.close()
        tx.close()


async def test_no_answer_marks_the_transmitter_down_and_fails_the_page(
    tmp_path: Path, t74: PtyTransmitter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "MAX_ATTEMPTS", 1)
    t74.mode = "silent"
    box = await Box(tmp_path / "f.db", t74.path, "lrs-t74", T74).open()
    try:
        entry = await box.page(9)
        assert (await box.settled())[0] == "dead"
        _, detail = await box.delivery(entry, "failed")
        assert detail is not None and "no acknowledgement" in detail
        health = box.component.health()
        assert not health.up and "does not answer" in health.detail
        assert metrics.PAGER_UP._value.get() == 0
    finally:
        await box.close()


async def test_a_page_past_its_time_to_live_is_never_sent(
    tmp_path: Path, t74: PtyTransmitter
) -> None:
    later: list[int] = []
    box = Box(
        tmp_path / "f.db",
        t74.path,
        "lrs-t74",
        T74,
        ttl_seconds=180,
        clock=lambda: now_ms() + (later[0] if later else 0),
    )
    t74.unplug()
    await box.open()
    try:
        entry = await box.page(4)
        later.append(4 * MIN)  # the transmitter was away for four minutes
        t74.replug()
        state, error = await box.settled()
        assert state == "expired" and error is not None and "time to live" in error
        _, detail = await box.delivery(entry, "expired")
        assert detail is not None and "180 s" in detail
        assert t74.pages == []
    finally:
        await box.close()


async def test_an_unplugged_transmitter_shows_in_the_component_health(
    tmp_path: Path, t74: PtyTransmitter
) -> None:
    box = await Box(tmp_path / "f.db", t74.path, "lrs-t74", T74).open()
    try:
        assert await box.sender.link.wait_connected(5)
        t74.unplug()

        async def down() -> bool:
            return not box.component.health().up

        await until(down, "the component saw the unplug")
        assert "not connected" in box.component.health().detail
        t74.replug()
        assert await box.sender.link.wait_connected(5)
        assert box.component.health().up
    finally:
        await box.close()


# ---- text paging -----------------------------------------------------------------------------

SMS = {"site_name": "Luna", "command_timeout": 0.3, "ack_timeout": 0.3, "poll_seconds": 0.05}


def sms_state() -> State:
    rules = PagingRules(text_paging=True)
    return State(SPECS, TZ, parts=[WaitlistPart(TABLES, TZ, rules)])


async def add(box: Box, name: str, phone: str) -> str:
    body = await box("waitlist.add", name=name, party_size=2, pager=None, phone=phone)
    return str(body["entry"])


async def entry_of(box: Box, entry: str) -> Entry:
    def read() -> Entry:
        part = box.engine.state.part("waitlist")
        assert isinstance(part, WaitlistPart)
        return part.entries[entry]

    return await box.engine.call(read)


async def test_a_text_page_and_the_guests_replies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from floorlink.drivers.pagers.sms import Modem

    monkeypatch.setattr(sys.modules[__name__], "make_state", sms_state)
    tx = PtyTransmitter(tmp_path / "modem", "sms")
    tx.plug()
    box = await Box(tmp_path / "f.db", tx.path, "sms", SMS).open()
    try:
        kim = await add(box, "Kim", "(503) 555-0123")
        ito = await add(box, "Ito", "503.555.0199")
        await box("waitlist.page", entry=kim)
        assert (await tx.wait_pages(1))[0].to == "+15035550123"
        await box.delivery(kim, "acknowledged")
        modem = tx.sim
        assert isinstance(modem, Modem)
        tx.say(modem.receive("+15035550123", "1"))
        tx.say(modem.receive("+15035550199", "9"))
        tx.say(modem.receive("+15035550100", "1"))  # nobody waiting has this number

        async def replied() -> bool:
            k, i = await entry_of(box, kim), await entry_of(box, ito)
            return k.reply == "on_my_way" and i.status == "left"

        await until(replied, "both replies acted on the waitlist")
        assert (await entry_of(box, kim)).status == "paged"
        assert modem.inbox == {}
    finally:
        await box.close()
        tx.close()


async def test_the_modem_unplugged_mid_send_then_the_text_goes_once_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "make_state", sms_state)
    tx = PtyTransmitter(tmp_path / "modem", "sms")
    tx.script[:] = ["silent"]  # takes the text, then is pulled before it answers
    tx.plug()
    box = await Box(tmp_path / "f.db", tx.path, "sms", SMS).open()
    try:
        kim = await add(box, "Kim", "5035550123")
        await box("waitlist.page", entry=kim)

        async def text_written() -> bool:
            return b"\x1a" in tx.raw

        await until(text_written, "the text reached the modem")
        tx.unplug()
        await box.delivery(kim, "retrying")
        tx.replug()
        assert await box.settled() == ("done", None)
        await box.delivery(kim, "acknowledged")
        assert [p.to for p in tx.pages] == ["+15035550123"]
    finally:
        await box.close()
        tx.close()


def test_delivery_steps_are_logged_folded_and_kept_off_the_cloud() -> None:
    from floorlink.daemon.core.reservations import ReservationsPart

    wl = WaitlistPart(TABLES, TZ, PagingRules())
    state = State(SPECS, TZ, True, [wl, ReservationsPart(TZ, 30)])
    t = 1_795_000_000_000
    added = state.process(Input("host", "a", "waitlist.add", t, {"name": "Kim", "party_size": 2}))
    entry = added.body["entry"]
    paged = state.process(Input("host", "p", "waitlist.page", t, {"entry": entry}))
    assert wl.entries[entry].delivery is None  # no pager, no phone: nothing to send
    assert [e.consumer for e in paged.effects] == ["cloud"]
    step = {"entry": entry, "n": 1, "state": "acknowledged", "detail": ""}
    out = state.process(Input("pager", "d", "pager.delivery", t, step))
    assert [e.type for e in out.events] == ["waitlist.delivery"] and out.effects == []
    assert wl.entries[entry].delivery == "acknowledged"
    bad = state.process(Input("pager", "x", "pager.delivery", t, step | {"state": "lost"}))
    assert bad.result == "rejected" and status_for(bad.reason) == 422
    late = {"entry": entry, "n": 0, "state": "failed", "detail": "old"}
    state.process(Input("pager", "l", "pager.delivery", t, late))
    assert wl.entries[entry].delivery == "acknowledged"  # an older page's report changes nothing
