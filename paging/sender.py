"""Delivers the pager outbox to the transmitter, in order, when it is there, and says how far
each page got.

The decision to page is exactly-once (an event and its outbox row, committed together). The
write is at-least-once at the wire: a row is marked done right after the transmitter took it, so
only a crash in that instant repeats a page, and a repeated buzz is harmless on a coaster pager.
A page whose party was seated or left meanwhile is expired, not sent; of several pages queued
for one party while the port was down, only the latest is sent (the others are superseded); a
page older than its time to live is never sent.

Each page is a conversation (drivers/pagers/base.py): written -> acknowledged -> transmitted as
far as the protocol reports, or NAK / busy / no answer, retried with backoff, then failed with
the transmitter's reason. Every step goes to the engine as a `pager.delivery` input, so it is in
the log and on the waitlist row; the sender itself touches the store only through the outbox API.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from floorlink.daemon import metrics
from floorlink.daemon.component import Component, Health
from floorlink.daemon.core import events as ev
from floorlink.daemon.core.state import Input
from floorlink.daemon.core.waitlist import WaitlistPart, page_stands
from floorlink.daemon.engine import Committed, Engine
from floorlink.daemon.store import OutboxRow
from floorlink.drivers.pagers import Page, PagerProtocol
from floorlink.drivers.pagers.base import Answer, Delivery
from floorlink.drivers.pagers.link import SerialLink
from floorlink.drivers.serial_port import PortUnavailable, SerialPort

log = structlog.get_logger(__name__)

CONSUMER = "pager"
BATCH = 20
TTL_SECONDS = 180.0
MAX_ATTEMPTS = 4
RETRY_START_S = 1.0
RETRY_MAX_S = 20.0


class Transport(Protocol):
    """A transmitter the sender can talk to: a serial link or an HTTP box."""

    @property
    def connected(self) -> bool: ...

    @property
    def last_error(self) -> str | None: ...

    def on_state_change(self, callback: Callable[[bool], None]) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_connected(self, timeout: float | None = None) -> bool: ...

    async def write(self, data: bytes) -> None: ...

    async def answer(self, timeout: float) -> Answer | None: ...

    def discard(self) -> None: ...


def make_transport(protocol: PagerProtocol, port: str, baud: int | None = None) -> Transport:
    """The link a protocol talks over: `[pager] port` as a serial path, or the box's URL."""
    if protocol.transport == "http":
        from floorlink.drivers.pagers.rps_http import HttpLink, RpsAnswers

        timeout = float(getattr(protocol, "ack_timeout", 5.0))
        return HttpLink(port, RpsAnswers(), timeout=timeout)
    serial = SerialPort(
        port, baud or protocol.default_baud, name="pager", settings=protocol.serial_settings()
    )
    return SerialLink(serial, protocol.answers())


class PagerSender:
    def __init__(
        self,
        engine: Engine,
        port: SerialPort | Transport,
        protocol: PagerProtocol,
        still_waiting: Callable[[Mapping[str, Any]], bool] | None = None,
        ttl_seconds: float = TTL_SECONDS,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.engine = engine
        self.link: Transport = (
            SerialLink(port, protocol.answers()) if isinstance(port, SerialPort) else port
        )
        self.port = self.link
        self.protocol = protocol
        # runs on the store thread: a page's payload -> does this page still stand?
        self.still_waiting = still_waiting or self._still_waiting
        self.ttl_ms = int(ttl_seconds * 1000)
        self.clock = clock or engine.clock
        self._wake = asyncio.Event()
        self._talk = asyncio.Lock()  # one conversation with the transmitter at a time
        self.sent = 0
        self.expired = 0
        self.failed = 0
        self.last: Delivery | None = None
        self.reports: list[tuple[str, str, str]] = []  # (row key, state, detail), recent
        self.tests: dict[str, dict[str, Any]] = {}  # test page -> where it got, the last 20
        self.link.on_state_change(self._on_state)
        metrics.PAGER_UP.set(0)

    def wake(self) -> None:
        """New pager rows were committed, or the port came back."""
        self._wake.set()

    def _on_state(self, connected: bool) -> None:
        self._set_up()
        if connected:
            self.wake()

    @property
    def up(self) -> bool:
        """The transmitter is there and the last page did not go unanswered."""
        return self.link.connected and (self.last is None or self.last.state != "no_answer")

    def _set_up(self) -> None:
        metrics.PAGER_UP.set(1 if self.up else 0)

    def _still_waiting(self, payload: Mapping[str, Any]) -> bool:
        """The default check, on the store thread: the party still waits for this very page
        (same attempt, same table; not seated, gone, or withdrawn: waitlist.page_stands)."""
        part = self.engine.state.part("waitlist")
        return isinstance(part, WaitlistPart) and page_stands(part, payload)

    async def run(self) -> None:
        """Deliver forever; waits (no polling) for new rows or for the port to come back."""
        while True:
            rows = await self.engine.next_outbox(CONSUMER, BATCH, self._wake)
            if not self.link.connected:
                await self.link.wait_connected()
                continue
            latest = {_party(row): row.id for row in rows}
            for row in rows:
                if latest[_party(row)] != row.id:
                    await self._expire(row, "superseded by a later page for the same party")
                elif not await self._deliver(row):
                    break

    async def _gone(self, row: OutboxRow) -> str | None:
        """Why this row must not be sent any more, or None."""
        if self.ttl_ms and self.clock() - row.created > self.ttl_ms:
            return f"older than its time to live ({self.ttl_ms / 1000:g} s)"
        if "test" in row.payload:
            return None  # a test page has no party to wait for
        if not await self.engine.call(self.still_waiting, dict(row.payload)):
            return "the party was seated or left before the page, or the page was withdrawn"
        return None

    async def _deliver(self, row: OutboxRow) -> bool:
        """True to go on with the next row; False when the transmitter went away."""
        payload: dict[str, Any] = dict(row.payload)
        entry = str(payload.get("entry"))
        try:
            pager = payload.get("pager")
            phone = payload.get("phone")
            page = Page(
                int(pager) if pager is not None else 0,
                int(payload.get("alert", 1)),
                to=str(phone) if isinstance(phone, str) else "",
            )
            self.protocol.encode(page)
        except (KeyError, ValueError, TypeError) as exc:
            await self.engine.settle([row.id], "dead", f"cannot encode: {exc}")
            metrics.PAGES.labels("invalid").inc()
            log.error("page cannot be encoded; parked as dead", key=row.key, error=str(exc))
            return True
        backoff = RETRY_START_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            why = await self._gone(row)
            if why is not None:
                await self._expire(row, why, report=why.startswith("older"))
                return True

            async def report(state: str, detail: str) -> None:
                self._report(row, state, detail)

            try:
                async with self._talk:
                    result = await self.protocol.deliver(page, self.link, report)
            except PortUnavailable as exc:
                metrics.PAGES.labels("port_down").inc()
                log.info("page waits for the transmitter", entry=entry, error=str(exc))
                self._set_up()
                return False
            self.last = result
            self._set_up()
            if result.delivered:
                await self.engine.settle([row.id], "done")
                if "test" in payload:
                    self._test_state(str(payload["test"]), page.pager, result.state, result.detail)
                self.sent += 1
                metrics.PAGES.labels("sent").inc()
                log.info(
                    "page delivered",
                    entry=entry,
                    pager=page.pager,
                    n=payload.get("n"),
                    state=result.state,
                    detail=result.detail or None,
                )
                return True
            metrics.PAGES.labels(result.state).inc()
            reason = f"{result.state.replace('_', ' ')}: {result.detail}".rstrip(": ")
            log.warning("page not taken", entry=entry, attempt=attempt, reason=reason)
            if attempt == MAX_ATTEMPTS:
                await self.engine.settle([row.id], "dead", reason)
                self.failed += 1
                self._report(row, "failed", reason)
                log.error("page failed", entry=entry, pager=page.pager, reason=reason)
                return True
            self._report(row, "retrying", f"{reason} (attempt {attempt} of {MAX_ATTEMPTS})")
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, RETRY_MAX_S)
        return True  # pragma: no cover - the loop always returns

    async def read_replies(self) -> None:
        """For transmitters that receive (the SMS modem): read the guests' replies every
        `poll_seconds` and hand each to the engine as `pager.reply` for the party whose phone
        sent it. Replies from numbers no waiting party has are counted and dropped."""
        replies = getattr(self.protocol, "replies", None)
        if replies is None:
            return
        poll = float(getattr(self.protocol, "poll_seconds", 15.0))
        while True:
            await asyncio.sleep(poll)
            if not self.link.connected:
                continue
            try:
                async with self._talk:
                    got = await replies(self.link)
            except PortUnavailable:
                continue
            for message in got:
                entry = await self.engine.call(self._entry_for, message.sender)
                if entry is None:
                    metrics.PAGES.labels("reply_unknown").inc()
                    log.info("a text reply from a number no waiting party has")
                    continue
                metrics.PAGES.labels("reply").inc()
                data = {"entry": entry, "answer": message.text.strip()[:20]}
                inp = Input("sms", uuid.uuid4().hex, ev.PagerReply.TYPE, self.clock(), data)
                self.engine.submit_nowait(inp).add_done_callback(_log_refusal)

    def _entry_for(self, number: str) -> str | None:
        """On the store thread: the waiting or paged party whose phone is `number`."""
        normalise = getattr(self.protocol, "normalise", None)
        part = self.engine.state.part("waitlist")
        if not isinstance(part, WaitlistPart) or normalise is None:
            return None
        for entry in sorted(part.entries.values(), key=lambda e: -e.added_at):
            if entry.status not in ("waiting", "paged") or not entry.phone:
                continue
            try:
                if normalise(entry.phone) == normalise(number):
                    return entry.id
            except ValueError:
                continue
        return None

    def _report(self, row: OutboxRow, state: str, detail: str) -> None:
        """Count the step and log it as a `pager.delivery` input (not awaited: the engine keeps
        inputs in order, and the conversation goes on meanwhile)."""
        metrics.PAGES.labels(state).inc()
        self.reports.append((row.key, state, detail))
        del self.reports[:-200]
        test = row.payload.get("test")
        if isinstance(test, str):  # a test page: no party's row to move, shown from here
            self._test_state(test, row.payload.get("pager"), state, detail)
            return
        n = row.payload.get("n")
        data = {"entry": row.payload.get("entry"), "n": n if isinstance(n, int) else 0}
        inp = Input(
            "pager",
            uuid.uuid4().hex,
            ev.PagerDelivery.TYPE,
            self.clock(),
            data | {"state": state, "detail": detail, "key": row.key},
        )
        fut = self.engine.submit_nowait(inp)
        fut.add_done_callback(_log_refusal)

    def _test_state(self, test: str, pager: Any, state: str, detail: str) -> None:
        """Where a test page got, newest last (the devices view and the API show them)."""
        self.tests[test] = {"test": test, "pager": pager, "delivery": state, "detail": detail}
        while len(self.tests) > 20:
            del self.tests[next(iter(self.tests))]

    async def _expire(self, row: OutboxRow, why: str, report: bool = False) -> None:
        await self.engine.settle([row.id], "expired", why)
        if "test" in row.payload:
            self._test_state(str(row.payload["test"]), row.payload.get("pager"), "expired", why)
        self.expired += 1
        metrics.PAGES.labels("expired").inc()
        if report:
            self._report(row, "expired", why)
        log.info("page expired", key=row.key, pager=row.payload.get("pager"), reason=why)


def _party(row: OutboxRow) -> str:
    """Whom a row pages: a later page for the same party supersedes an earlier one (a test
    page is its own party)."""
    test = row.payload.get("test")
    return f"test:{test}" if test is not None else str(row.payload.get("entry"))


def _log_refusal(fut: asyncio.Future[Committed]) -> None:
    if fut.cancelled():
        return
    if fut.exception() is not None:
        log.warning("delivery report not stored", error=str(fut.exception()))
    elif fut.result().outcome.result == "rejected":
        log.info("delivery report refused", error=fut.result().outcome.error)


class PagerComponent(Component):
    """The transmitter link and the sender as one supervised piece: `/api/v1/status` shows the
    transmitter unplugged, and `floorlink_component_up{component="pager"}` drops with it."""

    name = "pager"

    def __init__(self, sender: PagerSender) -> None:
        self.sender = sender

    async def start(self) -> None:
        await self.sender.link.start()

    async def run(self) -> None:
        await asyncio.gather(self.sender.run(), self.sender.read_replies())

    async def stop(self) -> None:
        await self.sender.link.stop()

    def health(self) -> Health:
        link = self.sender.link
        if not link.connected:
            return Health(False, f"transmitter not connected: {link.last_error or 'waiting'}")
        last = self.sender.last
        if last is not None and last.state == "no_answer":
            return Health(False, f"the transmitter does not answer: {last.detail}")
        return Health(True, "")
