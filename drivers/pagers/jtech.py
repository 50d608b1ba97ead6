"""`jtech`: the JTECH / HME premises-paging RS-232 frame.

Sources (docs/pagers.md): JTECH Premises manual (manualslib 1270239, p. 6), JTECH IntelFlex BS
user's manual p. 14-15, JTECH J1901 data sheet p. 11 (worked examples). Byte for byte:

    FF FF FF        preamble
    function        01 numeric, 02 numeric priority, 03 alpha, 04 alpha priority
    7 ASCII digits  the capcode: a 3-digit prefix (000 or 008-199) and the 4-digit pager number
    separator       03 numeric; 0A alpha (02 / 0B: the inverted variants)
    message         up to 120 alpha / 16 numeric characters; for Glowster / CommPass coasters
                    `3` and the alert digit (`31` alert 1 ... `39`)
    0D              terminator

1200 baud 8N1 with RTS/CTS: the transmitter drops CTS when it cannot take data, and the host
must stop at once; the port is opened with `rtscts` on, so the kernel's tty layer and the
USB-serial adapter hold every byte while CTS is low (a pty has no CTS: docs/pagers.md). The
transmitter never answers, so written is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from floorlink.daemon.plugins import Options, Plugin
from floorlink.drivers.pagers.base import CommandProtocol, FrameError, NoAnswers, Page

PREAMBLE = b"\xff\xff\xff"
END = 0x0D
FUNCTIONS = (1, 2, 3, 4)
SEPARATORS = (0x02, 0x03, 0x0A, 0x0B)
MAX_ALPHA = 120
MAX_NUMERIC = 16
MAX_FRAME = len(PREAMBLE) + 1 + 7 + 1 + MAX_ALPHA + 1


class JtechOptions(Options):
    capcode_prefix: Annotated[str, Field(pattern=r"^(000|00[89]|0[1-9]\d|1\d\d)$")] = "000"
    kind: Literal["numeric", "alpha"] = "numeric"
    priority: bool = False
    alert_codes: bool = Field(False, description="send `3<alert>` (Glowster / CommPass coasters)")
    message: Annotated[str, Field(max_length=MAX_ALPHA)] = "Your table is ready"


@dataclass(frozen=True)
class JtechProtocol(CommandProtocol):
    acks: ClassVar[bool] = False
    default_baud: ClassVar[int] = 1200
    capcode_prefix: str = "000"
    kind: str = "numeric"
    priority: bool = False
    alert_codes: bool = False
    message: str = "Your table is ready"
    name: str = field(default="jtech", kw_only=True)

    def serial_settings(self) -> dict[str, Any]:
        return {"bytesize": 8, "parity": "N", "stopbits": 1, "rtscts": True}

    def encode(self, page: Page) -> bytes:
        if not 1 <= page.pager <= 9999:
            raise ValueError(f"pager number must be 1-9999, got {page.pager}")
        alpha = self.kind == "alpha"
        function = (3 if alpha else 1) + (1 if self.priority else 0)
        capcode = f"{self.capcode_prefix}{page.pager:04d}".encode("ascii")
        if alpha:
            text = "".join(c if " " <= c <= "~" else " " for c in (page.text or self.message))
            body, separator = text[:MAX_ALPHA].encode("ascii"), 0x0A
        else:
            if self.alert_codes and not 0 <= page.alert <= 9:
                raise ValueError(f"a JTECH alert code is 0-9, got {page.alert}")
            body = f"3{page.alert}".encode("ascii") if self.alert_codes else b""
            separator = 0x03
        return PREAMBLE + bytes([function]) + capcode + bytes([separator]) + body + bytes([END])

    def answers(self) -> NoAnswers:
        return NoAnswers()

    def decoder(self) -> JtechDecoder:
        return JtechDecoder()


def decode(frame: bytes) -> tuple[int, str, Page]:
    """(function, capcode, page) of one whole frame, or FrameError."""
    if not frame.startswith(PREAMBLE) or len(frame) < 13 or frame[-1] != END:
        raise FrameError("not a JTECH frame", frame)
    function, capcode, separator = frame[3], frame[4:11], frame[11]
    if function not in FUNCTIONS:
        raise FrameError(f"function byte {function:02x} is not 01-04", frame)
    if not capcode.isdigit():
        raise FrameError("the capcode is not 7 ASCII digits", frame)
    if separator not in SEPARATORS:
        raise FrameError(f"separator {separator:02x} is not 02, 03, 0A or 0B", frame)
    text = frame[12:-1].decode("ascii", "replace")
    alert = int(text[1]) if function <= 2 and len(text) == 2 and text.isdigit() else 1
    pager = int(capcode[3:])
    return function, capcode.decode(), Page(pager, alert, text if function >= 3 else "")


@dataclass
class JtechDecoder:
    """The transmitter's side: resyncs on the preamble, a frame ends at 0D, noise is skipped."""

    garbage: int = 0
    bad_frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Page]:
        pages: list[Page] = []
        for byte in data:
            self._buf.append(byte)
            self._resync()
            if len(self._buf) <= len(PREAMBLE):
                continue
            if byte == END and len(self._buf) >= 13:
                frame = bytes(self._buf)
                self._buf.clear()
                try:
                    pages.append(decode(frame)[2])
                except FrameError:
                    later = frame.find(PREAMBLE, 1)  # a frame cut short, then a whole one
                    try:
                        pages.append(decode(frame[later:])[2])
                        self.garbage += later
                    except FrameError:
                        self.bad_frames += 1
                        self.garbage += len(frame)
            elif len(self._buf) > MAX_FRAME:
                self.garbage += len(self._buf)
                self._buf.clear()
        return pages

    def _resync(self) -> None:
        """Drop bytes until the buffer starts with (a prefix of) the preamble and one function
        byte that is not another FF."""
        while self._buf:
            head = bytes(self._buf[: len(PREAMBLE)])
            if head != PREAMBLE[: len(head)] or (len(self._buf) > 3 and self._buf[3] == 0xFF):
                self.garbage += 1
                del self._buf[:1]
            else:
                return


def reply(page: Page, mode: str) -> list[bytes]:
    """The JTECH transmitter answers nothing, whatever happens."""
    return []


def _make(o: JtechOptions) -> JtechProtocol:
    return JtechProtocol(o.capcode_prefix, o.kind, o.priority, o.alert_codes, o.message)


PLUGIN: Plugin[Any] = Plugin("jtech", JtechOptions, _make, "JTECH / HME RS-232, 1200 8N1 RTS/CTS")
