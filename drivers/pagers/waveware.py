"""`waveware`: the WaveWare SPS-5 (v8/v9) paging-encoder serial command.

Source (docs/pagers.md): WaveWare SPS-5 v9 manual, "WaveWare Interface Specifications",
pp. 41-43. The paging command, with the optional commas:

    <SOH>T,B,CCCCCCC,<STX>message<ETX><EOT>     (tone-only types end after the capcode: <EOT>)

T: A alpha, N numeric, 1-4 beeps; B: data rate 5 = 512, 1 = 1200, 2 = 2400 bps; C: the 7-digit
capcode. The encoder echoes the command and answers at once with
`<SOH><ACK>version,QQ,D,C,II<EOT>` (QQ: pages queued, not yet sent; its input queue overflows
past 14) or `<SOH><NAK>EE<EOT>` with an error code (04 input buffer overflow and 05 paging
buffer overflow mean "later", the others "never").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from floorlink.daemon.plugins import Options, Plugin
from floorlink.drivers.pagers.base import Ack, Answer, Busy, CommandProtocol, Nak, Page

SOH, STX, ETX, EOT, ACK, NAK = 0x01, 0x02, 0x03, 0x04, 0x06, 0x15
RATES = {512: "5", 1200: "1", 2400: "2"}
MAX_CAPCODE = 2_097_151
MAX_SEGMENT = 300
ERRORS = {
    "01": "invalid message type",
    "02": "invalid data rate",
    "03": "invalid capcode",
    "04": "input buffer overflow",
    "05": "paging buffer overflow",
    "06": "invalid status/setup command",
    "07": "EEPROM write error",
    "08": "invalid command format",
}
RETRYABLE = frozenset({"04", "05"})
COMMAND_RE = re.compile(rb"\x01([AN1-4]),?([512]),?(\d{1,7}),?(?:\x02(.*?)\x03)?\x04", re.S)
ACK_RE = re.compile(r"([^,]*),(\d{1,2}),(\d),(\d),([0-9A-Fa-f]{0,2})")


class WaveWareOptions(Options):
    message_type: Literal["A", "N", "beeps"] = "beeps"
    data_rate: Literal[512, 1200, 2400] = 1200
    capcode_base: Annotated[int, Field(ge=0, le=MAX_CAPCODE)] = 0
    message: Annotated[str, Field(max_length=200)] = "Your table is ready"
    ack_timeout: Annotated[float, Field(gt=0, le=30)] = 2.0


@dataclass(frozen=True)
class WaveWareProtocol(CommandProtocol):
    completes: ClassVar[bool] = False
    message_type: str = "beeps"
    data_rate: int = 1200
    capcode_base: int = 0
    message: str = "Your table is ready"
    name: str = field(default="waveware", kw_only=True)

    def capcode(self, pager: int) -> int:
        return self.capcode_base + pager

    def encode(self, page: Page) -> bytes:
        capcode = self.capcode(page.pager)
        if page.pager < 1 or not 8 <= capcode <= MAX_CAPCODE:
            raise ValueError(f"capcode {capcode} (pager {page.pager}) is not 8-{MAX_CAPCODE}")
        head = f"{self.message_type},{RATES[self.data_rate]},{capcode:07d}"
        if self.message_type == "beeps":
            head = f"{min(4, max(1, page.alert))}" + head[len("beeps") :]
            return bytes([SOH]) + head.encode("ascii") + bytes([EOT])
        text = "".join(c if " " <= c <= "~" else " " for c in (page.text or self.message))
        return (
            bytes([SOH])
            + f"{head},".encode("ascii")
            + bytes([STX])
            + text[:200].encode("ascii")
            + bytes([ETX, EOT])
        )

    def ref(self, page: Page) -> int | None:
        return None  # the answer names no pager: it answers the command just written

    def answers(self) -> WaveWareAnswers:
        return WaveWareAnswers()

    def decoder(self) -> WaveWareCommands:
        return WaveWareCommands(self.capcode_base)


class _Segments:
    """<SOH> ... <EOT> segments of a byte stream, byte-at-a-time safe and bounded."""

    def __init__(self) -> None:
        self.garbage = 0
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for byte in data:
            if byte == SOH:
                self.garbage += len(self._buf)
                self._buf = bytearray([SOH])
            elif not self._buf:
                self.garbage += 1
            else:
                self._buf.append(byte)
                if byte == EOT:
                    out.append(bytes(self._buf))
                    self._buf.clear()
                elif len(self._buf) > MAX_SEGMENT:
                    self.garbage += len(self._buf)
                    self._buf.clear()
        return out


@dataclass
class WaveWareAnswers:
    """`<SOH><ACK>...<EOT>` -> Ack(queue=QQ); `<SOH><NAK>EE<EOT>` -> Busy (04, 05) or Nak.
    The echo of our own command is skipped; anything else is noise."""

    garbage: int = 0
    _seg: _Segments = field(default_factory=_Segments)

    def feed(self, data: bytes) -> list[Answer]:
        out: list[Answer] = []
        for seg in self._seg.feed(data):
            body = seg[2:-1].decode("ascii", "replace")
            if len(seg) >= 3 and seg[1] == ACK:
                m = ACK_RE.fullmatch(body.strip())
                out.append(Ack(queue=int(m.group(2)) if m else None))
            elif len(seg) >= 3 and seg[1] == NAK:
                code = body.strip()[:2]
                why = f"NAK {code}: {ERRORS.get(code, 'unknown error')}"
                out.append(Busy(why) if code in RETRYABLE else Nak(why))
            elif not COMMAND_RE.fullmatch(seg):
                self.garbage += len(seg)
        self.garbage += self._seg.garbage
        self._seg.garbage = 0
        return out


@dataclass
class WaveWareCommands:
    """The encoder's side: paging commands in, pages out (for the simulator and tests)."""

    capcode_base: int = 0
    garbage: int = 0
    _seg: _Segments = field(default_factory=_Segments)

    def feed(self, data: bytes) -> list[Page]:
        pages: list[Page] = []
        for seg in self._seg.feed(data):
            m = COMMAND_RE.fullmatch(seg)
            if m is None:
                self.garbage += len(seg)
                continue
            kind, text = m.group(1).decode(), (m.group(4) or b"").decode("ascii", "replace")
            pager = int(m.group(3)) - self.capcode_base
            pages.append(Page(pager, int(kind) if kind.isdigit() else 1, text))
        self.garbage += self._seg.garbage
        self._seg.garbage = 0
        return pages


def reply(page: Page, mode: str, queued: int = 0) -> list[bytes]:
    """The simulated encoder's status answer (the echo is written by the simulator)."""
    if mode == "silent":
        return []
    if mode == "nak":
        return [bytes([SOH, NAK]) + b"03" + bytes([EOT])]
    if mode == "busy":
        return [bytes([SOH, NAK]) + b"05" + bytes([EOT])]
    if mode == "full":
        return [bytes([SOH, NAK]) + b"04" + bytes([EOT])]
    return [bytes([SOH, ACK]) + f"V9.01,{queued:02d},0,1,1A".encode() + bytes([EOT])]


def _make(o: WaveWareOptions) -> WaveWareProtocol:
    return WaveWareProtocol(
        o.message_type, o.data_rate, o.capcode_base, o.message, ack_timeout=o.ack_timeout
    )


PLUGIN: Plugin[Any] = Plugin(
    "waveware", WaveWareOptions, _make, "WaveWare SPS-5 <SOH>T,B,capcode<EOT> with ACK/NAK"
)
