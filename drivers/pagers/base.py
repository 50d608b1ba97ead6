"""What every pager protocol provides: a page's bytes, a noise-proof decoder of the transmitter's
answers, and the conversation that turns those answers into a delivery state.

A protocol is a conversation, not only an encoder: the driver writes a page through a `Link` and
reads what the transmitter says back (`Ack`, `Nak`, `Busy`, `Transmitted`). `converse` is the
conversation most transmitters need (write, wait for the acknowledgement, then for the completion
report where the protocol has one); a protocol with a session (TAP's login and logout) writes its
own `deliver`. `lrs` and `jtech` never answer: for them written is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

DeliveryState = Literal["written", "acknowledged", "transmitted", "nak", "busy", "no_answer"]
#: A delivery that reached one of these is done; the others are retried with backoff.
DELIVERED: frozenset[str] = frozenset({"written", "acknowledged", "transmitted"})


class FrameError(ValueError):
    """Bytes that are not a valid frame; the message shows them in hex."""

    def __init__(self, reason: str, data: bytes) -> None:
        super().__init__(f"{reason}: {data.hex(' ')}")
        self.data = data


@dataclass(frozen=True, slots=True)
class Page:
    """Buzz one guest pager; `text` for pagers with a display (alpha pages); `to`, the guest's
    phone number, for text paging."""

    pager: int
    alert: int = 1
    text: str = ""
    to: str = ""


# ---- the transmitter's answers ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """The transmitter took the command (`ref`: the number it names; `queue`: pages waiting)."""

    ref: int | None = None
    queue: int | None = None


@dataclass(frozen=True, slots=True)
class Nak:
    """The transmitter refused the command, with its reason in words."""

    reason: str


@dataclass(frozen=True, slots=True)
class Busy:
    """The transmitter cannot take a page now (queue full, carrier, overflow): try again later."""

    reason: str


@dataclass(frozen=True, slots=True)
class Transmitted:
    """The transmitter reports the page keyed on air."""

    ref: int | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """A session step of protocols with a login (TAP's `ID=`, go-ahead, goodbye)."""

    kind: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message the device received (a guest's text reply): where it is stored, from whom."""

    index: int
    sender: str
    text: str


Answer = Ack | Nak | Busy | Transmitted | Prompt | Incoming


class AnswerDecoder(Protocol):
    """Feed the transmitter's bytes as they come; get its completed answers. Never raises on
    noise, keeps a bounded buffer, counts what it skipped in `garbage`."""

    garbage: int

    def feed(self, data: bytes) -> list[Answer]: ...


class Decoder(Protocol):
    """The transmitter's side (simulators, tests): bytes in, the pages whose frames completed."""

    garbage: int

    def feed(self, data: bytes) -> list[Page]: ...


@dataclass
class NoAnswers:
    """The decoder of a transmitter that never answers: everything it says is noise."""

    garbage: int = 0

    def feed(self, data: bytes) -> list[Answer]:
        self.garbage += len(data)
        return []


# ---- the conversation ------------------------------------------------------------------------


class Link(Protocol):
    """Where a protocol talks: write bytes, read decoded answers (a serial port, an HTTP box)."""

    async def write(self, data: bytes) -> None:
        """Raises PortUnavailable when the transmitter is not there (nothing was sent)."""
        ...

    async def answer(self, timeout: float) -> Answer | None:
        """The next answer, or None when none came within `timeout` seconds."""
        ...

    def discard(self) -> None:
        """Forget answers left over from an earlier page (a late completion report)."""
        ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where one attempt ended: a state of DELIVERED, or `nak` / `busy` / `no_answer`."""

    state: DeliveryState
    detail: str = ""

    @property
    def delivered(self) -> bool:
        return self.state in DELIVERED


#: Called as a page reaches `written`, `acknowledged`, `transmitted` (state, detail).
Report = Callable[[str, str], Awaitable[None]]


class PagerProtocol(Protocol):
    """A transmitter protocol: one module, registered in `daemon.plugins.PAGER_PROTOCOLS`."""

    @property
    def name(self) -> str: ...

    @property
    def transport(self) -> Literal["serial", "http"]: ...

    @property
    def default_baud(self) -> int: ...

    def serial_settings(self) -> dict[str, Any]:
        """pyserial settings beside the baud rate (bytesize, parity, rtscts)."""
        ...

    def encode(self, page: Page) -> bytes: ...

    def answers(self) -> AnswerDecoder: ...

    def decoder(self) -> Decoder: ...

    async def deliver(self, page: Page, link: Link, report: Report) -> Delivery: ...


async def _expect(link: Link, timeout: float, wanted: Callable[[Answer], bool]) -> Answer | None:
    """The first answer that `wanted` accepts, or a Nak/Busy, within `timeout`; None otherwise.
    Answers that belong to another page (a stray report) are skipped."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        got = await link.answer(left)
        if got is None:
            return None
        if isinstance(got, Nak | Busy) or wanted(got):
            return got


async def converse(
    link: Link,
    frame: bytes,
    report: Report,
    *,
    acks: bool,
    completes: bool,
    ref: int | None,
    ack_timeout: float,
    done_timeout: float,
) -> Delivery:
    """Write one command and follow it: acknowledgement, then completion report, as the
    protocol has them. Answers naming another number are not this page's."""
    link.discard()
    await link.write(frame)
    await report("written", "")
    if not acks:
        return Delivery("written")

    def mine(a: Answer, kind: type) -> bool:
        return isinstance(a, kind) and (ref is None or getattr(a, "ref", None) in (None, ref))

    got = await _expect(link, ack_timeout, lambda a: mine(a, Ack))
    if got is None:
        return Delivery("no_answer", f"no acknowledgement within {ack_timeout:g} s")
    if isinstance(got, Nak):
        return Delivery("nak", got.reason)
    if isinstance(got, Busy):
        return Delivery("busy", got.reason)
    queue = getattr(got, "queue", None)
    await report("acknowledged", "" if queue is None else f"{queue} in the transmitter's queue")
    if not completes:
        return Delivery("acknowledged")
    done = await _expect(link, done_timeout, lambda a: mine(a, Transmitted))
    if isinstance(done, Transmitted):
        await report("transmitted", "")
        return Delivery("transmitted")
    # acknowledged but no completion report: the command was taken; do not page twice
    why = "no completion report" if done is None else f"after the acknowledgement: {done}"
    return Delivery("acknowledged", why)


@dataclass(frozen=True)
class CommandProtocol:
    """Base of protocols whose conversation is one command and its answers (all but TAP)."""

    acks: ClassVar[bool] = True
    completes: ClassVar[bool] = False
    transport: ClassVar[Literal["serial", "http"]] = "serial"
    default_baud: ClassVar[int] = 9600
    ack_timeout: float = field(default=2.0, kw_only=True)
    done_timeout: float = field(default=15.0, kw_only=True)

    def serial_settings(self) -> dict[str, Any]:
        return {}

    def encode(self, page: Page) -> bytes:
        raise NotImplementedError

    def ref(self, page: Page) -> int | None:
        """The number the transmitter names in its answers to this page."""
        return page.pager

    async def deliver(self, page: Page, link: Link, report: Report) -> Delivery:
        return await converse(
            link,
            self.encode(page),
            report,
            acks=self.acks,
            completes=self.completes,
            ref=self.ref(page),
            ack_timeout=self.ack_timeout,
            done_timeout=self.done_timeout,
        )


@dataclass
class LineBuffer:
    """Splits a byte stream into lines on CR or LF, byte-at-a-time safe, with a bounded buffer:
    an over-long line is noise and is dropped (counted in `garbage`)."""

    limit: int = 256
    garbage: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._buf:
                    lines.append(bytes(self._buf))
                    self._buf.clear()
            elif len(self._buf) >= self.limit:
                self.garbage += len(self._buf) + 1
                self._buf.clear()
            else:
                self._buf.append(byte)
        return lines


class AnswerQueue:
    """A `Link`'s answer side: a decoder fed from the port's reader, answers in a queue."""

    def __init__(self, decoder: AnswerDecoder, limit: int = 100) -> None:
        self.decoder = decoder
        self._queue: asyncio.Queue[Answer] = asyncio.Queue(limit)

    def feed(self, data: bytes) -> None:
        for a in self.decoder.feed(data):
            if self._queue.full():  # nobody is listening: keep the newest
                self._queue.get_nowait()
            self._queue.put_nowait(a)

    async def get(self, timeout: float) -> Answer | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def clear(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
